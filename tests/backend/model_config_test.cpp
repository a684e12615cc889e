// config.json parsing: each family's rules against hand-written expectations, and errors.
#include <t2/error.h>
#include <t2/model_config.h>

#include <gtest/gtest.h>

#include <string>

namespace {

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

std::string base(const std::string& arch, const std::string& extra = "") {
  return R"({"architectures": [")" + arch + R"("], "vocab_size": 100, "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 8)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

void expect_error(const std::string& json, t2::ErrorKind kind,
                  const std::vector<std::string>& needles) {
  try {
    t2::parse_model_config(json, "test/config.json");
    ADD_FAILURE() << "accepted: " << json;
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " not in " << e.what();
  }
}

TEST(ModelConfig, LlamaDefaultsFollowHf) {
  const auto c = t2::parse_model_config(base("LlamaForCausalLM"), "x");
  EXPECT_EQ(c.family, "llama");
  EXPECT_EQ(c.num_key_value_heads, 8);  // defaults to heads
  EXPECT_EQ(c.head_dim, 8);             // hidden / heads
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias || c.qk_norm);
  EXPECT_EQ(c.sliding_window, (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(c.rope_scaling.type, t2::RopeScalingType::None);
}

TEST(ModelConfig, LlamaOptions) {
  const auto c = t2::parse_model_config(
      base("LlamaForCausalLM", R"("attention_bias": true, "mlp_bias": true, "head_dim": 16,
        "num_key_value_heads": 2, "tie_word_embeddings": true, "eos_token_id": [7, 9],
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})"),
      "x");
  EXPECT_TRUE(c.qkv_bias && c.o_bias && c.mlp_bias && c.tie_word_embeddings);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int32_t>{7, 9}));
  EXPECT_EQ(c.rope_scaling.type, t2::RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  const auto linear = t2::parse_model_config(
      base("LlamaForCausalLM", R"("rope_scaling": {"type": "linear", "factor": 2.0})"), "x");
  EXPECT_EQ(linear.rope_scaling.type, t2::RopeScalingType::Linear);
  EXPECT_DOUBLE_EQ(linear.rope_scaling.factor, 2.0);
}

TEST(ModelConfig, Qwen2BiasesAndSlidingWindowRule) {
  const auto c = t2::parse_model_config(
      base("Qwen2ForCausalLM",
           R"("use_sliding_window": true, "sliding_window": 32, "max_window_layers": 2)"),
      "x");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_EQ(c.sliding_window, (std::vector<std::int64_t>{0, 0, 32, 32}));
  const auto off = t2::parse_model_config(
      base("Qwen2ForCausalLM",
           R"("use_sliding_window": false, "sliding_window": 32, "max_window_layers": 2)"),
      "x");
  EXPECT_EQ(off.sliding_window, (std::vector<std::int64_t>{0, 0, 0, 0}));
  const auto types = t2::parse_model_config(
      base("Qwen2ForCausalLM", R"("use_sliding_window": true, "sliding_window": 5,
        "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"])"),
      "x");
  EXPECT_EQ(types.sliding_window, (std::vector<std::int64_t>{5, 0, 5, 0}));
}

TEST(ModelConfig, Qwen3AndMistral) {
  const auto q3 = t2::parse_model_config(base("Qwen3ForCausalLM", R"("head_dim": 32)"), "x");
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_FALSE(q3.qkv_bias);
  EXPECT_EQ(q3.head_dim, 32);
  const auto m = t2::parse_model_config(base("MistralForCausalLM", R"("sliding_window": 4)"), "x");
  EXPECT_EQ(m.sliding_window, (std::vector<std::int64_t>{4, 4, 4, 4}));
  const auto m_null =
      t2::parse_model_config(base("MistralForCausalLM", R"("sliding_window": null)"), "x");
  EXPECT_EQ(m_null.sliding_window, (std::vector<std::int64_t>{0, 0, 0, 0}));
  const auto m_absent = t2::parse_model_config(base("MistralForCausalLM"), "x");
  EXPECT_EQ(m_absent.sliding_window.front(), 4096);  // HF MistralConfig default
}

TEST(ModelConfig, FixturesLoad) {
  EXPECT_EQ(t2::load_model_config(fixture("qwen2_tied")).sliding_window,
            (std::vector<std::int64_t>{0, 4}));
  EXPECT_TRUE(t2::load_model_config(fixture("qwen2_tied")).tie_word_embeddings);
  EXPECT_EQ(t2::load_model_config(fixture("qwen3")).head_dim, 16);
  EXPECT_EQ(t2::load_model_config(fixture("llama3_bf16")).torch_dtype, "bfloat16");
}

TEST(ModelConfig, Errors) {
  expect_error(base("GPT2LMHeadModel"), t2::ErrorKind::Unsupported,
               {"GPT2LMHeadModel", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                "Qwen3ForCausalLM"});
  expect_error(R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 10})",
               t2::ErrorKind::Corrupt, {"hidden_size", "test/config.json"});
  expect_error(R"({"vocab_size": 10})", t2::ErrorKind::Corrupt,
               {"architectures", "Qwen3ForCausalLM"});
  expect_error("{not json", t2::ErrorKind::Corrupt, {"test/config.json", "JSON"});
  expect_error(base("LlamaForCausalLM", R"("hidden_size": "64")"), t2::ErrorKind::Corrupt,
               {"hidden_size"});
  expect_error(base("LlamaForCausalLM", R"("num_key_value_heads": 3)"), t2::ErrorKind::Corrupt,
               {"num_key_value_heads"});
  expect_error(base("LlamaForCausalLM", R"("rope_scaling": {"rope_type": "yarn", "factor": 4.0})"),
               t2::ErrorKind::Unsupported, {"yarn", "llama3"});
  expect_error(
      base("LlamaForCausalLM", R"("rope_scaling": {"rope_type": "llama3", "factor": 8.0})"),
      t2::ErrorKind::Corrupt, {"low_freq_factor"});
  expect_error(base("LlamaForCausalLM", R"("hidden_act": "gelu")"), t2::ErrorKind::Unsupported,
               {"gelu"});
  try {
    t2::load_model_config("/nonexistent-model");
    ADD_FAILURE();
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-model/config.json"), std::string::npos);
  }
}

TEST(ModelConfig, TensorNameTable) {
  const auto q2 = t2::load_model_config(fixture("qwen2_tied"));
  const auto names = t2::required_tensor_names(q2);
  auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  EXPECT_TRUE(has("model.layers.1.self_attn.k_proj.bias"));
  EXPECT_FALSE(has("model.layers.1.self_attn.o_proj.bias"));
  EXPECT_FALSE(has("lm_head.weight"));  // tied
  EXPECT_TRUE(has("model.layers.0.mlp.down_proj.weight"));
  // 2 (embed, norm) + 2 layers x (7 linears + 3 qkv biases + 2 norms)
  EXPECT_EQ(names.size(), 2u + 2u * 12u);
}

TEST(ModelConfig, InspectSummary) {
  const auto s = t2::inspect_model(fixture("qwen3"));
  EXPECT_EQ(s.config.architecture, "Qwen3ForCausalLM");
  EXPECT_TRUE(s.missing_tensors.empty());
  EXPECT_TRUE(s.unexpected_tensors.empty());
  std::int64_t n = 0;
  for (const auto& t : s.tensors) {
    std::int64_t e = 1;
    for (auto d : t.shape) e *= d;
    n += e;
  }
  EXPECT_EQ(s.parameter_count, n);
  EXPECT_EQ(s.parameter_count, 28896);  // printed by make_fixtures.py
  EXPECT_EQ(s.bytes, 4u * 28896u);
  EXPECT_NE(t2::to_text(s).find("Qwen3ForCausalLM"), std::string::npos);
}

}  // namespace

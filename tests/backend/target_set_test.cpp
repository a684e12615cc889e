#include <t2/error.h>
#include <t2/target_set.h>

#include <gtest/gtest.h>

namespace {

// A GQA model: 8 heads of 16, 2 kv heads; hidden 128, intermediate 344, 3 layers.
t2::ModelConfig gqa_config() {
  t2::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.family = "llama";
  c.hidden_size = 128;
  c.intermediate_size = 344;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  return c;
}

t2::ErrorKind kind_of(const std::string& spec, std::string* message = nullptr) {
  try {
    t2::resolve_targets(gqa_config(), spec);
  } catch (const t2::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  return t2::ErrorKind::Internal;
}

TEST(TargetSet, MlpPresetInLayerOrderWithShapes) {
  const auto t = t2::resolve_targets(gqa_config(), "mlp");
  ASSERT_EQ(t.size(), 9u);
  EXPECT_EQ(t[0].name, "model.layers.0.mlp.gate_proj.weight");
  EXPECT_EQ(t[1].name, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(t[2].name, "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(t[8].layer, 2);
  EXPECT_EQ(t[0].out_features, 344);
  EXPECT_EQ(t[0].in_features, 128);
  EXPECT_EQ(t[2].out_features, 128);  // down_proj: [hidden, intermediate]
  EXPECT_EQ(t[2].in_features, 344);
  // Paper's count for Llama-3-8B MLP is 32 x 3 x 4096; here 3 layers x 3 x min(344, 128).
  EXPECT_EQ(t2::total_rank(t), 3 * 3 * 128);
}

TEST(TargetSet, AttentionPresetsFollowGqaShapes) {
  const auto attn = t2::resolve_targets(gqa_config(), "attn");
  ASSERT_EQ(attn.size(), 12u);
  EXPECT_EQ(attn[0].part, "q_proj");
  EXPECT_EQ(attn[0].out_features, 128);
  EXPECT_EQ(attn[1].part, "k_proj");
  EXPECT_EQ(attn[1].out_features, 32);  // 2 kv heads x 16
  EXPECT_EQ(attn[1].rank(), 32);
  EXPECT_EQ(attn[3].part, "o_proj");
  const auto qv = t2::resolve_targets(gqa_config(), "attn-qv");
  ASSERT_EQ(qv.size(), 6u);
  EXPECT_EQ(qv[1].name, "model.layers.0.self_attn.v_proj.weight");
  EXPECT_EQ(t2::resolve_targets(gqa_config(), "all-linear").size(), 21u);
}

TEST(TargetSet, PartListsAndRegex) {
  const auto list = t2::resolve_targets(gqa_config(), "down_proj, q_proj");
  ASSERT_EQ(list.size(), 6u);
  EXPECT_EQ(list[0].part, "q_proj");  // HF order, not the order written
  EXPECT_EQ(list[1].part, "down_proj");
  const auto rx = t2::resolve_targets(gqa_config(), R"(regex:layers\.(0|2)\.mlp\.(up|down))");
  ASSERT_EQ(rx.size(), 4u);
  EXPECT_EQ(rx[0].name, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(rx[3].name, "model.layers.2.mlp.down_proj.weight");
}

TEST(TargetSet, BadSpecsSayWhatIsSupported) {
  std::string message;
  EXPECT_EQ(kind_of("mlps", &message), t2::ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("attn-qv"), std::string::npos) << message;
  EXPECT_EQ(kind_of("", &message), t2::ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of("regex:layers\\.(", &message), t2::ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of("regex:lm_head", &message), t2::ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("matches no linear weight"), std::string::npos) << message;
}

}  // namespace

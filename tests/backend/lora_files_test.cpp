// PEFT LoRA folders (t2/lora.h), torch-free: key names, shapes and adapter_config.json fields
// against literal strings of PEFT's format; round trips; initialisation; and every malformed
// input a user may hand us ending in a t2::Error of the right kind that names the culprit.
#include <t2/error.h>
#include <t2/lora.h>
#include <t2/safetensors.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace t2 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ModelConfig tiny_config() {
  return load_model_config(std::string(T2_FIXTURES_DIR) + "/models/llama_f32");
}

std::string dir_for(const std::string& name) {
  const fs::path d = fs::path(T2_TEST_OUTPUT_DIR) / "lora-files" / name;
  fs::remove_all(d);
  return d.string();
}

// The error (kind, message) of `f`, or kind Internal + "no error".
template <typename F>
std::pair<ErrorKind, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.kind(), e.what()};
  }
  return {ErrorKind::Internal, "no error"};
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(LoraFiles, KeyNamesArePeftsOwn) {
  EXPECT_EQ(peft_lora_key("model.layers.0.mlp.gate_proj.weight", "A"),
            "base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight");
  EXPECT_EQ(peft_lora_key("model.layers.11.self_attn.v_proj.weight", "B"),
            "base_model.model.model.layers.11.self_attn.v_proj.lora_B.weight");
  EXPECT_THROW(peft_lora_key("model.layers.0.mlp.gate_proj.bias", "A"), Error);
  EXPECT_THROW(peft_lora_key("model.layers.0.mlp.gate_proj.weight", "C"), Error);
}

TEST(LoraFiles, DemoMlpRankFourHas24576Parameters) {
  const ModelConfig demo = load_model_config(std::string(T2_SOURCE_DIR) + "/resources/demo/model");
  const LoraAdapter a = lora_init(demo, "mlp", {}, 0);
  EXPECT_EQ(a.parameter_count(), 24576);  // 4 layers x 3 x 4 (128 + 384)
  EXPECT_EQ(a.matrices.size(), 12u);
}

TEST(LoraFiles, InitIsKaimingUniformForAAndZeroForBSeeded) {
  const ModelConfig c = tiny_config();
  LoraConfig config;
  config.rank = 8;
  const LoraAdapter a = lora_init(c, "mlp", config, 42);
  const LoraAdapter same = lora_init(c, "mlp", config, 42);
  const LoraAdapter other = lora_init(c, "mlp", config, 43);
  EXPECT_EQ(a.matrices[0].a, same.matrices[0].a);
  EXPECT_NE(a.matrices[0].a, other.matrices[0].a);
  for (const auto& m : a.matrices) {
    ASSERT_EQ(m.a.size(), static_cast<std::size_t>(8 * m.in_features));
    ASSERT_EQ(m.b.size(), static_cast<std::size_t>(8 * m.out_features));
    const double bound = 1.0 / std::sqrt(static_cast<double>(m.in_features));
    double mean = 0.0, sq = 0.0, mx = 0.0;
    for (float v : m.a) {
      mean += v;
      sq += static_cast<double>(v) * v;
      mx = std::max(mx, std::abs(static_cast<double>(v)));
    }
    mean /= static_cast<double>(m.a.size());
    sq /= static_cast<double>(m.a.size());
    EXPECT_LE(mx, bound);
    EXPECT_GT(mx, 0.9 * bound);                                        // the range is used
    EXPECT_NEAR(sq, bound * bound / 3.0, 0.25 * bound * bound / 3.0);  // U(-b, b): b^2 / 3
    EXPECT_NEAR(mean, 0.0, 0.1 * bound);
    for (float v : m.b) EXPECT_EQ(v, 0.0f);
  }
}

TEST(LoraFiles, WritesPeftsLayoutAndReadsItBack) {
  const ModelConfig c = tiny_config();
  LoraConfig config;
  config.rank = 2;
  config.alpha = 16;
  config.dropout = 0.05;
  config.rslora = true;
  config.base_model = "Qwen/Qwen2.5-0.5B-Instruct";
  LoraAdapter a = lora_init(c, "mlp", config, 1);
  for (auto& m : a.matrices)
    for (std::size_t i = 0; i < m.b.size(); ++i) m.b[i] = 0.001f * static_cast<float>(i % 17);
  const std::string dir = dir_for("roundtrip");
  write_lora_adapter(dir, a);

  // adapter_config.json: PEFT's fields and values, keys sorted and indented as PEFT writes them.
  std::ifstream in(fs::path(dir) / "adapter_config.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layers_pattern": null,
  "layers_to_transform": null,
  "lora_alpha": 16,
  "lora_dropout": 0.05,
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 2,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "down_proj",
    "gate_proj",
    "up_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": true
}
)");
  const json j = json::parse(text);
  EXPECT_EQ(j.at("peft_type"), "LORA");
  EXPECT_EQ(j.at("task_type"), "CAUSAL_LM");
  EXPECT_EQ(j.at("r"), 2);
  EXPECT_TRUE(j.at("lora_alpha").is_number_integer());
  EXPECT_EQ(j.at("lora_alpha"), 16);
  EXPECT_DOUBLE_EQ(j.at("lora_dropout").get<double>(), 0.05);
  EXPECT_EQ(j.at("use_rslora"), true);
  EXPECT_EQ(j.at("target_modules"), json::parse(R"(["down_proj","gate_proj","up_proj"])"));
  EXPECT_EQ(j.at("bias"), "none");
  EXPECT_EQ(j.at("fan_in_fan_out"), false);
  EXPECT_EQ(j.at("inference_mode"), true);
  EXPECT_EQ(j.at("base_model_name_or_path"), "Qwen/Qwen2.5-0.5B-Instruct");

  // adapter_model.safetensors: exactly PEFT's keys, shapes [r, in] / [out, r], F32.
  const SafetensorsFile f = SafetensorsFile::open(dir + "/adapter_model.safetensors");
  EXPECT_EQ(f.tensors().size(), 2 * a.matrices.size());
  const TensorInfo* la = f.find("base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight");
  const TensorInfo* lb = f.find("base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight");
  const TensorInfo* down = f.find("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
  ASSERT_TRUE(la && lb && down);
  EXPECT_EQ(la->shape, (std::vector<std::int64_t>{2, c.hidden_size}));
  EXPECT_EQ(lb->shape, (std::vector<std::int64_t>{c.intermediate_size, 2}));
  EXPECT_EQ(down->shape, (std::vector<std::int64_t>{2, c.intermediate_size}));
  EXPECT_EQ(la->dtype, DType::F32);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(std::memcmp(f.data(*la), a.matrices[0].a.data(), la->nbytes), 0);

  const LoraAdapter back = read_lora_adapter(dir);
  EXPECT_EQ(back.config.rank, 2);
  EXPECT_DOUBLE_EQ(back.config.alpha, 16);
  EXPECT_DOUBLE_EQ(back.config.dropout, 0.05);
  EXPECT_TRUE(back.config.rslora);
  EXPECT_DOUBLE_EQ(back.config.scaling(), 16 / std::sqrt(2.0));
  EXPECT_EQ(back.config.target_modules, a.config.target_modules);
  EXPECT_EQ(back.config.base_model, "Qwen/Qwen2.5-0.5B-Instruct");
  ASSERT_EQ(back.matrices.size(), a.matrices.size());
  for (std::size_t i = 0; i < a.matrices.size(); ++i) {
    EXPECT_EQ(back.matrices[i].name, a.matrices[i].name);
    EXPECT_EQ(back.matrices[i].layer, a.matrices[i].layer);
    EXPECT_EQ(back.matrices[i].part, a.matrices[i].part);
    EXPECT_EQ(back.matrices[i].in_features, a.matrices[i].in_features);
    EXPECT_EQ(back.matrices[i].out_features, a.matrices[i].out_features);
    EXPECT_EQ(back.matrices[i].a, a.matrices[i].a);
    EXPECT_EQ(back.matrices[i].b, a.matrices[i].b);
  }
  EXPECT_NO_THROW(check_lora_adapter(back, c));
}

TEST(LoraFiles, PartialTargetSetsUsePeftsRegexForm) {
  const LoraAdapter a = lora_init(tiny_config(), "regex:layers\\.1\\.mlp\\.(gate|up)", {}, 0);
  ASSERT_EQ(a.matrices.size(), 2u);
  EXPECT_TRUE(a.config.target_modules.empty());
  EXPECT_EQ(a.config.target_regex,
            "(model\\.layers\\.1\\.mlp\\.gate_proj|model\\.layers\\.1\\.mlp\\.up_proj)");
  const std::string dir = dir_for("regex");
  write_lora_adapter(dir, a);
  std::ifstream in(fs::path(dir) / "adapter_config.json");
  EXPECT_EQ(json::parse(in).at("target_modules"),
            "(model\\.layers\\.1\\.mlp\\.gate_proj|model\\.layers\\.1\\.mlp\\.up_proj)");
  EXPECT_EQ(read_lora_adapter(dir).config.target_regex, a.config.target_regex);
}

TEST(LoraFiles, ReadsBf16AndF16Tensors) {
  const std::string dir = dir_for("half");
  fs::create_directories(dir);
  write_text(fs::path(dir) / "adapter_config.json",
             R"({"peft_type":"LORA","r":1,"lora_alpha":2,"target_modules":["q_proj"]})");
  // A [1, 2] in BF16: 1.0 (0x3F80), -2.5 (0xC020); B [2, 1] in F16: 0.5 (0x3800), -3 (0xC200).
  const std::uint16_t a_bits[] = {0x3F80, 0xC020}, b_bits[] = {0x3800, 0xC200};
  write_safetensors(dir + "/adapter_model.safetensors",
                    {{"base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight",
                      DType::BF16,
                      {1, 2},
                      a_bits},
                     {"base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight",
                      DType::F16,
                      {2, 1},
                      b_bits}});
  const LoraAdapter a = read_lora_adapter(dir);
  ASSERT_EQ(a.matrices.size(), 1u);
  EXPECT_EQ(a.matrices[0].name, "model.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(a.matrices[0].layer, 3);
  EXPECT_EQ(a.matrices[0].part, "q_proj");
  EXPECT_EQ(a.matrices[0].a, (std::vector<float>{1.0f, -2.5f}));
  EXPECT_EQ(a.matrices[0].b, (std::vector<float>{0.5f, -3.0f}));
  EXPECT_DOUBLE_EQ(a.config.dropout, 0.0);  // PEFT's defaults for absent fields
  EXPECT_FALSE(a.config.rslora);
}

// A valid one-matrix adapter folder written by hand; tests then break one thing.
class LoraCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dir_for(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void config(const std::string& text) { write_text(fs::path(dir_) / "adapter_config.json", text); }
  void tensors(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes) {
    std::vector<TensorToWrite> t;
    for (const auto& [name, shape] : shapes) t.push_back({name, DType::F32, shape, zeros_});
    write_safetensors(dir_ + "/adapter_model.safetensors", t);
  }
  void valid_tensors() { tensors({{kA, {2, 32}}, {kB, {64, 2}}}); }
  std::pair<ErrorKind, std::string> read() {
    return error_of([&] { read_lora_adapter(dir_); });
  }
  static constexpr const char* kA = "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight";
  static constexpr const char* kB = "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight";
  static constexpr const char* kConfig =
      R"({"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["up_proj"]})";
  std::string dir_;
  float zeros_[4096] = {};
};

TEST_F(LoraCorrupt, ValidFolderReads) {
  config(kConfig);
  valid_tensors();
  EXPECT_EQ(read().second, "no error");
}

TEST_F(LoraCorrupt, MissingFolderOrFilesAreIoErrors) {
  const auto [kind, msg] = error_of([&] { read_lora_adapter(dir_ + "/nope"); });
  EXPECT_EQ(kind, ErrorKind::Io);
  EXPECT_NE(msg.find("PEFT LoRA adapter folder"), std::string::npos) << msg;
  valid_tensors();
  EXPECT_EQ(read().first, ErrorKind::Io);  // no adapter_config.json
  EXPECT_NE(read().second.find("adapter_config.json"), std::string::npos) << read().second;
  config(kConfig);
  fs::remove(dir_ + "/adapter_model.safetensors");
  EXPECT_EQ(read().first, ErrorKind::Io);
  write_text(fs::path(dir_) / "adapter_model.bin", "pickle");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
  EXPECT_NE(read().second.find("safetensors"), std::string::npos) << read().second;
}

TEST_F(LoraCorrupt, MalformedJsonIsCorrupt) {
  valid_tensors();
  config("{\"peft_type\": \"LORA\", \"r\": ");
  EXPECT_EQ(read().first, ErrorKind::Corrupt);
  EXPECT_NE(read().second.find("not valid JSON"), std::string::npos) << read().second;
  config(R"({"peft_type":"LORA"})");
  EXPECT_EQ(read().first, ErrorKind::Corrupt);
  EXPECT_NE(read().second.find("'r'"), std::string::npos) << read().second;
  config(R"({"peft_type":"LORA","r":"two"})");
  EXPECT_EQ(read().first, ErrorKind::Corrupt);
  EXPECT_NE(read().second.find("'r' has the wrong type"), std::string::npos) << read().second;
  config(R"({"peft_type":"LORA","r":2,"lora_dropout":1.5})");
  EXPECT_EQ(read().first, ErrorKind::Corrupt);
}

TEST_F(LoraCorrupt, OtherAdapterKindsAndOptionsAreUnsupported) {
  valid_tensors();
  config(R"({"peft_type":"IA3","r":2})");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
  EXPECT_NE(read().second.find("IA3"), std::string::npos);
  config(R"({"peft_type":"LORA","r":2,"bias":"all"})");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
  config(R"({"peft_type":"LORA","r":2,"use_dora":true})");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
  config(R"({"peft_type":"LORA","r":2,"rank_pattern":{"up_proj":8}})");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
  config(R"({"peft_type":"LORA","r":2,"fan_in_fan_out":true})");
  EXPECT_EQ(read().first, ErrorKind::Unsupported);
}

TEST_F(LoraCorrupt, MissingKeyWrongShapeUnknownModuleAreNamed) {
  config(kConfig);
  tensors({{kA, {2, 32}}});  // lora_B missing
  auto [kind, msg] = read();
  EXPECT_EQ(kind, ErrorKind::Corrupt);
  EXPECT_NE(msg.find(kB), std::string::npos) << msg;

  tensors({{kA, {3, 32}}, {kB, {64, 3}}});  // r = 3 in the file, 2 in the config
  std::tie(kind, msg) = read();
  EXPECT_EQ(kind, ErrorKind::Corrupt);
  EXPECT_NE(msg.find("r = 2"), std::string::npos) << msg;

  tensors({{kA, {2, 32}},
           {kB, {64, 2}},
           {"base_model.model.lm_head.lora_A.weight", {2, 32}},
           {"base_model.model.lm_head.lora_B.weight", {100, 2}}});
  std::tie(kind, msg) = read();
  EXPECT_EQ(kind, ErrorKind::Unsupported);
  EXPECT_NE(msg.find("lm_head"), std::string::npos) << msg;

  tensors({{kA, {2, 32}}, {kB, {64, 2}}, {"base_model.model.model.norm.weight", {32}}});
  std::tie(kind, msg) = read();
  EXPECT_EQ(kind, ErrorKind::Unsupported);
  EXPECT_NE(msg.find("model.norm.weight"), std::string::npos) << msg;

  config(R"({"peft_type":"LORA","r":2,"target_modules":["q_proj","v_proj"]})");
  valid_tensors();
  std::tie(kind, msg) = read();
  EXPECT_EQ(kind, ErrorKind::Corrupt);
  EXPECT_NE(msg.find("target_modules"), std::string::npos) << msg;
}

TEST_F(LoraCorrupt, TruncatedSafetensorsIsCorrupt) {
  config(kConfig);
  write_text(fs::path(dir_) / "adapter_model.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{");
  EXPECT_EQ(read().first, ErrorKind::Corrupt);
}

TEST(LoraFiles, CheckAgainstAModelNamesTheMismatch) {
  const ModelConfig c = tiny_config();
  LoraAdapter a = lora_init(c, "mlp", {}, 0);
  ModelConfig wider = c;
  wider.intermediate_size *= 2;
  const auto [kind, msg] = error_of([&] { check_lora_adapter(a, wider); });
  EXPECT_EQ(kind, ErrorKind::InvalidArgument);
  EXPECT_NE(msg.find("model.layers.0.mlp.gate_proj.weight"), std::string::npos) << msg;
  ModelConfig shallow = c;
  shallow.num_hidden_layers = 1;
  EXPECT_NE(error_of([&] { check_lora_adapter(a, shallow); }).second.find("not a linear weight"),
            std::string::npos);
}

}  // namespace
}  // namespace t2

// End-to-end: `t2 inspect` and `t2 logits` on the committed fixture checkpoints. Goldens are
// read with a minimal safetensors parser written here (independent of the engine's reader).
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

nlohmann::json parse_json(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.out.substr(0, 500);
    return {};
  }
}

// Reads tensor `name` (F32 or I64) of a .safetensors file as doubles.
std::vector<double> golden(const std::string& dir, const std::string& name) {
  std::ifstream in(fixture(dir) + "/goldens.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const auto& e = header.at(name);
  const auto begin = 8 + n + e["data_offsets"][0].get<std::uint64_t>();
  const auto end = 8 + n + e["data_offsets"][1].get<std::uint64_t>();
  std::vector<double> out;
  for (auto p = begin; p < end; p += e["dtype"] == "F32" ? 4 : 8) {
    if (e["dtype"] == "F32") {
      float f;
      std::memcpy(&f, bytes.data() + p, 4);
      out.push_back(f);
    } else {
      std::int64_t i;
      std::memcpy(&i, bytes.data() + p, 8);
      out.push_back(static_cast<double>(i));
    }
  }
  return out;
}

std::string ids_arg(const std::vector<double>& ids) {
  std::string s;
  for (double id : ids) s += (s.empty() ? "" : ",") + std::to_string(static_cast<long long>(id));
  return s;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

TEST(CliInspect, JsonSummary) {
  const auto j = parse_json(t2("inspect " + shell_quote(fixture("qwen3")) + " --json"));
  EXPECT_EQ(j["config"]["architecture"], "Qwen3ForCausalLM");
  EXPECT_EQ(j["config"]["head_dim"], 16);
  EXPECT_EQ(j["config"]["qk_norm"], true);
  EXPECT_EQ(j["parameter_count"], 28896);
  EXPECT_EQ(j["parameters_by_dtype"]["F32"], 28896);
  EXPECT_EQ(j["tensors"].size(), 2u + 2u * 11u);  // embed, norm; 7 linears + 4 norms per layer
  EXPECT_TRUE(j["missing_tensors"].empty());
  const auto sharded =
      parse_json(t2("inspect " + shell_quote(fixture("llama_sharded")) + " --json"));
  EXPECT_EQ(sharded["files"].size(), 2u);
  EXPECT_EQ(parse_json(t2("inspect " + shell_quote(fixture("llama3_bf16")) +
                          " --json"))["parameters_by_dtype"]["BF16"],
            26784);
}

TEST(CliInspect, TextAndErrors) {
  const auto r = t2("inspect " + shell_quote(fixture("mistral_sw")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "MistralForCausalLM")) << r.out;
  EXPECT_TRUE(contains(r.out, "model.layers.1.self_attn.o_proj.weight")) << r.out;
  EXPECT_TRUE(contains(r.out, "sliding       per layer: 4 4")) << r.out;
  const auto missing = t2("inspect /nonexistent-model-dir");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "/nonexistent-model-dir/config.json")) << missing.err;
  EXPECT_EQ(t2("inspect").exit_code, 2);
}

TEST(CliLogits, MatchesGoldensAndGreedy) {
  for (const std::string name : {"llama_f32", "qwen2_tied", "mistral_sw"}) {
    SCOPED_TRACE(name);
    const auto ids = golden(name, "input_ids");
    const auto expected = golden(name, "logits");
    const auto greedy = golden(name, "greedy_ids");
    const auto j = parse_json(t2("logits " + shell_quote(fixture(name)) + " --ids " + ids_arg(ids) +
                                 " --greedy " + std::to_string(greedy.size()) + " --json"));
    ASSERT_EQ(j["logits"].size(), ids.size());
    const std::size_t vocab = j["logits"][0].size();
    ASSERT_EQ(vocab * ids.size(), expected.size());
    double err = 0;
    for (std::size_t t = 0; t < ids.size(); ++t)
      for (std::size_t v = 0; v < vocab; ++v)
        err = std::max(err, std::fabs(j["logits"][t][v].get<double>() - expected[t * vocab + v]));
    EXPECT_LE(err, 1e-4 * max_abs(expected));
    ASSERT_EQ(j["greedy_tokens"].size(), greedy.size());
    for (std::size_t i = 0; i < greedy.size(); ++i)
      EXPECT_EQ(j["greedy_tokens"][i].get<double>(), greedy[i]);
    ASSERT_EQ(j["step_logits"].size(), greedy.size());
    // Step 0 is the prompt's last position; each step's argmax is the emitted token.
    for (std::size_t v = 0; v < vocab; ++v)
      EXPECT_NEAR(j["step_logits"][0][v].get<double>(), expected[(ids.size() - 1) * vocab + v],
                  1e-4 * max_abs(expected));
    for (std::size_t s = 0; s < greedy.size(); ++s) {
      const auto row = j["step_logits"][s].get<std::vector<double>>();
      EXPECT_EQ(static_cast<double>(std::max_element(row.begin(), row.end()) - row.begin()),
                greedy[s]);
    }
  }
}

TEST(CliLogits, Bf16AndOptions) {
  const auto ids = golden("llama3_bf16", "input_ids");
  const auto expected = golden("llama3_bf16", "logits");
  const auto j = parse_json(t2("logits " + shell_quote(fixture("llama3_bf16")) + " --ids " +
                               ids_arg(ids) + " --dtype bf16 --device cpu --json"));
  ASSERT_EQ(j["logits"].size(), ids.size());
  EXPECT_TRUE(j["greedy_tokens"].empty());
  EXPECT_TRUE(j["step_logits"].empty());
  const std::size_t vocab = j["logits"][0].size();
  double err = 0;
  for (std::size_t t = 0; t < ids.size(); ++t)
    for (std::size_t v = 0; v < vocab; ++v)
      err = std::max(err, std::fabs(j["logits"][t][v].get<double>() - expected[t * vocab + v]));
  EXPECT_LE(err, 1e-2 * max_abs(expected));  // bf16 tolerance, see model_test.cpp

  const auto bad_dtype =
      t2("logits " + shell_quote(fixture("llama_f32")) + " --ids 1,2 --dtype f16");
  EXPECT_EQ(bad_dtype.exit_code, 1);
  EXPECT_TRUE(contains(bad_dtype.err, "unknown dtype 'f16'")) << bad_dtype.err;
  const auto bad_id = t2("logits " + shell_quote(fixture("llama_f32")) + " --ids 1,128");
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_TRUE(contains(bad_id.err, "token id 128")) << bad_id.err;
  EXPECT_EQ(t2("logits " + shell_quote(fixture("llama_f32"))).exit_code, 2);  // --ids required
  const auto text = t2("logits " + shell_quote(fixture("llama_f32")) + " --ids 3,4 --greedy 2");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "greedy:")) << text.out;
}

}  // namespace

// End-to-end: `t2 expert new|info|mix|import` on the fixture model and the reference .pt files
// (tests/fixtures/experts, written by make_reference_files.py with PyTorch).
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(T2_FIXTURES_DIR) + "/models/llama_f32";
const std::string kPolicy = std::string(T2_FIXTURES_DIR) + "/experts/policy_params.pt";
const std::string kByName = std::string(T2_FIXTURES_DIR) + "/experts/params_by_name.pt";

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

std::string out(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-expert";
  fs::create_directories(dir);
  return (dir / name).string();
}

nlohmann::json info(const std::string& file) {
  const auto r = t2("expert info " + shell_quote(file) + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
    return {};
  }
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(CliExpert, NewPaperIsIdentityWithMetadata) {
  const auto f = out("paper.safetensors");
  auto r = t2("expert new " + shell_quote(kModel) + " --targets mlp --note hello --out " +
              shell_quote(f));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "6 matrices, 192 values")) << r.out;  // 2 layers x 3 x rank 32
  const auto j = info(f);
  EXPECT_EQ(j["metadata"]["format"], "t2-expert");
  EXPECT_EQ(j["metadata"]["parametrization"], "paper");
  EXPECT_EQ(j["metadata"]["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(j["metadata"]["target_set"], "mlp");
  EXPECT_EQ(j["metadata"]["note"], "hello");
  EXPECT_EQ(j["overall"]["mean"], 1.0);
  EXPECT_EQ(j["overall"]["std"], 0.0);
  EXPECT_EQ(j["per_layer"].size(), 2u);
  EXPECT_EQ(j["per_matrix"][0]["name"], "model.layers.0.mlp.gate_proj.weight");
  // The fingerprint is stable: a second file for the same model carries the same one.
  const auto g = out("paper2.safetensors");
  ASSERT_EQ(t2("expert new " + shell_quote(kModel) + " --targets attn-qv --out " + shell_quote(g))
                .exit_code,
            0);
  const auto k = info(g);
  EXPECT_EQ(k["metadata"]["base_fingerprint"], j["metadata"]["base_fingerprint"]);
  EXPECT_EQ(k["per_matrix"].size(), 4u);  // q, v of 2 layers
  // Text output shows the per-layer table.
  r = t2("expert info " + shell_quote(f));
  EXPECT_TRUE(contains(r.out, "layer 1")) << r.out;
}

TEST(CliExpert, NewSakanaIsSeededNearTheReferenceInit) {
  const auto a = out("s1.safetensors"), b = out("s2.safetensors"), c = out("s3.safetensors");
  for (const auto& [f, seed] : {std::pair{a, 4}, std::pair{b, 4}, std::pair{c, 5}})
    ASSERT_EQ(t2("expert new " + shell_quote(kModel) + " --parametrization sakana-compat --seed " +
                 std::to_string(seed) + " --out " + shell_quote(f))
                  .exit_code,
              0);
  const auto ja = info(a), jb = info(b), jc = info(c);
  EXPECT_EQ(ja["metadata"]["parametrization"], "sakana-compat");
  EXPECT_NEAR(ja["overall"]["mean"].get<double>(), 0.1, 0.004);
  EXPECT_NEAR(ja["overall"]["std"].get<double>(), 0.01, 0.004);
  EXPECT_EQ(ja["per_matrix"], jb["per_matrix"]);
  EXPECT_NE(ja["per_matrix"], jc["per_matrix"]);
}

// Statistics of the golden p values, computed here independently of the engine.
void expect_stats_match_golden(const nlohmann::json& j) {
  std::ifstream in(std::string(T2_FIXTURES_DIR) + "/experts/reference_golden.json");
  const auto g = nlohmann::json::parse(in);
  ASSERT_EQ(j["per_matrix"].size(), 6u);
  for (const auto& m : j["per_matrix"]) {
    const auto p = g["matrices"][m["name"].get<std::string>()]["p"].get<std::vector<double>>();
    double sum = 0, mn = 1e9, mx = -1e9, neg = 0;
    for (double v : p) sum += v, mn = std::min(mn, v), mx = std::max(mx, v), neg += v < 0;
    EXPECT_NEAR(m["mean"].get<double>(), sum / p.size(), 1e-6) << m["name"];
    EXPECT_EQ(m["min"].get<double>(), mn);
    EXPECT_EQ(m["max"].get<double>(), mx);
    EXPECT_DOUBLE_EQ(m["fraction_negative"].get<double>(), neg / p.size());
  }
}

TEST(CliExpert, ImportsBothReferenceFormats) {
  for (const auto& pt : {kPolicy, kByName}) {
    const auto f = out("imported.safetensors");
    const auto r = t2("expert import " + shell_quote(pt) + " --model " + shell_quote(kModel) +
                      " --out " + shell_quote(f));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = info(f);
    EXPECT_EQ(j["metadata"]["parametrization"], "sakana-compat");
    expect_stats_match_golden(j);
  }
  const auto bad = t2("expert import " + shell_quote(kModel + "/config.json") + " --model " +
                      shell_quote(kModel) + " --out " + shell_quote(out("bad.safetensors")));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "not a zip archive")) << bad.err;
}

TEST(CliExpert, MixOneHotZeroColumnsAndErrors) {
  const auto imported = out("mix_in_a.safetensors"), init = out("mix_in_b.safetensors");
  ASSERT_EQ(t2("expert import " + shell_quote(kPolicy) + " --model " + shell_quote(kModel) +
               " --out " + shell_quote(imported))
                .exit_code,
            0);
  ASSERT_EQ(t2("expert new " + shell_quote(kModel) + " --parametrization sakana-compat --out " +
               shell_quote(init))
                .exit_code,
            0);
  const auto both = shell_quote(imported) + " " + shell_quote(init);
  // One-hot: the mixed raw p equal the imported expert's.
  const auto one_hot = out("mix_one_hot.safetensors");
  auto r = t2("expert mix " + both + " --alpha 1,0 --out " + shell_quote(one_hot));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto j = info(one_hot);
  EXPECT_EQ(j["metadata"]["parametrization"], "sakana-mixed");
  expect_stats_match_golden(j);
  // Per-layer with an all-zero column: warning, and that layer is the identity (m = 1).
  const auto zero = out("mix_zero.safetensors");
  r = t2("expert mix " + both + " --per-layer '[[0.5,0],[0.5,0]]' --out " + shell_quote(zero));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "WARNING")) << r.err;
  EXPECT_TRUE(contains(r.err, "layer 1")) << r.err;
  const auto z = info(zero);
  EXPECT_EQ(z["per_layer"][1]["mean"], 1.0);
  EXPECT_EQ(z["per_layer"][1]["std"], 0.0);
  // Wrong alpha shape, incompatible experts, bad usage.
  r = t2("expert mix " + both + " --per-matrix '[[1,0],[0,1]]' --out " +
         shell_quote(out("x.safetensors")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "expected 6")) << r.err;
  const auto paper = out("mix_paper.safetensors");
  ASSERT_EQ(t2("expert new " + shell_quote(kModel) + " --out " + shell_quote(paper)).exit_code, 0);
  r = t2("expert mix " + shell_quote(imported) + " " + shell_quote(paper) +
         " --alpha 0.5,0.5 --out " + shell_quote(out("x.safetensors")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "parametrizations")) << r.err;
  r = t2("expert mix " + both + " --alpha 1,0");
  EXPECT_EQ(r.exit_code, 2) << r.err;  // --out is required
}

}  // namespace

// End-to-end: `t2 logits --expert` (expert file or JSON z map) and `t2 expert export-merged` on
// the tiny fixtures; the merged checkpoint's logits equal the adapted logits.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(T2_FIXTURES_DIR) + "/models/llama_f32";
const std::string kOther = std::string(T2_FIXTURES_DIR) + "/models/qwen2_tied";
const std::string kUp0 = "model.layers.0.mlp.up_proj.weight";

std::string scratch(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-adaptation";
  fs::create_directories(dir);
  return (dir / name).string();
}

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS T2_CACHE=" + shell_quote(scratch("cache")) + " " +
                     shell_quote(T2_CLI) + " " + args);
}

nlohmann::json logits(const std::string& model, const std::string& extra = "") {
  const auto r = t2("logits " + shell_quote(model) + " --ids 1,5,9,17,100 --json " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return nlohmann::json::parse(r.out)["logits"];
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
    return {};
  }
}

std::string write_json(const std::string& name, const nlohmann::json& j) {
  const auto path = scratch(name);
  std::ofstream(path) << j.dump();
  return path;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST(CliAdaptation, IdentityExpertsGiveTheBaseLogits) {
  const auto base = logits(kModel);
  const auto file = scratch("identity.safetensors");
  ASSERT_EQ(t2("expert new " + shell_quote(kModel) + " --out " + shell_quote(file)).exit_code, 0);
  EXPECT_EQ(logits(kModel, "--expert " + shell_quote(file)), base);
  const auto ones = write_json("ones.json", {{kUp0, std::vector<float>(32, 1.0f)}});
  EXPECT_EQ(logits(kModel, "--expert " + shell_quote(ones)), base);
}

TEST(CliAdaptation, JsonZMapChangesTheLogitsAndMergedExportMatches) {
  std::vector<float> z(32);
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = 0.25f + 0.05f * static_cast<float>(i);
  const auto map = write_json("z.json", {{kUp0, z}, {"model.layers.1.mlp.down_proj.weight", z}});
  const auto base = logits(kModel);
  const auto adapted = logits(kModel, "--expert " + shell_quote(map));
  ASSERT_FALSE(adapted.empty());
  EXPECT_NE(adapted, base);
  const auto out = scratch("merged");
  fs::remove_all(out);
  auto r = t2("expert export-merged " + shell_quote(kModel) + " --expert " + shell_quote(map) +
              " --out " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "2 adapted")) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "config.json"));
  EXPECT_EQ(logits(out), adapted);
  // A non-empty folder is refused without --force.
  r = t2("expert export-merged " + shell_quote(kModel) + " --expert " + shell_quote(map) +
         " --out " + shell_quote(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  r = t2("expert export-merged " + shell_quote(kModel) + " --expert " + shell_quote(map) +
         " --out " + shell_quote(out) + " --force");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliAdaptation, FactoredAndRecomposedApplyModesAgree) {
  std::vector<float> z(32);
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = 1.6f - 0.04f * static_cast<float>(i);
  const auto map =
      write_json("modes.json", {{kUp0, z}, {"model.layers.1.mlp.down_proj.weight", z}});
  const auto base = logits(kModel);
  const auto rec = logits(kModel, "--expert " + shell_quote(map) + " --apply-mode recompose");
  const auto fac = logits(kModel, "--expert " + shell_quote(map) + " --apply-mode factored");
  ASSERT_EQ(rec.size(), fac.size());
  double diff = 0.0, change = 0.0, scale = 0.0;
  for (std::size_t r = 0; r < rec.size(); ++r)
    for (std::size_t v = 0; v < rec[r].size(); ++v) {
      const double a = rec[r][v].get<double>(), b = fac[r][v].get<double>();
      diff = std::max(diff, std::abs(a - b));
      change = std::max(change, std::abs(a - base[r][v].get<double>()));
      scale = std::max(scale, std::abs(a));
    }
  EXPECT_LE(diff, 2e-5 * scale);
  EXPECT_GT(change, 1e-3 * scale);  // the expert matters, so agreeing means something
  const auto bad = t2("logits " + shell_quote(kModel) + " --ids 1,2 --expert " + shell_quote(map) +
                      " --apply-mode fast");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;  // bad usage: --apply-mode takes auto|recompose|factored
  EXPECT_TRUE(contains(bad.err, "fast")) << bad.err;
}

TEST(CliAdaptation, BadZMapsAreClearErrors) {
  const auto short_z = write_json("short.json", {{kUp0, {1.0, 2.0}}});
  auto r = t2("logits " + shell_quote(kModel) + " --ids 1,2 --expert " + shell_quote(short_z));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, kUp0) && contains(r.err, "32")) << r.err;
  const auto bad_name = write_json("name.json", {{"model.layers.9.mlp.up_proj.weight", {1.0}}});
  r = t2("logits " + shell_quote(kModel) + " --ids 1,2 --expert " + shell_quote(bad_name));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "model.layers.9.mlp.up_proj.weight")) << r.err;
  const auto not_json = scratch("broken.json");
  std::ofstream(not_json) << "{\"a\": [1,";
  r = t2("logits " + shell_quote(kModel) + " --ids 1,2 --expert " + shell_quote(not_json));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "not valid JSON")) << r.err;
}

TEST(CliAdaptation, ExpertOfAnotherModelNeedsAllowTransfer) {
  const auto file = scratch("other.safetensors");
  ASSERT_EQ(t2("expert new " + shell_quote(kOther) + " --out " + shell_quote(file)).exit_code, 0);
  auto r = t2("logits " + shell_quote(kModel) + " --ids 1,2 --expert " + shell_quote(file));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "allow")) << r.err;
  // Transferred identity expert: still the base logits.
  EXPECT_EQ(logits(kModel, "--expert " + shell_quote(file) + " --allow-transfer"), logits(kModel));
}

// ||W'-W||_F / ||W||_F from `t2 expert apply` against values fixed by the definition:
// a constant z = c on every singular value scales W by c, so the change is |c - 1| exactly.
TEST(CliAdaptation, ApplyReportsTheRelativeChangePerMatrix) {
  const auto map = write_json(
      "apply.json", {{kUp0, std::vector<float>(32, 2.0f)},
                     {"model.layers.1.mlp.gate_proj.weight", std::vector<float>(32, 0.75f)}});
  const auto r =
      t2("expert apply " + shell_quote(kModel) + " --expert " + shell_quote(map) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parametrization"], "paper");
  ASSERT_EQ(j["matrices"].size(), 2u);
  for (const auto& m : j["matrices"]) {
    const bool up = m["name"] == kUp0;
    EXPECT_NEAR(m["relative_change"].get<double>(), up ? 1.0 : 0.25, 1e-6) << m;
    EXPECT_NEAR(m["sigma_ratio_min"].get<double>(), up ? 2.0 : 0.75, 1e-6) << m;
    EXPECT_NEAR(m["sigma_ratio_max"].get<double>(), up ? 2.0 : 0.75, 1e-6) << m;
  }
  const auto text = t2("expert apply " + shell_quote(kModel) + " --expert " + shell_quote(map));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, kUp0)) << text.out;
  const auto missing = t2("expert apply " + shell_quote(kModel) + " --expert /nonexistent.json");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "nonexistent.json")) << missing.err;
}

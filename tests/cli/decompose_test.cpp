// End-to-end: `t2 decompose` (cache written, then used) and `t2 spectrum` (metrics checked
// against values computed here from the fixture weights and the printed sigma).
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli-decompose" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
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

// Sum of squares of every F32 tensor of a single-file checkpoint, read with a minimal parser.
std::map<std::string, double> squared_norms(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  const auto j = nlohmann::json::parse(header);
  std::map<std::string, double> out;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__" || info["dtype"] != "F32") continue;
    const auto begin = info["data_offsets"][0].get<std::uint64_t>();
    const auto end = info["data_offsets"][1].get<std::uint64_t>();
    std::vector<float> v((end - begin) / 4);
    in.seekg(static_cast<std::streamoff>(8 + n + begin));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(end - begin));
    double sum = 0.0;
    for (float x : v) sum += static_cast<double>(x) * x;
    out[name] = sum;
  }
  return out;
}

}  // namespace

TEST(CliDecompose, WritesTheCacheThenUsesIt) {
  const auto cache = fresh_dir("cache");
  const std::string args =
      "decompose " + shell_quote(fixture("qwen3")) + " --cache-dir " + shell_quote(cache);
  const auto first = parse_json(t2(args + " --json"));
  EXPECT_FALSE(first["from_cache"].get<bool>());
  const auto matrices = first["matrices"];
  ASSERT_EQ(matrices.size(), 6u);  // 2 layers x gate, up, down
  for (const auto& m : matrices) {
    EXPECT_GT(m["seconds"].get<double>(), 0.0);
    EXPECT_NE(m["name"].get<std::string>().find("mlp"), std::string::npos);
  }
  const auto path = first["cache_path"].get<std::string>();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(path.rfind(cache, 0), 0u);

  const auto second = parse_json(t2(args + " --json"));
  EXPECT_TRUE(second["from_cache"].get<bool>());
  EXPECT_EQ(second["cache_path"], first["cache_path"]);
  EXPECT_EQ(second["fingerprint"], first["fingerprint"]);
  for (std::size_t i = 0; i < matrices.size(); ++i)
    EXPECT_EQ(second["matrices"][i]["sigma_max"], matrices[i]["sigma_max"]);

  const auto text = t2(args);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("cache: used " + path), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("model.layers.1.mlp.down_proj.weight"), std::string::npos);
}

TEST(CliDecompose, NoCacheLeavesTheCacheAlone) {
  const auto cache = fresh_dir("no-cache");
  const auto r =
      parse_json(t2("decompose " + shell_quote(fixture("llama_f32")) +
                    " --targets attn-qv --no-cache --json --cache-dir " + shell_quote(cache)));
  EXPECT_FALSE(r["from_cache"].get<bool>());
  EXPECT_EQ(r["cache_path"], "");
  EXPECT_EQ(r["targets"], "attn-qv");
  EXPECT_TRUE(fs::is_empty(cache));
  const auto text = t2("decompose " + shell_quote(fixture("llama_f32")) + " --no-cache");
  EXPECT_NE(text.out.find("cache: not used"), std::string::npos) << text.out;
}

TEST(CliDecompose, ErrorsAndUsage) {
  const auto bad = t2("decompose " + shell_quote(fixture("qwen3")) + " --targets nope --no-cache");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.err;
  const auto missing = t2("decompose " + shell_quote(fixture("does_not_exist")) + " --no-cache");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("does_not_exist"), std::string::npos) << missing.err;
  EXPECT_EQ(t2("spectrum").exit_code, 2);
}

TEST(CliSpectrum, JsonMetricsMatchTheWeightsAndTheirDefinitions) {
  const auto r = parse_json(t2("spectrum " + shell_quote(fixture("llama_f32")) +
                               " --targets all-linear --no-cache --json"));
  const auto norms = squared_norms(fixture("llama_f32") + "/model.safetensors");
  const auto& matrices = r["matrices"];
  ASSERT_EQ(matrices.size(), 14u);  // 2 layers x 7 linear weights
  for (const auto& m : matrices) {
    const auto name = m["name"].get<std::string>();
    SCOPED_TRACE(name);
    const auto sigma = m["sigma"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<std::int64_t>(sigma.size()), m["rank"].get<std::int64_t>());
    double sq = 0.0, sum = 0.0;
    for (double s : sigma) sq += s * s, sum += s;
    // sum sigma^2 = ||W||_F^2 of the stored weights.
    EXPECT_NEAR(sq, norms.at(name), 1e-4 * norms.at(name));
    EXPECT_NEAR(m["frobenius_sq"].get<double>(), sq, 1e-6 * sq);
    EXPECT_NEAR(m["stable_rank"].get<double>(), sq / (sigma[0] * sigma[0]), 1e-6);
    double h = 0.0;
    for (double s : sigma) h -= (s / sum) * std::log(s / sum);
    EXPECT_NEAR(m["effective_rank"].get<double>(), std::exp(h), 1e-4);
    EXPECT_NEAR(m["condition"].get<double>(), sigma.front() / sigma.back(),
                1e-4 * sigma.front() / sigma.back());
    const auto energy = m["cumulative_energy"].get<std::vector<double>>();
    ASSERT_EQ(energy.size(), sigma.size());
    EXPECT_NEAR(energy.back(), 1.0, 1e-9);
    EXPECT_NEAR(energy.front(), sigma[0] * sigma[0] / sq, 1e-6);
    ASSERT_TRUE(m["alpha"].is_number());  // 32 values are enough for a tail fit
    EXPECT_GT(m["alpha"].get<double>(), 1.0);
  }
  ASSERT_EQ(r["layers"].size(), 2u);
  double mean_erank = 0.0;
  for (std::size_t i = 0; i < 7; ++i) mean_erank += matrices[i]["effective_rank"].get<double>();
  EXPECT_NEAR(r["layers"][0]["mean_effective_rank"].get<double>(), mean_erank / 7, 1e-9);
  EXPECT_EQ(r["layers"][0]["matrices"], 7);
}

TEST(CliSpectrum, TextTableHasMatricesAndLayers) {
  const auto r = t2("spectrum " + shell_quote(fixture("qwen2_tied")) + " --no-cache");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("eff.rank"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("per layer"), std::string::npos) << r.out;
}

// Shared by the tokenizer tests: the real tokenizers from the npm reference packages, loaded
// once per process (Gemma 3's tokenizer.json is 33 MB).
#pragma once

#include <t2/tokenizer.h>

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace t2::tokenizer_test {

// MODEL is the package suffix: qwen3, llama3, llama3_1, gemma3, llama2.
inline std::string npm_model_dir(const std::string& model) {
  return std::string(T2_NPM_REFS_DIR) + "/tokenizer-" + model + "/package/models";
}

inline bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Writes the variants that tests/fixtures/tokenizer/make_goldens.mjs derives from real files
// (see DERIVED there) into the test output folder; returns the model directory, or "" when
// `model` is not a derived one or its base is absent.
inline std::string derived_model_dir(const std::string& model) {
  if (model != "llama2_metaspace") return {};
  const std::string base = npm_model_dir("llama2");
  if (!file_exists(base + "/tokenizer.json")) return {};
  std::ifstream in(base + "/tokenizer.json");
  nlohmann::json json = nlohmann::json::parse(in);
  const nlohmann::json metaspace = {{"type", "Metaspace"},
                                    {"replacement", "\xE2\x96\x81"},
                                    {"prepend_scheme", "first"},
                                    {"split", false}};
  json["normalizer"] = nullptr;
  json["pre_tokenizer"] = metaspace;
  json["decoder"] = metaspace;
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/derived_" + model;
  std::system(("mkdir -p '" + dir + "'").c_str());
  std::ofstream(dir + "/tokenizer.json") << json.dump();
  std::ifstream config(base + "/tokenizer_config.json");
  std::ofstream(dir + "/tokenizer_config.json") << config.rdbuf();
  return dir;
}

// The directory a test loads for `model` (a package suffix or a derived variant).
inline std::string model_dir_for(const std::string& model) {
  const std::string derived = derived_model_dir(model);
  return derived.empty() ? npm_model_dir(model) : derived;
}

// nullptr when the npm reference data is absent (the caller skips).
inline const Tokenizer* load_npm_tokenizer(const std::string& model) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(model);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> tokenizer;
  const std::string dir = model_dir_for(model);
  if (file_exists(dir + "/tokenizer.json")) {
    tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_model_dir(dir));
  }
  return cache.emplace(model, std::move(tokenizer)).first->second.get();
}

}  // namespace t2::tokenizer_test

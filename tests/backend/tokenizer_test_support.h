// Shared by the tokenizer tests: the real tokenizers from the npm reference packages, loaded
// once per process (Gemma 3's tokenizer.json is 33 MB).
#pragma once

#include <t2/tokenizer.h>

#include <sys/stat.h>
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

// nullptr when the npm reference data is absent (the caller skips).
inline const Tokenizer* load_npm_tokenizer(const std::string& model) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(model);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> tokenizer;
  if (file_exists(npm_model_dir(model) + "/tokenizer.json")) {
    tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_model_dir(npm_model_dir(model)));
  }
  return cache.emplace(model, std::move(tokenizer)).first->second.get();
}

}  // namespace t2::tokenizer_test

// Internal helpers for the per-family config.json parsers (torch-free).
#pragma once

#include <t2/model_config.h>

#include <nlohmann/json.hpp>

#include <string>

namespace t2::detail::model_config {

// Typed access to config.json with errors that name the key and the file.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& json, std::string source)
      : json_(json), source_(std::move(source)) {}

  bool has(const char* key) const { return json_.contains(key) && !json_[key].is_null(); }
  std::int64_t required_int(const char* key) const;
  std::int64_t int_or(const char* key, std::int64_t fallback) const;
  double number_or(const char* key, double fallback) const;
  bool bool_or(const char* key, bool fallback) const;
  std::string string_or(const char* key, const std::string& fallback) const;
  const nlohmann::json& json() const { return json_; }
  const std::string& source() const { return source_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const nlohmann::json& json_;
  std::string source_;
};

// Fields every family shares (dims, eps, rope, tying, dtype, eos/bos), HF defaults applied.
void parse_common(const ConfigReader& r, ModelConfig& c);
// rope_scaling / rope_parameters: none, "default", "linear", "llama3"; others -> Unsupported.
RopeScaling parse_rope_scaling(const ConfigReader& r);
// Qwen2/Qwen3 rule: layer i slides iff use_sliding_window and i >= max_window_layers (or the
// explicit `layer_types` list says "sliding_attention").
void qwen_sliding_window(const ConfigReader& r, ModelConfig& c);
// Checks consistency (positive dims, heads divide, ...), throwing Corrupt naming the key.
void validate(const ConfigReader& r, const ModelConfig& c);

ModelConfig parse_llama(const ConfigReader& r);
ModelConfig parse_mistral(const ConfigReader& r);
ModelConfig parse_qwen2(const ConfigReader& r);
ModelConfig parse_qwen3(const ConfigReader& r);

}  // namespace t2::detail::model_config

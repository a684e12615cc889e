// Shared parsing of config.json fields (HF defaults applied where HF has them).
#include "config_reader.h"

#include <t2/error.h>

namespace t2::detail::model_config {

void ConfigReader::fail(const std::string& what) const {
  throw Error(ErrorKind::Corrupt, "config '" + source_ + "': " + what +
                                      " (fix config.json or re-download the checkpoint)");
}

std::int64_t ConfigReader::required_int(const char* key) const {
  if (!has(key)) fail(std::string("missing required key \"") + key + "\"");
  return int_or(key, 0);
}

std::int64_t ConfigReader::int_or(const char* key, std::int64_t fallback) const {
  if (!has(key)) return fallback;
  const auto& v = json_[key];
  if (!v.is_number_integer()) fail(std::string("key \"") + key + "\" is not an integer");
  return v.get<std::int64_t>();
}

double ConfigReader::number_or(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& v = json_[key];
  if (!v.is_number()) fail(std::string("key \"") + key + "\" is not a number");
  return v.get<double>();
}

bool ConfigReader::bool_or(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = json_[key];
  if (!v.is_boolean()) fail(std::string("key \"") + key + "\" is not true/false");
  return v.get<bool>();
}

std::string ConfigReader::string_or(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = json_[key];
  if (!v.is_string()) fail(std::string("key \"") + key + "\" is not a string");
  return v.get<std::string>();
}

namespace {
std::vector<std::int32_t> token_ids(const ConfigReader& r, const char* key) {
  std::vector<std::int32_t> out;
  if (!r.has(key)) return out;
  const auto& v = r.json()[key];
  if (v.is_number_integer()) return {v.get<std::int32_t>()};
  if (!v.is_array()) r.fail(std::string("key \"") + key + "\" is not an id or a list of ids");
  for (const auto& id : v) {
    if (!id.is_number_integer()) r.fail(std::string("key \"") + key + "\" holds a non-integer");
    out.push_back(id.get<std::int32_t>());
  }
  return out;
}
}  // namespace

RopeScaling parse_rope_scaling(const ConfigReader& r) {
  RopeScaling s;
  const char* key = r.has("rope_scaling") ? "rope_scaling" : "rope_parameters";
  if (!r.has(key)) return s;
  const auto& j = r.json()[key];
  if (!j.is_object()) r.fail(std::string("\"") + key + "\" is not an object");
  const ConfigReader sub(j, r.source() + " (" + key + ")");
  const std::string type = sub.string_or("rope_type", sub.string_or("type", "default"));
  if (type == "default") return s;
  s.factor = sub.number_or("factor", 1.0);
  if (!(s.factor > 0)) sub.fail("\"factor\" must be > 0");
  if (type == "linear") {
    s.type = RopeScalingType::Linear;
  } else if (type == "llama3") {
    s.type = RopeScalingType::Llama3;
    for (const char* k :
         {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!sub.has(k)) sub.fail(std::string("llama3 rope scaling needs \"") + k + "\"");
    s.low_freq_factor = sub.number_or("low_freq_factor", 1.0);
    s.high_freq_factor = sub.number_or("high_freq_factor", 4.0);
    s.original_max_position_embeddings = sub.required_int("original_max_position_embeddings");
    if (!(s.high_freq_factor > s.low_freq_factor))
      sub.fail("\"high_freq_factor\" must exceed \"low_freq_factor\"");
  } else {
    throw Error(ErrorKind::Unsupported, "config '" + r.source() + "': rope scaling type '" + type +
                                            "' is not supported (supported: default, linear, "
                                            "llama3)");
  }
  return s;
}

void parse_common(const ConfigReader& r, ModelConfig& c) {
  c.vocab_size = r.required_int("vocab_size");
  c.hidden_size = r.required_int("hidden_size");
  c.intermediate_size = r.required_int("intermediate_size");
  c.num_hidden_layers = r.required_int("num_hidden_layers");
  c.num_attention_heads = r.required_int("num_attention_heads");
  c.num_key_value_heads = r.int_or("num_key_value_heads", c.num_attention_heads);
  c.head_dim =
      r.int_or("head_dim", c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  c.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
  c.rope_theta = r.number_or("rope_theta", 10000.0);
  if (r.has("rope_parameters") && r.json()["rope_parameters"].is_object() &&
      r.json()["rope_parameters"].contains("rope_theta"))
    c.rope_theta =
        ConfigReader(r.json()["rope_parameters"], r.source()).number_or("rope_theta", c.rope_theta);
  c.rope_scaling = parse_rope_scaling(r);
  c.max_position_embeddings = r.int_or("max_position_embeddings", 2048);
  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  c.hidden_act = r.string_or("hidden_act", "silu");
  c.torch_dtype = r.string_or("torch_dtype", r.string_or("dtype", ""));
  c.eos_token_ids = token_ids(r, "eos_token_id");
  const auto bos = token_ids(r, "bos_token_id");
  c.bos_token_id = bos.empty() ? -1 : bos.front();
  c.sliding_window.assign(static_cast<std::size_t>(std::max<std::int64_t>(c.num_hidden_layers, 0)),
                          0);
}

void qwen_sliding_window(const ConfigReader& r, ModelConfig& c) {
  const bool use = r.bool_or("use_sliding_window", false);
  const std::int64_t window = r.int_or("sliding_window", 0);
  const std::int64_t max_window_layers = r.int_or("max_window_layers", 28);  // HF default
  if (r.has("layer_types")) {
    const auto& types = r.json()["layer_types"];
    if (!types.is_array() || static_cast<std::int64_t>(types.size()) != c.num_hidden_layers)
      r.fail("\"layer_types\" must list one type per layer");
    for (std::size_t i = 0; i < types.size(); ++i) {
      const bool sliding = types[i] == "sliding_attention";
      if (!sliding && types[i] != "full_attention")
        r.fail("\"layer_types\"[" + std::to_string(i) +
               "] is neither full_attention nor "
               "sliding_attention");
      c.sliding_window[i] = sliding && use && window > 0 ? window : 0;
    }
    return;
  }
  if (!use || window <= 0) return;
  for (std::int64_t i = max_window_layers; i < c.num_hidden_layers; ++i)
    c.sliding_window[static_cast<std::size_t>(i)] = window;
}

void validate(const ConfigReader& r, const ModelConfig& c) {
  auto positive = [&](std::int64_t v, const char* key) {
    if (v <= 0) r.fail(std::string("\"") + key + "\" must be positive");
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.num_key_value_heads, "num_key_value_heads");
  positive(c.head_dim, "head_dim");
  if (c.head_dim % 2 != 0) r.fail("\"head_dim\" must be even for rotary embeddings");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    r.fail("\"num_attention_heads\" must be a multiple of \"num_key_value_heads\"");
  if (!(c.rms_norm_eps > 0)) r.fail("\"rms_norm_eps\" must be positive");
  if (!(c.rope_theta > 0)) r.fail("\"rope_theta\" must be positive");
  if (c.hidden_act != "silu")
    throw Error(ErrorKind::Unsupported, "config '" + r.source() + "': hidden_act '" + c.hidden_act +
                                            "' is not supported (only silu)");
}

}  // namespace t2::detail::model_config

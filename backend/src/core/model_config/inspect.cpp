// `t2 inspect`: config + safetensors headers -> ModelSummary, as text or JSON.
#include <t2/model_config.h>
#include <t2/safetensors.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace t2 {
namespace detail::model_inspect {

std::string rope_name(RopeScalingType t) {
  switch (t) {
    case RopeScalingType::None:
      return "default";
    case RopeScalingType::Linear:
      return "linear";
    case RopeScalingType::Llama3:
      return "llama3";
  }
  return "default";
}

nlohmann::ordered_json config_json(const ModelConfig& c) {
  nlohmann::ordered_json j;
  j["architecture"] = c.architecture;
  j["family"] = c.family;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = {{"type", rope_name(c.rope_scaling.type)}, {"factor", c.rope_scaling.factor}};
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["qkv_bias"] = c.qkv_bias;
  j["o_bias"] = c.o_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["qk_norm"] = c.qk_norm;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["sliding_window"] = c.sliding_window;
  j["torch_dtype"] = c.torch_dtype;
  j["eos_token_ids"] = c.eos_token_ids;
  return j;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// "none", or per layer, e.g. "4096 on all layers" / "layers 0-1 full, then 32".
std::string window_text(const std::vector<std::int64_t>& windows) {
  std::string out;
  bool any = false;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    any = any || windows[i] > 0;
    out += (i ? " " : "") + (windows[i] > 0 ? std::to_string(windows[i]) : std::string("full"));
  }
  return any ? "per layer: " + out : "none (full attention)";
}

}  // namespace detail::model_inspect

namespace mi = detail::model_inspect;

ModelSummary inspect_model(const std::string& model_dir) {
  ModelSummary s;
  s.path = model_dir;
  s.config = load_model_config(model_dir);
  const auto checkpoint = Checkpoint::open(model_dir);
  s.files = checkpoint.files();
  std::set<std::string> present;
  for (const auto& t : checkpoint.tensors()) {
    s.tensors.push_back({t.name, to_string(t.dtype), t.shape});
    s.parameter_count += t.numel();
    s.bytes += t.nbytes;
    s.parameters_by_dtype[to_string(t.dtype)] += t.numel();
    present.insert(t.name);
  }
  std::set<std::string> required;
  for (const auto& name : required_tensor_names(s.config)) {
    required.insert(name);
    if (!present.count(name)) s.missing_tensors.push_back(name);
  }
  for (const auto& name : present)
    if (!required.count(name) && name != "lm_head.weight") s.unexpected_tensors.push_back(name);
  return s;
}

std::string to_json(const ModelSummary& s, int indent) {
  nlohmann::ordered_json j;
  j["path"] = s.path;
  j["config"] = mi::config_json(s.config);
  j["parameter_count"] = s.parameter_count;
  j["bytes"] = s.bytes;
  j["parameters_by_dtype"] = s.parameters_by_dtype;
  j["files"] = s.files;
  j["missing_tensors"] = s.missing_tensors;
  j["unexpected_tensors"] = s.unexpected_tensors;
  auto& tensors = j["tensors"] = nlohmann::ordered_json::array();
  for (const auto& t : s.tensors)
    tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}});
  return j.dump(indent);
}

std::string to_text(const ModelSummary& s) {
  const auto& c = s.config;
  std::ostringstream out;
  out << "model         " << s.path << "\n"
      << "architecture  " << c.architecture << " (" << c.family << ")\n"
      << "layers        " << c.num_hidden_layers << ", hidden " << c.hidden_size
      << ", intermediate " << c.intermediate_size << ", vocab " << c.vocab_size << "\n"
      << "attention     " << c.num_attention_heads << " heads, " << c.num_key_value_heads
      << " kv heads, head_dim " << c.head_dim << ", rope theta " << c.rope_theta << " ("
      << mi::rope_name(c.rope_scaling.type) << ")\n"
      << "tied lm_head  " << (c.tie_word_embeddings ? "yes" : "no") << "\n"
      << "biases        qkv " << (c.qkv_bias ? "yes" : "no") << ", o " << (c.o_bias ? "yes" : "no")
      << ", mlp " << (c.mlp_bias ? "yes" : "no") << "; q/k norm " << (c.qk_norm ? "yes" : "no")
      << "\n"
      << "sliding       " << mi::window_text(c.sliding_window) << "\n"
      << "config dtype  " << (c.torch_dtype.empty() ? "(unset)" : c.torch_dtype) << "\n"
      << "parameters    " << s.parameter_count << " (" << s.bytes << " bytes)\n";
  for (const auto& [dtype, n] : s.parameters_by_dtype) out << "  " << dtype << "  " << n << "\n";
  out << "files         " << s.files.size() << "\n";
  for (const auto& name : s.missing_tensors) out << "MISSING       " << name << "\n";
  out << "tensors       " << s.tensors.size() << "\n";
  for (const auto& t : s.tensors)
    out << "  " << t.name << "  " << t.dtype << " " << mi::shape_text(t.shape) << "\n";
  return out.str();
}

}  // namespace t2

// PEFT LoRA folders (t2/lora.h): adapter_config.json + adapter_model.safetensors, read with
// validation and written in PEFT's layout.
#include <t2/error.h>
#include <t2/lora.h>
#include <t2/safetensors.h>

#include "core/experts/torch_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace t2 {
namespace detail::lora_files {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
constexpr const char* kPrefix = "base_model.model.";

// Integral alpha as a JSON integer (PEFT's own files hold e.g. "lora_alpha": 16).
Json number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return Json(static_cast<std::int64_t>(v));
  return Json(v);
}

std::string config_json(const LoraAdapter& adapter) {
  const LoraConfig& c = adapter.config;
  Json j;
  j["alpha_pattern"] = Json::object();
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] = c.base_model;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["lora_alpha"] = number(c.alpha);
  j["lora_dropout"] = c.dropout;
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = c.rank;
  j["rank_pattern"] = Json::object();
  j["revision"] = nullptr;
  if (c.target_regex.empty())
    j["target_modules"] = c.target_modules;
  else
    j["target_modules"] = c.target_regex;
  j["task_type"] = "CAUSAL_LM";
  j["use_dora"] = false;
  j["use_rslora"] = c.rslora;
  return j.dump(2) + "\n";
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
      throw Error(ErrorKind::Io, "cannot write '" + tmp.string() + "'; check the folder");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot rename '" + tmp.string() + "': " + ec.message());
}

[[noreturn]] void corrupt(const fs::path& file, const std::string& what) {
  throw Error(ErrorKind::Corrupt, file.string() + ": " + what);
}
[[noreturn]] void unsupported(const fs::path& file, const std::string& what) {
  throw Error(ErrorKind::Unsupported, file.string() + ": " + what);
}

Json parse_config(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io, "'" + file.string() +
                                   "' not found; give a PEFT LoRA adapter folder "
                                   "(adapter_config.json + adapter_model.safetensors)");
  std::stringstream text;
  text << in.rdbuf();
  Json j;
  try {
    j = Json::parse(text.str());
  } catch (const Json::exception& e) {
    corrupt(file, std::string("not valid JSON (") + e.what() + "); restore or re-export it");
  }
  if (!j.is_object()) corrupt(file, "must be a JSON object; restore or re-export it");
  return j;
}

// j[key] as T, `fallback` when absent or null; Corrupt naming the key for a wrong type.
template <typename T>
T get(const Json& j, const char* key, const T& fallback, const fs::path& file) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const Json::exception&) {
    corrupt(file, std::string("'") + key + "' has the wrong type (" + j.at(key).dump() + ")");
  }
}

bool empty_pattern(const Json& j, const char* key) {
  return !j.contains(key) || j.at(key).is_null() || (j.at(key).is_object() && j.at(key).empty());
}

LoraConfig read_config(const fs::path& file) {
  const Json j = parse_config(file);
  const auto type = get<std::string>(j, "peft_type", "", file);
  if (type != "LORA")
    unsupported(file, "peft_type is '" + type + "'; only LoRA adapters (\"LORA\") can be used");
  if (get<std::string>(j, "bias", "none", file) != "none")
    unsupported(file, "bias other than \"none\" is not supported; train with bias \"none\"");
  if (get<bool>(j, "fan_in_fan_out", false, file))
    unsupported(file, "fan_in_fan_out (GPT-2 Conv1D layout) is not supported");
  if (get<bool>(j, "use_dora", false, file)) unsupported(file, "DoRA adapters are not supported");
  if (!empty_pattern(j, "rank_pattern") || !empty_pattern(j, "alpha_pattern"))
    unsupported(file, "per-module rank_pattern/alpha_pattern is not supported");
  LoraConfig c;
  if (!j.contains("r")) corrupt(file, "'r' (the LoRA rank) is missing");
  c.rank = get<int>(j, "r", 0, file);
  c.alpha = get<double>(j, "lora_alpha", 8.0, file);
  c.dropout = get<double>(j, "lora_dropout", 0.0, file);
  c.rslora = get<bool>(j, "use_rslora", false, file);
  c.base_model = get<std::string>(j, "base_model_name_or_path", "", file);
  if (c.rank < 1) corrupt(file, "'r' must be >= 1 (it is " + std::to_string(c.rank) + ")");
  if (!(c.alpha > 0) || !std::isfinite(c.alpha)) corrupt(file, "'lora_alpha' must be > 0");
  if (!(c.dropout >= 0 && c.dropout < 1)) corrupt(file, "'lora_dropout' must be in [0, 1)");
  if (j.contains("target_modules") && j.at("target_modules").is_string())
    c.target_regex = j.at("target_modules").get<std::string>();
  else
    c.target_modules = get<std::vector<std::string>>(j, "target_modules", {}, file);
  return c;
}

// "base_model.model.<module>.lora_A.weight" -> (<module>.weight, "A"); false for other keys.
bool split_key(const std::string& key, std::string& weight_name, std::string& which) {
  const std::string prefix = kPrefix;
  for (const char* w : {"A", "B"}) {
    const std::string suffix = std::string(".lora_") + w + ".weight";
    if (key.size() > prefix.size() + suffix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      weight_name =
          key.substr(prefix.size(), key.size() - prefix.size() - suffix.size()) + ".weight";
      which = w;
      return true;
    }
  }
  return false;
}

// (layer, part) of a decoder-layer projection's weight name; false when it is none.
bool parse_module(const std::string& name, std::int64_t& layer, std::string& part) {
  const std::string head = "model.layers.";
  if (name.compare(0, head.size(), head) != 0) return false;
  std::size_t pos = head.size(), end = pos;
  while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
  if (end == pos || end - pos > 6) return false;
  layer = std::stoll(name.substr(pos, end - pos));
  for (const auto& p : linear_parts())
    if (name == TensorNames::layer(layer, p, "weight")) {
      part = p;
      return true;
    }
  return false;
}

std::vector<float> to_floats(const SafetensorsFile& file, const TensorInfo& info) {
  std::vector<float> out(static_cast<std::size_t>(info.numel()));
  const auto* bytes = static_cast<const unsigned char*>(file.data(info));
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (info.dtype == DType::F32) {
      std::memcpy(&out[i], bytes + 4 * i, 4);
    } else {
      std::uint16_t h;
      std::memcpy(&h, bytes + 2 * i, 2);
      if (info.dtype == DType::F16) {
        out[i] = torch_file::half_to_float(h);
      } else {  // BF16: the upper half of a float32
        const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
    }
  }
  return out;
}

struct Pair {
  const TensorInfo* a = nullptr;
  const TensorInfo* b = nullptr;
};

LoraMatrix read_matrix(const SafetensorsFile& file, const std::string& name, const Pair& pair,
                       const LoraConfig& c) {
  const fs::path path = file.path();
  const std::string which = pair.a ? "lora_B" : "lora_A";
  if (!pair.a || !pair.b)
    corrupt(path, "'" + peft_lora_key(name, pair.a ? "B" : "A") + "' is missing (" + which +
                      " of module " + name + "); re-export the adapter");
  LoraMatrix m;
  m.name = name;
  if (!parse_module(name, m.layer, m.part))
    unsupported(path, "'" + name + "' is not a decoder-layer linear projection (q/k/v/o/gate/" +
                          "up/down_proj of model.layers.N); only those can be adapted");
  if (c.target_regex.empty() && !c.target_modules.empty() &&
      std::find(c.target_modules.begin(), c.target_modules.end(), m.part) == c.target_modules.end())
    corrupt(path, "module '" + name + "' is not in target_modules of adapter_config.json");
  for (const TensorInfo* t : {pair.a, pair.b})
    if (t->dtype != DType::F32 && t->dtype != DType::BF16 && t->dtype != DType::F16)
      unsupported(path, "'" + t->name + "' has dtype " + to_string(t->dtype) +
                            "; LoRA matrices must be F32, BF16 or F16");
  const auto& sa = pair.a->shape;
  const auto& sb = pair.b->shape;
  if (sa.size() != 2 || sb.size() != 2 || sa[0] != c.rank || sb[1] != c.rank)
    corrupt(path, "'" + pair.a->name + "' / lora_B of " + name +
                      " must be [r, in] / [out, r] with r = " + std::to_string(c.rank) +
                      " (adapter_config.json); the file and the config disagree");
  m.in_features = sa[1];
  m.out_features = sb[0];
  m.a = to_floats(file, *pair.a);
  m.b = to_floats(file, *pair.b);
  return m;
}

std::vector<LoraMatrix> read_weights(const fs::path& path, const LoraConfig& c) {
  if (!fs::exists(path)) {
    if (fs::exists(path.parent_path() / "adapter_model.bin"))
      unsupported(path.parent_path() / "adapter_model.bin",
                  "pickled adapters are not read; save it with safe_serialization=True "
                  "(adapter_model.safetensors)");
    throw Error(ErrorKind::Io,
                "'" + path.string() + "' not found; give a PEFT LoRA adapter folder");
  }
  const SafetensorsFile file = SafetensorsFile::open(path.string());
  std::map<std::string, Pair> pairs;
  for (const auto& info : file.tensors()) {
    std::string name, which;
    if (!split_key(info.name, name, which))
      unsupported(path, "tensor '" + info.name +
                            "' is not a LoRA matrix (base_model.model.<module>.lora_A/B.weight); "
                            "adapters with modules_to_save or other extras are not supported");
    (which == "A" ? pairs[name].a : pairs[name].b) = &info;
  }
  if (pairs.empty()) corrupt(path, "holds no LoRA matrices; re-export the adapter");
  std::vector<LoraMatrix> out;
  for (const auto& [name, pair] : pairs) out.push_back(read_matrix(file, name, pair, c));
  const auto& parts = linear_parts();
  auto order = [&](const LoraMatrix& m) {
    return std::make_pair(m.layer, std::find(parts.begin(), parts.end(), m.part) - parts.begin());
  };
  std::sort(out.begin(), out.end(),
            [&](const LoraMatrix& x, const LoraMatrix& y) { return order(x) < order(y); });
  return out;
}

}  // namespace detail::lora_files

void write_lora_adapter(const std::string& dir, const LoraAdapter& adapter,
                        const std::map<std::string, std::string>& metadata) {
  namespace dl = detail::lora_files;
  namespace fs = std::filesystem;
  const auto r = static_cast<std::int64_t>(adapter.config.rank);
  std::vector<TensorToWrite> tensors;
  for (const auto& m : adapter.matrices) {
    if (static_cast<std::int64_t>(m.a.size()) != r * m.in_features ||
        static_cast<std::int64_t>(m.b.size()) != m.out_features * r)
      throw Error(ErrorKind::InvalidArgument,
                  "LoRA matrix '" + m.name + "' does not hold r * in / out * r values");
    tensors.push_back({peft_lora_key(m.name, "A"), DType::F32, {r, m.in_features}, m.a.data()});
    tensors.push_back({peft_lora_key(m.name, "B"), DType::F32, {m.out_features, r}, m.b.data()});
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(ErrorKind::Io, "cannot create the adapter folder '" + dir + "': " + ec.message());
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";
  write_safetensors((fs::path(dir) / dl::kWeightsFile).string(), tensors, meta);
  dl::write_text_atomically(fs::path(dir) / dl::kConfigFile, dl::config_json(adapter));
}

LoraAdapter read_lora_adapter(const std::string& dir) {
  namespace dl = detail::lora_files;
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw Error(ErrorKind::Io, "'" + dir +
                                   "' is not a folder; give a PEFT LoRA adapter folder "
                                   "(adapter_config.json + adapter_model.safetensors)");
  LoraAdapter adapter;
  adapter.config = dl::read_config(fs::path(dir) / dl::kConfigFile);
  adapter.matrices = dl::read_weights(fs::path(dir) / dl::kWeightsFile, adapter.config);
  return adapter;
}

}  // namespace t2

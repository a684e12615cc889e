// The one registry: HF `architectures` name -> family parser; and config.json loading.
#include "config_reader.h"

#include <t2/error.h>

#include <fstream>
#include <map>
#include <sstream>

namespace t2 {
namespace detail::model_config {

using Parser = ModelConfig (*)(const ConfigReader&);

const std::map<std::string, Parser>& registry() {
  static const std::map<std::string, Parser> kRegistry = {
      {"LlamaForCausalLM", &parse_llama},
      {"MistralForCausalLM", &parse_mistral},
      {"Qwen2ForCausalLM", &parse_qwen2},
      {"Qwen3ForCausalLM", &parse_qwen3},
  };
  return kRegistry;
}

std::string supported_list() {
  std::string out;
  for (const auto& name : supported_architectures()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace detail::model_config

namespace mc = detail::model_config;

std::vector<std::string> supported_architectures() {
  std::vector<std::string> out;
  for (const auto& [name, parser] : mc::registry()) out.push_back(name);
  return out;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Corrupt, "config '" + source + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error(ErrorKind::Corrupt, "config '" + source + "' is not a JSON object");
  const mc::ConfigReader reader(j, source);
  if (!reader.has("architectures") || !j["architectures"].is_array() ||
      j["architectures"].empty() || !j["architectures"][0].is_string())
    reader.fail("missing required key \"architectures\" (supported: " + mc::supported_list() + ")");
  const auto arch = j["architectures"][0].get<std::string>();
  auto it = mc::registry().find(arch);
  if (it == mc::registry().end())
    throw Error(ErrorKind::Unsupported,
                "config '" + source + "': architecture '" + arch +
                    "' is not supported (supported: " + mc::supported_list() + ")");
  ModelConfig config = it->second(reader);
  config.architecture = arch;
  mc::validate(reader, config);
  return config;
}

ModelConfig load_model_config(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io, "cannot read '" + path +
                                   "' (a model folder needs config.json next to its safetensors)");
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path);
}

}  // namespace t2

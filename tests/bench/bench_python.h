// Running the PyTorch-eager reference scripts of the benchmarks (Debian's python3-torch at
// /usr/bin/python3): a model config as the scripts' JSON, and one run read back as JSON.
#pragma once

#include <t2/model_config.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace t2::bench {

inline std::string config_json(const ModelConfig& c) {
  nlohmann::json j = {{"vocab_size", c.vocab_size},
                      {"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"num_key_value_heads", c.num_key_value_heads},
                      {"head_dim", c.head_dim},
                      {"rope_theta", c.rope_theta},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"qkv_bias", c.qkv_bias},
                      {"tie_word_embeddings", c.tie_word_embeddings}};
  return j.dump();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs tests/bench/<script> with `args` and returns the JSON object of its last line; prints a
// note and returns nothing when python3-torch is unavailable or the script fails.
inline std::optional<nlohmann::json> run_python_reference(const std::string& script,
                                                          const std::vector<std::string>& args) {
  std::string cmd =
      "/usr/bin/python3 " + shell_quote(std::string(T2_SOURCE_DIR) + "/tests/bench/" + script);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) text += buf;
  const int rc = ::pclose(pipe);
  try {
    if (rc != 0) throw std::runtime_error(text);
    return nlohmann::json::parse(text.substr(text.rfind('{')));
  } catch (const std::exception&) {
    std::printf(
        "  eager reference unavailable (install python3-torch: apt-get install "
        "python3-torch); output was:\n%s\n",
        text.substr(0, 400).c_str());
    return std::nullopt;
  }
}

}  // namespace t2::bench

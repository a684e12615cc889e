// MistralForCausalLM: Llama layout without biases; one sliding window for every layer
// (HF's MistralConfig defaults sliding_window to 4096 when the key is absent; null = full).
#include "config_reader.h"

namespace t2::detail::model_config {

ModelConfig parse_mistral(const ConfigReader& r) {
  ModelConfig c;
  c.family = "mistral";
  parse_common(r, c);
  const bool present = r.json().contains("sliding_window");
  const std::int64_t window = present ? r.int_or("sliding_window", 0) : 4096;
  for (auto& w : c.sliding_window) w = window > 0 ? window : 0;
  return c;
}

}  // namespace t2::detail::model_config

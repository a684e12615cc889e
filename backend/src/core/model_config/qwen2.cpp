// Qwen2ForCausalLM: q/k/v biases always (no o bias), sliding window per the
// use_sliding_window / max_window_layers rule, usually tied embeddings in small models.
#include "config_reader.h"

namespace t2::detail::model_config {

ModelConfig parse_qwen2(const ConfigReader& r) {
  ModelConfig c;
  c.family = "qwen2";
  parse_common(r, c);
  c.qkv_bias = true;
  qwen_sliding_window(r, c);
  return c;
}

}  // namespace t2::detail::model_config

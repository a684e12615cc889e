// Qwen3ForCausalLM: per-head RMSNorm on q and k (q_norm/k_norm), explicit head_dim,
// attention_bias for q/k/v/o, Qwen's sliding-window rule.
#include "config_reader.h"

namespace t2::detail::model_config {

ModelConfig parse_qwen3(const ConfigReader& r) {
  ModelConfig c;
  c.family = "qwen3";
  parse_common(r, c);
  c.qkv_bias = c.o_bias = r.bool_or("attention_bias", false);
  c.qk_norm = true;
  qwen_sliding_window(r, c);
  return c;
}

}  // namespace t2::detail::model_config

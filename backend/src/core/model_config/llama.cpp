// LlamaForCausalLM: attention_bias (q/k/v/o), mlp_bias, head_dim, rope_scaling linear/llama3.
#include "config_reader.h"

namespace t2::detail::model_config {

ModelConfig parse_llama(const ConfigReader& r) {
  ModelConfig c;
  c.family = "llama";
  parse_common(r, c);
  c.qkv_bias = c.o_bias = r.bool_or("attention_bias", false);
  c.mlp_bias = r.bool_or("mlp_bias", false);
  return c;
}

}  // namespace t2::detail::model_config

// The one table of Hugging Face tensor names used by every supported family.
#include <t2/model_config.h>

namespace t2 {

const std::vector<std::string>& linear_parts() {
  static const std::vector<std::string> kParts = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"};
  return kParts;
}

std::string TensorNames::layer(std::int64_t layer, const std::string& part,
                               const std::string& kind) {
  const bool attention = part == "q_proj" || part == "k_proj" || part == "v_proj" ||
                         part == "o_proj" || part == "q_norm" || part == "k_norm";
  const bool mlp = part == "gate_proj" || part == "up_proj" || part == "down_proj";
  const std::string block = attention ? "self_attn." : mlp ? "mlp." : "";
  return "model.layers." + std::to_string(layer) + "." + block + part + "." + kind;
}

TensorNames tensor_names(const ModelConfig& config) {
  TensorNames n;
  n.embed = "model.embed_tokens.weight";
  n.final_norm = "model.norm.weight";
  n.lm_head = config.tie_word_embeddings ? "" : "lm_head.weight";
  return n;
}

std::vector<std::string> required_tensor_names(const ModelConfig& c) {
  const auto names = tensor_names(c);
  std::vector<std::string> out = {names.embed, names.final_norm};
  if (!names.lm_head.empty()) out.push_back(names.lm_head);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    for (const auto& part : linear_parts()) {
      out.push_back(TensorNames::layer(l, part, "weight"));
      const bool attn_in = part == "q_proj" || part == "k_proj" || part == "v_proj";
      const bool mlp = part == "gate_proj" || part == "up_proj" || part == "down_proj";
      if ((attn_in && c.qkv_bias) || (part == "o_proj" && c.o_bias) || (mlp && c.mlp_bias))
        out.push_back(TensorNames::layer(l, part, "bias"));
    }
    out.push_back(TensorNames::layer(l, "input_layernorm", "weight"));
    out.push_back(TensorNames::layer(l, "post_attention_layernorm", "weight"));
    if (c.qk_norm) {
      out.push_back(TensorNames::layer(l, "q_norm", "weight"));
      out.push_back(TensorNames::layer(l, "k_norm", "weight"));
    }
  }
  return out;
}

}  // namespace t2

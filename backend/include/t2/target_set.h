// Target sets: which weight matrices of a model an SVD decomposition and SVF experts cover.
// Resolved from the model config alone (no weights needed), in a stable order: by layer, then
// HF's part order q k v o gate up down.
#pragma once

#include <t2/model_config.h>

#include <cstdint>
#include <string>
#include <vector>

namespace t2 {

struct TargetMatrix {
  std::string name;        // HF parameter name, e.g. "model.layers.3.mlp.down_proj.weight"
  std::int64_t layer = 0;  // decoder layer index
  std::string part;        // q_proj | k_proj | v_proj | o_proj | gate_proj | up_proj | down_proj
  std::int64_t out_features = 0;  // W is [out_features, in_features] (HF layout)
  std::int64_t in_features = 0;
  std::int64_t rank() const { return out_features < in_features ? out_features : in_features; }
};

// Presets: "mlp" (gate, up, down — what Sakana's reference trains), "attn" (q, k, v, o),
// "attn-qv" (q, v — the paper's attention ablation), "all-linear" (all seven), a comma list of
// part names ("q_proj,v_proj,down_proj"), or "regex:PATTERN" (PCRE2, searched in the parameter
// names of all linear weights, e.g. "regex:layers\.(0|1)\.mlp"). Throws InvalidArgument for an
// unknown preset or part, a malformed regex, or a set that matches nothing.
std::vector<TargetMatrix> resolve_targets(const ModelConfig& config, const std::string& spec);

// The preset names, for help texts and error messages.
const std::vector<std::string>& target_presets();

// Number of singular values (= SVF parameters) over the set: sum of min(out, in).
std::int64_t total_rank(const std::vector<TargetMatrix>& targets);

}  // namespace t2

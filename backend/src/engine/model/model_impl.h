// Engine-internal view of a loaded model (torch-facing). Later engine modules (SVD, experts,
// RL) include this; nothing outside backend/src/engine does.
//
// Invariants: every tensor in `weights` is in `dtype` on `device`, never written to (CPU views
// of the safetensors mapping are read-only memory). `layers` holds the fused decode layout built
// from `weights` once at load; afterwards the linear entries of `weights` (and embed/lm_head)
// are views of the transposed/fused tensors (each weight is stored once; such views are not
// contiguous — call .contiguous() where a kernel needs it). A Session builds its own
// LayerWeights for layers whose tensors it overrides.
#pragma once

#include <t2/model.h>
#include <t2/safetensors.h>

#include <ATen/ATen.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {
namespace engine {

// Resolves an HF tensor name to the tensor to use (model weight or a session override).
// Returns an undefined tensor when the model has no such tensor.
using WeightLookup = std::function<at::Tensor(const std::string& name)>;

// One decoder layer in the fast path's layout: every matrix as Wt [in, out] (decode_layout():
// the transposed view of W's contiguous rows, which the skinny kernel streams). Undefined
// tensors mean "absent" (no bias, no q/k norm).
//   qkv_wt [hidden, (H + 2 KV) * D]   columns: q heads, then k heads, then v heads
//   qkv_b [(H + 2 KV) * D]            only with qkv_bias
//   o_wt  [H * D, hidden], o_b [hidden]
//   gate_up_wt [hidden, 2 * intermediate]   columns: gate, then up;  gate_up_b likewise
//   down_wt [intermediate, hidden], down_b [hidden]
//   input_norm, post_norm [hidden]
//   qk_norm [H + KV, D]   rows: q_norm for each q head, then k_norm for each kv head (Qwen3)
//
// `factored[p]`, when defined, replaces projection p (index in linear_parts() order: q k v o gate
// up down) by its factored form; the dense columns of that projection in the fused tensors are
// then ignored (they keep whatever they held), its bias is still added.
struct FactoredLinear {
  // y = ((x vt) * scale) ut = x W'^T with W' = U diag(scale) Vh (without bias).
  at::Tensor vt;     // [in, r]  float32 on the model device (Vh^T, usually a view of Vh)
  at::Tensor scale;  // [r] float32 sigma' (may require grad), or [B, 1, r]: one per batch row
  at::Tensor ut;     // [r, out] float32 on the model device (U^T, usually a view of U)
  bool defined() const { return scale.defined(); }
};
constexpr std::size_t kNumProjections = 7;  // q k v o gate up down (linear_parts() order)

// An additive low-rank branch on a projection (LoRA scoring in training): the projection's output
// (dense or factored, bias included) gets + scaling * ((drop(x) A^T) B^T), computed in float32
// and added in x's dtype. With B = 0 the sum is the projection's output bit for bit.
struct LowRankBranch {
  at::Tensor a;             // [r, in] float32 on the model device; may require grad
  at::Tensor b;             // [out, r] float32 on the model device; may require grad
  double scaling = 1.0;     // s = alpha / r (or alpha / sqrt(r))
  double dropout = 0.0;     // inverted dropout on the branch input, [0, 1); 0 = off
  at::Generator generator;  // CPU generator of the dropout masks (needed when dropout > 0)
  bool defined() const { return a.defined(); }
};

struct LayerWeights {
  at::Tensor qkv_wt, qkv_b, o_wt, o_b, gate_up_wt, gate_up_b, down_wt, down_b;
  at::Tensor input_norm, post_norm, qk_norm;
  std::array<FactoredLinear, kNumProjections> factored;  // all undefined: the dense fused path
  std::array<LowRankBranch, kNumProjections> lora;       // all undefined: no branch
};

// Builds layer `layer` from `lookup`; throws Corrupt naming a missing required tensor.
LayerWeights build_layer(const ModelConfig& config, std::int64_t layer, const WeightLookup& lookup);

}  // namespace engine

struct Model::Impl {
  ModelConfig config;
  std::unique_ptr<Checkpoint> checkpoint;  // keeps the memory map alive; null for random()
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  std::map<std::string, at::Tensor> weights;  // HF name -> tensor (dtype, device)
  std::vector<engine::LayerWeights> layers;   // fused layout of `weights`
  at::Tensor embed;                           // [vocab, hidden]
  at::Tensor final_norm;                      // [hidden]
  at::Tensor lm_head_t;  // [hidden, vocab] in decode_layout(); when tied, embed is a view of it
  at::Tensor inv_freq;   // [head_dim / 2] float32 on device

  // Lookup of the model's own weights (undefined tensor when absent).
  at::Tensor weight(const std::string& name) const;
  engine::WeightLookup lookup() const;
  // Checks every required tensor is present with the shape the config implies; then builds
  // layers/embed/lm_head/inv_freq. Throws Corrupt naming the first missing/mis-shaped tensor.
  void finish_load(const std::string& source);
  void share_fused_storage(std::int64_t layer);
};

namespace engine {
// "f32"/"bf16" -> dtype; "cpu"/"cuda"/"cuda:N"/"auto" -> device. InvalidArgument otherwise.
at::ScalarType parse_dtype_option(const std::string& dtype);
at::Device parse_device_option(const std::string& device);
std::string dtype_name(at::ScalarType dtype);
// The shape each required tensor must have, by HF name.
std::map<std::string, std::vector<std::int64_t>> expected_shapes(const ModelConfig& config);
}  // namespace engine

}  // namespace t2

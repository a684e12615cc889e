// Engine-internal side of a Session (torch-facing): the resolved weights this session uses
// (model weights with its overrides applied) and its RNG. Later modules (experts, RL) call
// set_override() / set_factored() with tensors that may require grad.
//
// Two kinds of override, at most one per HF name (setting one removes the other):
// - dense (`overrides`): the tensor replaces the model's; its layer's fused layout is rebuilt
//   (cost: copying the layer's weights, plus whatever made W').
// - factored (`factored`): one of the seven linear projections of a layer (q k v o gate up down)
//   becomes W' = U diag(scale) Vh, and the fast forward computes x W'^T as ((x Vh^T) * scale) U^T
//   without ever forming W' (2 (in + out) r flops per token instead of 2 in out). Setting or
//   replacing one only swaps tensor handles (microseconds): no layer is rebuilt unless a dense
//   override of the same name had to go. U and Vh are kept by reference (shared with the
//   Decomposition; on CPU float32 no copy is made, on another device they are copied once and
//   the copy is reused while the same U/Vh tensors are set again). `scale` is used as given
//   (converted to float32 on the model device, differentiably): when it requires grad (e.g.
//   sigma * z with z a leaf), a backward pass through the forward reaches it through two thin
//   products per projection; no weight-sized gradient is formed and no model tensor gets one.
//   A scale is captured when set: after changing z, compute sigma * z again and set it again.
//   Per-row scales: a scale of shape [R, 1, r] gives batch row b its own sigma' (scale[b]) — a
//   whole CEM population or per-item mixes in one batch. Every per-row scale of a session has
//   the same R; forward() and generate() then take exactly R prompts, and generate() encodes
//   each in full on its own row (no shared prefix, no merging of identical prompts: the same
//   prompt means different weights on different rows). weight() refuses such a name.
//
// Invariant: `layers`, `embed`, `final_norm`, `lm_head` always equal what build_layer() would
// produce from dense_weight(name), plus layers[l].factored[p] for every factored override — i.e.
// they are rebuilt for every layer a dense override touches.
#pragma once

#include "forward.h"
#include "model_impl.h"

#include <t2/decomposition.h>

#include <functional>
#include <map>
#include <random>

namespace t2 {

namespace engine {
// A factored override of one linear weight W [out, in]: W' = U diag(scale) Vh.
struct FactoredOverride {
  at::Tensor u;           // [out, r] float32, as given (never written)
  at::Tensor scale;       // [r] or per row [R, 1, r], float32 on the model device (may need grad)
  at::Tensor vh;          // [r, in] float32, as given (never written)
  FactoredLinear linear;  // what the forward uses: vt = Vh^T, ut = U^T on the model device
};
// The session's shared prefix: K/V of `ids` ([1, KV, len, D] per layer) and the weight tensors
// they were computed with (held, so that none can be freed and its address reused), with their
// version counters: the entry is valid while the session's weights are those same tensors,
// unmodified.
struct PrefixKv {
  std::vector<std::int32_t> ids;
  std::vector<at::Tensor> k, v;
  std::vector<at::Tensor> weights;
  std::vector<std::int64_t> versions;
};
}  // namespace engine

struct Session::Impl {
  std::shared_ptr<const Model> model;
  std::map<std::string, at::Tensor> overrides;  // HF name -> tensor (model dtype/device)
  std::map<std::string, engine::FactoredOverride> factored;  // HF name -> factored override
  std::vector<engine::LayerWeights> layers;
  at::Tensor embed, final_norm, lm_head_t;
  std::mt19937_64 rng{0};
  // Reused by generate() calls while batch and capacity fit. Its tensors are created under
  // InferenceMode: code that needs autograd (RL) must make its own cache (make_kv_cache).
  engine::KvCache cache;
  engine::PrefixKv prefix;  // see PrefixKv; prefix_valid() says whether it still applies
  // Engine-internal hook (null = none): generate() calls it once, right after the first prompts
  // are placed in the batch cache (a fixed batch: all of them, row i = prompt i), with that
  // cache, each row's next rotary position and the logits [rows, vocab] float32 of each row's
  // last prompt token. It may append columns with forward_hidden (e.g. to score a teacher-forced
  // continuation without encoding the prompts again) but must set cache.length back.
  std::function<void(engine::KvCache& cache, const std::vector<std::int64_t>& positions,
                     const at::Tensor& logits)>
      after_prefill;

  // Every tensor the forward reads (layers incl. factored and low-rank parts, embed, norms,
  // lm_head): what a cached prefix depends on.
  std::vector<at::Tensor> weights_in_effect() const;
  bool prefix_valid() const;
  // Makes `prefix` hold ids[0, n), reusing the kept prefix when it is a valid start of it.
  void ensure_prefix(const std::vector<std::int32_t>& ids, std::size_t n);

  // A cache for `batch` rows and at least `capacity` positions, emptied (length 0); the
  // session's buffers are reused when they fit, else reallocated.
  engine::KvCache& fresh_cache(std::int64_t batch, std::int64_t capacity);

  explicit Impl(std::shared_ptr<const Model> m);
  const Model::Impl& m() const { return model->impl(); }
  // The weight `name` in effect: a dense override, else a factored one recomposed (U diag(scale)
  // Vh in float32, then the model dtype: for the reference forward and tools, not for hot
  // paths), else the model's.
  at::Tensor weight(const std::string& name) const;
  at::Tensor dense_weight(const std::string& name) const;  // dense override, else model weight
  engine::WeightLookup lookup() const;
  engine::WeightSet weight_set() const;
  // Replaces `name` (same shape as the model tensor; converted to the model's dtype/device,
  // differentiably) and rebuilds what depends on it. InvalidArgument on unknown name/shape.
  void set_override(const std::string& name, const at::Tensor& value);
  // Clears a dense or a factored override of `name` (no-op when there is none).
  void clear_override(const std::string& name);
  void rebuild(const std::string& name);

  // Makes the linear weight `name` (a q/k/v/o/gate/up/down_proj.weight of a layer) factored:
  // W' = U diag(scale) Vh. u [out, r], scale [r], vh [r, in], float (converted to float32),
  // [out, in] the model tensor's shape; scale may require grad. Replaces any override of `name`.
  // InvalidArgument naming the tensor for another name, shape or a non-float tensor.
  void set_factored(const std::string& name, const at::Tensor& u, const at::Tensor& scale,
                    const at::Tensor& vh);
  // The same with U and Vh of target `name` of `decomposition` (kept shared, not copied on CPU).
  void set_factored(const std::string& name, const Decomposition& decomposition,
                    const at::Tensor& scale);
  // R of the per-row factored scales ([R, 1, r]), 0 when every scale is shared.
  std::int64_t per_row_batch() const;
  // InvalidArgument unless `rows` equals per_row_batch() (when that is > 0).
  void check_rows(std::size_t rows, const char* what) const;
  // The factored override of `name`, or nullptr.
  const engine::FactoredOverride* find_factored(const std::string& name) const;
  // Copies the `factored` entries of `layer` into layers[layer] (after editing `factored`
  // directly, as batch code may; set_factored/clear_override do it themselves).
  void attach_factored(std::int64_t layer);
};

namespace detail::session {
// Left-pads prompts to one length: ids/mask [B, S] int64 on `device` (mask 1 = token). Throws
// InvalidArgument for no/empty prompts or ids outside [0, vocab).
std::pair<at::Tensor, at::Tensor> pad_left(const std::vector<std::vector<std::int32_t>>& prompts,
                                           std::int32_t pad_id, std::int64_t vocab,
                                           at::Device device);
Logits to_logits(const at::Tensor& t);  // any float tensor -> CPU float32 Logits
}  // namespace detail::session

}  // namespace t2

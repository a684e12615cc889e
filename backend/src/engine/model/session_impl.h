// Engine-internal side of a Session (torch-facing): the resolved weights this session uses
// (model weights with its overrides applied) and its RNG. Later modules (experts, RL) call
// set_override() with tensors that may require grad.
//
// Invariant: `layers`, `embed`, `final_norm`, `lm_head` always equal what build_layer() would
// produce from weight(name) — i.e. they are rebuilt for every layer an override touches.
#pragma once

#include "forward.h"
#include "model_impl.h"

#include <map>
#include <random>

namespace t2 {

struct Session::Impl {
  std::shared_ptr<const Model> model;
  std::map<std::string, at::Tensor> overrides;  // HF name -> tensor (model dtype/device)
  std::vector<engine::LayerWeights> layers;
  at::Tensor embed, final_norm, lm_head_t;
  std::mt19937_64 rng{0};
  // Reused by generate() calls while batch and capacity fit. Its tensors are created under
  // InferenceMode: code that needs autograd (RL) must make its own cache (make_kv_cache).
  engine::KvCache cache;

  // A cache for `batch` rows and at least `capacity` positions, emptied (length 0); the
  // session's buffers are reused when they fit, else reallocated.
  engine::KvCache& fresh_cache(std::int64_t batch, std::int64_t capacity);

  explicit Impl(std::shared_ptr<const Model> m);
  const Model::Impl& m() const { return model->impl(); }
  at::Tensor weight(const std::string& name) const;  // override, else model weight
  engine::WeightLookup lookup() const;
  engine::WeightSet weight_set() const;
  // Replaces `name` (same shape as the model tensor; converted to the model's dtype/device,
  // differentiably) and rebuilds what depends on it. InvalidArgument on unknown name/shape.
  void set_override(const std::string& name, const at::Tensor& value);
  void clear_override(const std::string& name);
  void rebuild(const std::string& name);
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

// The forward pass: a fast path (fused QKV and gate/up, preallocated KV cache, GQA without
// copying K/V) and a plain reference path that follows HF's modeling code op by op. Internal.
//
// Neither path sets a grad mode: callers that only infer wrap them in InferenceGuard; training
// code may run the fast path with overrides that require grad.
#pragma once

#include "model_impl.h"

#include <ATen/ATen.h>

#include <vector>

namespace t2::engine {

// Per-layer K/V of a batch. k[l], v[l]: [B, KV, capacity, D] in the model dtype. key_valid:
// [B, capacity] bool, false for left padding (and the gaps of continuous batching); key_pos
// [B, capacity] int64, each entry's rotary position. `length` columns are filled.
struct KvCache {
  std::vector<at::Tensor> k, v;
  at::Tensor key_valid, key_pos;
  std::int64_t length = 0;
  bool padded = false;  // some key_valid entry is false (set by the caller that pads)
  // Keys at positions 0..shared_len-1 that every row shares (a prompt prefix), stored once:
  // shared_k[l], shared_v[l] [1, KV, >= shared_len, D]. The columns of k/v then hold only each
  // row's own keys (positions from shared_len on). Only the one-token decode of
  // decode_attention() reads such a cache; forward_hidden refuses any other call on it.
  std::vector<at::Tensor> shared_k, shared_v;
  std::int64_t shared_len = 0;
  std::int64_t capacity() const { return key_valid.defined() ? key_valid.size(1) : 0; }
};

KvCache make_kv_cache(const Model::Impl& model, std::int64_t batch, std::int64_t capacity);

// Inputs of one forward call.
struct ForwardInput {
  at::Tensor ids;        // [B, T] int64
  at::Tensor positions;  // [B, T] int64 rotary positions (HF: cumsum(mask) - 1)
  at::Tensor key_valid;  // [B, T] bool for these new tokens (false = padding)
};

// What a forward uses: the model's (or a session's) layers, final norm and lm_head.
struct WeightSet {
  const std::vector<LayerWeights>* layers = nullptr;
  at::Tensor embed, final_norm, lm_head_t;  // lm_head_t [hidden, vocab]
};

// Appends the new tokens to `cache` (which must have room) and returns hidden states
// [B, T, hidden] after the final norm. `cache` may be null: plain causal attention over the
// T tokens (full recomputation).
at::Tensor forward_hidden(const Model::Impl& model, const WeightSet& weights,
                          const ForwardInput& input, KvCache* cache);

// x @ wt + b for x [..., in], wt [in, out] (a transposed view of W [out, in]). Float32 with
// 2..12 rows of x runs the skinny kernel (skinny_gemm.h); one row is a BLAS gemv, more rows a
// BLAS gemm.
at::Tensor linear(const at::Tensor& x, const at::Tensor& wt, const at::Tensor& b);
// W [out, in] -> the Wt [in, out] that linear() takes: the transposed view of W's contiguous
// rows (no copy when W is contiguous). The skinny kernel streams those rows; CPU bf16 gemm only
// accumulates in float32 on that layout (LibTorch 1.13; the plain layout sums in bf16).
at::Tensor decode_layout(const at::Tensor& w);
// residual + x W^T + b in one BLAS call (beta = 1) in float32; bf16 rounds as HF does
// (projection, then sum). residual [..., out].
at::Tensor linear_residual(const at::Tensor& residual, const at::Tensor& x, const at::Tensor& wt,
                           const at::Tensor& b);

// lm_head(hidden) as float32: [B, T, V].
at::Tensor project_logits(const WeightSet& weights, const at::Tensor& hidden);

// The reference path: HF modeling code, op for op, from per-name tensors; full recompute.
// ids [B, S] int64, mask [B, S] int64 (1 token, 0 left padding). Returns float32 [B, S, V].
at::Tensor forward_reference(const ModelConfig& config, const WeightLookup& lookup,
                             const at::Tensor& ids, const at::Tensor& mask,
                             const at::Tensor& inv_freq);

// HF generate()'s positions for a left-padded batch: cumsum(mask) - 1, 1 where masked.
at::Tensor positions_from_mask(const at::Tensor& mask);

// RAII: inference mode where LibTorch has it, else no-grad.
struct InferenceGuard {
  c10::InferenceMode mode;
};

}  // namespace t2::engine

// Attention of one new token per row against a KV cache, float32 on the CPU: the decode step of
// batched generation. ATen's path (two batched matmuls over B x KV tiny matrices, an additive
// mask built per step) costs two OpenBLAS calls per (row, head) per layer; for the demo model at
// 64 rows that was most of a decode step. This computes scores, the masked softmax and the
// weighted sum of V in one pass per (row, KV head), its G query heads together, rows split over
// the intra-op threads. Each row's result does not depend on the other rows.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace t2::engine {

// q [B, H, D] (one query per row), k/v [B, KV, >= L, D] with contiguous rows of D (the cache;
// columns 0..L-1 are read), key_valid [B, >= L] bool, key_pos [B, >= L] and q_pos [B] int64.
// Key column j is attended when key_valid[b, j] and (window == 0 or key_pos[b, j] > q_pos[b] -
// window); a row with no such key gets zeros. Query head h uses KV head h / (H / KV) (HF's
// repeat_kv). A shared prefix (shared_k/shared_v [1, KV, >= shared_len, D], positions
// 0..shared_len-1, every row's keys before its own) is read once for all rows and attended
// first, as if each row held a copy in front of its columns. Returns [B, H, D] float32. Undefined
// when it does not apply (switched off, not float32 CPU, gradients needed, odd strides), so that
// the caller uses ATen's path. Process-wide switch (default on; T2_DECODE_ATTENTION=0 in the
// environment turns it off at start-up): benchmarks flip it to time the previous implementation.
bool decode_attention_enabled();
void set_decode_attention_enabled(bool on);
// Whether decode_attention() runs for a model of this dtype and device (when called without
// gradients): float32 on the CPU, switched on.
bool decode_attention_applies(at::ScalarType dtype, const at::Device& device);

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            std::int64_t length, const at::Tensor& key_valid,
                            const at::Tensor& key_pos, const at::Tensor& q_pos, std::int64_t window,
                            double scale, const at::Tensor& shared_k = {},
                            const at::Tensor& shared_v = {}, std::int64_t shared_len = 0);

}  // namespace t2::engine

// Rotary position embeddings with HF's inv_freq (default, linear, llama3). Internal.
#pragma once

#include <t2/model_config.h>

#include <ATen/ATen.h>

namespace t2::engine {

// inv_freq [head_dim / 2] float32 on CPU, computed as HF does:
//   1 / theta^(arange(0, D, 2) / D), then divided by the factor (linear) or smoothly rescaled
//   per wavelength (llama3).
at::Tensor rope_inv_freq(const ModelConfig& config);

// cos, sin [B, 1, T, D] in `dtype` for positions [B, T] (int64): freqs are computed in float32
// as positions x inv_freq, duplicated (cat(freqs, freqs)), then cos/sin cast to dtype.
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq,
                                               const at::Tensor& positions, at::ScalarType dtype);

// x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]).
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Fast-path layout: cos and sin_signed [B, T, 1, D] for x [B, T, heads, D], where
// sin_signed = cat(-sin[..., :D/2], sin[..., D/2:]) so that rotate_half(x) * sin ==
// roll(x, D/2) * sin_signed; apply_rope_fast(x) = x * cos + roll(x, D/2) * sin_signed (3 kernels
// instead of 5; same products and sums as HF).
std::pair<at::Tensor, at::Tensor> rope_tables(const at::Tensor& inv_freq,
                                              const at::Tensor& positions, at::ScalarType dtype);
at::Tensor apply_rope_fast(const at::Tensor& x, const at::Tensor& cos,
                           const at::Tensor& sin_signed);

// HF RMSNorm: statistics in float32, normalised value cast back, then times weight. The
// reference path keeps its own op-for-op copy; this one saves temporaries.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace t2::engine

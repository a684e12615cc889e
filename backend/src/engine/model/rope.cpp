#include "rope.h"

#include <cmath>

namespace t2::engine {

at::Tensor rope_inv_freq(const ModelConfig& c) {
  const auto d = c.head_dim;
  auto exponents = at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d);
  at::Tensor inv = 1.0 / at::pow(c.rope_theta, exponents);
  const auto& s = c.rope_scaling;
  if (s.type == RopeScalingType::Linear) return inv / s.factor;
  if (s.type != RopeScalingType::Llama3) return inv;
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_wavelen = old_len / s.low_freq_factor;
  const double high_wavelen = old_len / s.high_freq_factor;
  const at::Tensor wavelen = 2 * M_PI / inv;
  at::Tensor scaled = at::where(wavelen > low_wavelen, inv / s.factor, inv);
  const at::Tensor smooth =
      (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  const at::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled);
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq,
                                               const at::Tensor& positions, at::ScalarType dtype) {
  // [B, T, 1] x [D/2] -> [B, T, D/2], float32 as in HF (autocast disabled there).
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;
  const at::Tensor emb = at::cat({freqs, freqs}, -1).unsqueeze(1);  // [B, 1, T, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

std::pair<at::Tensor, at::Tensor> rope_tables(const at::Tensor& inv_freq,
                                              const at::Tensor& positions, at::ScalarType dtype) {
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  const at::Tensor sin = freqs.sin();
  const at::Tensor cos = at::cat({freqs, freqs}, -1).cos();
  const at::Tensor sin_signed = at::cat({-sin, sin}, -1);
  return {cos.unsqueeze(2).to(dtype), sin_signed.unsqueeze(2).to(dtype)};
}

at::Tensor apply_rope_fast(const at::Tensor& x, const at::Tensor& cos,
                           const at::Tensor& sin_signed) {
  // addcmul rounds once; bf16 keeps HF's two roundings (product, then sum).
  if (x.scalar_type() != at::kFloat) return x * cos + x.roll(x.size(-1) / 2, -1) * sin_signed;
  return at::addcmul(x * cos, x.roll(x.size(-1) / 2, -1), sin_signed);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor inv_rms = xf.pow(2).mean(-1, /*keepdim=*/true).add_(eps).rsqrt_();
  at::Tensor normed = xf * inv_rms;
  if (x.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat &&
      !weight.requires_grad())
    return normed.mul_(weight);
  return weight * normed.to(x.scalar_type());
}

}  // namespace t2::engine

// One-token attention against the KV cache (decode_attention.h).
#include "decode_attention.h"

#include <ATen/Parallel.h>

#if !defined(_OPENMP)
#error "decode_attention.cpp needs OpenMP's compile flags: at::parallel_for inlines its region"
#endif

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace t2::engine {
namespace {

bool cpu_float(const at::Tensor& t) {
  return t.defined() && t.scalar_type() == at::kFloat && t.device().is_cpu();
}

inline float dot(const float* a, const float* b, std::int64_t d) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (std::int64_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy(float alpha, const float* x, float* y, std::int64_t d) {
#pragma omp simd
  for (std::int64_t i = 0; i < d; ++i) y[i] += alpha * x[i];
}

}  // namespace

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            std::int64_t length, const at::Tensor& key_valid,
                            const at::Tensor& key_pos, const at::Tensor& q_pos, std::int64_t window,
                            double scale) {
  if (!cpu_float(q) || !cpu_float(k) || !cpu_float(v) || q.dim() != 3 || k.dim() != 4 ||
      v.dim() != 4)
    return {};
  if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()))
    return {};
  const std::int64_t b = q.size(0), h = q.size(1), d = q.size(2), kv = k.size(1);
  if (kv == 0 || h % kv != 0 || k.size(0) != b || v.sizes() != k.sizes() || k.size(3) != d ||
      length <= 0 || k.size(2) < length || key_valid.size(1) < length)
    return {};
  if (k.stride(3) != 1 || v.stride(3) != 1 || k.stride(2) != d || v.stride(2) != d) return {};
  const std::int64_t g = h / kv;
  const at::Tensor qc = q.contiguous();
  const at::Tensor valid = key_valid.to(at::kBool).contiguous();
  const at::Tensor kpos = key_pos.to(at::kLong).contiguous();
  const at::Tensor qpos = q_pos.to(at::kLong).contiguous();
  at::Tensor out = at::zeros({b, h, d}, q.options());
  const float* qp = qc.data_ptr<float>();
  const float* kp = k.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  const bool* validp = valid.data_ptr<bool>();
  const std::int64_t* kposp = kpos.data_ptr<std::int64_t>();
  const std::int64_t* qposp = qpos.data_ptr<std::int64_t>();
  float* op = out.data_ptr<float>();
  const std::int64_t lds = valid.stride(0), ldp = kpos.stride(0);
  const std::int64_t kb = k.stride(0), kh = k.stride(1), vb = v.stride(0), vh = v.stride(1);
  const auto sc = static_cast<float>(scale);
  // A task: one (row, KV head) pair, ~4 g L d flops; aim for ~64 K flops per chunk.
  const std::int64_t grain =
      std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, g * length * d));
  at::parallel_for(0, b * kv, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> p(static_cast<std::size_t>(g * length));
    std::vector<std::int64_t> cols;
    cols.reserve(static_cast<std::size_t>(length));
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t row = task / kv, head = task % kv;
      cols.clear();
      const std::int64_t lowest_pos = window > 0 ? qposp[row] - window : 0;
      for (std::int64_t j = 0; j < length; ++j)
        if (validp[row * lds + j] && (window <= 0 || kposp[row * ldp + j] > lowest_pos))
          cols.push_back(j);
      if (cols.empty()) continue;
      const auto n = static_cast<std::int64_t>(cols.size());
      const float* kr = kp + row * kb + head * kh;
      const float* vr = vp + row * vb + head * vh;
      for (std::int64_t gi = 0; gi < g; ++gi) {
        const float* qr = qp + (row * h + head * g + gi) * d;
        float* pr = p.data() + gi * length;
        float mx = -std::numeric_limits<float>::infinity();
        for (std::int64_t c = 0; c < n; ++c) {
          pr[c] = dot(qr, kr + cols[static_cast<std::size_t>(c)] * d, d) * sc;
          mx = std::max(mx, pr[c]);
        }
        float sum = 0.0f;
        for (std::int64_t c = 0; c < n; ++c) {
          pr[c] = std::exp(pr[c] - mx);
          sum += pr[c];
        }
        const float inv = 1.0f / sum;
        float* orow = op + (row * h + head * g + gi) * d;
        for (std::int64_t c = 0; c < n; ++c)
          axpy(pr[c] * inv, vr + cols[static_cast<std::size_t>(c)] * d, orow, d);
      }
    }
  });
  return out;
}

}  // namespace t2::engine

// One-token attention against the KV cache (decode_attention.h).
#include "decode_attention.h"
#include "avx2.h"

#include <ATen/Parallel.h>

#if !defined(_OPENMP)
#error "decode_attention.cpp needs OpenMP's compile flags: at::parallel_for inlines its region"
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace t2::engine {
namespace {

bool cpu_float(const at::Tensor& t) {
  return t.defined() && t.scalar_type() == at::kFloat && t.device().is_cpu();
}

// The portable loops (any CPU; d of any size).
inline float dot_plain(const float* a, const float* b, std::int64_t d) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (std::int64_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy_plain(float alpha, const float* x, float* y, std::int64_t d) {
#pragma omp simd
  for (std::int64_t i = 0; i < d; ++i) y[i] += alpha * x[i];
}

// p[i] = exp(p[i] - mx); returns the sum.
inline float exp_sum_plain(float* p, std::int64_t n, float mx) {
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) {
    p[i] = std::exp(p[i] - mx);
    sum += p[i];
  }
  return sum;
}

#if T2_X86_KERNELS

T2_AVX2 inline float dot_avx2(const float* a, const float* b, std::int64_t d) {
  __m256 acc = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= d; i += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  float s = avx2::hsum(acc);
  for (; i < d; ++i) s += a[i] * b[i];
  return s;
}

T2_AVX2 inline void axpy_avx2(float alpha, const float* x, float* y, std::int64_t d) {
  const __m256 a = _mm256_set1_ps(alpha);
  std::int64_t i = 0;
  for (; i + 8 <= d; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < d; ++i) y[i] += alpha * x[i];
}

// exp(x) for x <= 0 (scores minus their maximum), 8 at a time: x = n ln2 + g, |g| <= ln2 / 2,
// exp(g) by Cephes' degree-6 polynomial (relative error ~1e-7), times 2^n through the exponent
// bits. Inputs below -87.3 give exp(-87.3) ~ 1e-38 instead of smaller (nothing next to the
// maximum's 1).
T2_AVX2 inline __m256 exp_avx2(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 g = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  g = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), g);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, g, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, g, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, g, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, g, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, g, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(g, g), _mm256_add_ps(g, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

T2_AVX2 inline float exp_sum_avx2(float* p, std::int64_t n, float mx) {
  const __m256 m = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(p + i), m));
    _mm256_storeu_ps(p + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = avx2::hsum(acc);
  for (; i < n; ++i) {
    p[i] = std::exp(p[i] - mx);
    sum += p[i];
  }
  return sum;
}

#endif  // T2_X86_KERNELS

// One (row, KV head): its g query heads q [g, d] against the shared keys/values sk, sv at rows
// s0..s1 (positions), then its own k, v (rows of d) at the columns cols[0..n); scores in p
// [s1 - s0 + n]; outputs (zeroed) out [g, d]. The order of the sums is that of a row holding
// the shared keys in front of its own.
#define T2_ATTEND_BODY(DOT, EXP_SUM, AXPY)                                             \
  const std::int64_t ns = s1 - s0;                                                     \
  for (std::int64_t gi = 0; gi < g; ++gi) {                                            \
    const float* qr = q + gi * d;                                                      \
    float mx = -std::numeric_limits<float>::infinity();                                \
    for (std::int64_t c = 0; c < ns; ++c) {                                            \
      p[c] = DOT(qr, sk + (s0 + c) * d, d) * scale;                                    \
      mx = std::max(mx, p[c]);                                                         \
    }                                                                                  \
    for (std::int64_t c = 0; c < n; ++c) {                                             \
      p[ns + c] = DOT(qr, k + cols[c] * d, d) * scale;                                 \
      mx = std::max(mx, p[ns + c]);                                                    \
    }                                                                                  \
    const float inv = 1.0f / EXP_SUM(p, ns + n, mx);                                   \
    float* o = out + gi * d;                                                           \
    for (std::int64_t c = 0; c < ns; ++c) AXPY(p[c] * inv, sv + (s0 + c) * d, o, d);   \
    for (std::int64_t c = 0; c < n; ++c) AXPY(p[ns + c] * inv, v + cols[c] * d, o, d); \
  }

using AttendFn = void (*)(const float*, std::int64_t, const float*, const float*, std::int64_t,
                          std::int64_t, const float*, const float*, const std::int64_t*,
                          std::int64_t, std::int64_t, float, float*, float*);

// The same body for both instruction sets (a template would not inline the AVX2 helpers
// into a generic function); clang-format would fold these onto one line.
// clang-format off
void attend_plain(const float* q, std::int64_t g, const float* sk, const float* sv,
                  std::int64_t s0, std::int64_t s1, const float* k, const float* v,
                  const std::int64_t* cols, std::int64_t n, std::int64_t d, float scale, float* p,
                  float* out) {
  T2_ATTEND_BODY(dot_plain, exp_sum_plain, axpy_plain)
}

#if T2_X86_KERNELS
T2_AVX2 void attend_avx2(const float* q, std::int64_t g, const float* sk, const float* sv,
                         std::int64_t s0, std::int64_t s1, const float* k, const float* v,
                         const std::int64_t* cols, std::int64_t n, std::int64_t d, float scale,
                         float* p, float* out) {
  T2_ATTEND_BODY(dot_avx2, exp_sum_avx2, axpy_avx2)
}
#endif
// clang-format on

#undef T2_ATTEND_BODY

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{[] {
    const char* v = std::getenv("T2_DECODE_ATTENTION");
    return v == nullptr || (std::strcmp(v, "0") != 0 && std::strcmp(v, "off") != 0);
  }()};
  return flag;
}

AttendFn attend_kernel() {
#if T2_X86_KERNELS
  static const bool avx2 = avx2::supported();
  if (avx2) return attend_avx2;
#endif
  return attend_plain;
}

}  // namespace

bool decode_attention_enabled() { return enabled_flag().load(); }

void set_decode_attention_enabled(bool on) { enabled_flag().store(on); }

bool decode_attention_applies(at::ScalarType dtype, const at::Device& device) {
  return decode_attention_enabled() && dtype == at::kFloat && device.is_cpu();
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            std::int64_t length, const at::Tensor& key_valid,
                            const at::Tensor& key_pos, const at::Tensor& q_pos, std::int64_t window,
                            double scale, const at::Tensor& shared_k, const at::Tensor& shared_v,
                            std::int64_t shared_len) {
  if (!decode_attention_enabled()) return {};
  if (!cpu_float(q) || !cpu_float(k) || !cpu_float(v) || q.dim() != 3 || k.dim() != 4 ||
      v.dim() != 4)
    return {};
  if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()))
    return {};
  const std::int64_t b = q.size(0), h = q.size(1), d = q.size(2), kv = k.size(1);
  if (kv == 0 || h % kv != 0 || k.size(0) != b || v.sizes() != k.sizes() || k.size(3) != d ||
      length <= 0 || k.size(2) < length || key_valid.dim() != 2 || key_valid.size(0) != b ||
      key_valid.size(1) < length || key_pos.dim() != 2 || key_pos.size(0) != b ||
      key_pos.size(1) < length || q_pos.numel() != b)
    return {};
  if (k.stride(3) != 1 || v.stride(3) != 1 || k.stride(2) != d || v.stride(2) != d) return {};
  if (shared_len > 0 &&
      (!cpu_float(shared_k) || !cpu_float(shared_v) || shared_k.dim() != 4 ||
       shared_k.sizes() != shared_v.sizes() || shared_k.size(0) != 1 || shared_k.size(1) != kv ||
       shared_k.size(2) < shared_len || shared_k.size(3) != d || shared_k.stride(3) != 1 ||
       shared_v.stride(3) != 1 || shared_k.stride(2) != d || shared_v.stride(2) != d))
    return {};
  const std::int64_t g = h / kv;
  // Rows are read through their strides: the cache's narrowed views need no copy.
  auto rows_of = [](const at::Tensor& t, at::ScalarType type) {
    const at::Tensor u = t.to(type);
    return u.stride(-1) == 1 ? u : u.contiguous();
  };
  const at::Tensor qc = q.contiguous();
  const at::Tensor valid = rows_of(key_valid, at::kBool);
  const at::Tensor kpos = rows_of(key_pos, at::kLong);
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
  const AttendFn attend = attend_kernel();
  const float* skp = shared_len > 0 ? shared_k.data_ptr<float>() : nullptr;
  const float* svp = shared_len > 0 ? shared_v.data_ptr<float>() : nullptr;
  const std::int64_t skh = shared_len > 0 ? shared_k.stride(1) : 0;
  const std::int64_t svh = shared_len > 0 ? shared_v.stride(1) : 0;
  // A task: one (row, KV head) pair, ~4 g L d flops; aim for ~64 K flops per chunk. Tasks go
  // head-major, so that consecutive rows read the same shared keys from cache.
  const std::int64_t grain =
      std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, g * (length + shared_len) * d));
  at::parallel_for(0, b * kv, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> p(static_cast<std::size_t>(length + shared_len));
    std::vector<std::int64_t> cols;
    cols.reserve(static_cast<std::size_t>(length));
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t head = task / b, row = task % b;
      cols.clear();
      const std::int64_t lowest_pos = window > 0 ? qposp[row] - window : 0;
      for (std::int64_t j = 0; j < length; ++j)
        if (validp[row * lds + j] && (window <= 0 || kposp[row * ldp + j] > lowest_pos))
          cols.push_back(j);
      // Shared keys sit at positions 0..shared_len-1: those inside the window.
      const std::int64_t s0 =
          window > 0 ? std::clamp<std::int64_t>(lowest_pos + 1, 0, shared_len) : 0;
      if (cols.empty() && s0 >= shared_len) continue;
      attend(qp + (row * h + head * g) * d, g, skp ? skp + head * skh : nullptr,
             svp ? svp + head * svh : nullptr, s0, shared_len, kp + row * kb + head * kh,
             vp + row * vb + head * vh, cols.data(), static_cast<std::int64_t>(cols.size()), d, sc,
             p.data(), op + (row * h + head * g) * d);
    }
  });
  return out;
}

}  // namespace t2::engine

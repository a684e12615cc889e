// The skinny float32 GEMM (skinny_gemm.h): AVX2/FMA register tiles over the unpacked weight.
#include "skinny_gemm.h"
#include "avx2.h"

#include <ATen/Parallel.h>

#if !defined(_OPENMP)
#error "skinny_gemm.cpp needs OpenMP's compile flags: at::parallel_for inlines its OpenMP region"
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace t2::engine {
namespace {

constexpr std::int64_t kBlockK = 512;  // x columns per pass: 8 rows x 512 = 16 KiB (L1)
// Register tiles: 2 rows of x against 4 rows of W (8 accumulators: the FMA latency times its
// throughput). Groups of 4, 6 and 8 rows (against 2, 2 and 1 W rows) measured no better.
constexpr int kTileM = 2;  // x rows per register tile
constexpr int kTileN = 4;  // W rows per register tile

bool env_enabled() {
  const char* v = std::getenv("T2_SKINNY_GEMM");
  return v == nullptr || (std::strcmp(v, "0") != 0 && std::strcmp(v, "off") != 0);
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{env_enabled()};
  return flag;
}

#if T2_X86_KERNELS

// y[r, j] += sum_k x[r, k] w[j, k] for r < MR, j < NR, k < kb: NR rows of W (each contiguous,
// streamed once) against MR rows of x, as 8-wide partial sums reduced at the end.
// `next`, when not null, is the W block the following call will stream: fetched into cache
// (one line per row every other step) while this one computes, so memory never idles.
template <int NR, int MR>
T2_AVX2 void tile(const float* x, std::int64_t ldx, const float* w, std::int64_t ldw, float* y,
                  std::int64_t ldy, std::int64_t kb, const float* next) {
  __m256 acc[NR][MR];
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[j][r] = _mm256_setzero_ps();
  const std::int64_t kv = kb & ~std::int64_t{7};
  for (std::int64_t k = 0; k < kv; k += 8) {
    __m256 b[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) b[j] = _mm256_loadu_ps(w + j * ldw + k);
    if (next != nullptr && (k & 15) == 0) {
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j)
        _mm_prefetch(reinterpret_cast<const char*>(next + j * ldw + k), _MM_HINT_T0);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_loadu_ps(x + r * ldx + k);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[j][r] = _mm256_fmadd_ps(a, b[j], acc[j][r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      float s = avx2::hsum(acc[j][r]);
      for (std::int64_t k = kv; k < kb; ++k) s += x[r * ldx + k] * w[j * ldw + k];
      y[r * ldy + j] += s;
    }
}

using TileFn = void (*)(const float*, std::int64_t, const float*, std::int64_t, float*,
                        std::int64_t, std::int64_t, const float*);

// kTiles[nr - 1][mr - 1]: tile<nr, mr> (the last tiles of a matrix may be narrower).
constexpr TileFn kTiles[kTileN][kTileM] = {{tile<1, 1>, tile<1, 2>},
                                           {tile<2, 1>, tile<2, 2>},
                                           {tile<3, 1>, tile<3, 2>},
                                           {tile<4, 1>, tile<4, 2>}};

#endif  // T2_X86_KERNELS

}  // namespace

bool skinny_gemm_supported() {
#if T2_X86_KERNELS
  static const bool ok = avx2::supported();
  return ok;
#else
  return false;
#endif
}

bool skinny_gemm_enabled() { return enabled_flag().load() && skinny_gemm_supported(); }

void set_skinny_gemm_enabled(bool on) { enabled_flag().store(on); }

void skinny_sgemm_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, const float* x,
                             std::int64_t ldx, const float* w, std::int64_t ldw, float* y,
                             std::int64_t ldy) {
#if T2_X86_KERNELS
  if (m <= 0 || n <= 0 || k <= 0) return;
  // For each tile of W rows and block of K, every pair of x rows in turn: the W block comes
  // from memory once (prefetched during the previous tile's first pair) and is reused from L1.
  for (std::int64_t j = 0; j < n; j += kTileN) {
    const int nr = static_cast<int>(std::min<std::int64_t>(kTileN, n - j));
    const bool more = j + 2 * kTileN <= n;  // a full tile follows
    for (std::int64_t k0 = 0; k0 < k; k0 += kBlockK) {
      const std::int64_t kb = std::min(kBlockK, k - k0);
      const float* next = more ? w + (j + kTileN) * ldw + k0 : nullptr;
      for (std::int64_t r = 0; r < m; r += kTileM) {
        const int mr = static_cast<int>(std::min<std::int64_t>(kTileM, m - r));
        kTiles[nr - 1][mr - 1](x + r * ldx + k0, ldx, w + j * ldw + k0, ldw, y + r * ldy + j, ldy,
                               kb, r == 0 ? next : nullptr);
      }
    }
  }
#else
  (void)m, (void)n, (void)k, (void)x, (void)ldx, (void)w, (void)ldw, (void)y, (void)ldy;
#endif
}

at::Tensor skinny_linear(const at::Tensor& x2, const at::Tensor& wt, const at::Tensor& b,
                         const at::Tensor& residual2, std::int64_t max_rows) {
  if (!skinny_gemm_enabled()) return {};
  if (x2.dim() != 2 || wt.dim() != 2 || x2.size(1) != wt.size(0)) return {};
  const std::int64_t m = x2.size(0), k = x2.size(1), n = wt.size(1);
  if (m < kSkinnyMinRows || m > max_rows || k == 0 || n == 0) return {};
  auto plain = [](const at::Tensor& t) {
    return !t.defined() || (t.scalar_type() == at::kFloat && t.device().is_cpu());
  };
  if (!plain(x2) || !plain(wt) || !plain(b) || !plain(residual2)) return {};
  if (wt.stride(0) != 1 || wt.stride(1) < k) return {};  // W = wt.t() must have contiguous rows
  if (at::GradMode::is_enabled() &&
      (x2.requires_grad() || wt.requires_grad() || (b.defined() && b.requires_grad()) ||
       (residual2.defined() && residual2.requires_grad())))
    return {};
  const at::Tensor x = x2.contiguous();
  // A fresh output (never a view of the bias or residual: the kernel accumulates into it).
  at::Tensor y = at::empty({m, n}, x.options());
  if (residual2.defined()) {
    y.copy_(residual2);
    if (b.defined()) y.add_(b);
  } else if (b.defined()) {
    y.copy_(b.reshape({1, n}).expand({m, n}));
  } else {
    y.zero_();
  }
  const float* xp = x.data_ptr<float>();
  const float* wp = wt.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const std::int64_t ldw = wt.stride(1);
  // Blocks of 16 output columns per task; a task should carry ~1 M multiply-adds to pay for
  // waking a thread.
  constexpr std::int64_t kCols = 16;
  const std::int64_t blocks = (n + kCols - 1) / kCols;
  const std::int64_t grain =
      std::max<std::int64_t>(1, (1 << 20) / (kCols * k * std::max<std::int64_t>(m, 4)));
  at::parallel_for(0, blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t c0 = begin * kCols, c1 = std::min(n, end * kCols);
    skinny_sgemm_accumulate(m, c1 - c0, k, xp, k, wp + c0 * ldw, ldw, yp + c0, n);
  });
  return y;
}

}  // namespace t2::engine

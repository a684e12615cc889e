// Skinny float32 GEMM for the few-row products of batched decoding and short prefills:
// y [M, N] = x [M, K] @ W^T (+ bias) (+ residual) for W [N, K] with contiguous rows (the
// engine's decode layout, Wt = W.t()), M small (kSkinnyMinRows..kSkinnyMaxRows).
//
// Why: OpenBLAS 0.3.21's sgemm packs the whole weight matrix on every call, which for a few
// rows costs as much as the product itself. This kernel streams each row of W once per call,
// unpacked, as dot products against the rows of x held in L1: AVX2/FMA register tiles of 2 x
// rows by 4 W rows (8-wide partial sums, reduced at the end), K blocked by 512, the next W block
// prefetched while the current one computes, output columns split across the intra-op threads.
// Each output element's arithmetic does not depend on M or on the thread split, so a row's
// result does not depend on the batch around it. Measurements: docs/batched-generation.md.
//
// Portable fallback: where the CPU lacks AVX2+FMA (or the kernel is switched off) the engine
// uses at::mv / at::mm as before. Autograd: skinny_linear() only runs where no gradient is
// needed (inference mode, or no input requires grad); training's products stay on at::mm.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace t2::engine {

// Above this many rows OpenBLAS's packed GEMM is faster on the 2-core machines measured
// (t2_bench_decode: skinny/BLAS 1.8-3.3x at M = 8..12, 0.7-0.75x at M = 16 on Qwen2.5-0.5B
// shapes; docs/batched-generation.md).
constexpr std::int64_t kSkinnyMaxRows = 12;
// One row stays on OpenBLAS's gemv, which streams W at 90+ % of the measured read bandwidth in
// the whole decode step (the kernel's single-row tile reached ~55 %).
constexpr std::int64_t kSkinnyMinRows = 2;

// True when this CPU can run the kernel (x86-64 with AVX2 and FMA).
bool skinny_gemm_supported();
// Process-wide switch (default on where supported; T2_SKINNY_GEMM=0 in the environment turns
// it off at start-up). Benchmarks flip it to time the previous implementation.
bool skinny_gemm_enabled();
void set_skinny_gemm_enabled(bool on);

// The raw kernel: y[i, j] += sum_k x[i, k] * w[j, k] for i < m, j < n (any m), single-threaded.
// Row strides ldx, ldw, ldy (elements). Requires skinny_gemm_supported().
void skinny_sgemm_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, const float* x,
                             std::int64_t ldx, const float* w, std::int64_t ldw, float* y,
                             std::int64_t ldy);

// x2 [M, K] @ wt [K, N] + b [N] (optional) + residual2 [M, N] (optional), multithreaded over
// column blocks; returns an undefined tensor when the kernel does not apply (disabled or
// unsupported, not float32 CPU, W = wt.t() without contiguous rows, M outside
// kSkinnyMinRows..max_rows, or a
// gradient would be needed) so that the caller falls back to BLAS.
// max_rows: the row limit (benchmarks raise it to time the kernel beyond the crossover).
at::Tensor skinny_linear(const at::Tensor& x2, const at::Tensor& wt, const at::Tensor& b,
                         const at::Tensor& residual2, std::int64_t max_rows = kSkinnyMaxRows);

}  // namespace t2::engine

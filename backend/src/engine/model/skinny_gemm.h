// Skinny float32 GEMM for the few-row products of batched decoding and short prefills:
// y [M, N] = x [M, K] @ W [K, N] (+ bias) (+ residual), M small (2..kSkinnyMaxRows).
//
// Why: OpenBLAS 0.3.21's sgemm packs the whole weight matrix on every call, which for 8 rows
// costs as much as the product itself (19 GFLOP/s at M = 8, 54 at M = 16 on a 186 GFLOP/s
// machine). This kernel streams W once per call, unpacked, straight from its [K, N] layout
// (the engine's decode layout, row stride ldw), and keeps the few rows of x in L1: AVX2/FMA
// register tiles of MR x 16 (MR <= 6), K blocked by 256, columns split across the intra-op
// threads. Numbers and the libraries measured against it: backend/README.md (Skinny GEMM).
//
// Portable fallback: where the CPU lacks AVX2+FMA (or the kernel is switched off) the engine
// uses at::mm / at::addmm as before. Autograd: skinny_linear() only runs where no gradient is
// needed (inference mode, or no input requires grad); training's products stay on at::mm.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace t2::engine {

constexpr std::int64_t kSkinnyMaxRows = 64;

// True when this CPU can run the kernel (x86-64 with AVX2 and FMA).
bool skinny_gemm_supported();
// Process-wide switch (default on where supported; T2_SKINNY_GEMM=0 in the environment turns
// it off at start-up). Benchmarks flip it to time the previous implementation.
bool skinny_gemm_enabled();
void set_skinny_gemm_enabled(bool on);

// The raw kernel: y[m, n] += sum_k x[m, k] * w[k, n] for m < M, n < N, single-threaded.
// Row strides ldx, ldw, ldy (elements). Requires skinny_gemm_supported().
void skinny_sgemm_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, const float* x,
                             std::int64_t ldx, const float* w, std::int64_t ldw, float* y,
                             std::int64_t ldy);

// x2 [M, K] @ wt [K, N] + b [N] (optional) + residual2 [M, N] (optional), multithreaded over
// column blocks; returns an undefined tensor when the kernel does not apply (disabled or
// unsupported, not float32 CPU, wt's columns not contiguous, M outside 2..kSkinnyMaxRows, or a
// gradient would be needed) so that the caller falls back to BLAS.
at::Tensor skinny_linear(const at::Tensor& x2, const at::Tensor& wt, const at::Tensor& b,
                         const at::Tensor& residual2);

}  // namespace t2::engine

// What the hand-written CPU kernels (skinny_gemm.cpp, decode_attention.cpp) share: the x86-64
// switch, the AVX2/FMA function attribute (the files are built for the baseline ISA and pick the
// AVX2 code at run time) and a horizontal sum.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define T2_X86_KERNELS 1
#define T2_AVX2 __attribute__((target("avx2,fma")))

namespace t2::engine::avx2 {

// True when this CPU has AVX2 and FMA.
inline bool supported() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

// The sum of the 8 lanes.
T2_AVX2 inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

}  // namespace t2::engine::avx2
#else
#define T2_X86_KERNELS 0
#endif

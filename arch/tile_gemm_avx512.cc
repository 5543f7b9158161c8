// The read-product kernels for AVX-512 (tile_gemm_kernels.inc); this file alone is compiled with
// the AVX-512 flags (arch/CMakeLists.txt) and runs only where simd_supported() says so.
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__FMA__)
// GCC 12 warns inside its own AVX-512 intrinsics, whose pass-through operand is left undefined
// (GCC bug 105593, fixed in GCC 13); nothing of ours is uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>

#include "arch/tile_gemm_fused.h"

namespace {

using aimc::arch::FusedReadout;

struct Simd {
  using V = __m512;
  static constexpr int kW = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static V set1(float s) { return _mm512_set1_ps(s); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // For the fused readout: plain IEEE operations, each rounding once.
  using M = __mmask16;
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  /// The lanes of m as bits (lane l: bit l).
  static int bits(M m) { return static_cast<int>(m); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};

constexpr int kTokenChannels = 8;  // 8 x 3 accumulators of 32
constexpr int kSmallBatch = 4;
constexpr int small_panels(int tokens) {
  return tokens == 1 ? 8 : tokens == 2 ? 6 : 4;
}

}  // namespace

#define AIMC_GEMM_ENTRY packed_product_avx512
#define AIMC_GEMM_READOUT_ENTRY packed_product_readout_avx512
#include "arch/tile_gemm_kernels.inc"
#endif

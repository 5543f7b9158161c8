// The read-product kernels for AVX2 with FMA (tile_gemm_kernels.inc); this file alone is
// compiled with those flags (arch/CMakeLists.txt) and runs only where simd_supported() says so.
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cstddef>

#include "arch/tile_gemm_fused.h"

namespace {

using aimc::arch::FusedReadout;

struct Simd {
  using V = __m256;
  static constexpr int kW = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, V v, int n) {
    if (n == kW) {
      _mm256_storeu_ps(p, v);
    } else {
      _mm256_maskstore_ps(p, mask(n), v);
    }
  }
  static V set1(float s) { return _mm256_set1_ps(s); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // For the fused readout: plain IEEE operations, each rounding once.
  using M = __m256;
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V abs(V a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  /// The lanes of m as bits (lane l: bit l).
  static int bits(M m) { return _mm256_movemask_ps(m); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

constexpr int kTokenChannels = 4;  // 4 x 3 accumulators of 16
constexpr int kSmallBatch = 4;
constexpr int small_panels(int tokens) {
  return tokens == 1 ? 4 : tokens == 2 ? 3 : tokens == 3 ? 2 : 1;
}

}  // namespace

#define AIMC_GEMM_ENTRY packed_product_avx2
#define AIMC_GEMM_READOUT_ENTRY packed_product_readout_avx2
#include "arch/tile_gemm_kernels.inc"
#endif

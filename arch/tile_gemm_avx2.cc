// The read-product kernels for AVX2 with FMA (tile_gemm_kernels.inc); this file alone is
// compiled with those flags (arch/CMakeLists.txt) and runs only where simd_supported() says so.
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cstddef>

namespace {

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
};

constexpr int kTokenChannels = 4;  // 4 x 3 accumulators of 16
constexpr int kSmallBatch = 4;
constexpr int small_panels(int tokens) {
  return tokens == 1 ? 4 : tokens == 2 ? 3 : tokens == 3 ? 2 : 1;
}

}  // namespace

#define AIMC_GEMM_ENTRY packed_product_avx2
#include "arch/tile_gemm_kernels.inc"
#endif

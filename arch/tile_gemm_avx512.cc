// The read-product kernels for AVX-512 (tile_gemm_kernels.inc); this file alone is compiled with
// the AVX-512 flags (arch/CMakeLists.txt) and runs only where simd_supported() says so.
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#include <cstddef>

namespace {

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
};

constexpr int kTokenChannels = 8;  // 8 x 3 accumulators of 32
constexpr int kSmallBatch = 4;
constexpr int small_panels(int tokens) {
  return tokens == 1 ? 8 : tokens == 2 ? 6 : 4;
}

}  // namespace

#define AIMC_GEMM_ENTRY packed_product_avx512
#include "arch/tile_gemm_kernels.inc"
#endif

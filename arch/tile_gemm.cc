// Packing and the dispatch of the read product (tile_gemm.h); the baseline kernel. The AVX2 and
// AVX-512 kernels are tile_gemm_kernels.inc compiled in their own files with their ISA flags.
#include "arch/tile_gemm.h"

#include <algorithm>
#include <cmath>

#include "arch/rng.h"

namespace aimc::arch {

void pack_weights(const Eigen::Ref<const Matrix>& w, float* dst) {
  const int channels = static_cast<int>(w.rows()), depth = static_cast<int>(w.cols());
  const int panels = (channels + kPanelChannels - 1) / kPanelChannels;
  for (int p = 0; p < panels; ++p) {
    float* panel = dst + static_cast<size_t>(p) * depth * kPanelChannels;
    const int n = std::min(kPanelChannels, channels - p * kPanelChannels);
    for (int k = 0; k < depth; ++k) {
      // The panel's channels of input k: contiguous in w's column k.
      const float* src = w.data() + static_cast<size_t>(k) * w.outerStride() + p * kPanelChannels;
      float* row = panel + static_cast<size_t>(k) * kPanelChannels;
      std::copy(src, src + n, row);
      std::fill(row + n, row + kPanelChannels, 0.0f);
    }
  }
}

void unpack_weights(const float* packed, Eigen::Ref<Matrix> w) {
  const int channels = static_cast<int>(w.rows()), depth = static_cast<int>(w.cols());
  for (int ch = 0; ch < channels; ++ch) {
    const float* panel = packed + static_cast<size_t>(ch / kPanelChannels) * depth * kPanelChannels;
    for (int k = 0; k < depth; ++k) {
      w(ch, k) = panel[static_cast<size_t>(k) * kPanelChannels + ch % kPanelChannels];
    }
  }
}

namespace detail {

void packed_product_base(const float* x, int ld_x, int batch, const float* packed, int channels,
                         int depth, float* acc, int ld_acc, bool accumulate) {
  for (int ch = 0; ch < channels; ++ch) {
    const float* w = packed + static_cast<size_t>(ch / kPanelChannels) * depth * kPanelChannels +
                     ch % kPanelChannels;
    for (int t = 0; t < batch; ++t) {
      float s = accumulate ? acc[static_cast<size_t>(ch) * ld_acc + t] : 0.0f;
      for (int k = 0; k < depth; ++k) {
        s = std::fma(x[static_cast<size_t>(k) * ld_x + t],
                     w[static_cast<size_t>(k) * kPanelChannels], s);
      }
      acc[static_cast<size_t>(ch) * ld_acc + t] = s;
    }
  }
}

#if !AIMC_HAVE_AVX2_KERNELS
void packed_product_readout_avx2(const float*, int, int, const float*, int, int,
                                 const FusedReadout&, float*, int) {}
void packed_product_readout_avx512(const float*, int, int, const float*, int, int,
                                   const FusedReadout&, float*, int) {}
void packed_product_avx2(const float* x, int ld_x, int batch, const float* packed, int channels,
                         int depth, float* acc, int ld_acc, bool accumulate) {
  packed_product_base(x, ld_x, batch, packed, channels, depth, acc, ld_acc, accumulate);
}
void packed_product_avx512(const float* x, int ld_x, int batch, const float* packed, int channels,
                           int depth, float* acc, int ld_acc, bool accumulate) {
  packed_product_base(x, ld_x, batch, packed, channels, depth, acc, ld_acc, accumulate);
}
#endif

}  // namespace detail

void packed_product(const float* x, int ld_x, int batch, const float* packed, int channels,
                    int depth, float* acc, int ld_acc, bool accumulate) {
  if (batch <= 0 || channels <= 0) return;
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      detail::packed_product_avx512(x, ld_x, batch, packed, channels, depth, acc, ld_acc,
                                    accumulate);
      return;
    case SimdLevel::kAvx2:
      detail::packed_product_avx2(x, ld_x, batch, packed, channels, depth, acc, ld_acc, accumulate);
      return;
    default:
      detail::packed_product_base(x, ld_x, batch, packed, channels, depth, acc, ld_acc, accumulate);
  }
}

bool packed_product_readout(const float* x, int ld_x, int batch, const float* packed, int channels,
                            int depth, const FusedReadout& r, float* y, int ld_y) {
  // Both SIMD kernels handle more than 4 tokens (kSmallBatch) with their token kernel.
  if (batch <= 4 || !AIMC_HAVE_AVX2_KERNELS) return false;
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      detail::packed_product_readout_avx512(x, ld_x, batch, packed, channels, depth, r, y, ld_y);
      return true;
    case SimdLevel::kAvx2:
      detail::packed_product_readout_avx2(x, ld_x, batch, packed, channels, depth, r, y, ld_y);
      return true;
    default:
      return false;
  }
}

}  // namespace aimc::arch

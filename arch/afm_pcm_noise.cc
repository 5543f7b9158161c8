// Noise model "afm_pcm": the evaluation model of the Analog Foundation Models paper (Buechel et
// al., arXiv 2505.09663), fitted on the HERMES chip's PCM. g = W * g_scale / wmax_j per channel
// and tile; sigma(|g|) a piecewise cubic; targets with |g| < zero_below are left unprogrammed
// (exactly 0). Programming noise only: no drift, no read noise.
#include <cmath>
#include <memory>

#include "arch/noise_model.h"
#include "arch/rng.h"

namespace aimc::arch {
namespace {

/// sigma(|g|) of the fit, in the same unitless conductance units as g (numerics.md section 3).
AIMC_ALWAYS_INLINE double afm_sigma(double g) {
  const double lo = ((2.93975e-5 * g - 3.71581e-3) * g + 0.224197) * g + 2.57974;
  const double hi = ((1.23298e-5 * g - 3.05499e-3) * g + 0.245349) * g + 2.11030;
  return g <= 52.5 ? lo : hi;
}

/// Constants of one programming.
struct AfmParams {
  double g_scale, zero_below, noise_scale;
};

/// Programs one column of a tile (rows outputs): out[r] from target t[r], the channel scales
/// wmax[r] and the draws nz[r]; returns the sum of |g_noisy| over the programmed devices.
/// Branch-free, so that it vectorises: the same IEEE double operations in the same order per
/// element as the rule (numerics.md section 3), no contraction into FMAs (the file is compiled with
/// -ffp-contract=off), so every build gives the same weights. The sum is kept in 8 partial sums
/// (its rounding is immaterial: drift compensation divides it by itself).
AIMC_ALWAYS_INLINE double afm_column(const float* t, const float* wmax, const float* nz, int rows,
                                     const AfmParams& p, float* out) {
  typedef double D8 __attribute__((vector_size(64)));
  constexpr int kChunk = 64;
  D8 part = {};
  alignas(64) double contrib[kChunk];
  for (int r0 = 0; r0 < rows; r0 += kChunk) {
    const int m = rows - r0 < kChunk ? rows - r0 : kChunk;
    for (int k = 0; k < m; ++k) {
      const int r = r0 + k;
      const double scale = wmax[r];
      const double g = static_cast<double>(t[r]) * p.g_scale / scale;
      const double ag = std::fabs(g);
      const double g_noisy = g + p.noise_scale * afm_sigma(ag) * static_cast<double>(nz[r]);
      // Channel all zero (scale 0), or |g| below zero_below: unprogrammed device, exactly 0.
      // Everything computed, then selected: no control flow, so the loop vectorises.
      const bool on = (scale != 0) & !(ag < p.zero_below);
      const float w = static_cast<float>(g_noisy * scale / p.g_scale);
      const double a = std::fabs(g_noisy);
      out[r] = on ? w : 0.0f;
      contrib[k] = on ? a : 0.0;
    }
    for (int k = m; k < kChunk; ++k) contrib[k] = 0;
    for (int k = 0; k < kChunk; k += 8) {
      D8 v;
      __builtin_memcpy(&v, contrib + k, sizeof v);
      part += v;
    }
  }
  double sum = 0;
  for (int l = 0; l < 8; ++l) sum += part[l];
  return sum;
}

double afm_tile_base(const float* t, int ld_t, const float* wmax, const float* nz, int rows,
                     int cols, const AfmParams& p, float* out, int ld_out) {
  double sum = 0;
  for (int c = 0; c < cols; ++c) {
    sum += afm_column(t + static_cast<size_t>(c) * ld_t, wmax, nz + static_cast<size_t>(c) * rows,
                      rows, p, out + static_cast<size_t>(c) * ld_out);
  }
  return sum;
}

#if AIMC_HAVE_AVX2_KERNELS
AIMC_TARGET_AVX2 double afm_tile_avx2(const float* t, int ld_t, const float* wmax, const float* nz,
                                      int rows, int cols, const AfmParams& p, float* out,
                                      int ld_out) {
  double sum = 0;
  for (int c = 0; c < cols; ++c) {
    sum += afm_column(t + static_cast<size_t>(c) * ld_t, wmax, nz + static_cast<size_t>(c) * rows,
                      rows, p, out + static_cast<size_t>(c) * ld_out);
  }
  return sum;
}

AIMC_TARGET_AVX512 double afm_tile_avx512(const float* t, int ld_t, const float* wmax,
                                          const float* nz, int rows, int cols, const AfmParams& p,
                                          float* out, int ld_out) {
  double sum = 0;
  for (int c = 0; c < cols; ++c) {
    sum += afm_column(t + static_cast<size_t>(c) * ld_t, wmax, nz + static_cast<size_t>(c) * rows,
                      rows, p, out + static_cast<size_t>(c) * ld_out);
  }
  return sum;
}
#endif

class AfmPcmNoiseModel : public NoiseModel {
 public:
  explicit AfmPcmNoiseModel(const proto::AfmPcmNoise& p)
      : g_scale_(p.g_scale()), zero_below_(p.zero_below()), noise_scale_(p.noise_scale()) {}
  std::string name() const override { return "afm_pcm"; }

  ProgramResult program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                        const Eigen::Ref<const Eigen::VectorXf>& wmax, double /*t_inference_s*/,
                        DeviceStreams* streams,
                        Eigen::Ref<Eigen::MatrixXf> weights) const override {
    const Eigen::Index rows = target.rows();
    // Every element is written by fill_normal: no need to zero it first.
    const size_t n = static_cast<size_t>(target.size());
    const std::unique_ptr<float[]> noise(new float[n]);
    streams->programming.fill_normal(noise.get(), n);
    const AfmParams p{g_scale_, zero_below_, noise_scale_};
#if AIMC_HAVE_AVX2_KERNELS
    const SimdLevel level = simd_level();
    const auto tile = level == SimdLevel::kAvx512 ? afm_tile_avx512
                      : level == SimdLevel::kAvx2 ? afm_tile_avx2
                                                  : afm_tile_base;
#else
    const auto tile = afm_tile_base;
#endif
    const double sum = tile(target.data(), static_cast<int>(target.outerStride()), wmax.data(),
                            noise.get(), static_cast<int>(rows), static_cast<int>(target.cols()), p,
                            weights.data(), static_cast<int>(weights.outerStride()));
    return {sum, sum};
  }

 private:
  double g_scale_;      ///< unitless conductance of the channel's largest |weight|
  double zero_below_;   ///< |g| below this: unprogrammed
  double noise_scale_;  ///< multiplier on sigma
};

}  // namespace

std::shared_ptr<const NoiseModel> make_afm_pcm_noise(const proto::AfmPcmNoise& params) {
  return std::make_shared<AfmPcmNoiseModel>(params);
}

}  // namespace aimc::arch

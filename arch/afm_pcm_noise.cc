// Noise model "afm_pcm": the evaluation model of the Analog Foundation Models paper (Buechel et
// al., arXiv 2505.09663), fitted on the HERMES chip's PCM. g = W * g_scale / wmax_j per channel
// and tile; sigma(|g|) a piecewise cubic; targets with |g| < zero_below are left unprogrammed
// (exactly 0). Programming noise only: no drift, no read noise.
#include <cmath>
#include <vector>

#include "arch/noise_model.h"

namespace aimc::arch {
namespace {

/// sigma(|g|) of the fit, in the same unitless conductance units as g (numerics.md section 3).
double afm_sigma(double g) {
  if (g <= 52.5) return ((2.93975e-5 * g - 3.71581e-3) * g + 0.224197) * g + 2.57974;
  return ((1.23298e-5 * g - 3.05499e-3) * g + 0.245349) * g + 2.11030;
}

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
    std::vector<float> noise(static_cast<size_t>(target.size()));
    streams->programming.fill_normal(noise.data(), noise.size());
    double sum = 0;
    for (Eigen::Index c = 0; c < target.cols(); ++c) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        const double scale = wmax(r);
        if (scale == 0) {
          weights(r, c) = 0;
          continue;
        }
        const double g = target(r, c) * g_scale_ / scale;
        if (std::abs(g) < zero_below_) {
          weights(r, c) = 0;  // device left unprogrammed
          continue;
        }
        const double g_noisy = g + noise_scale_ * afm_sigma(std::abs(g)) * noise[c * rows + r];
        weights(r, c) = static_cast<float>(g_noisy * scale / g_scale_);
        sum += std::abs(g_noisy);
      }
    }
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

// Noise model "pcm_like": aihwkit's PCMLikeNoiseModel, the statistics of about one million PCM
// devices (Nandakumar et al., ICECS 2019; Joshi et al., Nat. Commun. 2020), on a differential pair
// with one device at zero. Curves of numerics.md section 3, g_hat = g_T / g_max.
#include <algorithm>
#include <cmath>

#include "arch/pcm_pair_noise.h"

namespace aimc::arch {
namespace {

class PcmLikeNoiseModel : public PcmPairNoise {
 public:
  using PcmPairNoise::PcmPairNoise;
  std::string name() const override { return "pcm_like"; }

  double sigma_prog_us(double g) const override {
    return std::max(0.0, 0.26348 + 1.9650 * g - 1.1731 * g * g) * params().g_max_us / 25.0;
  }
  double mu_nu(double g) const override {
    return std::clamp(-0.0155 * std::log(g) + 0.0244, 0.049, 0.1);
  }
  double sigma_nu(double g) const override {
    return std::clamp(-0.0125 * std::log(g) - 0.0059, 0.008, 0.045);
  }
  double q_s(double g) const override { return std::min(0.0088 / std::pow(g, 0.65), 0.2); }
};

}  // namespace

std::shared_ptr<const NoiseModel> make_pcm_like_noise(const proto::PcmLikeNoise& p) {
  PcmPairParams params;
  params.g_max_us = p.g_max_us();
  params.t0_s = p.t0_s();
  params.t_read_s = p.t_read_ns() * 1e-9;
  params.prog_noise_scale = p.prog_noise_scale();
  params.drift_scale = p.drift_scale();
  params.read_noise_scale = p.read_noise_scale();
  return std::make_shared<PcmLikeNoiseModel>(params);
}

}  // namespace aimc::arch

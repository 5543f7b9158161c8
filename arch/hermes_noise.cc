// Noise model "hermes": aihwkit's HermesNoiseModel, fitted on the PCM of the IBM HERMES chip
// (Le Gallo et al., Nat. Electron. 2023), with one or two devices per polarity. Curves of
// numerics.md section 3 (g = g_hat = g_T / g_max).
//
// Two devices per polarity: the polarity's target is split equally, each device holding g_T / 2
// of its 10.35 uS range, both in the same state (as aihwkit assumes). The published two-device
// fits (g_max 20.7 uS, t0 300 s) describe the summed conductance of the pair, so the model draws
// one programming deviation, one drift exponent and one read deviation per polarity for the sum.
#include <algorithm>
#include <cmath>

#include "arch/pcm_pair_noise.h"

namespace aimc::arch {
namespace {

class HermesNoiseModel : public PcmPairNoise {
 public:
  HermesNoiseModel(const PcmPairParams& params, bool two_devices)
      : PcmPairNoise(params), two_(two_devices) {}
  std::string name() const override { return "hermes"; }

  double sigma_prog_us(double g) const override {
    if (two_) return ((4.68961 * g - 8.48101) * g + 4.71806) * g + 0.16603;
    return ((0.68842 * g - 2.16311) * g + 2.32444) * g + 0.15782;
  }
  double mu_nu(double g) const override {
    if (g < 0.0945) return std::clamp(-0.0387 * std::log(g) - 0.0182, 0.072, 0.13);
    return -0.0436 * g * g - 0.0126 * g + 0.0736;
  }
  double sigma_nu(double g) const override {
    if (two_) {
      if (g < 0.3055) return std::clamp(-0.0117 * std::log(g) - 0.0057, 0.0091, 0.04);
      return -0.0118 * g * g + 0.0093 * g + 0.0073;
    }
    if (g < 0.3039) return std::clamp(-0.0120 * std::log(g) - 0.0023, 0.0124, 0.04);
    return -0.0165 * g * g + 0.0116 * g + 0.0104;
  }
  double q_s(double g) const override {
    if (two_) {
      if (g < 0.16) return std::clamp(-0.0117 * std::log(g) - 0.0069, 0.015, 0.04);
      return ((0.0069 * g - 0.0280) * g + 0.0211) * g + 0.0123;
    }
    if (g < 0.1591) return std::clamp(-0.0078 * std::log(g) + 0.0038, 0.0179, 0.04);
    return ((0.0664 * g - 0.1352) * g + 0.0768) * g + 0.0088;
  }

 private:
  bool two_;  ///< two devices per polarity
};

}  // namespace

std::shared_ptr<const NoiseModel> make_hermes_noise(const proto::HermesNoise& p) {
  const bool two = p.devices_per_polarity() == 2;
  PcmPairParams params;
  params.g_max_us = two ? 20.7 : 10.35;
  params.t0_s = two ? 300.0 : 200.0;
  params.t_read_s = p.t_read_ns() * 1e-9;
  params.prog_noise_scale = p.prog_noise_scale();
  params.drift_scale = p.drift_scale();
  params.read_noise_scale = p.read_noise_scale();
  return std::make_shared<HermesNoiseModel>(params, two);
}

}  // namespace aimc::arch

// Programming, drift and read noise of a PCM pair with one device at zero (pcm_pair_noise.h).
#include "arch/pcm_pair_noise.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace aimc::arch {

ProgramResult PcmPairNoise::program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                                    const Eigen::Ref<const Eigen::VectorXf>& wmax,
                                    double t_inference_s, DeviceStreams* streams,
                                    Eigen::Ref<Eigen::MatrixXf> weights) const {
  const Eigen::Index rows = target.rows();
  const size_t n = static_cast<size_t>(target.size());
  // Three whole-block draws, one per stream, so every element's draws are fixed by its
  // position alone.
  std::vector<float> n_prog(n), n_drift(n), n_read(n);
  streams->programming.fill_normal(n_prog.data(), n);
  streams->drift.fill_normal(n_drift.data(), n);
  streams->read.fill_normal(n_read.data(), n);

  const double t = t_inference_s + p_.t0_s;
  const double log_t_ratio = std::log(t / p_.t0_s);  // 0 when t_inference_s == 0
  const bool drifts = t > p_.t0_s;
  const double read_sigma_time = std::sqrt(std::log((t + p_.t_read_s) / (2 * p_.t_read_s)));

  ProgramResult result;
  for (Eigen::Index c = 0; c < target.cols(); ++c) {
    for (Eigen::Index r = 0; r < rows; ++r) {
      const size_t k = static_cast<size_t>(c * rows + r);
      const double scale = wmax(r);
      const double w = target(r, c);
      if (scale == 0 || w == 0) {
        weights(r, c) = 0;  // both devices left in RESET
        continue;
      }
      const double g_hat_raw = std::abs(w) / scale;
      const double g_hat = std::max(g_hat_raw, 1e-7);
      const double g_target = g_hat_raw * p_.g_max_us;
      const double g_prog =
          std::max(0.0, g_target + p_.prog_noise_scale * sigma_prog_us(g_hat) * n_prog[k]);
      double g_t = g_prog;
      if (drifts) {
        const double nu = p_.drift_scale * std::abs(mu_nu(g_hat) + sigma_nu(g_hat) * n_drift[k]);
        g_t = g_prog * std::exp(-nu * log_t_ratio);
      }
      const double g_read = std::max(0.0, g_t + std::abs(g_t) * p_.read_noise_scale * q_s(g_hat) *
                                                    read_sigma_time * n_read[k]);
      result.abs_sum_t0 += g_prog;
      result.abs_sum_t += g_t;
      weights(r, c) = static_cast<float>(std::copysign(g_read / p_.g_max_us * scale, w));
    }
  }
  return result;
}

}  // namespace aimc::arch

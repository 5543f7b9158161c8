// Common machinery of the PCM models with drift (pcm_like, hermes): a weight maps to one
// polarity's conductance g_T = |W| / wmax_j * g_max while the other polarity stays at 0
// (left in RESET, never programmed); programming noise, a drift exponent nu drawn at
// programming, and 1/f read noise at the inference time. Subclasses supply the fitted curves.
#pragma once

#include "arch/noise_model.h"

namespace aimc::arch {

/// Device parameters of a PCM pair model (times in seconds, conductances in microsiemens).
struct PcmPairParams {
  double g_max_us = 25;      ///< conductance of the channel's largest |weight|
  double t0_s = 20;          ///< drift reference time; reads happen at t = t_inference + t0
  double t_read_s = 250e-9;  ///< read duration in the 1/f noise formula
  double prog_noise_scale = 1;
  double drift_scale = 1;
  double read_noise_scale = 1;
};

/// A differential PCM pair with one device at zero. For a target g_T > 0 (g_hat = g_T / g_max):
///   g_prog = max(0, g_T + prog_noise_scale * sigma_prog(g_hat) * N)
///   nu     = drift_scale * |mu_nu(g_hat) + sigma_nu(g_hat) * N|
///   g(t)   = g_prog * (t / t0)^(-nu), t = t_inference + t0  (no drift when t_inference = 0)
///   g_read = max(0, g(t) + |g(t)| * read_noise_scale * Q_s(g_hat)
///                          * sqrt(ln((t + t_read) / (2 t_read))) * N)
/// and the weight read is sign(W) * g_read / g_max * wmax_j. A zero target stays exactly 0.
/// g_hat is clamped below at 1e-7 before the logarithms of the fits.
class PcmPairNoise : public NoiseModel {
 public:
  explicit PcmPairNoise(const PcmPairParams& params) : p_(params) {}
  const PcmPairParams& params() const { return p_; }

  /// Programming-noise std at g_hat, in microsiemens (before prog_noise_scale).
  virtual double sigma_prog_us(double g_hat) const = 0;
  /// Mean and std of the drift exponent at g_hat (before drift_scale).
  virtual double mu_nu(double g_hat) const = 0;
  virtual double sigma_nu(double g_hat) const = 0;
  /// 1/f read-noise coefficient Q_s at g_hat.
  virtual double q_s(double g_hat) const = 0;

  ProgramResult program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                        const Eigen::Ref<const Eigen::VectorXf>& wmax, double t_inference_s,
                        DeviceStreams* streams, Eigen::Ref<Eigen::MatrixXf> weights) const override;

 private:
  PcmPairParams p_;
};

}  // namespace aimc::arch

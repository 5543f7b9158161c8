// Programming and reading of crossbar tiles (crossbar_tile.h).
#include "arch/crossbar_tile.h"

#include <algorithm>
#include <cmath>

#include "arch/noise_model.h"
#include "arch/quantize.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

/// 1.5 * 2^52: (x + M) - M rounds |x| < 2^51 to an integer, ties to even (default rounding
/// mode), without a branch, so the ADC loop vectorises. Same rule as round_half_even().
constexpr double kRoundMagic = 0x1.8p52;

}  // namespace

void clip_rows(Matrix* w, double k_std) {
  const Eigen::Index n = w->cols();
  if (n < 2) return;
  for (Eigen::Index j = 0; j < w->rows(); ++j) {
    double sum = 0, sum_sq = 0;
    for (Eigen::Index i = 0; i < n; ++i) sum += (*w)(j, i);
    const double mean = sum / n;
    for (Eigen::Index i = 0; i < n; ++i) sum_sq += ((*w)(j, i) - mean) * ((*w)(j, i) - mean);
    const float bound = static_cast<float>(k_std * std::sqrt(sum_sq / (n - 1)));
    for (Eigen::Index i = 0; i < n; ++i) (*w)(j, i) = std::clamp((*w)(j, i), -bound, bound);
  }
}

double program_tile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& target,
                    uint64_t tile_seed, Eigen::Ref<Matrix> programmed, Vector* wmax) {
  *wmax = target.cwiseAbs().rowwise().maxCoeff();
  DeviceStreams streams(tile_seed);
  const ProgramResult r =
      numerics.noise->program(target, *wmax, numerics.t_inference_s, &streams, programmed);
  if (!numerics.drift_compensation || !(r.abs_sum_t > 0)) return 1.0;
  return r.abs_sum_t0 / r.abs_sum_t;
}

TileReadout::TileReadout(const TileNumerics& numerics, const Vector& wmax, float input_range,
                         double out_noise, double comp, uint64_t tile_seed)
    : out_res_(numerics.out_res),
      half_range_(numerics.out_res / 2),
      wmax_(wmax),
      noise_std_(wmax.size()),
      adc_den_(wmax.size()),
      out_scale_(wmax.size()),
      has_noise_(out_noise > 0),
      rng_(derive_seed(tile_seed, kOutputNoiseStream)) {
  const double ir = input_range;
  const bool dac = numerics.inp_res > 0;
  // Accumulator units: DAC codes x weights with a DAC (y = acc * 2 IR / inp_res), else y itself.
  const double in_step = dac ? 2.0 * ir / numerics.inp_res : 1.0;
  for (Eigen::Index c = 0; c < wmax.size(); ++c) {
    const double w = wmax(c);
    noise_std_(c) =
        static_cast<float>(dac ? out_noise * w * numerics.inp_res / 2.0 : out_noise * w * ir);
    if (out_res_ > 0) {
      // The one division of numerics.md section 6: with a DAC, y / step_j =
      // acc * out_res / (inp_res * out_bound * wmax_j); without, y * out_res / (2 bound IR wmax).
      adc_den_(c) =
          dac ? numerics.inp_res * numerics.out_bound * w : 2.0 * numerics.out_bound * ir * w;
      out_scale_(c) = static_cast<float>(2.0 * numerics.out_bound * ir * w / out_res_ * comp);
    } else {
      adc_den_(c) = 0;
      out_scale_(c) = static_cast<float>(in_step * comp);
    }
  }
}

void TileReadout::accumulate(const float* acc, int batch, float* noise, float* y) {
  const Eigen::Index n = static_cast<Eigen::Index>(batch) * wmax_.size();
  if (has_noise_) rng_.fill_normal(noise, static_cast<size_t>(n));
  const double res = out_res_;
  const double lo = -half_range_, hi = half_range_;
  for (Eigen::Index c = 0; c < wmax_.size(); ++c) {
    if (wmax_(c) == 0) continue;  // all-zero channel: output exactly 0
    const float* a = acc + c * batch;
    const float* nz = has_noise_ ? noise + c * batch : nullptr;
    float* yc = y + c * batch;
    const float sd = noise_std_(c);
    const double den = adc_den_(c);
    const float scale = out_scale_(c);
    if (out_res_ > 0) {
      // Clamping to the integer bound before rounding equals rounding then clamping.
      if (has_noise_) {
        for (int b = 0; b < batch; ++b) {
          double q = static_cast<double>(a[b] + sd * nz[b]) * res / den;
          q = std::min(std::max(q, lo), hi);
          yc[b] += static_cast<float>((q + kRoundMagic) - kRoundMagic) * scale;
        }
      } else {
        for (int b = 0; b < batch; ++b) {
          double q = static_cast<double>(a[b]) * res / den;
          q = std::min(std::max(q, lo), hi);
          yc[b] += static_cast<float>((q + kRoundMagic) - kRoundMagic) * scale;
        }
      }
    } else if (has_noise_) {
      for (int b = 0; b < batch; ++b) yc[b] += (a[b] + sd * nz[b]) * scale;
    } else {
      for (int b = 0; b < batch; ++b) yc[b] += a[b] * scale;
    }
  }
}

CrossbarTile::CrossbarTile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& weights,
                           float input_range, uint64_t seed, int layer_input_tiles)
    : inp_res_(numerics.inp_res),
      input_range_(input_range),
      programmed_(weights.rows(), weights.cols()),
      comp_(program_tile(numerics, weights, seed, programmed_, &wmax_)),
      readout_(numerics, wmax_, input_range,
               numerics.out_noise_per_layer ? numerics.out_noise / std::sqrt(layer_input_tiles)
                                            : numerics.out_noise,
               comp_, seed) {
  if (!(input_range > 0) || !std::isfinite(input_range)) {
    throw UserError("crossbar tile: the input range must be positive and finite, got " +
                    std::to_string(input_range));
  }
  if (weights.rows() > numerics.cols || weights.cols() > numerics.rows) {
    throw std::invalid_argument("CrossbarTile: weight block larger than the tile");
  }
}

void CrossbarTile::read(const Eigen::Ref<const Matrix>& x, Matrix* y) {
  const Eigen::Index batch = x.rows();
  if (inp_res_ > 0) {
    codes_.resize(batch, x.cols());
    dac_codes(x, input_range_, inp_res_, codes_);
    acc_.noalias() = codes_ * programmed_.transpose();
  } else {
    acc_.noalias() = x * programmed_.transpose();
  }
  y->setZero(batch, programmed_.rows());
  noise_.resize(static_cast<size_t>(batch * programmed_.rows()));
  readout_.accumulate(acc_.data(), static_cast<int>(batch), noise_.data(), y->data());
}

}  // namespace aimc::arch

// Implementation of the rounding rules of quantize.h.
#include "arch/quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "arch/rng.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

/// 1.5 * 2^52: adding and subtracting it rounds any |x| < 2^51 to an integer in the current
/// (default: nearest, ties to even) rounding mode; branch-free, so loops vectorise.
constexpr double kRoundMagic = 0x1.8p52;

AIMC_ALWAYS_INLINE double rne_small(double x) {
  return (x + kRoundMagic) - kRoundMagic;
}

/// 1.5 * 2^23: the same for floats, |x| <= 2^22.
constexpr float kRoundMagicF = 0x1.8p23f;
constexpr int kDacChunk = 256;

/// DAC codes of n inputs. Exact rule: code = rhe(q_d), q_d = fl64(xc * res / den), xc =
/// clamp(x, +-ir), den = 2 ir, |q_d| <= H = res / 2. When inv = fl32(fl64(res / den)) is a
/// normal float, q_f = fl32(xc * inv) decides: as in the ADC kernel (crossbar_tile.cc,
/// adc_segment), |q_f - q_d| <= |Q| 2^-22.9 + 2^-149 < tol = (H + 1) 2^-20 with Q = xc res / den
/// exactly (|Q| <= H), so when the nearest integer r of q_f has d = |q_f - r| < 0.5 - tol, no
/// half-integer lies between q_f and q_d and rhe(q_d) = r. Other values (exact ties among them)
/// and NaN take the exact division. H + 1 <= 2^19 is required (checked by the caller).
AIMC_ALWAYS_INLINE void dac_column(const float* src, float* dst, Eigen::Index n, float ir,
                                   double res, double den, float inv, float thr) {
  float xs[kDacChunk];
  for (Eigen::Index s = 0; s < n; s += kDacChunk) {
    const int m = static_cast<int>(std::min<Eigen::Index>(kDacChunk, n - s));
    int bad = 0;
    for (int r = 0; r < m; ++r) {
      const float xc = std::min(std::max(src[s + r], -ir), ir);
      const float q = xc * inv;
      const float code = (q + kRoundMagicF) - kRoundMagicF;
      bad |= !(std::fabs(q - code) < thr);
      xs[r] = xc;
      dst[s + r] = code;
    }
    if (bad) {
      for (int r = 0; r < m; ++r) {
        const float q = xs[r] * inv;
        const float code = (q + kRoundMagicF) - kRoundMagicF;
        // |code| <= inp_res / 2 < 2^51, so the branch-free rounding applies.
        if (!(std::fabs(q - code) < thr)) {
          dst[s + r] = static_cast<float>(rne_small(static_cast<double>(xs[r]) * res / den));
        }
      }
    }
  }
}

void dac_column_base(const float* src, float* dst, Eigen::Index n, float ir, double res, double den,
                     float inv, float thr) {
  dac_column(src, dst, n, ir, res, den, inv, thr);
}

#if AIMC_HAVE_AVX2_KERNELS
AIMC_TARGET_AVX2 void dac_column_avx2(const float* src, float* dst, Eigen::Index n, float ir,
                                      double res, double den, float inv, float thr) {
  dac_column(src, dst, n, ir, res, den, inv, thr);
}

AIMC_TARGET_AVX512 void dac_column_avx512(const float* src, float* dst, Eigen::Index n, float ir,
                                          double res, double den, float inv, float thr) {
  dac_column(src, dst, n, ir, res, den, inv, thr);
}
#endif

}  // namespace

double round_half_even(double x) {
  if (!(std::fabs(x) < 0x1.0p51)) return x;  // already an integer, or NaN / inf
  return rne_small(x);
}

std::vector<int> balanced_split(int total, int max_part) {
  if (max_part < 1) throw std::invalid_argument("balanced_split: max_part must be >= 1");
  if (total < 0) throw std::invalid_argument("balanced_split: total must be >= 0");
  if (total == 0) return {};
  const int n = (total + max_part - 1) / max_part;
  std::vector<int> sizes(n, total / n);
  for (int k = 0; k < total % n; ++k) ++sizes[k];
  return sizes;
}

void check_input_ranges(const std::string& layer, long long inputs, int tile_rows,
                        const std::vector<int>& split, const std::vector<float>& ranges) {
  if (ranges.size() != split.size()) {
    throw UserError(layer + " of " + std::to_string(inputs) + " inputs: expected " +
                    std::to_string(split.size()) + " input ranges (one per tile of " +
                    std::to_string(tile_rows) + " rows), got " + std::to_string(ranges.size()));
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!(ranges[i] > 0) || !std::isfinite(ranges[i])) {
      throw UserError(layer + ": input range of input tile " + std::to_string(i) +
                      " must be positive and finite, got " + std::to_string(ranges[i]));
    }
  }
}

std::vector<int> split_offsets(const std::vector<int>& sizes) {
  std::vector<int> offsets(sizes.size());
  int acc = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    offsets[k] = acc;
    acc += sizes[k];
  }
  return offsets;
}

double dac_code(float x, float input_range, int inp_res) {
  const float xc = std::clamp(x, -input_range, input_range);
  // xc * inp_res (24 + 17 bits) and 2 ir are exact in double: one rounding, in the division.
  return round_half_even(static_cast<double>(xc) * inp_res / (2.0 * input_range));
}

void dac_codes(const Eigen::Ref<const Eigen::MatrixXf>& x, float input_range, int inp_res,
               Eigen::Ref<Eigen::MatrixXf> codes) {
  const double den = 2.0 * input_range;
  const double res = inp_res;
  const float inv = static_cast<float>(res / den);
  const double lim = inp_res / 2 + 1;
  if (std::isnormal(inv) && lim <= 0x1.0p19) {
    const float thr = 0.5f - static_cast<float>(lim) * 0x1.0p-20f;  // exact
#if AIMC_HAVE_AVX2_KERNELS
    const SimdLevel level = simd_level();
    const auto column = level == SimdLevel::kAvx512 ? dac_column_avx512
                        : level == SimdLevel::kAvx2 ? dac_column_avx2
                                                    : dac_column_base;
#else
    const auto column = dac_column_base;
#endif
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      column(x.col(c).data(), codes.col(c).data(), x.rows(), input_range, res, den, inv, thr);
    }
    return;
  }
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    const float* src = x.col(c).data();
    float* dst = codes.col(c).data();
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const float xc = std::min(std::max(src[r], -input_range), input_range);
      // |code| <= inp_res / 2 < 2^51, so the branch-free rounding applies.
      dst[r] = static_cast<float>(rne_small(static_cast<double>(xc) * res / den));
    }
  }
}

void dac_codes_per_token(const Eigen::Ref<const Eigen::MatrixXf>& x,
                         const Eigen::Ref<const Eigen::VectorXf>& ranges, int inp_res,
                         Eigen::Ref<Eigen::MatrixXf> codes) {
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      codes(r, c) =
          ranges(r) > 0 ? static_cast<float>(dac_code(x(r, c), ranges(r), inp_res)) : 0.0f;
    }
  }
}

double adc_code_from_dac(double acc, int inp_res, int out_res, double out_bound, double wmax) {
  const double half = out_res / 2;
  const double q = acc * out_res / (inp_res * out_bound * wmax);
  // Clamping to the integer bound before rounding equals rounding then clamping.
  return round_half_even(std::clamp(q, -half, half));
}

double adc_code(double y, float input_range, int out_res, double out_bound, double wmax) {
  const double half = out_res / 2;
  const double q = y * out_res / (2.0 * out_bound * input_range * wmax);
  return round_half_even(std::clamp(q, -half, half));
}

double w4_code(float w, float wmax) {
  if (wmax == 0) return 0;
  return round_half_even(static_cast<double>(w) * 14 / (2.0 * wmax));
}

}  // namespace aimc::arch

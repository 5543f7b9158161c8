// Implementation of the rounding rules of quantize.h.
#include "arch/quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aimc::arch {
namespace {

/// 1.5 * 2^52: adding and subtracting it rounds any |x| < 2^51 to an integer in the current
/// (default: nearest, ties to even) rounding mode; branch-free, so loops vectorise.
constexpr double kRoundMagic = 0x1.8p52;

inline double rne_small(double x) {
  return (x + kRoundMagic) - kRoundMagic;
}

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

// Rounding and quantization rules of the analog signal chain and of the digital W4A8 baseline
// (numerics.md sections 2 and 6): round half to even, balanced tile splits, DAC / ADC / 4-bit
// weight codes. Every rounding decision is one double division of exactly representable
// products, so values exactly on a tie stay on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace aimc::arch {

/// Round to the nearest integer, ties to even (2.5 -> 2, 3.5 -> 4, -0.5 -> -0). Exact for
/// every double; NaN and infinities pass through. Assumes the default rounding mode.
double round_half_even(double x);

/// Balanced split of `total` items into n = ceil(total / max_part) parts: sizes total / n,
/// the first total % n of them one larger. Empty when total == 0. max_part must be >= 1.
/// Tiling, calibration and the executor all use this function, so they agree on tile borders.
std::vector<int> balanced_split(int total, int max_part);

/// Checks the static input ranges of a layer of `inputs` inputs split into input tiles of at
/// most `tile_rows` rows (`split`): one per tile, each positive and finite. Throws UserError
/// naming `layer` ("analog layer", "W4A8 layer") otherwise.
void check_input_ranges(const std::string& layer, long long inputs, int tile_rows,
                        const std::vector<int>& split, const std::vector<float>& ranges);

/// Start offsets of the parts of a split (offsets[k] = sum of sizes[0..k)).
std::vector<int> split_offsets(const std::vector<int>& sizes);

/// DAC code of one input: round_half_even(clamp(x, -ir, ir) * inp_res / (2 ir)), an integer in
/// [-inp_res/2, inp_res/2]. inp_res = 2^bits - 2 (even, > 0); ir > 0 is the input range.
double dac_code(float x, float input_range, int inp_res);

/// DAC codes of a block of inputs (tokens x inputs) with one input range; codes as floats
/// (exact integers). `codes` must have the shape of `x` and may not alias it.
void dac_codes(const Eigen::Ref<const Eigen::MatrixXf>& x, float input_range, int inp_res,
               Eigen::Ref<Eigen::MatrixXf> codes);

/// DAC codes with one range per token (row): codes(b, :) are dac_code(x(b, :), ranges(b)); a
/// row whose range is 0 gets codes 0 (dynamic input ranges, ranges(b) = max |x(b, :)|).
void dac_codes_per_token(const Eigen::Ref<const Eigen::MatrixXf>& x,
                         const Eigen::Ref<const Eigen::VectorXf>& ranges, int inp_res,
                         Eigen::Ref<Eigen::MatrixXf> codes);

/// Value of a DAC code in input units: code * 2 ir / inp_res.
inline float dac_value(double code, float input_range, int inp_res) {
  return static_cast<float>(code * (2.0 * input_range / inp_res));
}

/// ADC code from the accumulated DAC codes acc_j = sum_i c_i W[j, i] (plus output noise in the
/// same units) when DAC and ADC have resolutions inp_res and out_res:
/// round_half_even(acc * out_res / (inp_res * out_bound * wmax)), clamped to +-out_res / 2.
/// Equals round(y / step_j) in exact arithmetic (y = acc * 2 ir / inp_res, step_j =
/// 2 out_bound ir wmax / out_res). wmax > 0.
double adc_code_from_dac(double acc, int inp_res, int out_res, double out_bound, double wmax);

/// ADC code of an analog output y in input-times-weight units (ideal DAC):
/// round_half_even(y * out_res / (2 out_bound ir wmax)), clamped to +-out_res / 2.
double adc_code(double y, float input_range, int out_res, double out_bound, double wmax);

/// Value of an ADC code: code * 2 out_bound ir wmax / out_res.
inline double adc_value(double code, float input_range, int out_res, double out_bound,
                        double wmax) {
  return code * (2.0 * out_bound * input_range * wmax / out_res);
}

/// 4-bit symmetric weight code (W4A8): round_half_even(w * 14 / (2 wmax)), 15 levels -7..7.
/// wmax = max |w| of the row (> 0; a zero row has code 0).
double w4_code(float w, float wmax);

}  // namespace aimc::arch

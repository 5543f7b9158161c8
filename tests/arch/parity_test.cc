// The AIHWKit / AIHWKit-Lightning parity options of the analog read (docs/numerics.md, table
// "AIHWKit setting = aimcsim field"), one test per row on values computed by hand.
#include <gtest/gtest.h>

#include "arch/analog_linear.h"
#include "arch/digital_linear.h"
#include "arch/quantize.h"
#include "test_util.h"

namespace aimc::arch {
namespace {

using testing::ideal_numerics;

Matrix row(std::initializer_list<float> v) {
  Matrix m(1, static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (float x : v) m(0, i++) = x;
  return m;
}

Matrix read(const TileNumerics& n, const Matrix& w, const Matrix& x, std::vector<float> ranges) {
  AnalogLinear layer(n, w, nullptr, ranges, 7);
  Matrix y;
  layer.forward(x, &y);
  return y;
}

// Lightning's default ADC bound: out_bound IR max|W| over all channels of the input slice.
// Channel wmax 1 and 0.25, x = (0.3, 0), IR 1, out_bound 1, 5 ADC levels (step = bound / 2):
// per channel y = (rhe(0.3 / 0.5) 0.5, rhe(0.075 / 0.125) 0.125) = (0.5, 0.125);
// per layer both steps are 0.5: (0.5, rhe(0.15) 0.5) = (0.5, 0).
TEST(Parity, AdcBoundScope) {
  TileNumerics n = ideal_numerics(4, 4);
  n.out_res = 4;
  n.out_bound = 1;
  Matrix w(2, 2);
  w << 1.0f, 0.0f, 0.25f, 0.0f;
  const Matrix x = row({0.3f, 0.0f});
  Matrix y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(y(0, 1), 0.125f);
  n.adc_bound_scope = AdcBoundScope::kPerLayer;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(y(0, 1), 0.0f);
  // AIHWKit's per-tensor scaling is per tile: one tile here, the same numbers.
  n.adc_bound_scope = AdcBoundScope::kPerTile;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 1), 0.0f);
  // The layer's slice maximum spans output tiles: with one channel per tile the second channel
  // still takes the first's wmax; per tile it keeps its own (0.125 as per channel).
  n.cols = 1;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 1), 0.125f);
  n.adc_bound_scope = AdcBoundScope::kPerLayer;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 1), 0.0f);
  // Per input slice: a second input tile with its own maximum 2 (bound 2, step 1).
  n.cols = 4;
  n.rows = 1;  // n.adc_bound_scope is still per layer
  Matrix w2(2, 2);
  w2 << 0.0f, 2.0f, 0.0f, 0.6f;
  y = read(n, w2, row({0.0f, 1.0f}), {1.0f, 1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 2.0f);  // rhe(2 / 1) = 2 levels: the clamp at +-bound
  EXPECT_FLOAT_EQ(y(0, 1), 1.0f);  // rhe(0.6) = 1
}

// Dynamic input ranges (per token and tile abs-max), DAC of 5 levels (codes -2..2, step =
// 2 r / 4), ideal ADC, W = identity. Token (1, -0.3): r = 1, codes (2, rhe(-0.6) = -1) ->
// (1, -0.5). Token (0.2, 0.05): r = 0.2, codes (2, rhe(0.5) = 0) -> (0.2, 0). Zero token -> 0.
// With one input per tile each input is its own range: (1, -0.3) exactly.
TEST(Parity, DynamicInputRange) {
  TileNumerics n = ideal_numerics(2, 2);
  n.inp_res = 4;
  n.input_range_policy = InputRangePolicy::kDynamic;
  const Matrix w = Matrix::Identity(2, 2);
  Matrix x(3, 2);
  x << 1.0f, -0.3f, 0.2f, 0.05f, 0.0f, 0.0f;
  Matrix y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y(0, 1), -0.5f);
  EXPECT_FLOAT_EQ(y(1, 0), 0.2f);
  EXPECT_FLOAT_EQ(y(1, 1), 0.0f);
  EXPECT_EQ(y(2, 0), 0.0f);
  EXPECT_EQ(y(2, 1), 0.0f);
  n.rows = 1;
  y = read(n, w, x.topRows(1), {1.0f, 1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y(0, 1), -0.3f);
  // The same static range 1 instead: token 2 is (rhe(0.4), rhe(0.1)) = 0.
  n.rows = 2;
  n.input_range_policy = InputRangePolicy::kCalibrate;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(1, 0), 0.0f);
  // An 8-bit ADC with out_bound 1 on the dynamic range: bound r wmax = r, so the code of y = r
  // is 127 and the output r exactly.
  n.input_range_policy = InputRangePolicy::kDynamic;
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 1;
  y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(1, 0), 0.2f);
  EXPECT_NEAR(y(1, 1), 0.05f, 0.2f / 127 / 2 + 1e-7);
}

// W4A8 with dynamic ranges: token (0.2, 0.05), W = identity (weight codes 7, step 2/14):
// input codes rhe(0.2 * 254 / 0.4) = 127 and rhe(0.05 * 254 / 0.4) = rhe(31.75) = 32, so
// y = (127 * 0.4 / 254, 32 * 0.4 / 254) (weight code 7 times step 1/7 = 1).
TEST(Parity, DynamicInputRangeW4A8) {
  W4A8Linear layer(Matrix::Identity(2, 2), nullptr, {1.0f}, 2, true);
  Matrix y;
  layer.forward(row({0.2f, 0.05f}), &y);
  EXPECT_NEAR(y(0, 0), 0.2f, 1e-7);
  EXPECT_NEAR(y(0, 1), 32 * 0.4 / 254, 1e-7);
}

// A bound-only ADC (ideal, ideal_adc_clamps) clamps to +-out_bound IR wmax: W = (1, 1),
// x = (0.8, 0.7), IR 1, out_bound 1: y = 1.5 -> 1 (and -1.5 -> -1); without the option 1.5.
TEST(Parity, IdealAdcClamps) {
  TileNumerics n = ideal_numerics(4, 4);
  n.out_bound = 1;
  const Matrix w = row({1.0f, 1.0f});
  Matrix x(2, 2);
  x << 0.8f, 0.7f, -0.8f, -0.7f;
  EXPECT_FLOAT_EQ(read(n, w, x, {1.0f})(0, 0), 1.5f);
  n.ideal_adc_clamps = true;
  const Matrix y = read(n, w, x, {1.0f});
  EXPECT_FLOAT_EQ(y(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y(1, 0), -1.0f);
  // With an 8-bit DAC the bound is the same in input units: codes with IR 1
  // (rhe(0.8 * 127) = 102, rhe(0.7 * 127) = 89), sum 191 codes = 1.504 -> 1.
  n.inp_res = 254;
  EXPECT_FLOAT_EQ(read(n, w, x, {1.0f})(0, 0), 1.0f);
}

// An ideal DAC with ideal_dac_clamps clamps the inputs to +-IR: IR 0.5, W = 1, x = 0.8 -> 0.5
// (-0.8 -> -0.5); without the option 0.8 passes.
TEST(Parity, IdealDacClamps) {
  TileNumerics n = ideal_numerics(4, 4);
  const Matrix w = Matrix::Ones(1, 1);
  Matrix x(2, 1);
  x << 0.8f, -0.8f;
  EXPECT_FLOAT_EQ(read(n, w, x, {0.5f})(0, 0), 0.8f);
  n.ideal_dac_clamps = true;
  const Matrix y = read(n, w, x, {0.5f});
  EXPECT_FLOAT_EQ(y(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(y(1, 0), -0.5f);
  CrossbarTile tile(n, w, 0.5f, 7);
  Matrix yt;
  tile.read(x, &yt);
  EXPECT_FLOAT_EQ(yt(0, 0), 0.5f);
}

// Output noise of a layer (Lightning divides out_noise by sqrt(slices); AIHWKit's is per tile):
// x = 0, ideal converters, 4 input tiles of one row, W = (1; 0.25) per tile, IR 1, out_noise 0.1.
// Per tile and channel the std is 0.1 wmax: the sum of 4 tiles has std 0.2 (channel 0) and 0.05
// (channel 1); with out_noise_per_layer 0.1 and 0.025; with per-layer bounds channel 1 takes
// channel 0's scale, 0.2.
TEST(Parity, OutputNoiseScale) {
  TileNumerics n = ideal_numerics(1, 4);
  n.out_noise = 0.1;
  Matrix w(2, 4);
  w.row(0).setConstant(1.0f);
  w.row(1).setConstant(0.25f);
  const Matrix x = Matrix::Zero(40000, 4);
  auto stds = [&](const TileNumerics& nn) {
    const Matrix y = read(nn, w, x, {1.0f, 1.0f, 1.0f, 1.0f});
    const Eigen::RowVectorXd m = y.cast<double>().colwise().mean();
    return ((y.cast<double>().rowwise() - m).colwise().squaredNorm() / (y.rows() - 1))
        .cwiseSqrt()
        .eval();
  };
  Eigen::RowVectorXd s = stds(n);
  EXPECT_NEAR(s(0), 0.2, 0.2 * 0.02);
  EXPECT_NEAR(s(1), 0.05, 0.05 * 0.02);
  n.out_noise_per_layer = true;
  s = stds(n);
  EXPECT_NEAR(s(0), 0.1, 0.1 * 0.02);
  EXPECT_NEAR(s(1), 0.025, 0.025 * 0.02);
  n.adc_bound_scope = AdcBoundScope::kPerLayer;
  s = stds(n);
  EXPECT_NEAR(s(1), 0.1, 0.1 * 0.02);
}

}  // namespace
}  // namespace aimc::arch

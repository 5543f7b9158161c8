// Rounding, balanced splits and the DAC / ADC / 4-bit code rules against hand-computed cases,
// exact ties included (numerics.md sections 2 and 6).
#include "arch/quantize.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace aimc::arch {
namespace {

TEST(RoundHalfEven, TiesGoToEven) {
  EXPECT_EQ(round_half_even(0.5), 0.0);
  EXPECT_EQ(round_half_even(1.5), 2.0);
  EXPECT_EQ(round_half_even(2.5), 2.0);
  EXPECT_EQ(round_half_even(3.5), 4.0);
  EXPECT_EQ(round_half_even(-0.5), 0.0);
  EXPECT_EQ(round_half_even(-1.5), -2.0);
  EXPECT_EQ(round_half_even(-2.5), -2.0);
  EXPECT_EQ(round_half_even(2.4999999999), 2.0);
  EXPECT_EQ(round_half_even(2.5000000001), 3.0);
  EXPECT_EQ(round_half_even(-126.5), -126.0);
  EXPECT_EQ(round_half_even(1e300), 1e300);
  EXPECT_EQ(round_half_even(4503599627370497.0), 4503599627370497.0);  // 2^52 + 1
  EXPECT_TRUE(std::isnan(round_half_even(std::numeric_limits<double>::quiet_NaN())));
}

TEST(BalancedSplit, SizesAndOrder) {
  EXPECT_EQ(balanced_split(700, 256), (std::vector<int>{234, 233, 233}));
  EXPECT_EQ(balanced_split(300, 256), (std::vector<int>{150, 150}));
  EXPECT_EQ(balanced_split(256, 256), (std::vector<int>{256}));
  EXPECT_EQ(balanced_split(257, 256), (std::vector<int>{129, 128}));
  EXPECT_EQ(balanced_split(1, 256), (std::vector<int>{1}));
  EXPECT_EQ(balanced_split(10, 3), (std::vector<int>{3, 3, 2, 2}));
  EXPECT_TRUE(balanced_split(0, 256).empty());
  EXPECT_EQ(split_offsets({234, 233, 233}), (std::vector<int>{0, 234, 467}));
  EXPECT_THROW(balanced_split(10, 0), std::invalid_argument);
}

TEST(Dac, StepRoundingAndClamp) {
  // IR = 127 makes the step exactly 1: the code is x rounded half to even.
  EXPECT_EQ(dac_code(2.5f, 127.f, 254), 2.0);
  EXPECT_EQ(dac_code(3.5f, 127.f, 254), 4.0);
  EXPECT_EQ(dac_code(-2.5f, 127.f, 254), -2.0);
  EXPECT_EQ(dac_code(126.5f, 127.f, 254), 126.0);
  EXPECT_EQ(dac_code(0.49f, 127.f, 254), 0.0);
  EXPECT_EQ(dac_code(200.f, 127.f, 254), 127.0);    // clamped to IR
  EXPECT_EQ(dac_code(-1e30f, 127.f, 254), -127.0);  // clamped to -IR
  // IR = 1: code = 127 x; x = 0.5 is exactly 63.5, a tie, -> 64.
  EXPECT_EQ(dac_code(0.5f, 1.f, 254), 64.0);
  EXPECT_EQ(dac_code(-0.5f, 1.f, 254), -64.0);
  EXPECT_EQ(dac_code(1.f, 1.f, 254), 127.0);
  // 4-bit DAC (inp_res 14), IR = 0.7: x = 0.35 = IR / 2 is the tie 3.5 -> 4, though 0.35 / step
  // with a rounded step = 0.1 need not be.
  EXPECT_EQ(dac_code(0.35f, 0.7f, 14), 4.0);
  EXPECT_FLOAT_EQ(dac_value(64, 1.f, 254), 64.f * 2.f / 254.f);

  Eigen::MatrixXf x(2, 2), codes(2, 2);
  x << 2.5f, 3.5f, -200.f, 0.4f;
  dac_codes(x, 127.f, 254, codes);
  EXPECT_EQ(codes(0, 0), 2.f);
  EXPECT_EQ(codes(0, 1), 4.f);
  EXPECT_EQ(codes(1, 0), -127.f);
  EXPECT_EQ(codes(1, 1), 0.f);
}

TEST(Adc, CodeFromDacAccumulator) {
  // inp_res = out_res = 254, out_bound 14, wmax 1: code = round(acc / 14).
  EXPECT_EQ(adc_code_from_dac(35, 254, 254, 14, 1), 2.0);          // 2.5 -> 2
  EXPECT_EQ(adc_code_from_dac(49, 254, 254, 14, 1), 4.0);          // 3.5 -> 4
  EXPECT_EQ(adc_code_from_dac(-35, 254, 254, 14, 1), -2.0);        // -2.5 -> -2
  EXPECT_EQ(adc_code_from_dac(50, 254, 254, 14, 1), 4.0);          // 3.57 -> 4
  EXPECT_EQ(adc_code_from_dac(14 * 200, 254, 254, 14, 1), 127.0);  // clamped at +beta
  EXPECT_EQ(adc_code_from_dac(-1785, 254, 254, 14, 1), -127.0);    // -127.5 clamped
  // wmax 0.7 (not a power of two): acc = 2.5 * 14 * 0.7f is an exact tie.
  const double acc = 2.5 * 14 * static_cast<double>(0.7f);
  EXPECT_EQ(adc_code_from_dac(acc, 254, 254, 14, 0.7f), 2.0);
  // Different resolutions: 6-bit ADC (62 levels) after an 8-bit DAC: acc * 62 / 3556.
  EXPECT_EQ(adc_code_from_dac(86, 254, 62, 14, 1), 1.0);  // 1.4994
  EXPECT_EQ(adc_code_from_dac(87, 254, 62, 14, 1), 2.0);  // 1.5169
  EXPECT_EQ(adc_code_from_dac(1e6, 254, 62, 14, 1), 31.0);
}

TEST(Adc, CodeFromIdealDacOutput) {
  // IR 127, out_bound 1, wmax 1, 254 levels: step = 2 * 127 / 254 = 1.
  EXPECT_EQ(adc_code(2.5, 127.f, 254, 1, 1), 2.0);
  EXPECT_EQ(adc_code(3.5, 127.f, 254, 1, 1), 4.0);
  EXPECT_EQ(adc_code(300, 127.f, 254, 1, 1), 127.0);
  EXPECT_EQ(adc_code(-300, 127.f, 254, 1, 1), -127.0);
  EXPECT_DOUBLE_EQ(adc_value(3, 1.f, 254, 14, 0.5), 3 * 2.0 * 14 * 0.5 / 254);
}

TEST(W4Code, TiesStayTies) {
  EXPECT_EQ(w4_code(1.0f, 1.0f), 7.0);
  EXPECT_EQ(w4_code(0.5f, 1.0f), 4.0);    // 3.5 -> 4
  EXPECT_EQ(w4_code(-0.5f, 1.0f), -4.0);  // -3.5 -> -4
  EXPECT_EQ(w4_code(0.35f, 0.7f), 4.0);   // exactly wmax / 2: 3.5 -> 4
  EXPECT_EQ(w4_code(0.2f, 0.4f), 4.0);
  EXPECT_EQ(w4_code(-0.25f, 1.0f), -2.0);  // -1.75
  EXPECT_EQ(w4_code(0.1f, 1.0f), 1.0);     // 0.7
  EXPECT_EQ(w4_code(0.f, 0.f), 0.0);
  // 2.5 / 7 of wmax is the tie 2.5 -> 2 when it is exact: wmax = 7 * 2^-3, w = 2.5 * 2^-3.
  EXPECT_EQ(w4_code(0.3125f, 0.875f), 2.0);
}

}  // namespace
}  // namespace aimc::arch

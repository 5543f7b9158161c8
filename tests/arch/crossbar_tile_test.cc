// One crossbar tile: DAC, product, ADC and clamping against hand-computed reads; output noise
// statistics; global drift compensation.
#include "arch/crossbar_tile.h"

#include <cmath>

#include <gtest/gtest.h>

#include "test_util.h"

namespace aimc::arch {
namespace {

using testing::ideal_numerics;

TEST(CrossbarTile, HandComputedReads) {
  TileNumerics n = ideal_numerics(4, 4);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 14;
  Matrix w(1, 2);
  w << 1.0f, 0.5f;  // wmax 1
  CrossbarTile tile(n, w, 1.0f, 1);
  EXPECT_EQ(tile.rows_used(), 2);
  EXPECT_EQ(tile.cols_used(), 1);
  EXPECT_EQ(tile.programmed_weights(), w);
  const double step_out = 2.0 * 14 * 1 * 1 / 254;  // 2 out_bound IR wmax / out_res
  Matrix x(3, 2), y;
  x << 0.5f, 0.25f,          // codes 64 (63.5, tie), 32 (31.75): acc 80, 80 / 14 = 5.71 -> 6
      35.0f / 127.0f, 0.0f,  // code 35: acc 35, 2.5 -> 2 (tie to even)
      1.0f, 1.0f;            // codes 127, 127: acc 190.5, 13.6 -> 14
  tile.read(x, &y);
  ASSERT_EQ(y.rows(), 3);
  ASSERT_EQ(y.cols(), 1);
  EXPECT_EQ(y(0, 0), static_cast<float>(6 * step_out));
  EXPECT_EQ(y(1, 0), static_cast<float>(2 * step_out));
  EXPECT_EQ(y(2, 0), static_cast<float>(14 * step_out));
}

TEST(CrossbarTile, AdcClampsAtOutBound) {
  TileNumerics n = ideal_numerics(4, 4);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 1;  // beta = IR * wmax = 2
  Matrix w(1, 2);
  w << 1.0f, 1.0f;
  CrossbarTile tile(n, w, 2.0f, 1);
  Matrix x(2, 2), y;
  x << 2.0f, 2.0f,   // y = 4 > beta
      -5.0f, -5.0f;  // inputs clamped to -2, y = -4 < -beta
  tile.read(x, &y);
  EXPECT_FLOAT_EQ(y(0, 0), 2.0f);
  EXPECT_FLOAT_EQ(y(1, 0), -2.0f);
}

TEST(CrossbarTile, IdealDacQuantizedAdc) {
  TileNumerics n = ideal_numerics(4, 4);
  n.out_res = 254;
  n.out_bound = 1;
  Matrix w(1, 1);
  w << 1.0f;
  CrossbarTile tile(n, w, 127.0f, 1);  // ADC step 2 * 1 * 127 * 1 / 254 = 1
  Matrix x(3, 1), y;
  x << 2.5f, 3.5f, 500.0f;  // no input clamp with an ideal DAC; the ADC clamps at 127
  tile.read(x, &y);
  EXPECT_EQ(y(0, 0), 2.0f);
  EXPECT_EQ(y(1, 0), 4.0f);
  EXPECT_EQ(y(2, 0), 127.0f);
}

TEST(CrossbarTile, OutputNoiseStdAndFreshPerRead) {
  TileNumerics n = ideal_numerics(4, 4);
  n.out_noise = 0.1;
  Matrix w(2, 2);
  w << 0.5f, -0.25f, 2.0f, 1.0f;  // wmax 0.5 and 2
  CrossbarTile tile(n, w, 3.0f, 7);
  const int batch = 200000;
  Matrix x = Matrix::Zero(batch, 2), y1, y2;
  tile.read(x, &y1);
  tile.read(x, &y2);
  for (int c = 0; c < 2; ++c) {
    const double expected = 0.1 * (c == 0 ? 0.5 : 2.0) * 3.0;
    const double mean = y1.col(c).cast<double>().mean();
    const double sd =
        std::sqrt((y1.col(c).cast<double>().array() - mean).square().sum() / (batch - 1));
    EXPECT_NEAR(sd, expected, 0.03 * expected);
    EXPECT_NEAR(mean, 0.0, 5 * expected / std::sqrt(batch));
  }
  EXPECT_NE(y1, y2);
}

TEST(CrossbarTile, GlobalDriftCompensation) {
  TileNumerics n = ideal_numerics(64, 64);
  proto::WeightNoiseConfig c;
  c.mutable_pcm_like()->set_prog_noise_scale(0);
  c.mutable_pcm_like()->set_read_noise_scale(0);
  n.noise = make_noise_model(c);
  n.t_inference_s = 365.0 * 24 * 3600;
  Matrix w = Matrix::Constant(64, 64, 0.5f);
  CrossbarTile compensated(n, w, 1.0f, 3);
  // mean drift factor at g_hat 0.5: exp(-0.049 L + (0.008 L)^2 / 2), L = ln(t / t0)
  const double L = std::log((n.t_inference_s + 20) / 20);
  const double mean_factor = std::exp(-0.049 * L + 0.008 * 0.008 * L * L / 2);
  EXPECT_NEAR(compensated.drift_compensation(), 1 / mean_factor, 0.01 / mean_factor);
  // Compensated outputs come back to the undrifted product on average.
  Matrix x = Matrix::Constant(1, 64, 0.25f), y;
  compensated.read(x, &y);
  EXPECT_NEAR(y.mean(), 64 * 0.25 * 0.5, 0.01 * 64 * 0.25 * 0.5);

  n.drift_compensation = false;
  CrossbarTile raw(n, w, 1.0f, 3);
  EXPECT_EQ(raw.drift_compensation(), 1.0);
  raw.read(x, &y);
  EXPECT_NEAR(y.mean(), 64 * 0.25 * 0.5 * mean_factor, 0.01 * 64 * 0.25 * 0.5);

  n.t_inference_s = 0;  // no drift: factor 1 exactly
  n.drift_compensation = true;
  EXPECT_EQ(CrossbarTile(n, w, 1.0f, 3).drift_compensation(), 1.0);
}

TEST(CrossbarTile, ClipRowsAtKStd) {
  Matrix w(1, 5);
  w << 1.0f, -1.0f, 1.0f, -1.0f, 10.0f;
  // mean 2, deviations -1 -3 -1 -3 8: (n - 1) std = sqrt(84 / 4)
  const double sd = std::sqrt(84.0 / 4);
  clip_rows(&w, 0.5);
  EXPECT_FLOAT_EQ(w(0, 4), static_cast<float>(0.5 * sd));
  EXPECT_FLOAT_EQ(w(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(w(0, 1), -1.0f);
}

}  // namespace
}  // namespace aimc::arch

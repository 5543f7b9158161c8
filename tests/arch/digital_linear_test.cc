// The digital baselines: FP32 is the fused product chain; W4A8 on a small hand-worked example;
// make_linear picks the backend.
#include "arch/digital_linear.h"

#include <cmath>

#include <gtest/gtest.h>

#include "arch/analog_linear.h"
#include "proto/user_error.h"
#include "test_util.h"

namespace aimc::arch {
namespace {

TEST(Fp32Linear, FusedChainPlusBias) {
  // Every output is fma(x_K-1, w_K-1, ... fma(x_0, w_0, +0)) + b, inputs in order (600 inputs:
  // three packed blocks); and the product agrees with Eigen's up to summation order.
  for (int batch : {3, 20}) {
    Matrix w = Matrix::Random(30, 600), x = Matrix::Random(batch, 600);
    Vector b = Vector::Random(30);
    Fp32Linear layer(w, &b);
    Matrix y;
    layer.forward(x, &y);
    ASSERT_EQ(y.rows(), batch);
    ASSERT_EQ(y.cols(), 30);
    int bad = 0;
    for (int t = 0; t < batch; ++t) {
      for (int c = 0; c < 30; ++c) {
        float s = 0.0f;
        for (int k = 0; k < 600; ++k) s = std::fma(x(t, k), w(c, k), s);
        bad += y(t, c) != s + b(c);
      }
    }
    EXPECT_EQ(bad, 0) << "batch " << batch;
    Matrix ref = x * w.transpose();
    ref.rowwise() += b.transpose();
    EXPECT_TRUE(y.isApprox(ref, 1e-5f));
  }
}

TEST(W4A8Linear, HandWorkedExample) {
  Matrix w(2, 4);
  w << 1.0f, 0.5f, -0.25f, 0.1f,  // wmax 1: codes 7, 4 (3.5), -2 (-1.75), 1 (0.7)
      0.2f, -0.4f, 0.35f, 0.0f;   // wmax 0.4: 17.5 W -> 4 (3.5), -7, 6 (6.125), 0
  Vector b(2);
  b << 0.1f, -0.2f;
  W4A8Linear layer(w, &b, {1.0f}, 4);
  Matrix codes(2, 4);
  codes << 7, 4, -2, 1, 4, -7, 6, 0;
  EXPECT_EQ(layer.weight_codes(), codes);
  EXPECT_DOUBLE_EQ(layer.weight_steps()(0), 2.0 / 14);
  EXPECT_DOUBLE_EQ(layer.weight_steps()(1), 2.0 * 0.4f / 14);

  Matrix x(1, 4), y;
  x << 0.5f, -0.25f, 1.0f, 2.0f;  // input codes 64 (63.5), -32 (-31.75), 127, 127 (clamped)
  layer.forward(x, &y);
  const double step_in = 2.0 / 254;
  const int acc0 = 64 * 7 + (-32) * 4 + 127 * (-2) + 127 * 1;  // 193
  const int acc1 = 64 * 4 + (-32) * (-7) + 127 * 6 + 127 * 0;  // 1242
  EXPECT_FLOAT_EQ(y(0, 0), static_cast<float>(acc0 * step_in * (2.0 / 14)) + 0.1f);
  EXPECT_FLOAT_EQ(y(0, 1), static_cast<float>(acc1 * step_in * (2.0 * 0.4f / 14)) - 0.2f);
}

TEST(W4A8Linear, RangesPerInputTile) {
  Matrix w = Matrix::Random(8, 10);
  EXPECT_THROW(W4A8Linear(w, nullptr, {1.0f}, 4), UserError);  // 10 inputs: 3 tiles of <= 4
  W4A8Linear ok(w, nullptr, {1.0f, 1.0f, 1.0f}, 4);
  EXPECT_EQ(ok.in_features(), 10);
}

TEST(MakeLinear, PicksTheBackend) {
  const TileNumerics n = testing::ideal_numerics(16, 16);
  Matrix w = Matrix::Random(8, 20);
  const std::vector<float> ranges = {1.0f, 1.0f};
  auto fp = make_linear(Backend::kFp32, n, w, nullptr, {}, 0);
  auto w4 = make_linear(Backend::kW4A8, n, w, nullptr, ranges, 0);
  auto an = make_linear(Backend::kAnalog, n, w, nullptr, ranges, 0);
  EXPECT_NE(dynamic_cast<Fp32Linear*>(fp.get()), nullptr);
  EXPECT_NE(dynamic_cast<W4A8Linear*>(w4.get()), nullptr);
  EXPECT_NE(dynamic_cast<AnalogLinear*>(an.get()), nullptr);
  for (auto* l : {fp.get(), w4.get(), an.get()}) {
    EXPECT_EQ(l->in_features(), 20);
    EXPECT_EQ(l->out_features(), 8);
  }
}

}  // namespace
}  // namespace aimc::arch

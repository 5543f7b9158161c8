// Input-range calibration against hand computations, and the range policies.
#include "workloads/calibration.h"

#include <cmath>
#include <map>
#include <utility>

#include <gtest/gtest.h>

#include "proto/user_error.h"
#include "tests/workloads_exec/exec_test_support.h"

namespace aimc::workloads {
namespace {

// Std (divisor n - 1 as torch.std, or n) of x.middleCols(first, width), written differently
// from the library (E[x^2] - E[x]^2, in long double).
double hand_std(const arch::Matrix& x, int first, int width, bool n_minus_1 = true) {
  long double s = 0, s2 = 0;
  for (int j = first; j < first + width; ++j) {
    for (int i = 0; i < x.rows(); ++i) {
      s += x(i, j);
      s2 += static_cast<long double>(x(i, j)) * x(i, j);
    }
  }
  const long double n = static_cast<long double>(x.rows()) * width;
  const long double var = s2 / n - (s / n) * (s / n);
  return static_cast<double>(std::sqrt(n_minus_1 ? var * n / (n - 1) : var));
}

TEST(Calibration, OneTileByHand) {
  // Values 1, 2, 3, 4: mean 2.5, squared deviations 5: variance 5 / 3 (torch.std, the default)
  // or 5 / 4 (population).
  arch::Matrix x(2, 2);
  x << 1, 2, 3, 4;
  const std::vector<double> r = batch_tile_ranges(x, 8, 3.0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(r[0], 3.0 * std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(batch_tile_ranges(x, 8, 3.0, false)[0], 3.0 * std::sqrt(1.25), 1e-12);
  // One element: no spread under n - 1.
  EXPECT_EQ(batch_tile_ranges(arch::Matrix::Constant(1, 1, 5.0f), 8, 3.0)[0], 0.0);
}

// The std divisor and the zero-spread rule map to the chip config (AIHWKit parity rows).
TEST(Calibration, StdDivisorAndZeroSpreadByHand) {
  // Batch A: (2, 2), std 0. Batch B: (1, 3), mean 2, squared deviations 2: std sqrt(2) (n - 1)
  // or 1 (n). kappa 1.
  arch::Matrix a(2, 1), b(2, 1);
  a << 2, 2;
  b << 1, 3;
  RangeRule rule;
  rule.kappa = 1;
  rule.fallback = 7;
  RangeCalibrator skip(1, 4, rule);  // defaults: n - 1, skip (AIHWKit)
  skip.add_batch(a);
  skip.add_batch(b);
  EXPECT_EQ(skip.batches(), 2);
  EXPECT_EQ(skip.counted(0), 1);
  EXPECT_NEAR(skip.ranges()[0], std::sqrt(2.0), 1e-7);
  rule.skip_zero_spread = false;
  RangeCalibrator count(1, 4, rule);
  count.add_batch(a);
  count.add_batch(b);
  EXPECT_NEAR(count.ranges()[0], std::sqrt(2.0) / 2, 1e-7);
  rule.n_minus_1 = false;
  RangeCalibrator population(1, 4, rule);
  population.add_batch(a);
  population.add_batch(b);
  EXPECT_NEAR(population.ranges()[0], 0.5, 1e-7);
  // Only zero-spread batches: skipping leaves the fallback (fixed_value), counting gives 1e-30.
  rule = RangeRule{};
  rule.fallback = 7;
  RangeCalibrator none(1, 4, rule);
  none.add_batch(a);
  EXPECT_EQ(none.ranges()[0], 7.0f);
  // From the numerics.
  arch::TileNumerics n;
  n.kappa = 2;
  n.fixed_input_range = 5;
  n.calibration_std_n_minus_1 = false;
  n.calibration_skip_zero_spread = false;
  const RangeRule from = RangeRule::from(n);
  EXPECT_EQ(from.kappa, 2);
  EXPECT_EQ(from.fallback, 5.0f);
  EXPECT_FALSE(from.n_minus_1);
  EXPECT_FALSE(from.skip_zero_spread);
}

TEST(Calibration, BalancedTilesAndMeanOverBatches) {
  // 10 inputs, tiles of at most 4 rows -> 3 tiles of 4, 3, 3 inputs.
  arch::Matrix a(6, 10), b(6, 10);
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 10; ++j) {
      a(i, j) = static_cast<float>(std::sin(1.0 + i * 10 + j) * (j + 1));
      b(i, j) = static_cast<float>(std::cos(0.5 * i - j) * 3 + j);
    }
  }
  const double kappa = 2.5;
  const std::vector<std::pair<int, int>> tiles = {{0, 4}, {4, 3}, {7, 3}};
  const std::vector<double> ra = batch_tile_ranges(a, 4, kappa);
  ASSERT_EQ(ra.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(ra[t], kappa * hand_std(a, tiles[t].first, tiles[t].second), 1e-9) << t;
  }
  RangeCalibrator cal(10, 4, kappa);
  cal.add_batch(a);
  cal.add_batch(b);
  EXPECT_EQ(cal.batches(), 2);
  const std::vector<float> r = cal.ranges();
  ASSERT_EQ(r.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    const double expected = kappa *
                            (hand_std(a, tiles[t].first, tiles[t].second) +
                             hand_std(b, tiles[t].first, tiles[t].second)) /
                            2;
    EXPECT_NEAR(r[t], expected, 1e-6 * expected) << t;
  }
}

TEST(Calibration, ConstantInputGetsPositiveRange) {
  RangeRule rule;
  rule.skip_zero_spread = false;
  RangeCalibrator cal(3, 256, rule);
  cal.add_batch(arch::Matrix::Constant(4, 3, 2.0f));
  EXPECT_EQ(cal.ranges()[0], RangeCalibrator::kMinRange);
}

TEST(Calibration, ModelCalibrationEqualsKappaStdOfLayerInputs) {
  const TransformerWeights w =
      load_transformer(testing::source_path("tests/fixtures/models/llama"));
  arch::TileNumerics numerics = testing::ideal_numerics(24);  // hidden 64 -> 3 tiles
  numerics.kappa = 3.0;
  TokenIds tokens(3 * 9);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37) % 96);
  CalibrationOptions opt;
  opt.window = 8;
  opt.batches = 2;  // windows 0 and 1 of the three that fit
  const LayerInputRanges ranges = calibrate_input_ranges(w, numerics, tokens, opt);

  // Capture the inputs of block 1's down projection (index 6: q k v o gate up down) and of
  // lm_head on the same windows, then calibrate by hand.
  Executor exec(w, numerics, LayerInputRanges{}, ExecutorOptions{});
  std::map<int, std::vector<arch::Matrix>> inputs;
  exec.set_linear_input_hook([&](const LinearSite& s, const arch::Matrix& x) {
    if ((s.block == 1 && s.index == 6) || s.block == -1) inputs[s.block].push_back(x);
  });
  for (int k = 0; k < 2; ++k) exec.prefill(tokens.data() + 9 * k, 8);
  ASSERT_EQ(w.blocks[1].linears[6].shape.role, LinearRole::kDown);
  const int down_in = w.config.intermediate_size;  // 128 -> 6 tiles of 22/21
  const std::vector<int> sizes = {22, 22, 21, 21, 21, 21};
  ASSERT_EQ(ranges.blocks[1][6].size(), sizes.size());
  int first = 0;
  for (size_t t = 0; t < sizes.size(); ++t) {
    const double expected =
        3.0 * (hand_std(inputs[1][0], first, sizes[t]) + hand_std(inputs[1][1], first, sizes[t])) /
        2;
    EXPECT_NEAR(ranges.blocks[1][6][t], expected, 1e-5 * expected) << "tile " << t;
    first += sizes[t];
  }
  EXPECT_EQ(first, down_in);
  ASSERT_EQ(ranges.lm_head.size(), 3u);
  const double head0 = 3.0 * (hand_std(inputs[-1][0], 0, 22) + hand_std(inputs[-1][1], 0, 22)) / 2;
  EXPECT_NEAR(ranges.lm_head[0], head0, 1e-5 * head0);
}

TEST(Calibration, PoliciesChooseTheSource) {
  TransformerWeights w = load_transformer(testing::source_path("tests/fixtures/models/llama"));
  arch::TileNumerics numerics = testing::ideal_numerics(32);  // hidden 64 -> 2 tiles
  TokenIds tokens(40);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 11) % 96);
  CalibrationOptions opt;
  opt.window = 8;
  opt.batches = 3;
  const int n_linears = static_cast<int>(w.blocks.size() * w.blocks[0].linears.size());

  numerics.input_range_policy = arch::InputRangePolicy::kFixed;
  numerics.fixed_input_range = 0.75;
  InputRangeReport rep;
  LayerInputRanges fixed = resolve_input_ranges(w, numerics, {}, opt, true, &rep);
  EXPECT_EQ(rep.fixed, n_linears + 1);
  EXPECT_EQ(rep.calibration_batches, 0);
  EXPECT_EQ(fixed.blocks[0][0], (std::vector<float>{0.75f, 0.75f}));
  EXPECT_EQ(fixed.lm_head, (std::vector<float>{0.75f, 0.75f}));

  // DYNAMIC: placeholders, no calibration (no tokens needed).
  numerics.input_range_policy = arch::InputRangePolicy::kDynamic;
  LayerInputRanges dynamic = resolve_input_ranges(w, numerics, {}, opt, true, &rep);
  EXPECT_EQ(rep.dynamic, n_linears + 1);
  EXPECT_EQ(rep.calibrated, 0);
  EXPECT_EQ(rep.calibration_batches, 0);
  EXPECT_EQ(dynamic.blocks[0][0], (std::vector<float>{1.0f, 1.0f}));

  // A checkpoint range on one layer is used verbatim; the rest is calibrated.
  w.blocks[0].linears[0].input_range = {1.5f, 2.5f};
  numerics.input_range_policy = arch::InputRangePolicy::kCheckpointOrCalibrate;
  LayerInputRanges mixed = resolve_input_ranges(w, numerics, tokens, opt, false, &rep);
  EXPECT_EQ(rep.from_checkpoint, 1);
  EXPECT_EQ(rep.calibrated, n_linears - 1);
  EXPECT_EQ(rep.calibration_batches, 3);
  EXPECT_EQ(mixed.blocks[0][0], (std::vector<float>{1.5f, 2.5f}));
  EXPECT_TRUE(mixed.lm_head.empty());  // lm_head stays FP32
  const LayerInputRanges all = calibrate_input_ranges(w, numerics, tokens, opt);
  EXPECT_EQ(mixed.blocks[1][3], all.blocks[1][3]);
  EXPECT_NE(all.blocks[0][0], mixed.blocks[0][0]);

  // CALIBRATE ignores the checkpoint.
  numerics.input_range_policy = arch::InputRangePolicy::kCalibrate;
  LayerInputRanges cal = resolve_input_ranges(w, numerics, tokens, opt, false, &rep);
  EXPECT_EQ(cal.blocks[0][0], all.blocks[0][0]);
  EXPECT_EQ(rep.from_checkpoint, 0);

  // A checkpoint range for another tiling is an error naming the layer.
  numerics.input_range_policy = arch::InputRangePolicy::kCheckpointOrCalibrate;
  w.blocks[0].linears[0].input_range = {1.5f, 2.5f, 3.5f};
  try {
    resolve_input_ranges(w, numerics, tokens, opt, false);
    ADD_FAILURE() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(w.blocks[0].linears[0].shape.name + ".input_range"),
              std::string::npos)
        << e.what();
  }

  // Too little calibration text.
  w.blocks[0].linears[0].input_range.clear();
  EXPECT_THROW(resolve_input_ranges(w, numerics, TokenIds(5, 1), opt, false), UserError);
}

}  // namespace
}  // namespace aimc::workloads

// Metrics against hand computations on logits constructed directly.
#include "workloads/metrics.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace aimc::workloads {
namespace {

TEST(Metrics, PerplexityOfHandCheckableSequence) {
  // Two predicted tokens over a vocabulary of 4.
  // Row 0: uniform logits, target 1: p = 1/4, NLL = ln 4.
  // Row 1: logits [0, ln 3, ln 2, ln 2] -> weights 1, 3, 2, 2 out of 8; target 1: p = 3/8.
  arch::Matrix logits(2, 4);
  logits.row(0) << 0, 0, 0, 0;
  logits.row(1) << 0, std::log(3.0f), std::log(2.0f), std::log(2.0f);
  const int32_t targets[] = {1, 1};
  MetricSums sums;
  accumulate_window(logits, targets, nullptr, &sums);
  const Metrics m = finalize_metrics(sums, 4);
  const double expected_nll = (std::log(4.0) + std::log(8.0 / 3.0)) / 2;
  EXPECT_EQ(m.tokens, 2);
  EXPECT_NEAR(m.mean_nll, expected_nll, 1e-7);
  // exp(mean NLL) = sqrt(4 * 8/3).
  EXPECT_NEAR(m.perplexity, std::sqrt(32.0 / 3.0), 1e-6);
  // Row 0 is a four-way tie: argmax is index 0, not the target; row 1's argmax is 1 = target.
  EXPECT_DOUBLE_EQ(m.top1, 0.5);
  EXPECT_EQ(m.kl, 0.0);
  EXPECT_TRUE(std::isnan(m.bits_per_byte));  // vocab 4 is not byte-level
}

TEST(Metrics, ScoredFromSkipsEarlierPositions) {
  // The window of the test above scored from position 1 only: NLL ln(8/3), top-1 1.
  arch::Matrix logits(2, 4);
  logits.row(0) << 0, 0, 0, 0;
  logits.row(1) << 0, std::log(3.0f), std::log(2.0f), std::log(2.0f);
  const int32_t targets[] = {1, 1};
  MetricSums sums;
  accumulate_window(logits, targets, nullptr, &sums, 1);
  const Metrics m = finalize_metrics(sums, 4);
  EXPECT_EQ(m.tokens, 1);
  EXPECT_NEAR(m.mean_nll, std::log(8.0 / 3.0), 1e-7);
  EXPECT_DOUBLE_EQ(m.top1, 1.0);
}

TEST(Metrics, UniformByteModelHasEightBitsPerByte) {
  arch::Matrix logits = arch::Matrix::Constant(3, 256, 1.5f);
  const int32_t targets[] = {7, 200, 255};
  MetricSums sums;
  accumulate_window(logits, targets, nullptr, &sums);
  const Metrics m = finalize_metrics(sums, 256);
  EXPECT_NEAR(m.perplexity, 256.0, 1e-9);
  EXPECT_NEAR(m.bits_per_byte, 8.0, 1e-12);
  EXPECT_EQ(m.top1, 0.0);  // ties -> index 0, never a target here
}

TEST(Metrics, NanLogitsGiveNanMetricsNotPlausibleNumbers) {
  // One NaN in one row of the run, or in the reference, poisons every metric of the sums.
  arch::Matrix logits = arch::Matrix::Constant(2, 4, 0.0f);
  logits(0, 0) = 5.0f;  // row 0 predicts token 0 = its target: top-1 would be 0.5 without NaNs
  logits(1, 2) = std::numeric_limits<float>::quiet_NaN();
  const arch::Matrix reference = arch::Matrix::Constant(2, 4, 0.0f);
  const int32_t targets[] = {0, 1};
  MetricSums sums;
  accumulate_window(logits, targets, &reference, &sums);
  EXPECT_EQ(sums.nan_tokens, 1);
  Metrics m = finalize_metrics(sums, 256);
  EXPECT_TRUE(std::isnan(m.perplexity));
  EXPECT_TRUE(std::isnan(m.top1));
  EXPECT_TRUE(std::isnan(m.kl));
  EXPECT_TRUE(std::isnan(m.bits_per_byte));
  // NaN only in the reference (a digital model with a NaN weight), run logits clean.
  const arch::Matrix clean = arch::Matrix::Constant(2, 4, 0.0f);
  MetricSums ref_sums;
  accumulate_window(clean, targets, &logits, &ref_sums);
  m = finalize_metrics(ref_sums, 4);
  EXPECT_TRUE(std::isnan(m.kl));
  EXPECT_TRUE(std::isnan(m.top1));
}

TEST(Metrics, NllIsStableForLargeLogits) {
  const float logits[] = {1000.0f, 1000.0f};
  EXPECT_NEAR(token_nll(logits, 2, 0), std::log(2.0), 1e-12);
}

TEST(Metrics, ArgmaxBreaksTiesByLowestIndex) {
  const float a[] = {1, 3, 3, 2};
  EXPECT_EQ(argmax_lowest(a, 4), 1);
  const float b[] = {-1, -1, -1};
  EXPECT_EQ(argmax_lowest(b, 3), 0);
  const float c[] = {std::numeric_limits<float>::quiet_NaN(), 2, 5};
  EXPECT_EQ(argmax_lowest(c, 3), 2);
}

TEST(Metrics, KlDivergenceMatchesHandComputation) {
  // reference p = (1/2, 1/2), other q = (1/4, 3/4):
  // KL = 1/2 ln((1/2)/(1/4)) + 1/2 ln((1/2)/(3/4)).
  const float ref[] = {0, 0};
  const float other[] = {0, std::log(3.0f)};
  const double expected = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0);
  EXPECT_NEAR(kl_divergence(ref, other, 2), expected, 1e-7);
  EXPECT_EQ(kl_divergence(ref, ref, 2), 0.0);
  EXPECT_GT(kl_divergence(ref, other, 2), 0.0);

  arch::Matrix reference(1, 2), run(1, 2);
  reference << 0, 0;
  run << 0, std::log(3.0f);
  const int32_t target[] = {0};
  MetricSums sums;
  accumulate_window(run, target, &reference, &sums);
  EXPECT_NEAR(finalize_metrics(sums, 2).kl, expected, 1e-7);
}

TEST(Metrics, SumsMergeAdditively) {
  MetricSums a{1.0, 0.5, 2, 4}, b{3.0, 0.25, 1, 4};
  a.add(b);
  EXPECT_EQ(a.nll, 4.0);
  EXPECT_EQ(a.kl, 0.75);
  EXPECT_EQ(a.correct, 3);
  EXPECT_EQ(a.tokens, 8);
  const Metrics m = finalize_metrics(a, 256);
  EXPECT_DOUBLE_EQ(m.mean_nll, 0.5);
  EXPECT_DOUBLE_EQ(m.top1, 3.0 / 8.0);
}

}  // namespace
}  // namespace aimc::workloads

// Evaluation on the bundled model: ideal analog equals FP32, noise raises perplexity with a
// spread over chip instances, and results do not depend on the thread count.
#include "workloads/evaluation.h"

#include <cmath>

#include <gtest/gtest.h>

#include "proto/user_error.h"
#include "tests/workloads_exec/exec_test_support.h"

namespace aimc::workloads {
namespace {

class BundledEvaluation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    weights_ = new TransformerWeights(load_transformer(testing::bundled_model_dir()));
    const TokenIds eval = load_tokens(testing::source_path("workloads/data/kjv-eval.txt"), 256);
    calib_ = new TokenIds(load_tokens(testing::source_path("workloads/data/kjv-calib.txt"), 256));
    windows_ = new std::vector<TokenWindow>(make_windows(eval, 64, 3, "kjv-eval"));
  }
  static void TearDownTestSuite() {
    delete weights_;
    delete calib_;
    delete windows_;
  }

  static LayerInputRanges ranges(const arch::TileNumerics& numerics, bool lm_head) {
    CalibrationOptions opt;
    opt.window = 64;
    opt.batches = 4;
    return resolve_input_ranges(*weights_, numerics, *calib_, opt, lm_head);
  }

  static TransformerWeights* weights_;
  static TokenIds* calib_;
  static std::vector<TokenWindow>* windows_;
};

TransformerWeights* BundledEvaluation::weights_ = nullptr;
TokenIds* BundledEvaluation::calib_ = nullptr;
std::vector<TokenWindow>* BundledEvaluation::windows_ = nullptr;

TEST_F(BundledEvaluation, IdealAnalogEqualsFp32) {
  // Tiles of 64 rows: every layer is split into several input tiles whose partial sums are
  // added in a fixed order, the only difference from one FP32 GEMM (float rounding).
  const arch::TileNumerics numerics = testing::ideal_numerics(64);
  EvalOptions opt;
  opt.seeds = 2;
  opt.lm_head_analog = true;
  const LayerInputRanges r = ranges(numerics, true);
  WindowLogits reference;
  const EvalRow fp32 =
      evaluate(*weights_, numerics, arch::Backend::kFp32, r, *windows_, opt, nullptr, &reference);
  const EvalRow analog =
      evaluate(*weights_, numerics, arch::Backend::kAnalog, r, *windows_, opt, &reference);
  ASSERT_EQ(analog.runs.size(), 2u);
  EXPECT_EQ(fp32.runs[0].tokens, 3 * 64);
  for (const Metrics& m : analog.runs) {
    EXPECT_NEAR(m.perplexity, fp32.perplexity.mean, 1e-6 * fp32.perplexity.mean);
    EXPECT_LT(m.kl, 1e-9);
    EXPECT_EQ(m.top1, fp32.top1.mean);
  }
  EXPECT_LT(fp32.perplexity.mean, 8.0);  // a trained byte model, far below uniform (256)
}

TEST_F(BundledEvaluation, PcmNoiseRaisesPerplexityWithSpread) {
  const arch::TileNumerics numerics =
      testing::numerics_from("numerics { weight_noise { afm_pcm {} } }");
  EvalOptions opt;
  opt.seeds = 3;
  opt.threads = 3;
  const LayerInputRanges r = ranges(numerics, false);
  WindowLogits reference;
  const EvalRow fp32 =
      evaluate(*weights_, numerics, arch::Backend::kFp32, r, *windows_, opt, nullptr, &reference);
  const EvalRow analog =
      evaluate(*weights_, numerics, arch::Backend::kAnalog, r, *windows_, opt, &reference);
  EXPECT_GT(analog.perplexity.mean, fp32.perplexity.mean);
  EXPECT_GT(analog.perplexity.std, 0.0);
  EXPECT_GT(analog.kl.mean, 0.0);
  EXPECT_NE(analog.runs[0].perplexity, analog.runs[1].perplexity);
  EXPECT_EQ(fp32.kl.mean, 0.0);
  EXPECT_EQ(fp32.perplexity.std, 0.0);
}

TEST_F(BundledEvaluation, ThreadCountDoesNotChangeResults) {
  // Output noise per read makes each run depend on its read order: a good stress of
  // determinism.
  const arch::TileNumerics numerics =
      testing::numerics_from("numerics { weight_noise { afm_pcm {} } out_noise: 0.04 }");
  const LayerInputRanges r = ranges(numerics, false);
  EvalOptions one;
  one.seeds = 3;
  one.threads = 1;
  EvalOptions two = one;
  two.threads = 2;
  for (arch::Backend b : {arch::Backend::kFp32, arch::Backend::kW4A8, arch::Backend::kAnalog}) {
    const EvalRow a = evaluate(*weights_, numerics, b, r, *windows_, one);
    const EvalRow c = evaluate(*weights_, numerics, b, r, *windows_, two);
    ASSERT_EQ(a.runs.size(), c.runs.size());
    for (size_t i = 0; i < a.runs.size(); ++i) {
      // Bit-identical, not merely close.
      EXPECT_EQ(a.runs[i].mean_nll, c.runs[i].mean_nll) << backend_label(b) << " run " << i;
      EXPECT_EQ(a.runs[i].top1, c.runs[i].top1);
      EXPECT_EQ(a.chip_seeds[i], c.chip_seeds[i]);
    }
    EXPECT_EQ(a.perplexity.mean, c.perplexity.mean);
    EXPECT_EQ(a.perplexity.std, c.perplexity.std);
  }
}

TEST_F(BundledEvaluation, TableHasThreeRowsAndJson) {
  const arch::TileNumerics numerics =
      testing::numerics_from("numerics { weight_noise { afm_pcm {} } }");
  EvalTableOptions opt;
  opt.eval.window_length = 32;
  opt.eval.max_windows = 2;
  opt.eval.seeds = 2;
  opt.eval.threads = 2;
  opt.calibration.window = 32;
  opt.calibration.batches = 2;
  TokenIds eval = load_tokens(testing::source_path("workloads/data/kjv-eval.txt"), 256);
  const EvalTable t = evaluate_table(*weights_, numerics, eval, *calib_, opt);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].label, "FP32");
  EXPECT_EQ(t.rows[1].label, "W4A8");
  EXPECT_EQ(t.rows[2].label, "analog");
  EXPECT_EQ(t.rows[2].runs.size(), 2u);
  EXPECT_EQ(t.tokens, 64);
  EXPECT_TRUE(t.byte_level);
  EXPECT_NEAR(t.rows[0].bits_per_byte.mean, t.rows[0].mean_nll.mean / std::log(2.0), 1e-12);
  EXPECT_GT(t.input_ranges.calibrated, 0);
  const std::string text = format_eval_table(t);
  EXPECT_NE(text.find("analog"), std::string::npos);

  eval[10] = 300;  // outside the byte vocabulary
  EXPECT_THROW(evaluate_table(*weights_, numerics, eval, *calib_, opt), UserError);
}

}  // namespace
}  // namespace aimc::workloads

// The FP32 executor against PyTorch reference logits (the bundled model and the tiny family
// fixtures), and incremental decoding with the KV cache against batched prefill.
#include "workloads/executor.h"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "arch/quantize.h"
#include "proto/user_error.h"
#include "tests/workloads_exec/exec_test_support.h"
#include "workloads/model_config.h"

namespace aimc::workloads {
namespace {

using testing::ReferenceLogits;

class FamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string folder() const {
    return GetParam() == "bundled" ? testing::bundled_model_dir()
                                   : testing::source_path("tests/fixtures/models/" + GetParam());
  }
};

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

INSTANTIATE_TEST_SUITE_P(Models, FamilyTest,
                         ::testing::Values("bundled", "llama", "qwen2", "phi3", "gpt2"),
                         param_name);

TEST_P(FamilyTest, Fp32MatchesPyTorchLogits) {
  const TransformerWeights w = load_transformer(folder());
  const ReferenceLogits ref = testing::read_reference_logits(folder() + "/reference_logits.txt");
  Executor exec(w, arch::TileNumerics{}, LayerInputRanges{}, ExecutorOptions{});
  const arch::Matrix logits = exec.prefill(ref.tokens);
  ASSERT_EQ(logits.rows(), ref.logits.rows());
  ASSERT_EQ(logits.cols(), ref.logits.cols());
  const double max_diff = (logits - ref.logits).cwiseAbs().maxCoeff();
  RecordProperty("max_abs_diff", std::to_string(max_diff));
  EXPECT_LE(max_diff, 1e-4) << GetParam() << ": max |logit - reference| = " << max_diff
                            << " (logit scale " << ref.logits.cwiseAbs().maxCoeff() << ")";
}

TEST_P(FamilyTest, KvCacheDecodeMatchesPrefill) {
  const TransformerWeights w = load_transformer(folder());
  const ReferenceLogits ref = testing::read_reference_logits(folder() + "/reference_logits.txt");
  Executor exec(w, arch::TileNumerics{}, LayerInputRanges{}, ExecutorOptions{});
  const arch::Matrix batched = exec.prefill(ref.tokens);
  const int n = static_cast<int>(ref.tokens.size());

  // One token at a time, starting from a cache too small so that it has to grow.
  KvCache cache = exec.make_cache(2);
  for (int t = 0; t < n; ++t) {
    const arch::Vector step = exec.decode(ref.tokens[t], &cache);
    const double scale = std::max(1.0f, batched.row(t).cwiseAbs().maxCoeff());
    const double diff = (step.transpose() - batched.row(t)).cwiseAbs().maxCoeff();
    EXPECT_LE(diff, 1e-5 * scale) << "position " << t;
  }
  EXPECT_EQ(cache.length(), n);

  // Uneven chunks (prefill of a prompt, then continuation) agree as well.
  KvCache chunked = exec.make_cache(0);
  const int first = n / 3;
  const arch::Matrix a = exec.forward(ref.tokens.data(), first, &chunked);
  const arch::Matrix b = exec.forward(ref.tokens.data() + first, n - first, &chunked);
  const double scale = std::max(1.0f, batched.cwiseAbs().maxCoeff());
  EXPECT_LE((a - batched.topRows(first)).cwiseAbs().maxCoeff(), 1e-5 * scale);
  EXPECT_LE((b - batched.bottomRows(n - first)).cwiseAbs().maxCoeff(), 1e-5 * scale);
}

TEST(Executor, HookSeesEveryLinearInputInOrder) {
  const TransformerWeights w = load_transformer(testing::source_path("tests/fixtures/models/phi3"));
  Executor exec(w, arch::TileNumerics{}, LayerInputRanges{}, ExecutorOptions{});
  std::vector<LinearSite> seen;
  exec.set_linear_input_hook([&](const LinearSite& site, const arch::Matrix& x) {
    EXPECT_EQ(x.rows(), 5);
    EXPECT_EQ(x.cols(), site.weights->shape.in);
    seen.push_back(site);
  });
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  exec.prefill(tokens);
  const std::vector<LinearShape> shapes = linear_layers(w.config);
  ASSERT_EQ(seen.size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_EQ(seen[i].ordinal, static_cast<int>(i));
    EXPECT_EQ(seen[i].weights->shape.name, shapes[i].name);
    EXPECT_EQ(seen[i].block, shapes[i].block);
  }
  // Removing the hook stops the calls.
  exec.set_linear_input_hook({});
  exec.prefill(tokens);
  EXPECT_EQ(seen.size(), shapes.size());
}

TEST(Executor, StepsComposeToPrefill) {
  // Driving the steps one by one, as a timing model would, gives the prefill logits exactly.
  const TransformerWeights w =
      load_transformer(testing::source_path("tests/fixtures/models/llama"));
  Executor exec(w, arch::TileNumerics{}, LayerInputRanges{}, ExecutorOptions{});
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  const arch::Matrix expected = exec.prefill(tokens);
  KvCache cache = exec.make_cache(8);
  arch::Matrix h = exec.embed(tokens.data(), 8, 0);
  for (int b = 0; b < w.config.num_layers; ++b) {
    exec.attention(b, &h, &cache);
    exec.mlp(b, &h);
  }
  cache.commit(8);
  EXPECT_EQ((exec.final_logits(h) - expected).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(Executor, RejectsBadTokensAndPositions) {
  const TransformerWeights w = load_transformer(testing::source_path("tests/fixtures/models/gpt2"));
  Executor exec(w, arch::TileNumerics{}, LayerInputRanges{}, ExecutorOptions{});
  const std::vector<int32_t> bad = {1, w.config.vocab_size};
  EXPECT_THROW(exec.prefill(bad), UserError);
  const std::vector<int32_t> too_long(w.config.max_positions + 1, 1);
  EXPECT_THROW(exec.prefill(too_long), UserError);
}

TEST(Executor, SharedDigitalLayersComputeTheSame) {
  // Executors given one SharedLayers use one object per digital layer (all layers of FP32 and
  // W4A8, the FP32 lm_head of an analog chip) and compute the bits of an Executor that built its
  // own; analog layers stay per chip instance.
  const TransformerWeights w =
      load_transformer(testing::source_path("tests/fixtures/models/llama"));
  const arch::TileNumerics numerics = testing::ideal_numerics(32);
  LayerInputRanges ranges;
  for (const BlockWeights& block : w.blocks) {
    ranges.blocks.emplace_back();
    for (const LinearWeights& l : block.linears) {
      const size_t tiles = arch::balanced_split(static_cast<int>(l.weight.cols()), 32).size();
      ranges.blocks.back().push_back(std::vector<float>(tiles, 3.0f));
    }
  }
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  for (arch::Backend backend :
       {arch::Backend::kFp32, arch::Backend::kW4A8, arch::Backend::kAnalog}) {
    ExecutorOptions o;
    o.backend = backend;
    o.chip_seed = 5;
    Executor own(w, numerics, ranges, o);
    o.shared_layers = std::make_shared<SharedLayers>();
    Executor a(w, numerics, ranges, o), b(w, numerics, ranges, o);
    EXPECT_EQ(&a.linear(-1, 0), &b.linear(-1, 0));
    EXPECT_EQ(&a.linear(0, 0) == &b.linear(0, 0), backend != arch::Backend::kAnalog);
    EXPECT_NE(&own.linear(-1, 0), &a.linear(-1, 0));
    const arch::Matrix expected = own.prefill(tokens);
    EXPECT_EQ(a.prefill(tokens), expected);
    EXPECT_EQ(b.prefill(tokens), expected);
  }
}

TEST(Executor, AnalogNeedsInputRanges) {
  const TransformerWeights w =
      load_transformer(testing::source_path("tests/fixtures/models/llama"));
  ExecutorOptions o;
  o.backend = arch::Backend::kAnalog;
  EXPECT_THROW(Executor(w, testing::ideal_numerics(32), LayerInputRanges{}, o), UserError);
}

}  // namespace
}  // namespace aimc::workloads

namespace aimc::workloads {
namespace {

// Llama 3's rotary scaling (Llama-3.2-1B: head_dim 64, theta 5e5, factor 32, band 8192/4 ..
// 8192/1): short wavelengths kept, long ones slowed exactly 32x, the band between interpolated
// between the two, monotonically.
TEST(RopeScaling, Llama3KeepsShortSlowsLongInterpolatesBand) {
  RopeScaling s;
  s.kind = RopeScaling::Kind::kLlama3;
  s.factor = 32;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_positions = 8192;
  const std::vector<float> base = rotary_inv_freq(64, 500000.0);
  std::vector<float> scaled = base;
  scale_rotary_inv_freq(&scaled, s);
  int kept = 0, slowed = 0, band = 0;
  const double two_pi = 2.0 * 3.14159265358979323846;
  for (size_t i = 0; i < base.size(); ++i) {
    const double wavelen = two_pi / base[i];
    if (wavelen < 2048) {
      EXPECT_EQ(scaled[i], base[i]) << i;
      ++kept;
    } else if (wavelen > 8192) {
      EXPECT_EQ(scaled[i], base[i] / 32.0f) << i;
      ++slowed;
    } else {
      // Hand form in double: smooth = (8192 / wavelen - 1) / 3; f' = (1 - smooth) f / 32 + smooth
      // f.
      const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      const double expected = (1 - smooth) * base[i] / 32.0 + smooth * base[i];
      EXPECT_NEAR(scaled[i], expected, 1e-6 * expected) << i;
      EXPECT_LT(scaled[i], base[i]);
      EXPECT_GT(scaled[i], base[i] / 32.0f);
      ++band;
    }
    if (i > 0) {
      EXPECT_LT(scaled[i], scaled[i - 1]) << "frequencies must stay decreasing";
    }
  }
  // All three regimes occur for this configuration.
  EXPECT_GT(kept, 0);
  EXPECT_GT(slowed, 0);
  EXPECT_GT(band, 0);
  // No scaling: unchanged.
  std::vector<float> none = base;
  scale_rotary_inv_freq(&none, RopeScaling{});
  EXPECT_EQ(none, base);
}

}  // namespace
}  // namespace aimc::workloads

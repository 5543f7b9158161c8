// Test-time compute (workloads/generation.h): majority-vote rules on hand cases, sampling at
// T -> 0 equals greedy decoding, and results that do not depend on the thread count, on the
// bundled byte-level model.
#include "workloads/generation.h"

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"

namespace aimc::workloads {
namespace {

std::string source_path(const std::string& relative) {
  return std::string(AIMC_SOURCE_DIR) + "/" + relative;
}

arch::TileNumerics numerics_from(const std::string& pbtxt) {
  return arch::tile_numerics_from_config(
      proto::parse_chip_config("schema_version: 1\n" + pbtxt, "test"));
}

TEST(MajorityVote, MostFrequentAnswerWins) {
  const std::vector<std::string> a = {"12", "13", "13", "12", "13"};
  EXPECT_EQ(majority_vote(a, 1), "12");
  EXPECT_EQ(majority_vote(a, 3), "13");
  EXPECT_EQ(majority_vote(a, 5), "13");
}

TEST(MajorityVote, TiesGoToTheEarliestAnswer) {
  EXPECT_EQ(majority_vote({"7", "8"}, 2), "7");
  EXPECT_EQ(majority_vote({"8", "7"}, 2), "8");
  // 2-2 tie: "b" appeared first even though "a" reached two votes first.
  EXPECT_EQ(majority_vote({"b", "a", "a", "b"}, 4), "b");
  // Three distinct answers, one vote each: the first.
  EXPECT_EQ(majority_vote({"x", "y", "z"}, 3), "x");
  // Only the first n answers count.
  EXPECT_EQ(majority_vote({"x", "y", "y", "y"}, 2), "x");
}

TEST(MajorityVote, EmptyAnswersAreAnswersToo) {
  EXPECT_EQ(majority_vote({"", "5", ""}, 3), "");
  EXPECT_EQ(majority_vote({"5", "", ""}, 2), "5");
}

TEST(MajorityVote, RejectsBadN) {
  EXPECT_THROW(majority_vote({"a"}, 0), std::invalid_argument);
  EXPECT_THROW(majority_vote({"a"}, 2), std::invalid_argument);
}

TEST(SampleToken, ZeroTemperatureIsArgmaxWithTiesToLowestId) {
  arch::Vector logits(5);
  logits << 0.5f, 2.0f, -1.0f, 2.0f, 1.0f;
  arch::Rng rng(1);
  EXPECT_EQ(sample_token(logits, 0.0, &rng), 1);
}

TEST(SampleToken, TinyTemperatureEqualsArgmax) {
  arch::Rng data(42);
  for (int trial = 0; trial < 50; ++trial) {
    arch::Vector logits(64);
    for (int i = 0; i < 64; ++i) logits[i] = data.normal() * 3.0f;
    arch::Rng rng(trial);
    EXPECT_EQ(sample_token(logits, 1e-6, &rng), sample_token(logits, 0.0, &rng));
  }
}

TEST(SampleToken, FollowsTheSoftmaxDistribution) {
  arch::Vector logits(3);
  logits << std::log(0.2f), std::log(0.5f), std::log(0.3f);
  arch::Rng rng(7);
  std::vector<int> counts(3, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ++counts[sample_token(logits, 1.0, &rng)];
  EXPECT_NEAR(counts[0] / double(draws), 0.2, 0.015);
  EXPECT_NEAR(counts[1] / double(draws), 0.5, 0.015);
  EXPECT_NEAR(counts[2] / double(draws), 0.3, 0.015);
  // T = 2 flattens: p ~ sqrt(p).
  std::vector<int> flat(3, 0);
  for (int i = 0; i < draws; ++i) ++flat[sample_token(logits, 2.0, &rng)];
  const double z = std::sqrt(0.2) + std::sqrt(0.5) + std::sqrt(0.3);
  EXPECT_NEAR(flat[0] / double(draws), std::sqrt(0.2) / z, 0.015);
}

TEST(SamplingSeed, DistinctPerPromptSampleAndChip) {
  EXPECT_NE(sampling_seed(0, 0, 0), sampling_seed(0, 0, 1));
  EXPECT_NE(sampling_seed(0, 0, 1), sampling_seed(0, 1, 0));
  EXPECT_NE(sampling_seed(0, 0, 0), sampling_seed(1, 0, 0));
  // Never a layer's programming seed derive_seed(chip, ordinal, 0).
  EXPECT_NE(sampling_seed(5, 3, 0), arch::derive_seed(5, 3, 0));
  EXPECT_EQ(sampling_seed(9, 4, 2), sampling_seed(9, 4, 2));
}

TEST(ReadProblems, ParsesQuestionAndAnswer) {
  const std::string path = std::string(AIMC_BINARY_DIR) + "/ttc_problems_test.txt";
  {
    std::ofstream f(path);
    f << "12+34=46\n\n7+8=15\r\n";
  }
  const std::vector<Problem> p = read_problems(path);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].prompt, (std::vector<int32_t>{'\n', '1', '2', '+', '3', '4', '='}));
  EXPECT_EQ(p[0].answer, "46");
  EXPECT_EQ(p[1].answer, "15");
  EXPECT_EQ(read_problems(path, 1).size(), 1u);
  {
    std::ofstream f(path);
    f << "no answer here\n";
  }
  EXPECT_THROW(read_problems(path), UserError);
  EXPECT_THROW(read_problems(path + ".missing"), UserError);
}

class BundledGeneration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    weights_ =
        new TransformerWeights(load_transformer(source_path("workloads/models/tinyllama-bytes")));
    problems_ = new std::vector<Problem>();
    for (const char* q : {"And God sa", "In the beginning", "Jesus wept", "The LORD is my"}) {
      Problem p;
      p.prompt.push_back('\n');
      for (const char* c = q; *c; ++c) p.prompt.push_back(static_cast<unsigned char>(*c));
      p.answer = "id";
      problems_->push_back(p);
    }
  }
  static void TearDownTestSuite() {
    delete weights_;
    delete problems_;
  }
  static LayerInputRanges ranges(const arch::TileNumerics& numerics) {
    const TokenIds calib = load_tokens(source_path("workloads/data/kjv-calib.txt"), 256);
    CalibrationOptions opt;
    opt.window = 64;
    opt.batches = 2;
    return resolve_input_ranges(*weights_, numerics, calib, opt, true);
  }
  static GenerationOptions options() {
    GenerationOptions o;
    o.samples = 4;
    o.votes = {1, 2, 4};
    o.max_new_tokens = 6;
    o.stop_token = ' ';
    o.seeds = 3;
    o.lm_head_on_backend = true;
    return o;
  }
  static TransformerWeights* weights_;
  static std::vector<Problem>* problems_;
};

TransformerWeights* BundledGeneration::weights_ = nullptr;
std::vector<Problem>* BundledGeneration::problems_ = nullptr;

TEST_F(BundledGeneration, TinyTemperatureEqualsGreedy) {
  const arch::TileNumerics numerics = numerics_from("numerics { weight_noise { afm_pcm {} } }");
  const LayerInputRanges r = ranges(numerics);
  GenerationOptions greedy = options();
  greedy.temperature = 0;
  GenerationOptions cold = options();
  cold.temperature = 1e-6;
  for (arch::Backend b : {arch::Backend::kFp32, arch::Backend::kAnalog}) {
    const GenerationResult g = run_generation(*weights_, numerics, b, r, *problems_, greedy);
    const GenerationResult c = run_generation(*weights_, numerics, b, r, *problems_, cold);
    ASSERT_EQ(g.chips.size(), c.chips.size());
    for (size_t k = 0; k < g.chips.size(); ++k) {
      EXPECT_EQ(g.chips[k].answers, c.chips[k].answers) << backend_label(b) << " chip " << k;
      // Greedy: every sample of a prompt is the same answer.
      for (const auto& samples : g.chips[k].answers) {
        for (const std::string& s : samples) EXPECT_EQ(s, samples[0]);
      }
    }
  }
}

TEST_F(BundledGeneration, ThreadCountDoesNotChangeResults) {
  const arch::TileNumerics numerics = numerics_from("numerics { weight_noise { afm_pcm {} } }");
  const LayerInputRanges r = ranges(numerics);
  GenerationOptions one = options();
  one.threads = 1;
  GenerationOptions three = options();
  three.threads = 3;
  const GenerationResult a =
      run_generation(*weights_, numerics, arch::Backend::kAnalog, r, *problems_, one);
  const GenerationResult b =
      run_generation(*weights_, numerics, arch::Backend::kAnalog, r, *problems_, three);
  ASSERT_EQ(a.chips.size(), 3u);
  ASSERT_EQ(b.chips.size(), 3u);
  for (size_t k = 0; k < a.chips.size(); ++k) {
    EXPECT_EQ(a.chips[k].chip_seed, b.chips[k].chip_seed);
    EXPECT_EQ(a.chips[k].answers, b.chips[k].answers);
    EXPECT_EQ(a.chips[k].accuracy, b.chips[k].accuracy);
  }
  for (size_t k = 0; k < a.accuracy.size(); ++k) {
    EXPECT_EQ(a.accuracy[k].mean, b.accuracy[k].mean);
    EXPECT_EQ(a.accuracy[k].std, b.accuracy[k].std);
  }
  // Sampling at T = 1 gives different answers across samples somewhere, and chips differ.
  bool varied = false;
  for (const auto& samples : a.chips[0].answers) {
    for (const std::string& s : samples) varied |= s != samples[0];
  }
  EXPECT_TRUE(varied);
}

TEST_F(BundledGeneration, Fp32AnswersDoNotDependOnOtherPrompts) {
  const arch::TileNumerics numerics = numerics_from("");
  GenerationOptions o = options();
  const GenerationResult all =
      run_generation(*weights_, numerics, arch::Backend::kFp32, {}, *problems_, o);
  // The sampling stream is keyed by (chip, prompt index, sample): the first prompts draw the
  // same whether or not more prompts follow (FP32 has no read noise stream to advance).
  const std::vector<Problem> first = {(*problems_)[0], (*problems_)[1]};
  const GenerationResult head =
      run_generation(*weights_, numerics, arch::Backend::kFp32, {}, first, o);
  EXPECT_EQ(head.chips[0].answers[0], all.chips[0].answers[0]);
  EXPECT_EQ(head.chips[0].answers[1], all.chips[0].answers[1]);
}

TEST_F(BundledGeneration, RejectsVotesAboveSamples) {
  const arch::TileNumerics numerics = numerics_from("");
  GenerationOptions o = options();
  o.votes = {1, 8};
  EXPECT_THROW(run_generation(*weights_, numerics, arch::Backend::kFp32, {}, *problems_, o),
               UserError);
}

}  // namespace
}  // namespace aimc::workloads

// Regression tier: the numbers of a timed run. With weights, the logits the
// timed run computes equal, bit for bit, those of the functional executor run token by token with
// a KV cache over the same tokens (the prompt, then the greedy tokens), for the same chip
// instance; a shape card gives time and energy only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "arch/tile_numerics.h"
#include "mapping/mapper.h"
#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sc_test_util.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "workloads/dataset.h"
#include "workloads/evaluation.h"
#include "workloads/executor.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

/// The bundled model with its evaluation and calibration text, loaded once.
struct Bundled {
  workloads::TransformerWeights weights;
  workloads::TokenIds eval_tokens, calib_tokens;
};

const Bundled& bundled() {
  static const Bundled b = [] {
    Bundled x;
    x.weights = workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes");
    const int vocab = x.weights.config.vocab_size;
    x.eval_tokens = workloads::load_tokens(kRoot + "/workloads/data/kjv-eval.txt", vocab);
    x.calib_tokens = workloads::load_tokens(kRoot + "/workloads/data/kjv-calib.txt", vocab);
    return x;
  }();
  return b;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

int32_t argmax(const arch::Matrix& logits) {
  int32_t best = 0;
  for (int j = 1; j < static_cast<int>(logits.cols()); ++j)
    if (logits(0, j) > logits(0, best)) best = j;
  return best;
}

/// What the functional executor computes for the same prompt and chip instance, token by token.
struct Functional {
  std::vector<arch::Matrix> logits;  // per position, 1 x vocab
  std::vector<int32_t> generated;    // greedy ids of positions P-1 .. P+D-1
};

Functional functional(const proto::ChipConfig& chip, const workloads::LayerInputRanges& ranges,
                      const std::vector<int32_t>& prompt, int decode, uint64_t seed) {
  const Bundled& b = bundled();
  workloads::ExecutorOptions eo;
  eo.backend = sim::tile_backend(chip);
  eo.lm_head_on_backend = chip.mapping().lm_head_on_tiles();
  eo.chip_seed = seed;
  workloads::Executor ex(b.weights, arch::tile_numerics_from_config(chip), ranges, eo);
  workloads::KvCache cache = ex.make_cache(4);  // grows on demand, as in any functional run
  Functional f;
  std::vector<int32_t> tokens = prompt;
  const int P = static_cast<int>(prompt.size());
  for (int pos = 0; pos < P + decode; ++pos) {
    f.logits.push_back(ex.forward(&tokens[pos], 1, &cache));
    if (pos >= P - 1) {
      f.generated.push_back(argmax(f.logits.back()));
      if (pos + 1 < P + decode) tokens.push_back(f.generated.back());
    }
  }
  return f;
}

/// Runs the timed simulation with numbers and checks it against the functional executor.
proto::SimReport check_against_functional(const proto::ChipConfig& chip,
                                          const std::string& strategy, uint64_t seed, int P,
                                          int D) {
  const Bundled& b = bundled();
  const workloads::LayerInputRanges ranges =
      sim::chip_input_ranges(chip, b.weights, b.calib_tokens);
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.weights = &b.weights;
  o.input_ranges = &ranges;
  o.chip_seed = seed;
  o.prompt = sim::default_prompt(b.eval_tokens, P, b.weights.config.vocab_size);
  o.record_logits = true;
  const proto::SimReport r = sim::simulate(chip, b.weights.config, strategy, o);
  const Functional f = functional(chip, ranges, o.prompt, D, seed);

  EXPECT_TRUE(r.has_generation());
  const proto::Generation& g = r.generation();
  EXPECT_EQ(g.chip_seed(), seed);
  EXPECT_EQ(g.backend(), workloads::backend_label(sim::tile_backend(chip)));
  EXPECT_EQ(std::vector<int32_t>(g.prompt_ids().begin(), g.prompt_ids().end()), o.prompt);
  EXPECT_EQ(std::vector<int32_t>(g.generated_ids().begin(), g.generated_ids().end()), f.generated);
  EXPECT_EQ(g.generated_ids_size(), D + 1);
  EXPECT_FALSE(g.generated_text().empty());  // byte-level model
  EXPECT_EQ(g.logits_size(), P + D);
  for (int pos = 0; pos < std::min(g.logits_size(), P + D); ++pos) {
    const proto::TokenLogits& l = g.logits(pos);
    EXPECT_EQ(l.position(), static_cast<uint32_t>(pos));
    if (l.logits_size() != f.logits[pos].cols()) {
      ADD_FAILURE() << "position " << pos << ": " << l.logits_size() << " logits";
      continue;
    }
    int differ = 0;
    for (int j = 0; j < l.logits_size(); ++j)
      differ += bits(l.logits(j)) != bits(f.logits[pos](0, j));
    EXPECT_EQ(differ, 0) << "position " << pos << ": " << differ << " logits differ";
  }
  return r;
}

proto::ChipConfig default_chip() {
  return proto::load_chip_config(kRoot + "/configs/default.pbtxt");
}

TEST(TimedNumerics, BundledModelLogitsEqualFunctionalExecutorBitForBit) {
  const proto::ChipConfig chip = default_chip();
  const proto::SimReport r = check_against_functional(chip, "dense", 0, 8, 4);
  std::printf("prompt \"%s\" -> generated \"%s\"\n", r.generation().prompt_text().c_str(),
              r.generation().generated_text().c_str());

  // The timing model does not depend on values: the same run without weights takes the same
  // simulated time and energy.
  sim::SimOptions o;
  o.prompt_tokens = 8;
  o.decode_tokens = 4;
  const proto::SimReport t = sim::simulate(chip, bundled().weights.config, "dense", o);
  EXPECT_FALSE(t.has_generation());
  EXPECT_EQ(t.ttft_ns(), r.ttft_ns());
  EXPECT_EQ(t.total_time_ns(), r.total_time_ns());
  EXPECT_EQ(t.decode().total_nj_per_token(), r.decode().total_nj_per_token());
}

TEST(TimedNumerics, AnotherChipSeedGivesOtherLogits) {
  const proto::ChipConfig chip = default_chip();
  const proto::SimReport a = check_against_functional(chip, "dense", 0, 8, 4);
  const proto::SimReport b = check_against_functional(chip, "dense", 1, 8, 4);
  ASSERT_EQ(a.generation().logits_size(), b.generation().logits_size());
  int differ = 0;
  for (int pos = 0; pos < a.generation().logits_size(); ++pos)
    for (int j = 0; j < a.generation().logits(pos).logits_size(); ++j)
      differ += a.generation().logits(pos).logits(j) != b.generation().logits(pos).logits(j);
  EXPECT_GT(differ, 0);
}

// Read noise makes every layer's output depend on how many reads it made before, so this holds
// only if the timed run reads each layer in token order, as the functional run does, even when
// prefill pipelines tokens across blocks and over replicas.
TEST(TimedNumerics, ReadNoiseAndPipelinedReplicasStayBitIdentical) {
  proto::ChipConfig chip = default_chip();
  chip.mutable_numerics()->set_out_noise(0.04);
  for (const char* strategy : {"dense", "pipeline", "replicate"}) {
    SCOPED_TRACE(strategy);
    check_against_functional(chip, strategy, 3, 12, 3);
  }
}

TEST(TimedNumerics, DigitalW4A8ChipComputesW4A8Numbers) {
  proto::ChipConfig chip = default_chip();
  chip.mutable_tile()->set_kind(proto::DIGITAL_W4A8);
  const proto::SimReport r = check_against_functional(chip, "dense", 0, 8, 2);
  EXPECT_EQ(r.generation().backend(), "W4A8");
}

TEST(TimedNumerics, ShapeCardGivesTimeAndEnergyOnly) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 2;
  o.record_logits = true;  // nothing to record without weights
  const proto::SimReport r = sim::simulate(chip, sim::testing::tiny_model(), "dense", o);
  EXPECT_FALSE(r.has_generation());
  EXPECT_GT(r.ttft_ns(), 0);
  EXPECT_GT(r.decode_latency_ns(), 0);
  EXPECT_GT(r.prefill().total_nj_per_token(), 0);
  EXPECT_GT(r.decode().total_nj_per_token(), 0);
}

TEST(TimedNumerics, RejectsAPromptOfTheWrongLength) {
  const Bundled& b = bundled();
  const proto::ChipConfig chip = default_chip();
  const workloads::LayerInputRanges ranges =
      sim::chip_input_ranges(chip, b.weights, b.calib_tokens);
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 1;
  o.weights = &b.weights;
  o.input_ranges = &ranges;
  o.prompt = {1, 2, 3};
  EXPECT_THROW(sim::simulate(chip, b.weights.config, "dense", o), UserError);
  o.prompt = {1, 2, 3, 999};
  EXPECT_THROW(sim::simulate(chip, b.weights.config, "dense", o), UserError);
}

TEST(TimedNumerics, EscapesBytes) {
  EXPECT_EQ(sim::escape_bytes(std::string("a\n\"b\\\x01\xff", 7)), "a\\n\\\"b\\\\\\x01\\xff");
  EXPECT_EQ(sim::default_prompt({65, 66}, 4, 256), (std::vector<int32_t>{65, 66, 10, 10}));
}

}  // namespace
}  // namespace aimc

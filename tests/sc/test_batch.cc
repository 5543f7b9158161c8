// Batched runs (several sequences decoding together, each with its own KV cache): one sequence is
// today's run; throughput grows with the batch until the named bottleneck saturates; leakage
// per token falls as the closed form says; each sequence computes bit for bit what it computes
// alone; the KV capacity bounds the batch; the bottleneck is named (a DPU, the KV-cache SRAM,
// the DRAM).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "workloads/dataset.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

proto::ChipConfig default_chip() {
  return proto::load_chip_config(kRoot + "/configs/default.pbtxt");
}

const workloads::TransformerWeights& weights() {
  static const workloads::TransformerWeights w =
      workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes");
  return w;
}

proto::SimReport run(int batch, int P = 16, int D = 16) {
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.batch = batch;
  return sim::simulate(default_chip(), weights().config, "dense", o);
}

double throughput(const proto::SimReport& r) {
  return r.has_batch() ? r.batch().decode_tokens_per_s() : r.decode_tokens_per_s();
}

double leakage_nj_per_token(const proto::PhaseEnergy& phase) {
  double nj = 0;
  for (const auto& e : phase.by_component())
    if (e.name().find("leakage") != std::string::npos || e.name() == "chip_static")
      nj += e.nj_per_token();
  return nj;
}

TEST(Batch, OneSequenceIsTodaysRun) {
  const proto::SimReport one = run(1);
  EXPECT_FALSE(one.has_batch());
  EXPECT_EQ(one.tokens_size(), 32);
  EXPECT_FALSE(one.tokens(0).has_sequence());
  // Decode throughput of one sequence is one over its mean decode latency, as before.
  EXPECT_DOUBLE_EQ(one.decode_tokens_per_s(), 1e9 / one.decode_latency_ns());
}

TEST(Batch, ThroughputGrowsUntilTheNamedBottleneckSaturates) {
  std::vector<proto::SimReport> r;
  const std::vector<int> batches{1, 2, 4, 8, 16, 32, 64};
  for (int b : batches) r.push_back(run(b));
  for (size_t i = 1; i < batches.size(); ++i) {
    ASSERT_TRUE(r[i].has_batch());
    EXPECT_EQ(r[i].batch().batch(), static_cast<uint32_t>(batches[i]));
    EXPECT_EQ(r[i].tokens_size(), batches[i] * 32);
    EXPECT_EQ(r[i].decode().tokens(), static_cast<uint32_t>(batches[i] * 16));
  }
  // Grows while the bottleneck has room: at least 1.15x per doubling up to 16.
  for (size_t i = 1; i <= 4; ++i)
    EXPECT_GT(throughput(r[i]), 1.15 * throughput(r[i - 1])) << "batch " << batches[i];
  // Then saturates: 32 -> 64 gains under 5 %, with the same component named, no busier.
  const proto::BatchReport& b32 = r[5].batch();
  const proto::BatchReport& b64 = r[6].batch();
  EXPECT_LT(throughput(r[6]), 1.05 * throughput(r[5]));
  EXPECT_EQ(b64.bottleneck(), b32.bottleneck());
  EXPECT_LT(b64.bottleneck_utilization(), 1.02 * b32.bottleneck_utilization());
  // Its utilization climbed on the way there.
  EXPECT_GT(b32.bottleneck_utilization(), 2 * r[1].batch().bottleneck_utilization());
  std::printf("tokens/s: B=1 %.4g, B=8 %.4g, B=64 %.4g; bottleneck %s (%.3g busy)\n",
              throughput(r[0]), throughput(r[3]), throughput(r[6]), b64.bottleneck().c_str(),
              b64.bottleneck_utilization());
}

TEST(Batch, EnergyPerTokenFallsByTheAmortizedLeakage) {
  const proto::SimReport one = run(1), many = run(64);
  // Closed form: leakage power x decode time / decode tokens.
  const proto::ChipConfig chip = default_chip();
  const double mw =
      sim::leakage_spec(chip, static_cast<long long>(one.mapping().summary().tiles_used()))
          .total_mw();
  auto closed_form = [&](const proto::SimReport& r) {
    return mw * 1e-3 * r.decode().time_ns() * 1e-9 / r.decode().tokens() * 1e9;  // nJ
  };
  const double l1 = closed_form(one), l64 = closed_form(many);
  EXPECT_NEAR(leakage_nj_per_token(one.decode()), l1, 1e-9 * l1);
  EXPECT_NEAR(leakage_nj_per_token(many.decode()), l64, 1e-9 * l64);
  EXPECT_LT(l64, l1 / 4);
  // The dynamic energy per token barely moves (the KV caches all fit the SRAM) ...
  const double d1 = one.decode().total_nj_per_token() - leakage_nj_per_token(one.decode());
  const double d64 = many.decode().total_nj_per_token() - leakage_nj_per_token(many.decode());
  EXPECT_NEAR(d64, d1, 0.05 * d1);
  // ... so the energy per token falls by at least the leakage it amortizes, less that change.
  EXPECT_GE(one.decode().total_nj_per_token() - many.decode().total_nj_per_token(),
            (l1 - l64) - std::abs(d64 - d1));
  std::printf("decode nJ/token: B=1 %.4g (leakage %.4g), B=64 %.4g (leakage %.4g)\n",
              one.decode().total_nj_per_token(), l1, many.decode().total_nj_per_token(), l64);
}

// The bottleneck is named whatever it is: with a slow KV-cache SRAM the KV cache's bandwidth,
// with lm_head streamed from a slow DRAM the DRAM. Each is then busy almost all of the decode
// phase, and its busy share is the bytes it moves per second over its bandwidth (bytes from
// its dynamic energy per token over its energy per bit).
TEST(Batch, BottleneckNamesTheKvCacheBandwidthAndTheDram) {
  struct Case {
    const char* name;
    const char* component;  // energy entry of the component
    double gbps;
    double pj_per_bit;
  };
  proto::ChipConfig kv = default_chip();
  kv.mutable_memory()->set_kv_sram_bandwidth_gbps(0.5);
  proto::ChipConfig dram = default_chip();
  dram.mutable_memory()->set_dram_bandwidth_gbps(0.5);
  dram.mutable_mapping()->set_lm_head_on_tiles(false);
  const std::vector<std::pair<proto::ChipConfig, Case>> cases = {
      {kv, {"KV-cache SRAM", "kv_sram", 0.5, kv.energy().e_kv_sram_pj_per_bit()}},
      {dram, {"DRAM", "dram", 0.5, dram.energy().e_dram_pj_per_bit()}}};
  for (const auto& [chip, c] : cases) {
    SCOPED_TRACE(c.name);
    sim::SimOptions o;
    o.prompt_tokens = 16;
    o.decode_tokens = 16;
    o.batch = 16;
    const proto::SimReport r = sim::simulate(chip, weights().config, "dense", o);
    ASSERT_TRUE(r.has_batch());
    EXPECT_EQ(r.batch().bottleneck(), c.name);
    EXPECT_GT(r.batch().bottleneck_utilization(), 0.9);
    double nj = 0;
    for (const auto& e : r.decode().by_component())
      if (e.name() == c.component) nj += e.nj_per_token();
    const double bytes_per_token = nj * 1e3 / c.pj_per_bit / 8;
    const double busy = r.batch().decode_tokens_per_s() * bytes_per_token / (c.gbps * 1e9);
    std::printf("%s: %.4g bytes/token, busy %.4g, reported %.4g\n", c.name, bytes_per_token, busy,
                r.batch().bottleneck_utilization());
    EXPECT_NEAR(busy, r.batch().bottleneck_utilization(), 0.01);
  }
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

TEST(Batch, EachSequenceComputesWhatItComputesAlone) {
  const proto::ChipConfig chip = default_chip();
  const int vocab = weights().config.vocab_size;
  const workloads::TokenIds text =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-eval.txt", vocab);
  const workloads::TokenIds calib =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-calib.txt", vocab);
  const workloads::LayerInputRanges ranges = sim::chip_input_ranges(chip, weights(), calib);
  const int P = 8, D = 4, B = 3;
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.weights = &weights();
  o.input_ranges = &ranges;
  o.chip_seed = 2;
  o.record_logits = true;
  o.batch = B;
  for (int s = 0; s < B; ++s)
    o.prompts.push_back(workloads::TokenIds(text.begin() + 100 * s, text.begin() + 100 * s + P));
  const proto::SimReport batched = sim::simulate(chip, weights().config, "dense", o);
  ASSERT_EQ(batched.batch_generations_size(), B - 1);
  int differ_between_sequences = 0;
  for (int s = 0; s < B; ++s) {
    sim::SimOptions alone = o;
    alone.batch = 1;
    alone.prompts.clear();
    alone.prompt = o.prompts[s];
    const proto::SimReport a = sim::simulate(chip, weights().config, "dense", alone);
    const proto::Generation& g = s == 0 ? batched.generation() : batched.batch_generations(s - 1);
    EXPECT_EQ(std::vector<int32_t>(g.prompt_ids().begin(), g.prompt_ids().end()), o.prompts[s]);
    EXPECT_EQ(g.generated_text(), a.generation().generated_text());
    ASSERT_EQ(g.logits_size(), P + D);
    ASSERT_EQ(a.generation().logits_size(), P + D);
    for (int pos = 0; pos < P + D; ++pos) {
      int differ = 0;
      for (int j = 0; j < g.logits(pos).logits_size(); ++j)
        differ += bits(g.logits(pos).logits(j)) != bits(a.generation().logits(pos).logits(j));
      EXPECT_EQ(differ, 0) << "sequence " << s << " position " << pos;
    }
    if (s > 0)
      for (int j = 0; j < g.logits(P - 1).logits_size(); ++j)
        differ_between_sequences +=
            g.logits(P - 1).logits(j) != batched.generation().logits(P - 1).logits(j);
  }
  EXPECT_GT(differ_between_sequences, 0);  // the prompts differ, and so do their logits
}

TEST(Batch, KvCapacityBoundsTheBatch) {
  const proto::ChipConfig chip = default_chip();
  const workloads::ModelConfig& m = weights().config;
  const int positions = 32;
  const double per_sequence =
      2.0 * m.num_kv_heads * m.head_dim * chip.memory().kv_bits() / 8.0 * m.num_layers * positions;
  std::string limit;
  EXPECT_EQ(sim::max_batch(chip, m, positions, 0, 0, &limit), 0);  // DRAM unbounded
  EXPECT_NE(limit.find("none"), std::string::npos) << limit;
  // SRAM plus 10 sequences' worth of DRAM left after 1000 bytes of weights.
  const double dram = 1000 + 10 * per_sequence;
  const long long expect =
      static_cast<long long>((chip.memory().kv_sram_bytes() + 10 * per_sequence) / per_sequence);
  EXPECT_EQ(sim::max_batch(chip, m, positions, dram, 1000, &limit), expect);
  EXPECT_NE(limit.find("KV-cache capacity"), std::string::npos) << limit;
  sim::SimOptions o;
  o.prompt_tokens = 16;
  o.decode_tokens = 16;
  o.batch = 1000000;
  o.dram_capacity_bytes = 1e6;
  try {
    sim::simulate(chip, m, "dense", o);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("batch 1000000 does not fit: KV-cache capacity"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace aimc

// The timed run of a system of chips, against closed forms: a transfer over a chip link adds
// latency + bytes / bandwidth to a token; the link energy is bits x hops x e_pj_per_bit; a
// two-stage pipeline's steady-state throughput is one over its slowest stage; and each
// sequence of a batched multi-chip run computes bit for bit what it computes alone (and what
// one chip computes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "arch/chip_costs.h"
#include "arch/chip_links.h"
#include "mapping/mapper.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "workloads/dataset.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

const workloads::TransformerWeights& weights() {
  static const workloads::TransformerWeights w =
      workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes");
  return w;
}

// Two chips of 32 tiles in a ring: the bundled model's blocks 0-1 on chip 0, 2-3 and lm_head
// on chip 1 (tests/fixtures/systems/two-small.pbtxt).
proto::SystemConfig two_chips() {
  return proto::load_system_config(kRoot + "/tests/fixtures/systems/two-small.pbtxt");
}

proto::SimReport run(const proto::SystemConfig& system, sim::SimOptions o,
                     const mapping::SystemMapOptions& map = {}) {
  const workloads::ModelConfig& model = weights().config;
  const proto::SystemPlan plan = mapping::make_system_plan(model, system, map);
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model, system, plan, "dense");
  return sim::simulate(system, model, plan, chips, o);
}

sim::SimOptions tokens(int P, int D, int batch = 1) {
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.batch = batch;
  return o;
}

// Bits of one activation on the chips' mesh and links (noc.activation_bits).
double act_bits() {
  return proto::chip_config(two_chips(), 0).noc().activation_bits();
}

double energy(const proto::PhaseEnergy& p, const std::string& name) {
  for (const auto& e : p.by_component())
    if (e.name() == name) return e.nj_per_token();
  return -1;
}

TEST(SystemRun, PlanPutsTheStagesOnTwoChips) {
  const proto::SystemPlan plan = mapping::make_system_plan(weights().config, two_chips());
  ASSERT_EQ(plan.summary().chips_used(), 2u);
  ASSERT_EQ(plan.summary().stages(), 2u);
  const proto::SimReport r = run(two_chips(), tokens(4, 4));
  ASSERT_TRUE(r.has_system());
  EXPECT_EQ(r.system().chips(), 2u);
  EXPECT_EQ(r.system().chip_usage_size(), 2);
  for (const auto& c : r.system().chip_usage()) EXPECT_GT(c.utilization().tiles(), 0);
}

// Every decode token crosses the link twice (hidden state chip 0 -> 1, generated token
// 1 -> 0); at batch 1 nothing else is in flight, so each decode token's latency grows by
// exactly the two transfers' closed forms when the link gets slower.
TEST(SystemRun, TransferIsLatencyPlusBytesOverBandwidthInTokenLatency) {
  const int H = weights().config.hidden_size;
  proto::SystemConfig fast = two_chips(), slow = two_chips();
  slow.mutable_links()->set_latency_ns(1100);
  slow.mutable_links()->set_bandwidth_gbps(5);
  const proto::SimReport a = run(fast, tokens(4, 6));
  const proto::SimReport b = run(slow, tokens(4, 6));
  arch::ChipLinks fl(mapping::link_spec(fast)), sl(mapping::link_spec(slow));
  const double hidden_bits = H * act_bits(), token_bits = 32;
  const double extra_ps = (sl.unloaded_ps(1, hidden_bits) - fl.unloaded_ps(1, hidden_bits)) +
                          (sl.unloaded_ps(1, token_bits) - fl.unloaded_ps(1, token_bits));
  // By hand, in ps: 1000 ns more latency each way; 2048 bits at 5 instead of 50 GB/s (51200 vs
  // 5120 ps), 32 bits (800 vs 80 ps).
  ASSERT_EQ(hidden_bits, 2048);
  EXPECT_EQ(extra_ps, 2 * 1000e3 + (51200 - 5120) + (800 - 80));
  ASSERT_EQ(a.decode_token_latency_ns_size(), 6);
  for (int k = 0; k < 6; ++k)
    EXPECT_NEAR(b.decode_token_latency_ns(k) - a.decode_token_latency_ns(k), extra_ps * 1e-3, 1e-6)
        << "decode token " << k;
}

// Energy of the links = bits x links crossed x e_pj_per_bit: per token of a sequence, the hidden
// state (H x activation bits over one hop), and per decode token also the generated id (32).
TEST(SystemRun, LinkEnergyIsBitsTimesHopsTimesEnergyPerBit) {
  const int H = weights().config.hidden_size, P = 5, D = 3, B = 2;
  const proto::SimReport r = run(two_chips(), tokens(P, D, B));
  const double e = two_chips().links().e_pj_per_bit();
  const double prefill_bit_hops = B * P * H * act_bits(),
               decode_bit_hops = B * D * (H * act_bits() + 32);
  EXPECT_EQ(r.system().prefill_link_bit_hops(), prefill_bit_hops);
  EXPECT_EQ(r.system().decode_link_bit_hops(), decode_bit_hops);
  EXPECT_DOUBLE_EQ(energy(r.prefill(), "chip_links") * B * P, prefill_bit_hops * e * 1e-3);
  EXPECT_DOUBLE_EQ(energy(r.decode(), "chip_links") * B * D, decode_bit_hops * e * 1e-3);
  EXPECT_DOUBLE_EQ(r.system().link_energy_nj(), (prefill_bit_hops + decode_bit_hops) * e * 1e-3);
  double bytes = 0, link_nj = 0;
  for (const auto& l : r.system().links()) bytes += l.bytes(), link_nj += l.energy_nj();
  EXPECT_DOUBLE_EQ(bytes * 8, prefill_bit_hops + decode_bit_hops);
  EXPECT_DOUBLE_EQ(link_nj, r.system().link_energy_nj());
  // The phase total is the sum of its parts, links included.
  double sum = 0;
  for (const auto& c : r.decode().by_component()) sum += c.nj_per_token();
  EXPECT_NEAR(sum, r.decode().total_nj_per_token(), 1e-9 * sum);
}

// Energy = counts x unit energies, each chip with its own, links included: a system whose chip 1
// has every dynamic energy twice and every leakage power three times chip 0's runs in the same
// time; chip 0 and the links spend what they spent with two equal chips, chip 1 exactly twice
// its dynamic and three times its leakage energy; and the phases' energies add up to the chips'
// and the links'.
TEST(SystemRun, EachChipIsPricedWithItsOwnEnergies) {
  proto::ChipConfig chip = proto::chip_config(two_chips(), 0);
  // The converter energies left to the cost model, written out so that they scale too.
  chip.mutable_energy()->set_e_dac_drive_pj(arch::dac_drive_energy_pj(chip));
  chip.mutable_energy()->set_e_adc_conversion_pj(arch::adc_conversion_energy_pj(chip));
  proto::ChipConfig scaled = chip;
  proto::EnergyConfig* energy = scaled.mutable_energy();
  const auto* d = energy->GetDescriptor();
  const auto* reflection = energy->GetReflection();
  int dynamic_fields = 0, leakage_fields = 0;
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE) continue;
    const double v = reflection->GetDouble(*energy, f);
    if (f->name().rfind("e_", 0) == 0) {
      reflection->SetDouble(energy, f, 2 * v);
      ++dynamic_fields;
    } else if (f->name().rfind("p_", 0) == 0 && f->name() != "p_tile_gated_leak_fraction") {
      reflection->SetDouble(energy, f, 3 * v);
      ++leakage_fields;
    }
  }
  EXPECT_GE(dynamic_fields, 15);
  EXPECT_GE(leakage_fields, 5);
  proto::SystemConfig same = two_chips();
  same.clear_chips();
  for (int k = 0; k < 2; ++k) {
    proto::ChipGroup* g = same.add_chips();
    *g->mutable_config() = chip;
    g->set_count(1);
  }
  proto::SystemConfig mixed = same;
  *mixed.mutable_chips(1)->mutable_config() = scaled;
  ASSERT_TRUE(proto::validate_system_config(mixed).empty());
  const sim::SimOptions o = tokens(4, 8, 4);
  const proto::SimReport a = run(same, o), b = run(mixed, o);
  EXPECT_EQ(b.decode_latency_ns(), a.decode_latency_ns());
  EXPECT_EQ(b.batch().decode_tokens_per_s(), a.batch().decode_tokens_per_s());
  ASSERT_EQ(a.system().chip_usage_size(), 2);
  ASSERT_EQ(b.system().chip_usage_size(), 2);
  const proto::ChipUsage &a0 = a.system().chip_usage(0), &a1 = a.system().chip_usage(1);
  const proto::ChipUsage &b0 = b.system().chip_usage(0), &b1 = b.system().chip_usage(1);
  EXPECT_GT(a1.dynamic_nj(), 0);
  EXPECT_GT(a1.leakage_nj(), 0);
  EXPECT_NEAR(b0.dynamic_nj(), a0.dynamic_nj(), 1e-9 * a0.dynamic_nj());
  EXPECT_NEAR(b0.leakage_nj(), a0.leakage_nj(), 1e-9 * a0.leakage_nj());
  EXPECT_NEAR(b1.dynamic_nj(), 2 * a1.dynamic_nj(), 1e-9 * a1.dynamic_nj());
  EXPECT_NEAR(b1.leakage_nj(), 3 * a1.leakage_nj(), 1e-9 * a1.leakage_nj());
  EXPECT_EQ(b.system().link_energy_nj(), a.system().link_energy_nj());
  EXPECT_GT(a.system().link_energy_nj(), 0);
  for (const proto::SimReport* r : {&a, &b}) {
    const proto::SystemReport& s = r->system();
    const double parts = s.chip_usage(0).dynamic_nj() + s.chip_usage(0).leakage_nj() +
                         s.chip_usage(1).dynamic_nj() + s.chip_usage(1).leakage_nj() +
                         s.link_energy_nj() + s.link_port_energy_nj();
    const double phases = r->prefill().total_nj_per_token() * r->prefill().tokens() +
                          r->decode().total_nj_per_token() * r->decode().tokens();
    EXPECT_NEAR(phases, parts, 1e-9 * parts);
  }
}

// A link far slower than either chip is the slowest stage: at a large batch it is never idle
// during decode and the throughput is its bandwidth over the hidden state's bytes.
TEST(SystemRun, SteadyStateThroughputIsOneOverTheSlowestStage) {
  proto::SystemConfig system = two_chips();
  system.mutable_links()->set_bandwidth_gbps(0.01);  // 256 bytes: 25.6 us per token
  const int B = 16, D = 16;
  const proto::SimReport r = run(system, tokens(4, D, B));
  const double bytes = weights().config.hidden_size * act_bits() / 8;
  const double closed = system.links().bandwidth_gbps() * 1e9 / bytes;  // tokens per second
  ASSERT_TRUE(r.has_batch());
  EXPECT_NEAR(r.batch().decode_tokens_per_s(), closed, 0.01 * closed);
  EXPECT_LE(r.batch().decode_tokens_per_s(), closed);
  EXPECT_EQ(r.system().bottleneck(), "link chip 0 -> chip 1");
  EXPECT_GT(r.system().bottleneck_utilization(), 0.99);
  // With fast links the slowest stage is a chip, and the throughput is far higher.
  const proto::SimReport fast = run(two_chips(), tokens(4, D, B));
  EXPECT_NE(fast.system().bottleneck().find("stage"), std::string::npos)
      << fast.system().bottleneck();
  EXPECT_GT(fast.batch().decode_tokens_per_s(), 3 * closed);
}

double statistic(const proto::SimReport& r, const std::string& name) {
  for (const auto& s : r.statistics())
    if (s.name() == name) return s.value();
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

// With the fast links the slowest stage is chip 1's DPU 0 (its blocks' norms, reductions and
// attention, and lm_head's reduction). Its work per decode token is the difference of its busy
// time (a sum of closed-form work-item durations, whatever the schedule) between runs with and
// without the decode tokens; at a large batch the pipeline delivers one token per that time:
// the DPU serves work in the order it arrives and never waits for data still in flight while
// other work is ready (it idles only while the pipeline fills and drains).
TEST(SystemRun, DpuBoundPipelineReachesOneOverTheSlowestStage) {
  const int B = 256, P = 4, D = 16;
  const proto::SimReport r = run(two_chips(), tokens(P, D, B));
  const proto::SimReport prefill = run(two_chips(), tokens(P, 0, B));
  const std::string dpu = "chip1.dpu0.busy";
  const double ns_per_token = (statistic(r, dpu) - statistic(prefill, dpu)) / (B * D);
  ASSERT_GT(ns_per_token, 0);
  const double closed = 1e9 / ns_per_token;  // tokens per second
  ASSERT_TRUE(r.has_batch());
  EXPECT_EQ(r.system().bottleneck(), "stage 1 (chip 1): DPU 0");
  EXPECT_GE(r.system().bottleneck_utilization(), 0.97);
  EXPECT_GE(r.batch().decode_tokens_per_s(), 0.97 * closed);
  EXPECT_LE(r.batch().decode_tokens_per_s(), closed * (1 + 1e-9));
  std::printf("decode %.4g tokens/s, slowest stage %.4g tokens/s (%.1f ns/token), DPU %.3f busy\n",
              r.batch().decode_tokens_per_s(), closed, ns_per_token,
              r.system().bottleneck_utilization());
}

// Throughput grows with the batch: tokens of different sequences fill both stages at once.
TEST(SystemRun, BatchPipelinesSequencesAcrossChips) {
  const proto::SimReport one = run(two_chips(), tokens(4, 8, 1));
  const proto::SimReport eight = run(two_chips(), tokens(4, 8, 8));
  EXPECT_GT(eight.batch().decode_tokens_per_s(), 1.5 * one.decode_tokens_per_s());
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

int differing(const proto::Generation& a, const proto::Generation& b) {
  if (a.logits_size() != b.logits_size()) return -1;
  int differ = 0;
  for (int pos = 0; pos < a.logits_size(); ++pos) {
    if (a.logits(pos).logits_size() != b.logits(pos).logits_size()) return -1;
    for (int j = 0; j < a.logits(pos).logits_size(); ++j)
      differ += bits(a.logits(pos).logits(j)) != bits(b.logits(pos).logits(j));
  }
  return differ;
}

TEST(SystemRun, EachSequenceComputesWhatItComputesAloneAndOnOneChip) {
  const proto::SystemConfig system = two_chips();
  const proto::ChipConfig& chip = proto::chip_config(system, 0);
  const int vocab = weights().config.vocab_size;
  const workloads::TokenIds text =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-eval.txt", vocab);
  const workloads::TokenIds calib =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-calib.txt", vocab);
  const workloads::LayerInputRanges ranges = sim::chip_input_ranges(chip, weights(), calib);
  const int P = 8, D = 4, B = 3;
  sim::SimOptions o = tokens(P, D, B);
  o.weights = &weights();
  o.input_ranges = &ranges;
  o.chip_seed = 1;
  o.record_logits = true;
  for (int s = 0; s < B; ++s)
    o.prompts.push_back(workloads::TokenIds(text.begin() + 100 * s, text.begin() + 100 * s + P));
  const proto::SimReport batched = run(system, o);
  ASSERT_EQ(batched.batch_generations_size(), B - 1);
  // One chip large enough for the whole model (the default chip: same tiles and numerics).
  const proto::ChipConfig big = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  for (int s = 0; s < B; ++s) {
    sim::SimOptions alone = o;
    alone.batch = 1;
    alone.prompts.clear();
    alone.prompt = o.prompts[s];
    const proto::SimReport a = run(system, alone);
    const proto::SimReport c = sim::simulate(big, weights().config, "dense", alone);
    const proto::Generation& g = s == 0 ? batched.generation() : batched.batch_generations(s - 1);
    EXPECT_EQ(g.generated_text(), a.generation().generated_text());
    EXPECT_EQ(g.logits_size(), P + D);
    EXPECT_EQ(differing(g, a.generation()), 0) << "sequence " << s;
    EXPECT_EQ(differing(a.generation(), c.generation()), 0) << "sequence " << s;
  }
  EXPECT_GT(differing(batched.generation(), batched.batch_generations(0)), 0);
}

// Blocks split over two chips each, their layers whole (auto) or cut by input tiles (partial
// sums reduced on the home chip): each decode token moves exactly the plan's link bytes (and the
// generated id back to chip 0), and computes what one chip computes.
TEST(SystemRun, SplitBlocksMoveThePlansBytesAndComputeWhatOneChipDoes) {
  const proto::SystemConfig system =
      proto::load_system_config(kRoot + "/tests/fixtures/systems/split-blocks.pbtxt");
  const proto::ChipConfig big = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  const int vocab = weights().config.vocab_size;
  const workloads::TokenIds calib =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-calib.txt", vocab);
  const workloads::LayerInputRanges ranges = sim::chip_input_ranges(big, weights(), calib);
  const int P = 6, D = 5;
  sim::SimOptions o = tokens(P, D);
  o.weights = &weights();
  o.input_ranges = &ranges;
  o.record_logits = true;
  const proto::SimReport one = sim::simulate(big, weights().config, "dense", o);
  for (mapping::SplitKind split : {mapping::SplitKind::kAuto, mapping::SplitKind::kInput}) {
    mapping::SystemMapOptions map;
    map.split = split;
    const proto::SystemPlan plan = mapping::make_system_plan(weights().config, system, map);
    SCOPED_TRACE(plan.split());
    ASSERT_GT(plan.summary().stages(), 1u);
    if (split == mapping::SplitKind::kInput) {
      ASSERT_GT(plan.summary().split_layers(), 0u);
    }
    const proto::SimReport r = run(system, o, map);
    arch::ChipLinks links(mapping::link_spec(system));
    int head = 0;
    for (const auto& c : plan.chips())
      if (c.lm_head()) head = static_cast<int>(c.chip());
    const double per_token =
        8 * plan.summary().link_byte_hops_per_token() + 32 * links.hops(head, 0);
    EXPECT_DOUBLE_EQ(r.system().decode_link_bit_hops(), D * per_token);
    EXPECT_EQ(differing(r.generation(), one.generation()), 0);
    EXPECT_EQ(r.generation().generated_text(), one.generation().generated_text());
  }
}

double dynamic_nj(const proto::PhaseEnergy& p) {
  double nj = 0;
  for (const auto& e : p.by_component())
    if (e.name().find("leakage") == std::string::npos && e.name() != "chip_static" &&
        e.name() != "chip_link_ports")
      nj += e.nj_per_token();
  return nj;
}

// The memo of layer parts (approximate, for speed) keeps every count (dynamic energy to the
// rounding, tile reads, link bit-hops) and its times stay close to the detailed run's (what it
// leaves out: contention between layers on the mesh besides the DPU ports). Measured deviations
// of decode latency, batch throughput and tile utilization: at most 0.54 % on the default chip
// (batch 1 and 8), 1.6 % on two-small (batch 1, 8, 32), 0.53 % on split-blocks (batch 1, 8, 32);
// the bounds below are about twice that.
void expect_memo_close(const proto::SimReport& full, const proto::SimReport& memo, double tol) {
  EXPECT_NEAR(dynamic_nj(memo.decode()), dynamic_nj(full.decode()),
              1e-9 * dynamic_nj(full.decode()));
  EXPECT_EQ(memo.tile_reads(), full.tile_reads());
  EXPECT_EQ(memo.system().decode_link_bit_hops(), full.system().decode_link_bit_hops());
  EXPECT_NEAR(memo.decode_latency_ns(), full.decode_latency_ns(), tol * full.decode_latency_ns());
  if (full.has_batch()) {
    EXPECT_NEAR(memo.batch().decode_tokens_per_s(), full.batch().decode_tokens_per_s(),
                tol * full.batch().decode_tokens_per_s());
  }
  EXPECT_NEAR(memo.utilization().tiles(), full.utilization().tiles(),
              tol * full.utilization().tiles());
}

TEST(SystemRun, MemoOfLayerPartsIsCloseToTheDetailedRun) {
  const proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  for (int batch : {1, 8}) {
    SCOPED_TRACE("default chip, batch " + std::to_string(batch));
    sim::SimOptions o = tokens(16, 16, batch);
    const proto::SimReport full = sim::simulate(chip, weights().config, "dense", o);
    o.memo_parts = true;
    expect_memo_close(full, sim::simulate(chip, weights().config, "dense", o), 0.01);
  }
  // On two chips (one block group each) and on twelve (every block split over two chips).
  const proto::SystemConfig split =
      proto::load_system_config(kRoot + "/tests/fixtures/systems/split-blocks.pbtxt");
  for (const auto& [name, system, tol] : {std::make_tuple("two-small", two_chips(), 0.03),
                                          std::make_tuple("split-blocks", split, 0.01)}) {
    for (int batch : {1, 8, 32}) {
      SCOPED_TRACE(std::string(name) + ", batch " + std::to_string(batch));
      sim::SimOptions o = tokens(8, 8, batch);
      const proto::SimReport full = run(system, o);
      o.memo_parts = true;
      const proto::SimReport memo = run(system, o);
      ASSERT_EQ(full.has_batch(), batch > 1);
      expect_memo_close(full, memo, tol);
    }
  }
}

// Sum of the statistics whose name contains `kind` and ends with `suffix`.
double stat_sum(const proto::SimReport& r, const std::string& kind, const std::string& suffix) {
  double s = 0;
  for (const proto::Statistic& st : r.statistics())
    if (st.name().find(kind) != std::string::npos && st.name().size() > suffix.size() &&
        st.name().compare(st.name().size() - suffix.size(), suffix.size(), suffix) == 0)
      s += st.value();
  return s;
}

// Tiles, ADC banks (given leakage of their own) and routers gated with the defaults (1 us idle,
// 10 ns and 100 pJ per wake-up, 5 % gated leakage).
void gate_all(proto::ChipConfig* c) {
  c->mutable_energy()->set_p_adc_bank_leak_mw(0.5);
  c->mutable_power_gating()->mutable_tile()->set_enabled(true);
  c->mutable_power_gating()->mutable_adc_bank()->set_enabled(true);
  c->mutable_power_gating()->mutable_router()->set_enabled(true);
}

// With power gating the memo's replays feed the gated units' state (an approximation: each
// unit's use is offset from the calibrated read; a replay's wake-ups delay it by the share of its
// units found off of the cold read's extra latency). Against the detailed run: counts as above;
// measured on the runs below, wake-ups of each kind (tiles, ADC banks, routers) within 7.8 %,
// their off time within 2.4 %, decode energy per token within 1.9 %, decode latency, batch
// throughput within 3.1 %; the bounds are about twice that (tile utilization: as latency).
void expect_gated_memo_close(const proto::SimReport& full, const proto::SimReport& memo) {
  expect_memo_close(full, memo, 0.06);
  for (const char* kind : {"tile", "adc_bank", "noc"}) {
    SCOPED_TRACE(kind);
    const double fw = stat_sum(full, kind, "wake_ups"), mw = stat_sum(memo, kind, "wake_ups");
    const double fo = stat_sum(full, kind, "gated"), mo = stat_sum(memo, kind, "gated");
    ASSERT_GT(fw, 0);
    ASSERT_GT(fo, 0);
    EXPECT_NEAR(mw, fw, 0.15 * fw);
    EXPECT_NEAR(mo, fo, 0.05 * fo);
  }
  const double fe = full.decode().total_nj_per_token();
  EXPECT_NEAR(memo.decode().total_nj_per_token(), fe, 0.04 * fe);
}

TEST(SystemRun, MemoOfLayerPartsFollowsPowerGating) {
  proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  gate_all(&chip);
  for (int batch : {1, 8}) {
    SCOPED_TRACE("gated default chip, batch " + std::to_string(batch));
    sim::SimOptions o = tokens(16, 16, batch);
    const proto::SimReport full = sim::simulate(chip, weights().config, "dense", o);
    o.memo_parts = true;
    expect_gated_memo_close(full, sim::simulate(chip, weights().config, "dense", o));
  }
  proto::SystemConfig small = two_chips();
  proto::SystemConfig split =
      proto::load_system_config(kRoot + "/tests/fixtures/systems/split-blocks.pbtxt");
  for (proto::SystemConfig* s : {&small, &split})
    for (auto& group : *s->mutable_chips()) gate_all(group.mutable_config());
  for (const auto& [name, system] :
       {std::make_pair("two-small", small), std::make_pair("split-blocks", split)}) {
    for (int batch : {1, 8, 32}) {
      SCOPED_TRACE(std::string("gated ") + name + ", batch " + std::to_string(batch));
      sim::SimOptions o = tokens(8, 8, batch);
      const proto::SimReport full = run(system, o);
      o.memo_parts = true;
      expect_gated_memo_close(full, run(system, o));
    }
  }
}

// The memo replays each part replica as a pipeline of its own: a tile read by two part replicas
// (mapping.allow_tile_sharing packs several layers' blocks on one tile) would lose their
// contention. Such parts are read in full: with every tile shared, the memo run is the detailed
// run, bit for bit, gated or not (the memo alone would overlap reads that queue at the tiles).
TEST(SystemRun, MemoOfLayerPartsReadsPartsOnSharedTilesInFull) {
  proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  chip.mutable_tile()->set_rows(512);
  chip.mutable_tile()->set_cols(512);
  chip.mutable_tile()->mutable_adc()->set_adcs_per_tile(512);
  chip.mutable_mapping()->set_allow_tile_sharing(true);
  const workloads::ModelConfig& m = weights().config;
  const proto::MappingPlan plan = mapping::make_plan(m, chip, "dense");
  // Every tile used holds blocks of at least two layers.
  std::map<uint32_t, std::set<uint32_t>> layers_of;
  for (const proto::BlockPlacement& b : plan.blocks()) layers_of[b.tile()].insert(b.layer_index());
  ASSERT_GT(layers_of.size(), 1u);
  for (const auto& [tile, layers] : layers_of) ASSERT_GE(layers.size(), 2u) << "tile " << tile;
  for (bool gated : {false, true}) {
    SCOPED_TRACE(gated ? "gated" : "not gated");
    if (gated) gate_all(&chip);
    sim::SimOptions o = tokens(8, 8, 8);
    const proto::SimReport full = sim::simulate(chip, m, plan, o);
    o.memo_parts = true;
    const proto::SimReport memo = sim::simulate(chip, m, plan, o);
    proto::SimReport a = full, b = memo;
    for (proto::SimReport* r : {&a, &b}) {
      r->clear_wall_s();
      r->clear_wall_s_per_decode_token();
      r->clear_tile_reads_per_wall_s();
      r->clear_cpu_s_per_decode_token();
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(a, b)) << diff;
    EXPECT_GT(a.tile_reads(), 0);
    if (gated) {
      EXPECT_GT(stat_sum(a, "tile", "wake_ups"), 0);
    }
  }
}

// Request mode on two chips: continuous batching across the pipeline; on a long seeded run the
// mean number of requests in the system is the arrival rate x the mean latency (Little's law).
TEST(SystemRun, RequestModeOnTwoChipsKeepsLittlesLaw) {
  sim::SimOptions o;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const double rate_per_ns = 60000 * 1e-9;  // 60,000 requests per second
  double t = 0;
  for (int i = 0; i < 400; ++i) {
    t += -std::log(1 - u(rng)) / rate_per_ns;
    o.requests.push_back({t, 4, 4});
  }
  o.max_batch = 8;
  const proto::SimReport r = run(two_chips(), o);
  ASSERT_TRUE(r.has_requests());
  const proto::RequestReport& q = r.requests();
  ASSERT_EQ(q.timings_size(), 400);
  for (const auto& timing : q.timings()) EXPECT_GT(timing.finished_ns(), timing.arrival_ns());
  const double little = q.completed_requests_per_s() * q.latency_mean_ns() * 1e-9;
  EXPECT_NEAR(q.mean_in_system(), little, 0.05 * little);
  EXPECT_GT(q.mean_in_system(), 1.0);  // requests overlap: the pipeline holds several
  EXPECT_GT(r.system().decode_link_bit_hops(), 0);
  EXPECT_NE(q.bottleneck(), "none");
}

double decode_action(const proto::SimReport& r, const std::string& name) {
  for (const auto& a : r.actions())
    if (a.name() == name) return a.decode();
  return -1;
}

// A digital lm_head streams its weights from DRAM once per pass, and one pass serves every token
// whose input reached the DPUs before it began: one sequence streams them for every token, a
// batch shares the passes (and its DRAM energy per token falls). Numbers are unchanged.
TEST(SystemRun, DigitalLmHeadWeightPassesServeTheBatch) {
  proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  chip.mutable_mapping()->set_lm_head_on_tiles(false);
  const workloads::ModelConfig& m = weights().config;
  const double weight_bits =
      static_cast<double>(m.vocab_size) * m.hidden_size * chip.dpu().weight_bits();
  const int D = 8, B = 16;
  const proto::SimReport one = sim::simulate(chip, m, "dense", tokens(4, D, 1));
  const proto::SimReport many = sim::simulate(chip, m, "dense", tokens(4, D, B));
  // One sequence: every decode token streams the whole lm_head (plus embeddings and KV).
  EXPECT_GE(decode_action(one, "dram_bits"), D * weight_bits);
  EXPECT_LT(decode_action(one, "dram_bits"), D * weight_bits * 1.5);
  // A batch: clearly fewer passes than tokens (a pass waits for the batch's other tokens at
  // most one pass's streaming time, short on this chip), at least one per step.
  const double passes = decode_action(many, "dram_bits") / weight_bits;
  EXPECT_LT(passes, 0.75 * B * D);
  EXPECT_GE(passes, D - 1);
  EXPECT_GT(many.batch().decode_tokens_per_s(), 2 * one.decode_tokens_per_s());
}

// dpu.weight_pass_wait_fraction: a pass that a token would start while the batch's other
// sequences still have a token coming waits for them (at most that fraction of one pass's
// streaming time), so a decode step's B tokens share one pass; 0 = a pass starts at once. One
// sequence never waits (no other sequence), so its timing is the same either way.
TEST(SystemRun, WeightPassWaitsForTheBatchsOtherTokens) {
  proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  chip.mutable_mapping()->set_lm_head_on_tiles(false);
  // A slow DRAM: one pass of lm_head (32 KiB) takes 64 us, longer than the spread of a step's
  // tokens, so the bound does not cut the wait.
  chip.mutable_memory()->set_dram_bandwidth_gbps(0.5);
  const workloads::ModelConfig& m = weights().config;
  const double weight_bits =
      static_cast<double>(m.vocab_size) * m.hidden_size * chip.dpu().weight_bits();
  ASSERT_EQ(weight_bits / 8, 32768);
  const double embed_bits = static_cast<double>(m.hidden_size) * act_bits();
  const int D = 8, B = 16;
  ASSERT_EQ(chip.dpu().weight_pass_wait_fraction(), 1.0);  // the default
  proto::ChipConfig now = chip;
  now.mutable_dpu()->set_weight_pass_wait_fraction(0);
  const proto::SimReport wait = sim::simulate(chip, m, "dense", tokens(4, D, B));
  const proto::SimReport at_once = sim::simulate(now, m, "dense", tokens(4, D, B));
  // Decode DRAM traffic: each pass streams the whole layer; each token reads its embedding row.
  auto passes = [&](const proto::SimReport& r) {
    return (decode_action(r, "dram_bits") - B * D * embed_bits) / weight_bits;
  };
  EXPECT_EQ(passes(wait), D);  // one pass per decode step
  EXPECT_GT(passes(at_once), D) << passes(at_once);
  EXPECT_GT(wait.batch().decode_tokens_per_s(), at_once.batch().decode_tokens_per_s());
  // One sequence: nothing to wait for.
  const proto::SimReport one_wait = sim::simulate(chip, m, "dense", tokens(4, D, 1));
  const proto::SimReport one_now = sim::simulate(now, m, "dense", tokens(4, D, 1));
  EXPECT_EQ(one_wait.total_time_ns(), one_now.total_time_ns());
  EXPECT_EQ(decode_action(one_wait, "dram_bits"), D * (weight_bits + embed_bits));
}

// The wait counts the sequences in flight: in request mode a request counts from its admission,
// not before. A request arriving after the first one's prefill reached lm_head is not waited
// for: the first request's first token comes exactly when it comes alone; a second request
// there from the start is waited for (one pass serves both first tokens, so the first comes
// later than alone).
TEST(SystemRun, WeightPassWaitsOnlyForRequestsAlreadyAdmitted) {
  proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  chip.mutable_mapping()->set_lm_head_on_tiles(false);
  chip.mutable_memory()->set_dram_bandwidth_gbps(0.5);  // a pass of lm_head: 64 us
  const workloads::ModelConfig& m = weights().config;
  auto serve = [&](std::vector<sim::SimOptions::Request> requests) {
    sim::SimOptions o;
    o.requests = std::move(requests);
    o.max_batch = 2;
    return sim::simulate(chip, m, "dense", o);
  };
  const proto::SimReport alone = serve({{0, 4, 4}});
  const double first = alone.requests().timings(0).first_token_ns();
  // The first token is lm_head's pass after the prefill: the prefill reached lm_head well
  // before 40 us.
  ASSERT_GT(first, 64'000);
  ASSERT_LT(first - 64'000, 40'000);
  const proto::SimReport later = serve({{0, 4, 4}, {40'000, 4, 4}});
  EXPECT_EQ(later.requests().timings(0).first_token_ns(), first);
  const proto::SimReport together = serve({{0, 4, 4}, {0, 4, 4}});
  EXPECT_GT(together.requests().timings(0).first_token_ns(), first);
  EXPECT_EQ(together.requests().timings(0).first_token_ns(),
            together.requests().timings(1).first_token_ns());
}

TEST(SystemRun, KvCapacityOfEachChipBoundsTheBatch) {
  proto::SystemConfig system = two_chips();
  // 1 MiB of KV SRAM per chip; 1 MiB of DRAM beside each, less the weights it streams.
  for (auto& g : *system.mutable_chips()) g.mutable_dram()->set_capacity_bytes(1 << 20);
  const proto::SystemPlan plan = mapping::make_system_plan(weights().config, system);
  const mapping::SystemChipPlans chips =
      mapping::make_chip_plans(weights().config, system, plan, "dense");
  std::string limit;
  const long long most = sim::system_max_batch(system, chips, weights().config, 64, &limit);
  // Each chip holds two blocks' KV: 2 x (2 x kv heads x head dim x 8 bits) per position.
  const workloads::ModelConfig& m = weights().config;
  const double per_seq = 2.0 * 2 * m.num_kv_heads * m.head_dim * 64;
  // Chip 0 also keeps the embedding table (activation_bits per entry).
  const double table = static_cast<double>(m.vocab_size) * m.hidden_size * act_bits() / 8;
  EXPECT_EQ(most, static_cast<long long>((2.0 * (1 << 20) - table) / per_seq)) << limit;
  EXPECT_NE(limit.find("chip 0"), std::string::npos) << limit;
  sim::SimOptions o = tokens(32, 32, static_cast<int>(most) + 1);
  EXPECT_THROW(sim::simulate(system, m, plan, chips, o), UserError);
}

// links.route_via_ports: every transfer between chips crosses the sender's mesh from its DPU to
// the port of its link (the middle of the east edge for the next chip of a ring) and the
// receiver's mesh from the port it enters by (west) to its DPU. At batch 1 nothing else is on
// those mesh links, so each decode token grows by exactly the four on-chip paths of its two
// transfers (hidden state 0 -> 1, generated id 1 -> 0), each hops x hop cycles + flits cycles,
// and the mesh carries exactly their bit-hops more.
TEST(SystemRun, RouteViaPortsAddsTheOnChipPathsToAndFromThePorts) {
  proto::SystemConfig off = two_chips(), on = two_chips();
  on.mutable_links()->set_route_via_ports(true);
  const int P = 4, D = 6;
  const proto::SimReport a = run(off, tokens(P, D));
  const proto::SimReport b = run(on, tokens(P, D));
  const workloads::ModelConfig& model = weights().config;
  const proto::SystemPlan plan = mapping::make_system_plan(model, on);
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model, on, plan, "dense");
  ASSERT_EQ(chips.head_chip, 1);
  auto dpu_node = [&](int chip, const std::string& layer) {
    for (const auto& l : chips.chips[chip].layers())
      if (l.name() == layer) return static_cast<int>(l.dpu_node());
    ADD_FAILURE() << layer << " not on chip " << chip;
    return 0;
  };
  const proto::ChipConfig& c = proto::chip_config(on, 0);
  const int mx = static_cast<int>(c.noc().mesh_x()), my = static_cast<int>(c.noc().mesh_y());
  const int east = arch::port_node(arch::Topology::kRing, 0, mx, my);
  const int west = arch::port_node(arch::Topology::kRing, 1, mx, my);
  ASSERT_EQ(mx, 8);
  ASSERT_EQ(my, 4);
  ASSERT_EQ(east, 2 * 8 + 7);
  ASSERT_EQ(west, 2 * 8);
  const double width = c.noc().link_width_bits(), hop = c.noc().hop_latency_cycles();
  ASSERT_EQ(c.clock_ghz(), 1.0);  // one cycle = 1 ns
  auto hops = [&](int x, int y) { return std::abs(x % mx - y % mx) + std::abs(x / mx - y / mx); };
  double extra_ns = 0, extra_bit_hops = 0;
  auto path = [&](int from, int to, double bits) {
    const int h = hops(from, to);
    if (h == 0) return;
    extra_ns += h * hop + std::ceil(bits / width);
    extra_bit_hops += h * bits;
  };
  const double hidden = model.hidden_size * act_bits();
  // Block 1 ends on chip 0 at its DPU (that of its q_proj); block 2 starts on chip 1 at its own.
  path(dpu_node(0, "model.layers.1.self_attn.q_proj"), east, hidden);
  path(west, dpu_node(1, "model.layers.2.self_attn.q_proj"), hidden);
  // The generated id: lm_head's DPU on chip 1 to its east port (chip 0 is also next round the
  // ring of two), and from chip 0's west port to block 0's DPU (the embedding).
  path(dpu_node(1, "lm_head"), east, 32);
  path(west, dpu_node(0, "model.layers.0.self_attn.q_proj"), 32);
  ASSERT_GT(extra_ns, 0);
  for (int k = 0; k < D; ++k)
    EXPECT_NEAR(b.decode_token_latency_ns(k) - a.decode_token_latency_ns(k), extra_ns, 1e-6)
        << "decode token " << k;
  // Link traffic is unchanged; the mesh carries the paths' bit-hops on top.
  EXPECT_EQ(b.system().decode_link_bit_hops(), a.system().decode_link_bit_hops());
  auto noc_bit_hops = [](const proto::SimReport& r) {
    for (const auto& x : r.actions())
      if (x.name() == "noc_bit_hops") return x.decode();
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(noc_bit_hops(b) - noc_bit_hops(a), D * extra_bit_hops);
}

// Through-traffic with links.route_via_ports: three chips of 20 tiles (two blocks each) hold the
// bundled model, lm_head alone on chip 2. In a ring of three the generated id goes 2 -> 0 over
// one link (east port of chip 2, west port of chip 0); in a 3 x 1 mesh it goes back through
// chip 1 (west port of chip 2, across chip 1's mesh from its east port to its west port, east
// port of chip 0), link by link. Everything else is the same in both (hidden states leave by
// the east port, +x in the mesh, next chip in the ring), so at batch 1 each decode token's
// latency differs by exactly the id's paths: mesh crossings (hops x hop cycles + flits) and
// two links against one; the mesh carries exactly the paths' bit-hops more, the links 32 bits
// more per decode token, and chip 1's mesh carries the crossing.
TEST(SystemRun, ThroughTrafficCrossesTheMeshOfTheChipItPasses) {
  proto::SystemConfig ring = two_chips();
  ring.mutable_chips(0)->set_count(3);
  ring.mutable_chips(0)->mutable_config()->mutable_tile()->set_count(20);
  ring.mutable_links()->set_route_via_ports(true);
  proto::SystemConfig mesh = ring;
  mesh.mutable_links()->set_topology(proto::MESH_2D);
  mesh.mutable_links()->set_mesh_x(3);
  mesh.mutable_links()->set_mesh_y(1);
  const workloads::ModelConfig& model = weights().config;
  const proto::SystemPlan plan = mapping::make_system_plan(model, ring);
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model, ring, plan, "dense");
  ASSERT_EQ(plan.summary().chips_used(), 3u);
  ASSERT_EQ(chips.head_chip, 2);
  ASSERT_EQ(chips.block_chip.front(), 0);
  const int P = 4, D = 6;
  const proto::SimReport a = sim::simulate(ring, model, plan, chips, tokens(P, D));
  const proto::SimReport b = sim::simulate(mesh, model, plan, chips, tokens(P, D));
  auto dpu_node = [&](int chip, const std::string& layer) {
    for (const auto& l : chips.chips[chip].layers())
      if (l.name() == layer) return static_cast<int>(l.dpu_node());
    ADD_FAILURE() << layer << " not on chip " << chip;
    return 0;
  };
  const proto::ChipConfig& c = proto::chip_config(ring, 0);
  const int mx = static_cast<int>(c.noc().mesh_x()), my = static_cast<int>(c.noc().mesh_y());
  const int east = arch::port_node(arch::Topology::kRing, 0, mx, my);
  const int west = arch::port_node(arch::Topology::kRing, 1, mx, my);
  ASSERT_EQ(east, arch::port_node(arch::Topology::kMesh2d, 0, mx, my));
  ASSERT_EQ(west, arch::port_node(arch::Topology::kMesh2d, 1, mx, my));
  const double width = c.noc().link_width_bits(), hop = c.noc().hop_latency_cycles();
  ASSERT_EQ(c.clock_ghz(), 1.0);  // one cycle = 1 ns
  auto hops = [&](int x, int y) { return std::abs(x % mx - y % mx) + std::abs(x / mx - y / mx); };
  auto path_ns = [&](int from, int to) {
    const int h = hops(from, to);
    return h == 0 ? 0.0 : h * hop + std::ceil(32 / width);
  };
  const int head = dpu_node(2, "lm_head"), embed = dpu_node(0, "model.layers.0.self_attn.q_proj");
  const arch::ChipLinks links(mapping::link_spec(ring));
  const double link_ns = links.unloaded_ps(1, 32) * 1e-3;
  const double ring_ns = path_ns(head, east) + link_ns + path_ns(west, embed);
  const double mesh_ns =
      path_ns(head, west) + link_ns + path_ns(east, west) + link_ns + path_ns(east, embed);
  ASSERT_EQ(hops(east, west), mx - 1);
  for (int k = 0; k < D; ++k)
    EXPECT_NEAR(b.decode_token_latency_ns(k) - a.decode_token_latency_ns(k), mesh_ns - ring_ns,
                1e-6)
        << "decode token " << k;
  EXPECT_EQ(b.system().decode_link_bit_hops(), a.system().decode_link_bit_hops() + D * 32);
  auto noc_bit_hops = [](const proto::SimReport& r) {
    for (const auto& x : r.actions())
      if (x.name() == "noc_bit_hops") return x.decode();
    return -1.0;
  };
  const double extra_hops = hops(head, west) + hops(east, west) + hops(east, embed) -
                            hops(head, east) - hops(west, embed);
  EXPECT_DOUBLE_EQ(noc_bit_hops(b) - noc_bit_hops(a), D * 32 * extra_hops);
}

}  // namespace
}  // namespace aimc

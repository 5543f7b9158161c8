// The host link (SystemConfig.host) in the timed run, against closed forms: a prompt's ids go in
// before its prefill and each generated id goes out, each transfer latency + bytes / bandwidth,
// one direction's transfers serialize, and the energy is bits x e_pj_per_bit. Without a host
// link (a chip config alone) nothing changes.
#include <gtest/gtest.h>

#include <string>

#include "arch/chip_links.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "sim/chip/timing_run.h"
#include "workloads/shape_cards.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

const workloads::ModelConfig& model() {
  static const workloads::ModelConfig m =
      workloads::resolve_model(kRoot + "/workloads/models/tinyllama-bytes");
  return m;
}

const proto::ChipConfig& chip() {
  static const proto::ChipConfig c = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  return c;
}

sim::SimOptions tokens(int P, int D, int batch = 1) {
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.batch = batch;
  return o;
}

sim::SimOptions::HostLink host(double gbps, double latency_ns, double pj_per_bit) {
  sim::SimOptions::HostLink h;
  h.enabled = true;
  h.bandwidth_gbps = gbps;
  h.latency_ns = latency_ns;
  h.e_pj_per_bit = pj_per_bit;
  return h;
}

proto::SimReport on_chip(sim::SimOptions o) {
  return sim::simulate(chip(), model(), "dense", o);
}

double energy(const proto::PhaseEnergy& p, const std::string& name) {
  for (const auto& e : p.by_component())
    if (e.name() == name) return e.nj_per_token();
  return -1;
}

// One sequence on one chip: the prompt's P ids (P x 4 bytes) go in before the prefill, the first
// generated id goes out after it; so TTFT grows by exactly both closed forms, every decode
// token's end by the same (its chain starts that much later, its id goes out), and the time
// between tokens is unchanged. The host link's energy is bits x e_pj_per_bit.
TEST(HostLink, PromptInAndTokenOutAddTheirClosedFormsToTtft) {
  const int P = 4, D = 6;
  sim::SimOptions o = tokens(P, D);
  const proto::SimReport a = on_chip(o);
  o.host = host(0.5, 800, 10);  // 0.5 bytes per ns: 16 bytes in 32 ns, 4 bytes in 8 ns
  const proto::SimReport b = on_chip(o);
  const arch::LinkChannel ch(0.5, 800);
  const double in_ns = ch.unloaded_ps(32.0 * P) * 1e-3, out_ns = ch.unloaded_ps(32) * 1e-3;
  ASSERT_DOUBLE_EQ(in_ns, 832);
  ASSERT_DOUBLE_EQ(out_ns, 808);
  EXPECT_NEAR(b.ttft_ns() - a.ttft_ns(), in_ns + out_ns, 1e-6);
  ASSERT_EQ(b.decode_token_latency_ns_size(), D);
  for (int k = 0; k < D; ++k) {
    EXPECT_NEAR(b.decode_token_latency_ns(k), a.decode_token_latency_ns(k), 1e-6) << k;
    EXPECT_NEAR(b.tokens(P + k).end_ns() - a.tokens(P + k).end_ns(), in_ns + out_ns, 1e-6) << k;
    EXPECT_NEAR(b.tokens(P + k).start_ns() - a.tokens(P + k).start_ns(), in_ns, 1e-6) << k;
  }
  for (int p = 0; p < P; ++p) EXPECT_NEAR(b.tokens(p).start_ns(), in_ns, 1e-6) << p;
  // Energy: prefill P ids in and the first id out, decode one id out per token.
  EXPECT_DOUBLE_EQ(energy(b.prefill(), "host_link") * P, (P + 1) * 32 * 10 * 1e-3);
  EXPECT_DOUBLE_EQ(energy(b.decode(), "host_link") * D, D * 32 * 10 * 1e-3);
  EXPECT_EQ(energy(a.decode(), "host_link"), -1);  // no host link, no entry
  ASSERT_TRUE(b.has_host_link());
  EXPECT_FALSE(a.has_host_link());
  EXPECT_DOUBLE_EQ(b.host_link().bytes_in(), 4.0 * P);
  EXPECT_DOUBLE_EQ(b.host_link().bytes_out(), 4.0 * (D + 1));
  EXPECT_EQ(b.host_link().transfers_in(), 1u);
  EXPECT_EQ(b.host_link().transfers_out(), static_cast<uint64_t>(D + 1));
  EXPECT_DOUBLE_EQ(b.host_link().energy_nj(), (P + D + 1) * 32 * 10 * 1e-3);
  EXPECT_DOUBLE_EQ(b.host_link().utilization_in(), 32.0 / b.total_time_ns());
  // Dynamic energy on the chip is unchanged (leakage follows the longer run).
  for (const char* item : {"crossbar", "adc", "dpu", "noc", "dram"}) {
    EXPECT_DOUBLE_EQ(energy(b.decode(), item), energy(a.decode(), item)) << item;
    EXPECT_DOUBLE_EQ(energy(b.prefill(), item), energy(a.prefill(), item)) << item;
  }
  // The phase total includes the host link.
  double sum = 0;
  for (const auto& e : b.decode().by_component()) sum += e.nj_per_token();
  EXPECT_NEAR(sum, b.decode().total_nj_per_token(), 1e-9 * sum);
}

// Three sequences' prompts leave the host together and serialize on its inbound direction:
// sequence q's prompt reaches chip 0 at latency + (q + 1) x serialization.
TEST(HostLink, PromptsOfABatchSerializeOnTheInboundLink) {
  const int P = 4, D = 2, B = 3;
  sim::SimOptions o = tokens(P, D, B);
  o.host = host(0.016, 1000, 10);  // 16 bytes in 1000 ns
  const proto::SimReport r = on_chip(o);
  for (int q = 0; q < B; ++q)
    EXPECT_NEAR(r.tokens(q * (P + D)).start_ns(), 1000 + (q + 1) * 1000, 1e-6) << "sequence " << q;
  EXPECT_EQ(r.host_link().transfers_in(), static_cast<uint64_t>(B));
  EXPECT_DOUBLE_EQ(r.host_link().bytes_out(), 4.0 * B * (D + 1));
}

// A request's prompt crosses the host link when it is admitted; at low load each request's
// TTFT (arrival to its first id at the host) grows by exactly in + out.
TEST(HostLink, RequestTtftGrowsByBothTransfers) {
  sim::SimOptions o;
  for (int k = 0; k < 3; ++k) o.requests.push_back({k * 1e6, 3, 2});  // a millisecond apart
  o.max_batch = 2;
  const proto::SimReport a = on_chip(o);
  o.host = host(0.5, 800, 10);
  const proto::SimReport b = on_chip(o);
  const arch::LinkChannel ch(0.5, 800);
  const double extra = (ch.unloaded_ps(32.0 * 3) + ch.unloaded_ps(32)) * 1e-3;
  ASSERT_EQ(b.requests().timings_size(), 3);
  for (int k = 0; k < 3; ++k) {
    const auto &ra = a.requests().timings(k), &rb = b.requests().timings(k);
    EXPECT_NEAR(rb.first_token_ns() - ra.first_token_ns(), extra, 1e-6) << k;
    EXPECT_NEAR(rb.finished_ns() - ra.finished_ns(), extra, 1e-6) << k;
  }
}

// Two chips: a generated id crosses the chip link to chip 0 (as the fed-back token does), then
// the host link; decode timing between tokens is unchanged, TTFT grows by in + chip link + out, and
// the first id's crossing is counted in prefill (it leaves for the host when made).
TEST(HostLink, SystemOfTwoChipsSendsTokensOutThroughChipZero) {
  const int P = 4, D = 5;
  proto::SystemConfig sys =
      proto::load_system_config(kRoot + "/tests/fixtures/systems/two-small.pbtxt");
  ASSERT_FALSE(sys.host().enabled());  // no host block in the file
  const proto::SystemPlan plan = mapping::make_system_plan(model(), sys, {});
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model(), sys, plan, "dense");
  ASSERT_EQ(chips.head_chip, 1);
  const proto::SimReport a = sim::simulate(sys, model(), plan, chips, tokens(P, D));
  sys.mutable_host()->set_enabled(true);
  sys.mutable_host()->set_bandwidth_gbps(0.5);
  sys.mutable_host()->set_latency_ns(800);
  sys.mutable_host()->set_e_pj_per_bit(7);
  const proto::SimReport b = sim::simulate(sys, model(), plan, chips, tokens(P, D));
  // The first id also crosses the chip link from lm_head's chip 1 to chip 0 (100 ns + 32 bits
  // at 50 GB/s), which it did before only to be fed back after the prefill.
  const arch::LinkChannel ch(0.5, 800);
  const arch::ChipLinks links(mapping::link_spec(sys));
  ASSERT_EQ(links.unloaded_ps(1, 32), 100'080);
  EXPECT_NEAR(b.ttft_ns() - a.ttft_ns(),
              (ch.unloaded_ps(32.0 * P) + links.unloaded_ps(1, 32) + ch.unloaded_ps(32)) * 1e-3,
              1e-6);
  for (int k = 0; k < D; ++k)
    EXPECT_NEAR(b.decode_token_latency_ns(k), a.decode_token_latency_ns(k), 1e-6) << k;
  EXPECT_EQ(b.system().prefill_link_bit_hops(), a.system().prefill_link_bit_hops() + 32);
  EXPECT_EQ(b.system().decode_link_bit_hops(), a.system().decode_link_bit_hops());
  ASSERT_TRUE(b.system().has_host_link());
  EXPECT_DOUBLE_EQ(b.system().host_link().energy_nj(), (P + D + 1) * 32 * 7 * 1e-3);
  EXPECT_DOUBLE_EQ(energy(b.decode(), "host_link") * D, D * 32 * 7 * 1e-3);
}

// A host link far slower than the chips (1 MB/s: a 32-bit id out every 4 us) bounds the
// generated tokens: the batch's decode throughput is bandwidth / 4 bytes = 250,000 tokens/s, the
// host link's outgoing direction is named the bottleneck, busy the whole decode phase; the map
// estimate of the same system gives that closed form and names it too. A fast host link (the
// presets' 64 GB/s) leaves both as they were without one.
TEST(HostLink, ASlowHostLinkIsTheNamedBottleneckInTheRunAndTheMap) {
  const int P = 4, D = 16, B = 32;
  proto::SystemConfig sys =
      proto::load_system_config(kRoot + "/tests/fixtures/systems/two-small.pbtxt");
  const proto::SystemPlan none = mapping::make_system_plan(model(), sys, {});
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model(), sys, none, "dense");
  const proto::SimReport a = sim::simulate(sys, model(), none, chips, tokens(P, D, B));
  EXPECT_EQ(none.estimate().host_link_ns_per_token(), 0);
  ASSERT_GT(a.batch().decode_tokens_per_s(), 4 * 250'000.0);  // the chips alone are faster
  EXPECT_EQ(a.batch().bottleneck().rfind("host link", 0), std::string::npos);

  sys.mutable_host()->set_enabled(true);
  sys.mutable_host()->set_bandwidth_gbps(64);
  sys.mutable_host()->set_latency_ns(1000);
  const proto::SystemPlan fast = mapping::make_system_plan(model(), sys, {});
  EXPECT_DOUBLE_EQ(fast.estimate().host_link_ns_per_token(), 4 / 64.0);
  EXPECT_EQ(fast.estimate().bottleneck(), none.estimate().bottleneck());
  EXPECT_EQ(fast.estimate().pipeline_tokens_per_s(), none.estimate().pipeline_tokens_per_s());
  const proto::SimReport f = sim::simulate(sys, model(), fast, chips, tokens(P, D, B));
  EXPECT_EQ(f.batch().bottleneck(), a.batch().bottleneck());
  EXPECT_NEAR(f.batch().decode_tokens_per_s(), a.batch().decode_tokens_per_s(),
              1e-3 * a.batch().decode_tokens_per_s());

  sys.mutable_host()->set_bandwidth_gbps(0.001);
  const double closed_form = 0.001e9 / 4;  // bytes per second over bytes per token
  const proto::SystemPlan slow = mapping::make_system_plan(model(), sys, {});
  EXPECT_DOUBLE_EQ(slow.estimate().host_link_ns_per_token(), 4000);
  EXPECT_DOUBLE_EQ(slow.estimate().pipeline_tokens_per_s(), closed_form);
  EXPECT_EQ(slow.estimate().bottleneck(), "host link chip 0 -> host");
  const proto::SimReport r = sim::simulate(sys, model(), slow, chips, tokens(P, D, B));
  EXPECT_NEAR(r.batch().decode_tokens_per_s(), closed_form, 0.01 * closed_form);
  EXPECT_EQ(r.batch().bottleneck(), "host link chip 0 -> host");
  EXPECT_GT(r.batch().bottleneck_utilization(), 0.99);
  EXPECT_LE(r.batch().bottleneck_utilization(), 1 + 1e-9);
  EXPECT_EQ(r.system().bottleneck(), "host link chip 0 -> host");
  EXPECT_DOUBLE_EQ(r.host_link().bytes_out(), 4.0 * B * (D + 1));
}

}  // namespace
}  // namespace aimc

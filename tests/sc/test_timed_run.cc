// Regression tier: a whole timed run of a mapped model. Decode latency grows with the context
// once attention dominates, and jumps when the KV cache spills to DRAM; the report is complete.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "mapping/mapper.h"
#include "sc_test_util.h"
#include "sim/chip/timing_run.h"
#include "sim/report/sim_report.h"

namespace aimc {
namespace {

TEST(TimedRun, DecodeLatencyGrowsWithContextAndJumpsAtSpill) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  // 2 blocks x 2 (K, V) x 2 kv heads x 64 x 8 bit = 512 bytes per token: 200 tokens in SRAM.
  chip.mutable_memory()->set_kv_sram_bytes(200 * 512);
  // Wide DPUs, so that attention is bound by reading the KV cache rather than by arithmetic.
  chip.mutable_dpu()->set_lanes(4096);
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 1;
  o.decode_tokens = 300;
  const proto::SimReport r = sim::simulate(chip, model, plan, o);
  ASSERT_EQ(r.decode_token_latency_ns_size(), 300);
  EXPECT_EQ(r.kv_cache().bytes_per_token(), 512u);
  EXPECT_EQ(r.kv_cache().sram_capacity_tokens(), 200u);
  EXPECT_EQ(r.kv_cache().first_dram_token(), 200);
  // Decode token k runs at position k + 1 (after one prompt token).
  auto lat = [&](int position) { return r.decode_token_latency_ns(position - 1); };
  EXPECT_GT(lat(150), lat(50));
  EXPECT_GT(lat(199), lat(100));
  std::printf(
      "decode latency at positions 50, 150, 199, 201, 250, 299: %.0f %.0f %.0f %.0f %.0f "
      "%.0f ns\n",
      lat(50), lat(150), lat(199), lat(201), lat(250), lat(299));
  // SRAM and DRAM stream their parts of the cache in parallel, so the latency is continuous at
  // the spill but its growth per token jumps by about the bandwidth ratio (256 / 25.6 GB/s).
  const double before = (lat(199) - lat(169)) / 30.0;
  const double after = (lat(260) - lat(230)) / 30.0;
  EXPECT_GT(before, 0);
  EXPECT_GT(after, 5 * before) << "growth per token before " << before << " after " << after;
  EXPECT_GT(r.decode().total_nj_per_token(), 0);
  EXPECT_GT(r.ttft_ns(), 0);
}

TEST(TimedRun, PrefillPipelinesAcrossLayers) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions one, many;
  one.prompt_tokens = 1;
  one.decode_tokens = 0;
  many.prompt_tokens = 16;
  many.decode_tokens = 0;
  const proto::SimReport a = sim::simulate(chip, model, plan, one);
  const proto::SimReport b = sim::simulate(chip, model, plan, many);
  // 16 prompt tokens take far less than 16 times one (layers overlap across tokens).
  EXPECT_LT(b.ttft_ns(), 0.6 * 16 * a.ttft_ns());
  EXPECT_GT(b.ttft_ns(), a.ttft_ns());
}

TEST(TimedRun, WritesBoundedTraceAndSummary) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 2;
  o.decode_tokens = 2;
  o.trace_path = std::string(AIMC_BINARY_DIR) + "/test_timed_run_trace.json";
  o.trace_filter = "tile0,dpu,controller";
  const proto::SimReport r = sim::simulate(chip, model, plan, o);
  std::ifstream in(o.trace_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string trace = ss.str();
  EXPECT_NE(trace.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(trace.find("chip.tile0"), std::string::npos);
  EXPECT_EQ(trace.find("chip.tile1\""), std::string::npos);  // filtered out
  EXPECT_NE(trace.find("decode token"), std::string::npos);
  const std::string summary = sim::format_summary(r);
  EXPECT_NE(summary.find("time to first token"), std::string::npos);
  EXPECT_NE(sim::report_to_json(r).find("\"ttft_ns\""), std::string::npos);
  std::remove(o.trace_path.c_str());
}

}  // namespace
}  // namespace aimc

namespace aimc {
namespace {

TEST(TimedRun, EveryMappingStrategyRuns) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  sim::SimOptions o;
  o.prompt_tokens = 8;
  o.decode_tokens = 4;
  for (const std::string& s : mapping::strategy_names()) {
    const proto::SimReport r = sim::simulate(chip, model, s, o);  // maps with strategy s
    EXPECT_EQ(r.mapping().strategy(), s);
    EXPECT_GT(r.ttft_ns(), 0) << s;
    EXPECT_GT(r.decode_latency_ns(), 0) << s;
    EXPECT_EQ(r.decode_token_latency_ns_size(), 4) << s;
    std::printf("%-10s ttft %8.0f ns  decode %8.0f ns/token  %8.1f nJ/token\n", s.c_str(),
                r.ttft_ns(), r.decode_latency_ns(), r.decode().total_nj_per_token());
  }
}

}  // namespace
}  // namespace aimc

namespace aimc {
namespace {

TEST(TimedRun, TraceWindowDropsSpansOutsideIt) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  sim::SimOptions o;
  o.prompt_tokens = 2;
  o.decode_tokens = 4;
  o.trace_path = std::string(AIMC_BINARY_DIR) + "/test_timed_run_window.json";
  o.trace_filter = "controller";
  o.trace_start_us = 0;
  o.trace_end_us = 1;  // the first microsecond: no token has ended yet
  const proto::SimReport r = sim::simulate(chip, model, "dense", o);
  ASSERT_GT(r.tokens(0).end_ns(), 1000);
  std::ifstream in(o.trace_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string trace = ss.str();
  // Token spans start at 0 and overlap the window; later decode tokens start after it.
  EXPECT_NE(trace.find("prefill token"), std::string::npos);
  EXPECT_EQ(trace.find("decode token"), std::string::npos);
  std::remove(o.trace_path.c_str());
}

}  // namespace
}  // namespace aimc

namespace aimc {
namespace {

TEST(TimedRun, RejectsAPlanOfAnotherModel) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  workloads::ModelConfig other = model;
  other.intermediate_size = 768;
  EXPECT_THROW(sim::simulate(chip, other, plan, {}), UserError);
}

}  // namespace
}  // namespace aimc

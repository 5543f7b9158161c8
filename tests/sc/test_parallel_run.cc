// A system's timed run on several threads (each owning a set of chips, sim/chip/parallel_run.cc)
// gives the report of the run on one thread, bit for bit, whatever the split of the chips:
// pipelines, layers split over chips (by output and by input), a host link, multi-hop routes,
// on-chip paths to the ports. Runs that cannot share the chips (power gating, request mode) run
// on one thread and give the same report too.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "mapping/system_mapper.h"
#include "proto/system_config_io.h"
#include "sim/chip/timing_run.h"
#include "tests/sc/run_measures.h"
#include "workloads/shape_cards.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

// The report without what measures the simulator itself (wall and CPU time, activations of the
// controller's process, which the threads change, and the part reads replayed, which one lane
// does and several do not: sim/chip/replay.cc).
proto::SimReport results(proto::SimReport r) {
  return sim::testing::without_run_measures(
      std::move(r), {"controller.activations", "controller.replayed_part_reads"});
}

struct Case {
  std::string system;  // under tests/fixtures/systems or configs/systems
  std::string model;   // a shape card (no weights: nothing forces one thread)
  mapping::SystemMapOptions map;
  int batch = 2;
};

proto::SimReport run(const Case& c, int threads, std::vector<int> lanes = {},
                     void (*edit)(proto::SystemConfig*) = nullptr, bool in_turn = false,
                     int tokens = 3) {
  proto::SystemConfig system = proto::load_system_config(kRoot + "/" + c.system);
  if (edit) edit(&system);
  // The bundled model's shape (its weights not loaded: no numbers, nothing forces one thread).
  const workloads::ModelConfig model =
      c.model == "tinyllama-bytes"
          ? workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes").config
          : workloads::shape_card(c.model);
  const proto::SystemPlan plan = mapping::make_system_plan(model, system, c.map);
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model, system, plan, "dense");
  sim::SimOptions o;
  o.prompt_tokens = tokens;
  o.decode_tokens = tokens;
  o.lanes_in_turn = in_turn;
  o.batch = c.batch;
  o.threads = threads;
  o.lane_of_chip = std::move(lanes);
  return results(sim::simulate(system, model, plan, chips, o));
}

void expect_same(const proto::SimReport& a, const proto::SimReport& b, const std::string& what) {
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(a, b)) << what << ": " << diff.substr(0, 2000);
}

// Each case at 1 thread, 2 threads (consecutive chips balanced by tiles), 2 threads with every
// other chip on the other lane (each hop between chips crosses lanes), and 3 threads.
void check(const Case& c, void (*edit)(proto::SystemConfig*) = nullptr) {
  const proto::SimReport one = run(c, 1, {}, edit);
  ASSERT_GT(one.decode_tokens(), 0);
  expect_same(one, run(c, 2, {}, edit), c.system + " at 2 threads");
  expect_same(one, run(c, 2, {0, 1}, edit), c.system + " at 2 threads, alternate chips");
  expect_same(one, run(c, 3, {2, 0, 1, 1}, edit), c.system + " at 3 threads, odd split");
  expect_same(one, run(c, 2, {}, edit, true), c.system + ", two lanes in turn");
}

TEST(ParallelRun, PipelineOfTwoChipsIsTheSameOnAnyThreads) {
  check({"tests/fixtures/systems/two-small.pbtxt", "tinyllama-bytes", {}, 3});
}

TEST(ParallelRun, LayersSplitOverChipsAreTheSameOnAnyThreads) {
  Case c{"tests/fixtures/systems/split-blocks.pbtxt", "tinyllama-bytes", {}, 2};
  check(c);
  c.map.split = mapping::SplitKind::kInput;
  check(c);
}

TEST(ParallelRun, HostLinkMultiHopRoutesAndPortsAreTheSameOnAnyThreads) {
  // Sixteen chips on a 4 x 4 torus with the host link (routes of two hops, lm_head streamed
  // from the last chip's DRAM), then the same with each chip's mesh between DPUs and ports.
  check({"configs/systems/phi3-mini-hermes16.pbtxt", "phi-3-mini-4k", {}, 4});
  check({"configs/systems/phi3-mini-hermes16.pbtxt", "phi-3-mini-4k", {}, 4},
        [](proto::SystemConfig* s) { s->mutable_links()->set_route_via_ports(true); });
}

// The lookahead by distance: on the 8B preset split in two (chips 0-15 and 16-31 of an 8 x 4
// torus) the routes 15 -> 16 and 31 -> 0 cross the lanes through chips 8 and 24, whose own events
// are 9 messages away from the other lane but whose hops of those routes are 1. With the lanes in
// turn on one thread, each runs as far as its promises allow before the other runs (the furthest
// any timing of threads could take it): a distance too long (a hop counted as an event of its
// chip, say) lets a lane issue an event later than a message still to come, which the lane that
// receives it reports as a logic error. The same with every other chip on the other lane.
TEST(ParallelRun, LookaheadByDistanceLetsNoLaneRunPastAMessage) {
  const Case c{"configs/systems/llama3-8b-hermes32.pbtxt", "llama-3.1-8b", {}, 16};
  const proto::SimReport one = run(c, 1, {}, nullptr, false, 2);
  ASSERT_GT(one.decode_tokens(), 0);
  expect_same(one, run(c, 2, {}, nullptr, true, 2), "8B preset, two lanes in turn");
  expect_same(one, run(c, 2, {0, 1}, nullptr, true, 2), "8B preset, alternate chips in turn");
  expect_same(one, run(c, 2, {}, nullptr, false, 2), "8B preset at 2 threads");
}

TEST(ParallelRun, GatedChipsRunOnOneThreadWithTheSameReport) {
  check({"configs/systems/llama3-8b-hermes32-gated.pbtxt", "llama-3.1-8b", {}, 2});
}

}  // namespace
}  // namespace aimc

// Exact replay of part reads (sim/chip/replay.cc, docs/systems.md section 8): a run with it gives
// the report of a run without it (SimOptions::replay = false, `run --no-replay`) bit for bit but
// for what measures the simulator itself: chip presets, the 8B system at a batch, Phi-3 on 16
// chips with the host link, layers split over chips (by output and by input), request mode, the
// gated 8B (replay off by rule) and NorthPole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "sim/serving/arrivals.h"
#include "tests/sc/run_measures.h"
#include "workloads/dataset.h"
#include "workloads/shape_cards.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

constexpr const char* kReplayed = "controller.replayed_part_reads";

double replayed(const proto::SimReport& r) {
  for (const proto::Statistic& s : r.statistics())
    if (s.name() == kReplayed) return s.value();
  return -1;
}

// The report without what measures the simulator itself (wall and CPU time) and the count of
// replayed reads.
proto::SimReport results(proto::SimReport r) {
  return sim::testing::without_run_measures(std::move(r), {kReplayed});
}

const workloads::TransformerWeights& bundled() {
  static const workloads::TransformerWeights w =
      workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes");
  return w;
}

workloads::ModelConfig model_of(const std::string& name) {
  return name == "tinyllama-bytes" ? bundled().config : workloads::shape_card(name);
}

void expect_same(const proto::SimReport& a, const proto::SimReport& b, const std::string& what) {
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(results(a), results(b))) << what << ": " << diff.substr(0, 2000);
}

// `o` with replay off, on, and on with every replayed group simulated in full at its first
// member's end; returns the part reads replayed.
template <typename Simulate>
double check(const std::string& what, sim::SimOptions o, Simulate simulate) {
  o.replay = false;
  const proto::SimReport off = simulate(o);
  EXPECT_GT(off.decode_tokens() + off.requests().requests(), 0u) << what;
  EXPECT_EQ(replayed(off), 0) << what;
  o.replay = true;
  const proto::SimReport on = simulate(o);
  expect_same(off, on, what + ", replay on");
  o.replay_materialize_always = true;
  const proto::SimReport always = simulate(o);
  expect_same(off, always, what + ", every replay materialized");
  EXPECT_EQ(replayed(always), replayed(on)) << what;
  return replayed(on);
}

sim::SimOptions tokens(int P, int D, int batch) {
  sim::SimOptions o;
  o.prompt_tokens = P;
  o.decode_tokens = D;
  o.batch = batch;
  return o;
}

double check_system(const std::string& path, const std::string& model_name, sim::SimOptions o,
                    const mapping::SystemMapOptions& map = {}, bool host = false,
                    bool ports = false) {
  proto::SystemConfig system = proto::load_system_config(kRoot + "/" + path);
  if (ports) system.mutable_links()->set_route_via_ports(true);
  const workloads::ModelConfig model = model_of(model_name);
  const proto::SystemPlan plan = mapping::make_system_plan(model, system, map);
  const mapping::SystemChipPlans chips = mapping::make_chip_plans(model, system, plan, "dense");
  if (host) o.host = sim::host_link(system);
  return check(path + " " + model_name, o, [&](const sim::SimOptions& x) {
    return sim::simulate(system, model, plan, chips, x);
  });
}

TEST(Replay, ChipPresetsGiveTheSameReport) {
  for (const char* preset : {"default", "hermes", "ibm34", "isaac", "llama1b"}) {
    const proto::ChipConfig chip =
        proto::load_chip_config(kRoot + "/configs/" + std::string(preset) + ".pbtxt");
    check(preset, tokens(4, 4, 2), [&](const sim::SimOptions& x) {
      return sim::simulate(chip, bundled().config, "dense", x);
    });
  }
}

TEST(Replay, RunWithWeightsGivesTheSameReportAndNumbers) {
  const proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/default.pbtxt");
  const workloads::TokenIds calib =
      workloads::load_tokens(kRoot + "/workloads/data/kjv-calib.txt", bundled().config.vocab_size);
  const workloads::LayerInputRanges ranges = sim::chip_input_ranges(chip, bundled(), calib);
  sim::SimOptions o = tokens(3, 3, 2);
  o.weights = &bundled();
  o.input_ranges = &ranges;
  o.record_logits = true;
  check("default with weights", o, [&](const sim::SimOptions& x) {
    return sim::simulate(chip, bundled().config, "dense", x);
  });
}

TEST(Replay, RequestModeGivesTheSameReport) {
  const proto::ChipConfig chip = proto::load_chip_config(kRoot + "/configs/hermes.pbtxt");
  sim::SimOptions o;
  o.requests = sim::poisson_arrivals(20000, 24, 4, 4, 7);
  o.max_batch = 4;
  check("hermes, requests", o, [&](const sim::SimOptions& x) {
    return sim::simulate(chip, bundled().config, "dense", x);
  });
  check_system("tests/fixtures/systems/two-small.pbtxt", "tinyllama-bytes", o);
}

// The decode of the 8B preset replays (each chip is quiet when a token's block reaches it).
TEST(Replay, Llama8bPresetReplaysItsDecodeWithTheSameReport) {
  EXPECT_GT(
      check_system("configs/systems/llama3-8b-hermes32.pbtxt", "llama-3.1-8b", tokens(2, 3, 6)), 0);
}

// Footprint replay: most groups of the 8B's decode start on a chip whose mesh still holds
// links of other transfers (the previous token's); those away from the group's links replay
// too (the group writes no link held after its start), the others run in full. Off, fewer reads
// replay; both give the report of a run without replay.
TEST(Replay, Llama8bPresetReplaysGroupsAmongOtherTransfersWithTheSameReport) {
  sim::SimOptions o = tokens(2, 3, 6);
  o.replay_footprint = false;
  const double quiet_only =
      check_system("configs/systems/llama3-8b-hermes32.pbtxt", "llama-3.1-8b", o);
  o.replay_footprint = true;
  const double with_footprint =
      check_system("configs/systems/llama3-8b-hermes32.pbtxt", "llama-3.1-8b", o);
  EXPECT_GT(quiet_only, 0);
  EXPECT_GT(with_footprint, 1.2 * quiet_only);
}

// Power gating: no replay (the rule), the same report.
TEST(Replay, GatedLlama8bPresetGivesTheSameReport) {
  EXPECT_EQ(check_system("configs/systems/llama3-8b-hermes32-gated.pbtxt", "llama-3.1-8b",
                         tokens(2, 2, 4)),
            0);
}

TEST(Replay, Phi3WithTheHostLinkGivesTheSameReport) {
  check_system("configs/systems/phi3-mini-hermes16.pbtxt", "phi-3-mini-4k", tokens(3, 3, 4), {},
               true);
}

// Data crossing each chip's mesh to and from the link ports: transfers that are not the chip's
// reads use the mesh while groups are replayed (each such use of a group's links materializes
// it first).
TEST(Replay, Phi3WithPathsToThePortsGivesTheSameReport) {
  EXPECT_GT(check_system("configs/systems/phi3-mini-hermes16.pbtxt", "phi-3-mini-4k",
                         tokens(3, 3, 4), {}, true, true),
            0);
}

TEST(Replay, LayersSplitOverChipsGiveTheSameReport) {
  mapping::SystemMapOptions map;
  for (mapping::SplitKind split : {mapping::SplitKind::kOutput, mapping::SplitKind::kInput}) {
    map.split = split;
    check_system("tests/fixtures/systems/split-blocks.pbtxt", "tinyllama-bytes", tokens(3, 3, 2),
                 map, true);
  }
}

TEST(Replay, NorthPoleGivesTheSameReport) {
  mapping::SystemMapOptions map;
  map.lm_head = mapping::LmHeadPlacement::kTiles;
  check_system("configs/systems/northpole16.pbtxt", "llama-3.2-3b", tokens(2, 2, 4), map);
}

}  // namespace
}  // namespace aimc

// Oracle tier: where a layer's partial outputs are summed (noc.reduction). Over a whole run the
// adds, the bit-hops and the energy follow closed forms computed here from the mapping plan
// alone: in the network, each column slice's partials travel the union of their XY routes to
// the layer's DPU and are added where routes meet ((row groups - 1) x columns adds per slice);
// near-tile DPUs do the same adds the layer's DPU did.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "arch/energy_model.h"
#include "mapping/estimate.h"
#include "mapping/mapper.h"
#include "sc_test_util.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/timing_run.h"
#include "workloads/shape_cards.h"

namespace aimc {
namespace {

// One block of hidden size 512 on HERMES's 256 x 256 tiles: every layer has 2 or 4 row groups.
workloads::ModelConfig wide_model() {
  workloads::ModelConfig m = sim::testing::tiny_model();
  m.hidden_size = 512;
  m.intermediate_size = 1024;
  m.num_layers = 1;
  m.num_heads = 8;
  m.num_kv_heads = 4;
  return m;
}

double action(const proto::SimReport& r, const std::string& name) {
  for (const proto::ActionTotal& a : r.actions())
    if (a.name() == name) return a.prefill() + a.decode();
  ADD_FAILURE() << "no action " << name;
  return 0;
}

// The links of the XY route (x first) from `src` to `dst` on a mesh `mx` wide, as (node, next).
std::vector<std::pair<int, int>> xy_route(int src, int dst, int mx) {
  std::vector<std::pair<int, int>> links;
  int node = src;
  while (node % mx != dst % mx) {
    const int next = node + (dst % mx > node % mx ? 1 : -1);
    links.push_back({node, next});
    node = next;
  }
  while (node != dst) {
    const int next = node + (dst / mx > node / mx ? mx : -mx);
    links.push_back({node, next});
    node = next;
  }
  return links;
}

struct ClosedForm {
  double adds_per_token = 0;            // (row groups - 1) x columns, summed over layers
  double saved_bit_hops_per_token = 0;  // unicast hops minus union-of-routes links, x bits
};

// From the plan: per layer on tiles, its column slices (blocks sharing columns) and the layer's
// DPU node.
ClosedForm closed_form(const proto::ChipConfig& chip, const proto::MappingPlan& plan) {
  // The DPUs sit where the plan put them (the chip's spread when the plan says nothing).
  std::vector<int> dpus = sim::dpu_nodes(chip);
  if (plan.dpu_nodes_size() == static_cast<int>(dpus.size()))
    dpus.assign(plan.dpu_nodes().begin(), plan.dpu_nodes().end());
  const int mx = static_cast<int>(chip.noc().mesh_x());
  const double act_bits = chip.noc().activation_bits();
  std::map<std::pair<int, int>, std::vector<int>> slices;  // (layer, first column) -> tiles
  std::map<std::pair<int, int>, int> columns;
  for (const proto::BlockPlacement& b : plan.blocks()) {
    EXPECT_EQ(b.replica(), 0u);
    const auto key =
        std::make_pair(static_cast<int>(b.layer_index()), static_cast<int>(b.col_begin()));
    slices[key].push_back(static_cast<int>(b.tile()));
    columns[key] = static_cast<int>(b.col_end() - b.col_begin());
  }
  ClosedForm f;
  for (const auto& [key, tiles] : slices) {
    const proto::LayerPlacement& lp = plan.layers(key.first);
    const int dst = dpus[lp.dpu() % dpus.size()];
    const double bits = columns[key] * act_bits;
    f.adds_per_token += (tiles.size() - 1.0) * columns[key];
    std::set<std::pair<int, int>> tree;
    double unicast_links = 0;
    for (int t : tiles) {
      const auto route = xy_route(t, dst, mx);
      unicast_links += route.size();
      tree.insert(route.begin(), route.end());
    }
    f.saved_bit_hops_per_token += bits * (unicast_links - tree.size());
  }
  return f;
}

TEST(ReductionOracle, InNetworkAddsAndBitHopsFollowThePlan) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = wide_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  ASSERT_FALSE(chip.mapping().lm_head_on_tiles());  // every token runs every layer on tiles
  const ClosedForm f = closed_form(chip, plan);
  // q 512 + k 256 + v 256 + o 512 + gate 1024 + up 1024 (2 row groups each), down 3 x 512.
  EXPECT_EQ(f.adds_per_token, 5120);
  ASSERT_GT(f.saved_bit_hops_per_token, 0);
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const double tokens = 7;
  const proto::SimReport at_dpu = sim::simulate(chip, model, plan, o);
  chip.mutable_noc()->set_reduction(proto::REDUCE_IN_NETWORK);
  const proto::SimReport in_net = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(action(at_dpu, "noc_adds"), 0);
  EXPECT_EQ(action(in_net, "noc_adds"), tokens * f.adds_per_token);
  // The adds moved from the layer's DPU into the routers; nothing else the DPUs do changed.
  EXPECT_EQ(action(at_dpu, "dpu_adds") - action(in_net, "dpu_adds"), tokens * f.adds_per_token);
  EXPECT_EQ(action(at_dpu, "dpu_muls"), action(in_net, "dpu_muls"));
  // Each slice crosses each link of its tree once instead of once per tile routed over it.
  EXPECT_EQ(action(at_dpu, "noc_bit_hops") - action(in_net, "noc_bit_hops"),
            tokens * f.saved_bit_hops_per_token);
  // The tiles did the same reads.
  EXPECT_EQ(action(at_dpu, "adc_conversions"), action(in_net, "adc_conversions"));
  // Priced: the noc energy is bit-hops x e_noc_pj_per_bit_hop + router adds x e_noc_add_pj.
  const arch::EnergySpec es = sim::energy_spec(chip);
  const double noc_pj = action(in_net, "noc_bit_hops") * es.noc_pj_per_bit_hop +
                        action(in_net, "noc_adds") * es.noc_add_pj;
  double reported = 0;
  for (const proto::PhaseEnergy* p : {&in_net.prefill(), &in_net.decode()})
    for (const proto::EnergyEntry& e : p->by_component())
      if (e.name() == "noc") reported += e.nj_per_token() * p->tokens() * 1e3;
  EXPECT_NEAR(reported, noc_pj, 1e-9 * noc_pj);
}

TEST(ReductionOracle, NearTileDpusDoTheSameAddsOnOtherDpus) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = wide_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const proto::SimReport at_dpu = sim::simulate(chip, model, plan, o);
  chip.mutable_noc()->set_reduction(proto::REDUCE_NEAR_TILE_DPUS);
  const proto::SimReport near = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(action(near, "noc_adds"), 0);
  EXPECT_EQ(action(near, "dpu_adds"), action(at_dpu, "dpu_adds"));
  EXPECT_EQ(action(near, "dpu_muls"), action(at_dpu, "dpu_muls"));
  EXPECT_NE(action(near, "noc_bit_hops"), action(at_dpu, "noc_bit_hops"));
  EXPECT_EQ(action(near, "adc_conversions"), action(at_dpu, "adc_conversions"));
}

// The map-time estimate follows noc.reduction as the timed run does. In the network each column
// slice's partials cross the union of their routes once: the estimate's partial-sum bit-hops
// fall by exactly the closed form, which is what the timed run's mesh traffic falls by per token
// (the estimate counts partials at the ADC's width, the run at activation_bits: scaled here).
// Near-tile DPUs: the estimate's bit-hops change by exactly the timed run's change.
TEST(ReductionOracle, MapEstimateFollowsTheReduction) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = wide_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  // Bits of one partial in the run over bits in the estimate (16 / 8 on HERMES).
  const double scale = chip.noc().activation_bits() / mapping::output_bits_per_element(chip);
  const ClosedForm f = closed_form(chip, plan);
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const double tokens = 7;
  auto at = [&](proto::PartialSumReduction r) {
    chip.mutable_noc()->set_reduction(r);
    return std::make_pair(mapping::estimate_plan(plan, chip), sim::simulate(chip, model, plan, o));
  };
  const auto [est_dpu, run_dpu] = at(proto::REDUCE_AT_LAYER_DPU);
  const auto [est_net, run_net] = at(proto::REDUCE_IN_NETWORK);
  const auto [est_near, run_near] = at(proto::REDUCE_NEAR_TILE_DPUS);
  EXPECT_EQ((est_dpu.output_bit_hops_per_token() - est_net.output_bit_hops_per_token()) * scale,
            f.saved_bit_hops_per_token);
  EXPECT_EQ((action(run_dpu, "noc_bit_hops") - action(run_net, "noc_bit_hops")) / tokens,
            f.saved_bit_hops_per_token);
  EXPECT_EQ((est_near.output_bit_hops_per_token() - est_dpu.output_bit_hops_per_token()) * scale,
            (action(run_near, "noc_bit_hops") - action(run_dpu, "noc_bit_hops")) / tokens);
  // Inputs do not depend on the reduction.
  EXPECT_EQ(est_net.input_bit_hops_per_token(), est_dpu.input_bit_hops_per_token());
  EXPECT_EQ(est_near.input_bit_hops_per_token(), est_dpu.input_bit_hops_per_token());
  // Latency: in the network the DPU's adds leave each layer's path (one adder stage per merge
  // instead): the estimate's per-token path is shorter.
  EXPECT_LT(est_net.critical_path_ns_per_token(), est_dpu.critical_path_ns_per_token());
}

// On Llama-3.2-1B (down projection: 16 row groups) the in-network reduction shortens the timed
// decode token; the estimate shortens its per-token path in the same direction and by a similar
// share (the estimate leaves out attention, norms and queueing at the DPUs).
TEST(ReductionOracle, MapEstimateAndTimedRunAgreeOnTheInNetworkSaving) {
  proto::ChipConfig chip = sim::testing::preset("llama1b");
  const workloads::ModelConfig model = workloads::shape_card("llama-3.2-1b");
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 2;
  o.decode_tokens = 2;
  const proto::PlanEstimate est_dpu = mapping::estimate_plan(plan, chip);
  const proto::SimReport run_dpu = sim::simulate(chip, model, plan, o);
  chip.mutable_noc()->set_reduction(proto::REDUCE_IN_NETWORK);
  const proto::PlanEstimate est_net = mapping::estimate_plan(plan, chip);
  const proto::SimReport run_net = sim::simulate(chip, model, plan, o);
  const double est_saving =
      est_dpu.critical_path_ns_per_token() - est_net.critical_path_ns_per_token();
  const double run_saving = run_dpu.decode_latency_ns() - run_net.decode_latency_ns();
  EXPECT_GT(est_saving, 0);
  EXPECT_GT(run_saving, 0);
  // Relative to each one's per-token figure (measured 26 % of the estimate's 43.9 us path, 13 % of
  // the run's 461 us token): the same size within a factor of 3. The estimate's absolute saving
  // (11.5 us) is a fifth of the run's (60 us): it has no queueing at the layer's DPU, and that
  // funnel's queueing is most of what the run saves.
  const double est_rel = est_saving / est_dpu.critical_path_ns_per_token();
  const double run_rel = run_saving / run_dpu.decode_latency_ns();
  EXPECT_GT(est_rel, run_rel / 3) << est_rel << " vs " << run_rel;
  EXPECT_LT(est_rel, run_rel * 3) << est_rel << " vs " << run_rel;
}

}  // namespace
}  // namespace aimc

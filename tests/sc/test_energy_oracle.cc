// Oracle tier: with every per-action energy 1 and leakage 0, the energy the model reports equals
// the sum of the action counts, for a whole prefill + decode run.
#include <gtest/gtest.h>

#include "arch/energy_model.h"
#include "mapping/mapper.h"
#include "sc_test_util.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

TEST(EnergyOracle, EnergyEqualsCountsWithUnitEnergies) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  proto::EnergyConfig* e = chip.mutable_energy();
  const google::protobuf::Descriptor* d = e->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& n = d->field(i)->name();
    e->GetReflection()->SetDouble(e, d->field(i), n.rfind("p_", 0) == 0 ? 0.0 : 1.0);
  }
  e->set_e_cell_read_fj(1000);  // 1 pJ: the config states cell reads in fJ
  chip.mutable_tile()->mutable_digital()->set_e_mac_pj(1);
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const proto::SimReport r = sim::simulate(chip, model, plan, o);
  double prefill = 0, decode = 0;
  for (const proto::ActionTotal& a : r.actions()) {
    prefill += a.prefill();
    decode += a.decode();
  }
  ASSERT_GT(prefill, 0);
  ASSERT_GT(decode, 0);
  // nJ per token x tokens x 1000 = pJ = counts.
  EXPECT_NEAR(r.prefill().total_nj_per_token() * 4 * 1000, prefill, 1e-9 * prefill);
  EXPECT_NEAR(r.decode().total_nj_per_token() * 3 * 1000, decode, 1e-9 * decode);
  // The per-layer split adds up to the same dynamic energy.
  double by_layer = 0;
  for (const proto::EnergyEntry& l : r.decode().by_layer()) by_layer += l.nj_per_token();
  EXPECT_NEAR(by_layer * 3 * 1000, decode, 1e-9 * decode);
}

double entry_nj(const proto::PhaseEnergy& phase, const std::string& name) {
  for (const proto::EnergyEntry& e : phase.by_component())
    if (e.name() == name) return e.nj_per_token();
  ADD_FAILURE() << "no energy entry " << name;
  return 0;
}

TEST(EnergyOracle, PowerGatingLeavesOnlyUsedTilesLeaking) {
  // The tiny model on HERMES's 64 tiles leaves most tiles empty; gating them scales the tile
  // leakage by used / count and changes nothing else (timing does not depend on leakage).
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  const double used = plan.summary().tiles_used();
  const double count = chip.tile().count();
  ASSERT_GT(used, 0);
  ASSERT_LT(used, count);
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const proto::SimReport all = sim::simulate(chip, model, plan, o);
  chip.mutable_energy()->set_p_tile_gated_leak_fraction(0.25);
  const proto::SimReport gated = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(gated.prefill().time_ns(), all.prefill().time_ns());
  EXPECT_EQ(gated.decode().time_ns(), all.decode().time_ns());
  const double expect = (used + 0.25 * (count - used)) / count;
  const std::pair<const proto::PhaseEnergy*, const proto::PhaseEnergy*> phases[] = {
      {&all.prefill(), &gated.prefill()}, {&all.decode(), &gated.decode()}};
  for (const auto& [ap, gp] : phases) {
    const proto::PhaseEnergy& a = *ap;
    const proto::PhaseEnergy& g = *gp;
    ASSERT_GT(entry_nj(a, "tile_leakage"), 0);
    EXPECT_NEAR(entry_nj(g, "tile_leakage") / entry_nj(a, "tile_leakage"), expect, 1e-12);
    EXPECT_EQ(entry_nj(g, "dpu_leakage"), entry_nj(a, "dpu_leakage"));
    EXPECT_EQ(entry_nj(g, "adc"), entry_nj(a, "adc"));
    EXPECT_NEAR(a.total_nj_per_token() - g.total_nj_per_token(),
                entry_nj(a, "tile_leakage") - entry_nj(g, "tile_leakage"),
                1e-9 * a.total_nj_per_token());
  }
}

double stat_sum(const proto::SimReport& r, const std::string& suffix) {
  double s = 0;
  for (const proto::Statistic& st : r.statistics())
    if (st.name().size() > suffix.size() &&
        st.name().compare(st.name().size() - suffix.size(), suffix.size(), suffix) == 0)
      s += st.value();
  return s;
}

TEST(EnergyOracle, TileGatingPricesOffTimeAndWakeUps) {
  // Tiles idle between the tokens' reads are switched off: over the run, tile leakage falls by
  // (1 - gated fraction) x p_tile_leak_mw x the tiles' summed off time and rises by the wake-ups
  // x their energy; nothing but the tile leakage and time changes.
  proto::ChipConfig chip = sim::testing::preset("hermes");
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const proto::SimReport plain = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(stat_sum(plain, ".wake_ups"), 0);
  EXPECT_EQ(stat_sum(plain, ".gated"), 0);
  proto::GatingConfig* g = chip.mutable_power_gating()->mutable_tile();
  g->set_enabled(true);
  g->set_idle_before_gating_ns(200);
  g->set_wake_up_latency_ns(0);  // same timing: the energies compare over the same time
  g->set_wake_up_energy_pj(50);
  g->set_gated_leak_fraction(0.1);
  const proto::SimReport gated = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(gated.total_time_ns(), plain.total_time_ns());
  const double wakes = stat_sum(gated, ".wake_ups");
  const double off_ns = stat_sum(gated, ".gated");
  ASSERT_GT(wakes, 0);
  ASSERT_GT(off_ns, 0);
  const double p_mw = chip.energy().p_tile_leak_mw();
  const double expect_saved_pj = 0.9 * p_mw * off_ns - 50 * wakes;  // mW x ns = pJ
  auto run_pj = [](const proto::SimReport& r, const std::string& item) {
    return (entry_nj(r.prefill(), item) * 4 + entry_nj(r.decode(), item) * 3) * 1e3;
  };
  EXPECT_NEAR(run_pj(plain, "tile_leakage") - run_pj(gated, "tile_leakage"), expect_saved_pj,
              1e-9 * run_pj(plain, "tile_leakage"));
  EXPECT_EQ(run_pj(gated, "router_leakage"), run_pj(plain, "router_leakage"));
  EXPECT_EQ(run_pj(gated, "adc"), run_pj(plain, "adc"));
  // A wake-up latency delays the reads after an off interval.
  g->set_wake_up_latency_ns(30);
  const proto::SimReport slow = sim::simulate(chip, model, plan, o);
  EXPECT_GT(slow.total_time_ns(), plain.total_time_ns());
}

TEST(EnergyModel, GatedTileTimeAndWakeUpsClosedForm) {
  // 4 tiles of 2 mW for 10 us, off 6 us in all at 25 % leakage, 3 wake-ups of 40 pJ:
  // 4 x 2 mW x 10 us = 80,000 pJ, minus 0.75 x 2 mW x 6 us = 9,000 pJ, plus 120 pJ.
  arch::LeakageSpec l;
  l.tiles_mw = 8;
  l.tile_unit_mw = 2;
  l.tile_gated_fraction = 0.25;
  l.tile_wake_up_pj = 40;
  arch::GatingUse u;
  u.tile_off_s = 6e-6;
  u.tile_wake_ups = 3;
  EXPECT_NEAR(arch::price({}, {}, l, 1e-5, u).get("tile_leakage"), 80000 - 9000 + 120, 1e-6);
  EXPECT_NEAR(arch::price({}, {}, l, 1e-5).get("tile_leakage"), 80000, 1e-6);
}

TEST(EnergyOracle, RouterAndAdcBankGatingPriceOffTimeAndWakeUps) {
  // Routers and ADC banks idle between reads are switched off: over the run, each kind's leakage
  // falls by (1 - gated fraction) x one unit's leakage x its units' summed off time and rises by
  // its wake-ups x their energy; tile leakage and every dynamic energy stay as they were.
  proto::ChipConfig chip = sim::testing::preset("hermes");
  chip.mutable_energy()->set_p_adc_bank_leak_mw(3);
  const workloads::ModelConfig model = sim::testing::tiny_model();
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  sim::SimOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 3;
  const proto::SimReport plain = sim::simulate(chip, model, plan, o);
  auto gate = [](proto::GatingConfig* g, double fraction, double pj) {
    g->set_enabled(true);
    g->set_idle_before_gating_ns(200);
    g->set_wake_up_latency_ns(0);  // same timing: the energies compare over the same time
    g->set_wake_up_energy_pj(pj);
    g->set_gated_leak_fraction(fraction);
  };
  gate(chip.mutable_power_gating()->mutable_router(), 0.1, 20);
  gate(chip.mutable_power_gating()->mutable_adc_bank(), 0.2, 30);
  const proto::SimReport gated = sim::simulate(chip, model, plan, o);
  EXPECT_EQ(gated.total_time_ns(), plain.total_time_ns());
  auto run_pj = [](const proto::SimReport& r, const std::string& item) {
    return (entry_nj(r.prefill(), item) * 4 + entry_nj(r.decode(), item) * 3) * 1e3;
  };
  // Without gating: every bank leaks 3 mW over the whole run (64 banks of one tile each).
  const double run_ns = plain.total_time_ns();
  EXPECT_NEAR(run_pj(plain, "adc_leakage"), 64 * 3 * run_ns, 1e-9 * 64 * 3 * run_ns);
  const double router_wakes = stat_sum(gated, "noc.router_wake_ups");
  const double router_off_ns = stat_sum(gated, "noc.router_gated");
  const double bank_wakes = stat_sum(gated, "adc_bank*.wake_ups");
  const double bank_off_ns = stat_sum(gated, "adc_bank*.gated");
  ASSERT_GT(router_wakes, 0);
  ASSERT_GT(bank_wakes, 0);
  const double p_router = chip.energy().p_router_leak_mw();
  EXPECT_NEAR(run_pj(plain, "router_leakage") - run_pj(gated, "router_leakage"),
              0.9 * p_router * router_off_ns - 20 * router_wakes,
              1e-9 * run_pj(plain, "router_leakage"));
  EXPECT_NEAR(run_pj(plain, "adc_leakage") - run_pj(gated, "adc_leakage"),
              0.8 * 3 * bank_off_ns - 30 * bank_wakes, 1e-9 * run_pj(plain, "adc_leakage"));
  EXPECT_EQ(run_pj(gated, "tile_leakage"), run_pj(plain, "tile_leakage"));
  EXPECT_EQ(run_pj(gated, "noc"), run_pj(plain, "noc"));
  EXPECT_EQ(run_pj(gated, "adc"), run_pj(plain, "adc"));
  // Wake-up latencies delay the transfers and conversions after an off interval.
  chip.mutable_power_gating()->mutable_router()->set_wake_up_latency_ns(30);
  const proto::SimReport slow = sim::simulate(chip, model, plan, o);
  EXPECT_GT(slow.total_time_ns(), plain.total_time_ns());
}

TEST(EnergyModel, GatedRouterAndAdcBankClosedForm) {
  // 16 routers of 1 mW for 10 us, off 50 us in all at 5 % leakage, 7 wake-ups of 10 pJ:
  // 160,000 pJ - 0.95 x 1 mW x 50 us + 70 pJ. 4 ADC banks of 0.5 mW, off 8 us at 0 %, 2 wake-ups
  // of 25 pJ: 20,000 - 4,000 + 50 pJ.
  arch::LeakageSpec l;
  l.routers_mw = 16;
  l.router_unit_mw = 1;
  l.router_gated_fraction = 0.05;
  l.router_wake_up_pj = 10;
  l.adc_banks_mw = 2;
  l.adc_bank_unit_mw = 0.5;
  l.adc_bank_gated_fraction = 0;
  l.adc_bank_wake_up_pj = 25;
  arch::GatingUse u;
  u.router_off_s = 50e-6;
  u.router_wake_ups = 7;
  u.adc_bank_off_s = 8e-6;
  u.adc_bank_wake_ups = 2;
  const arch::EnergyBreakdown b = arch::price({}, {}, l, 1e-5, u);
  EXPECT_NEAR(b.get("router_leakage"), 160000 - 47500 + 70, 1e-6);
  EXPECT_NEAR(b.get("adc_leakage"), 20000 - 4000 + 50, 1e-6);
  EXPECT_NEAR(b.get("tile_leakage"), 0, 1e-12);
  EXPECT_NEAR(arch::price({}, {}, l, 1e-5).get("router_leakage"), 160000, 1e-6);
}

TEST(EnergyModel, PricesEachKindOnce) {
  arch::ActionCounts c;
  c.adc_conversions = 10;
  c.dram_bits = 100;
  arch::EnergySpec e;
  e.adc_conversion_pj = 2;
  e.dram_pj_per_bit = 3;
  arch::LeakageSpec l;
  l.tiles_mw = 1000;  // 1 W for 1 us = 1e6 pJ
  const arch::EnergyBreakdown b = arch::price(c, e, l, 1e-6);
  EXPECT_DOUBLE_EQ(b.get("adc"), 20);
  EXPECT_DOUBLE_EQ(b.get("dram"), 300);
  EXPECT_DOUBLE_EQ(b.get("tile_leakage"), 1e6);
  EXPECT_DOUBLE_EQ(b.total_pj(), 1e6 + 320);
}

}  // namespace
}  // namespace aimc

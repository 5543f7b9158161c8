// Oracle tier: with every per-action energy 1 and leakage 0, the energy the model reports equals
// the sum of the action counts, for a whole prefill + decode run.
#include <gtest/gtest.h>

#include "arch/energy_model.h"
#include "mapping/mapper.h"
#include "sc_test_util.h"
#include "sim/timing_run.h"

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

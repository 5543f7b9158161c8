// Oracle tier: the datasheet's power and area by component sum to the chip totals, and with
// unit energies (1 pJ per action, no leakage) the chip's energy is the sum of the peak
// workload's action counts, which follow from the geometry in closed form.
#include <gtest/gtest.h>

#include "arch/chip_costs.h"
#include "sc_test_util.h"
#include "sim/chip/datasheet.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

void expect_sums(const proto::ChipDatasheet& d) {
  double chip_mw = 0, tile_mw = 0, mm2 = 0;
  for (const auto& e : d.power_by_component()) chip_mw += e.mw();
  for (const auto& e : d.tile_power()) tile_mw += e.mw();
  for (const auto& e : d.area_by_component()) mm2 += e.mm2();
  EXPECT_NEAR(chip_mw * 1e-3, d.power_w(), 1e-9 * d.power_w()) << d.chip();
  EXPECT_NEAR(tile_mw, d.tile_power_mw(), 1e-9 * d.tile_power_mw()) << d.chip();
  EXPECT_NEAR(mm2 + d.area_overhead_mm2() + d.area_other_mm2(), d.area_mm2(), 1e-9 * d.area_mm2())
      << d.chip();
  EXPECT_NEAR(d.power_w() * d.time_ns(), d.energy_pj() * 1e-3, 1e-9 * d.energy_pj()) << d.chip();
}

TEST(DatasheetOracle, PowerAndAreaByComponentSumToTheTotals) {
  for (const char* name : {"hermes", "default", "isaac", "ibm34"}) {
    expect_sums(sim::chip_datasheet(sim::testing::preset(name), 50));
  }
}

TEST(DatasheetOracle, UnitEnergiesAndAreasCountActionsAndInstances) {
  proto::ChipConfig c = sim::testing::preset("default");
  c.mutable_tile()->set_count(8);
  c.mutable_tile()->mutable_dac()->set_encoding(proto::BIT_SERIAL);
  c.mutable_tile()->mutable_dac()->set_bits(4);
  c.mutable_tile()->mutable_adc()->set_adcs_per_tile(64);
  c.mutable_tile()->mutable_adc()->set_cols_per_adc(4);
  proto::EnergyConfig* e = c.mutable_energy();
  e->set_e_dac_drive_pj(1);
  e->set_e_adc_conversion_pj(1);
  e->set_e_tile_post_pj(1);
  e->set_e_sram_pj_per_bit(1);
  e->set_e_shift_add_pj(1);
  e->set_e_cell_read_fj(1000);
  e->set_p_tile_leak_mw(0);
  e->set_p_dpu_leak_mw(0);
  e->set_p_sram_leak_mw_per_mib(0);
  e->set_p_router_leak_mw(0);
  e->set_p_chip_static_mw(0);
  const int reads = 10;
  const proto::ChipDatasheet d = sim::chip_datasheet(c, reads);
  const double tiles = 8, rows = 256, cols = 256, n = 4;   // 4 bit-serial integrations
  const double per_read = rows * n                         // drives
                          + rows * cols * n                // cell reads
                          + cols * n                       // conversions
                          + cols                           // affine unit
                          + cols * n                       // shift-and-add
                          + 2 * rows * 4 + 2 * cols * 16;  // buffer bits
  EXPECT_DOUBLE_EQ(d.energy_pj(), per_read * reads * tiles);
  // One read: 4 integrations, each converted in 4 rounds of the shared ADCs.
  EXPECT_EQ(d.read().conversion_rounds(), 4u);
  EXPECT_EQ(d.read().integrations(), 4u);
  expect_sums(d);
}

}  // namespace
}  // namespace aimc

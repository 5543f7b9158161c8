// Regression tier: the chip datasheet (sim/chip/datasheet.h) of the presets composed from
// per-component figures against the published chips. HERMES: the peak figures equal the
// regression of test_hermes_peak, one core composes the published single-core 10.5 TOPS/W and
// 1.59 TOPS/mm2. ISAAC: a tile (12 IMAs and a quarter router) composes ~330 mW and 0.372 mm2,
// the chip of 168 tiles 65.8 W and 85.4 mm2. IBM 34-tile: the calibrated 12.4 TOPS/W anchor.
#include <gtest/gtest.h>

#include <cstdio>

#include "sc_test_util.h"
#include "sim/chip/datasheet.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

double power_mw(const proto::ChipDatasheet& d, const std::string& kind) {
  for (const auto& e : d.power_by_component())
    if (e.name() == kind) return e.mw();
  return 0;
}

TEST(Datasheet, HermesPeakEqualsTheRegressionAndOneCoreThePublishedCore) {
  const proto::ChipConfig chip = sim::testing::preset("hermes");
  const proto::ChipDatasheet d = sim::chip_datasheet(chip, 1000);
  const sim::PeakResult p = sim::run_peak_workload(chip, 1000);
  EXPECT_EQ(d.tops(), p.tops);
  EXPECT_EQ(d.tops_per_w(), p.tops_per_w);
  std::printf("HERMES core: %.4f TOPS/W (published 10.5), %.4f TOPS/mm2 (published 1.59)\n",
              d.tile_tops_per_w(), d.tile_tops_per_mm2());
  // Tolerance 5 %: the core's area split is assumed, only its sum follows from the published
  // figures (docs/validation.md).
  EXPECT_NEAR(d.tile_tops_per_w(), 10.5, 0.05 * 10.5);
  EXPECT_NEAR(d.tile_tops_per_mm2(), 1.59, 0.05 * 1.59);
  EXPECT_EQ(d.read().bound(), "integration");
  EXPECT_NEAR(d.read().steady_ns(), 133, 0.5);
}

TEST(Datasheet, HermesFourPhaseModeKeepsTheCoreArea) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  chip.mutable_tile()->mutable_dac()->set_read_phases(4);
  const proto::ChipDatasheet d = sim::chip_datasheet(chip, 1000);
  EXPECT_NEAR(d.tops(), 16.1, 0.10 * 16.1);
  EXPECT_NEAR(d.tops_per_w(), 2.48, 0.10 * 2.48);
  EXPECT_NEAR(d.tile_area_mm2(), 0.62, 0.01);
}

TEST(Datasheet, IsaacTileAndChipComposePublishedPowerAndArea) {
  const proto::ChipConfig chip = sim::testing::preset("isaac");
  const proto::ChipDatasheet d = sim::chip_datasheet(chip, 200);
  // An ISAAC tile is 12 aimcsim tiles (IMAs) with its quarter of a router; the chip adds its
  // HyperTransport links (chip_static, area other).
  const double isaac_tiles = 168;
  const double tile_mw = (d.power_w() * 1e3 - power_mw(d, "chip_static")) / isaac_tiles;
  const double tile_mm2 = (d.area_mm2() - d.area_other_mm2()) / isaac_tiles;
  std::printf("ISAAC tile: %.1f mW, %.4f mm2; chip %.2f W, %.2f mm2; %.2f TOPS\n", tile_mw,
              tile_mm2, d.power_w(), d.area_mm2(), d.tops());
  // 5 %: the table's values in shared/reference/silicon.md are quoted (C), the smaller units and
  // the HyperTransport links are recalled from the paper (R).
  EXPECT_NEAR(tile_mw, 330, 0.05 * 330);
  EXPECT_NEAR(tile_mm2, 0.372, 0.05 * 0.372);
  EXPECT_NEAR(d.power_w(), 65.8, 0.05 * 65.8);
  EXPECT_NEAR(d.area_mm2(), 85.4, 0.05 * 85.4);
  // ADCs take ~58 % of a tile's power (D in silicon.md).
  EXPECT_NEAR(power_mw(d, "adc") / isaac_tiles / tile_mw, 0.58, 0.03);
  // Bit-serial: every conversion is shifted and added; the ADCs (128 columns each) set the pace.
  EXPECT_EQ(d.read().bound(), "conversion (ADC sharing: 128 columns per ADC)");
  EXPECT_NEAR(d.read().steady_ns(), 16 * 128 * 0.833, 1);
}

TEST(Datasheet, Ibm34ComposesItsCalibratedSustainedAnchor) {
  const proto::ChipDatasheet d = sim::chip_datasheet(sim::testing::preset("ibm34"), 1000);
  std::printf("IBM 34-tile: %.2f TOPS/W (published 12.4, calibrated), %.1f TOPS\n", d.tops_per_w(),
              d.tops());
  // 5 %, but only the tile's static power is fitted to this figure; every other input is
  // assumed (docs/validation.md): this checks the composition, not a prediction.
  EXPECT_NEAR(d.tops_per_w(), 12.4, 0.05 * 12.4);
  EXPECT_EQ(d.tiles(), 34u);
}

}  // namespace
}  // namespace aimc

// Converter cost model and area model (arch/chip_costs.h) against their closed forms: derived
// converter costs follow the bits, explicit fields override them, and the area items count every
// component instance so that they sum to the chip total.
#include <gtest/gtest.h>

#include <cmath>

#include "arch/chip_costs.h"
#include "proto/chip_config_io.h"

namespace aimc {
namespace {

proto::ChipConfig minimal(const std::string& extra = "") {
  return proto::parse_chip_config("schema_version: 1\n" + extra, "test");
}

TEST(ConverterCost, DefaultsAtEightBitsEqualTheFormerSchemaDefaults) {
  // A config that leaves the cost fields out keeps the numbers it had when they were schema
  // defaults (38.4 ns, 1.5 pJ per conversion, 0.05 pJ per drive).
  const proto::ChipConfig c = minimal();
  EXPECT_DOUBLE_EQ(arch::adc_conversion_time_ns(c), 38.4);
  EXPECT_DOUBLE_EQ(arch::adc_conversion_energy_pj(c), 1.5);
  EXPECT_DOUBLE_EQ(arch::dac_drive_energy_pj(c), 0.05);
}

TEST(ConverterCost, CcoTimeEnergyAndAreaFollowBits) {
  for (int bits = 2; bits <= 12; ++bits) {
    const proto::ChipConfig c = minimal("tile { adc { bits: " + std::to_string(bits) + " } }");
    const double steps = std::pow(2.0, bits);
    EXPECT_DOUBLE_EQ(arch::adc_conversion_time_ns(c), steps / 2 * 0.3) << bits;
    EXPECT_DOUBLE_EQ(arch::adc_conversion_energy_pj(c), steps * 5.859375e-3) << bits;
    EXPECT_DOUBLE_EQ(arch::adc_area_um2(c), steps * 4.6875) << bits;
  }
}

TEST(ConverterCost, SarTakesBitsCyclesOfItsClock) {
  const proto::ChipConfig c = minimal(
      "tile { adc { bits: 10 cost { architecture: SAR sar_clock_ghz: 5 sar_extra_cycles: 2 "
      "walden_fom_fj: 4 area_um2_per_step: 2 } } }");
  EXPECT_DOUBLE_EQ(arch::adc_conversion_time_ns(c), 12.0 / 5.0);
  EXPECT_DOUBLE_EQ(arch::adc_conversion_energy_pj(c), 4.0 * 1024 * 1e-3);
  EXPECT_DOUBLE_EQ(arch::adc_area_um2(c), 2.0 * 1024);
}

TEST(ConverterCost, DacEnergyFollowsStepsAndAreaItsResolution) {
  const proto::ChipConfig pwm =
      minimal("tile { dac { bits: 6 cost { e_step_fj: 2 area_um2_per_bit: 3 } } }");
  EXPECT_DOUBLE_EQ(arch::dac_drive_energy_pj(pwm), 32 * 2e-3);
  EXPECT_DOUBLE_EQ(arch::dac_area_um2(pwm), 6 * 3.0);
  const proto::ChipConfig serial = minimal(
      "tile { dac { bits: 6 encoding: BIT_SERIAL cost { e_step_fj: 2 area_um2_per_bit: 3 } } }");
  EXPECT_DOUBLE_EQ(arch::dac_drive_energy_pj(serial), 2e-3);
  EXPECT_DOUBLE_EQ(arch::dac_area_um2(serial), 3.0);  // a 1-bit driver
}

TEST(ConverterCost, ExplicitFieldsOverrideAndAreNotListedAsDerived) {
  const proto::ChipConfig c = minimal(
      "tile { adc { bits: 6 t_conversion_ns: 7 } }\n"
      "energy { e_adc_conversion_pj: 3 e_dac_drive_pj: 0.25 }\narea { a_adc_um2: 11 }");
  EXPECT_DOUBLE_EQ(arch::adc_conversion_time_ns(c), 7);
  EXPECT_DOUBLE_EQ(arch::adc_conversion_energy_pj(c), 3);
  EXPECT_DOUBLE_EQ(arch::dac_drive_energy_pj(c), 0.25);
  EXPECT_DOUBLE_EQ(arch::adc_area_um2(c), 11);
  const auto derived = arch::derived_values(c);
  ASSERT_EQ(derived.size(), 1u);
  EXPECT_EQ(derived[0].field, "area.a_dac_um2");
  EXPECT_EQ(arch::derived_values(minimal()).size(), 5u);
}

TEST(ConverterCost, DerivedFieldsAreRangeCheckedOnlyWhenSet) {
  EXPECT_THROW(minimal("tile { adc { t_conversion_ns: 0 } }"), UserError);
  EXPECT_NO_THROW(minimal("tile { adc { bits: 16 } }"));
}

// Oracle: every per-instance area 1 um2 (SRAM 1 mm2 per MiB), so each item's area is its count
// of instances, computed here independently from the config; the items sum to the total.
TEST(AreaModel, UnitAreasCountEveryInstanceAndSumToTheTotal) {
  const proto::ChipConfig c = minimal(
      "tile { count: 12 rows: 64 cols: 96 adc { adcs_per_tile: 24 cols_per_adc: 4 } }\n"
      "dpu { count: 3 lanes: 16 }\n"
      "memory { tile_input_buffer_bytes: 1024 tile_output_buffer_bytes: 2048 "
      "dpu_sram_bytes: 524288 kv_sram_bytes: 2097152 }\n"
      "noc { mesh_x: 4 mesh_y: 5 }\n"
      "area { a_cell_um2: 1 a_dac_um2: 1 a_adc_um2: 1 a_tile_digital_um2: 1 a_dpu_lane_um2: 1 "
      "a_sram_mm2_per_mib: 1e-6 a_kv_sram_mm2_per_mib: 1e-6 a_router_um2: 1 "
      "overhead_fraction: 0.25 a_chip_other_mm2: 2 }");
  const arch::AreaBreakdown a = arch::chip_area(c);
  const double mib = 1024.0 * 1024.0;
  EXPECT_DOUBLE_EQ(a.get("crossbar") * 1e6, 12.0 * 64 * 96);
  EXPECT_DOUBLE_EQ(a.get("dac") * 1e6, 12.0 * 64);
  EXPECT_DOUBLE_EQ(a.get("adc") * 1e6, 12.0 * 24);
  EXPECT_DOUBLE_EQ(a.get("tile_digital") * 1e6, 12.0);
  EXPECT_DOUBLE_EQ(a.get("tile_buffers") * 1e6, 12.0 * 3072 / mib);
  EXPECT_DOUBLE_EQ(a.get("dpu") * 1e6, 3.0 * (16 + 524288 / mib));
  EXPECT_DOUBLE_EQ(a.get("kv_sram") * 1e6, 2.0);
  EXPECT_DOUBLE_EQ(a.get("router") * 1e6, 20.0);
  double sum = 0;
  for (const auto& item : a.items) {
    sum += item.mm2;
    EXPECT_DOUBLE_EQ(item.mm2, item.count * item.each_um2 * 1e-6) << item.name;
  }
  EXPECT_DOUBLE_EQ(a.components_mm2, sum);
  EXPECT_DOUBLE_EQ(a.overhead_mm2, 0.25 * sum);
  EXPECT_DOUBLE_EQ(a.total_mm2, 1.25 * sum + 2);
  EXPECT_DOUBLE_EQ(a.tile_mm2 * 1e6, 64.0 * 96 + 64 + 24 + 1 + 3072 / mib);
}

TEST(AreaModel, DigitalTilesHaveNoConvertersButMacArrays) {
  const proto::ChipConfig c = minimal(
      "tile { kind: DIGITAL_W4A8 count: 4 digital { macs_per_cycle: 100 } }\n"
      "area { a_tile_digital_um2: 10 a_digital_mac_um2: 2 }");
  const arch::AreaBreakdown a = arch::chip_area(c);
  EXPECT_EQ(a.get("crossbar"), 0);
  EXPECT_EQ(a.get("adc"), 0);
  EXPECT_EQ(a.get("dac"), 0);
  EXPECT_DOUBLE_EQ(a.get("tile_digital") * 1e6, 4.0 * (10 + 200));
}

}  // namespace
}  // namespace aimc

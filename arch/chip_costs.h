// Converter cost model and area model of a chip: the cost fields a config may leave to be
// derived (ADC conversion time and energy, DAC drive energy, converter areas) and the silicon
// area of every component. Plain C++ on the proto config; no SystemC.
//
// Every consumer reads converter costs through these functions, never through the proto getters
// of the (derived) fields: a field that is set wins, else the closed form of its cost model.
#pragma once

#include <string>
#include <vector>

#include "proto/chip_config.pb.h"

namespace aimc::arch {

/// Conversion time of one ADC conversion, in ns: tile.adc.t_conversion_ns when set, else CCO
/// 2^(bits-1) x t_lsb_ps, or SAR (bits + sar_extra_cycles) / sar_clock_ghz.
double adc_conversion_time_ns(const proto::ChipConfig& config);
/// Energy of one ADC conversion, in pJ: energy.e_adc_conversion_pj when set, else
/// walden_fom_fj x 2^bits.
double adc_conversion_energy_pj(const proto::ChipConfig& config);
/// Area of one ADC, in um2: area.a_adc_um2 when set, else area_um2_per_step x 2^bits.
double adc_area_um2(const proto::ChipConfig& config);
/// Energy of one DAC driving one row for one integration, in pJ: energy.e_dac_drive_pj when
/// set, else e_step_fj x steps (2^(bits-1) for PWM, 1 for bit-serial).
double dac_drive_energy_pj(const proto::ChipConfig& config);
/// Area of one DAC, in um2: area.a_dac_um2 when set, else area_um2_per_bit x its resolution
/// (bits for PWM, 1 for a bit-serial driver).
double dac_area_um2(const proto::ChipConfig& config);

/// One cost field left out of a config and the value the model gives it.
struct DerivedValue {
  std::string field;    ///< dotted path, e.g. "tile.adc.t_conversion_ns"
  double value = 0;     ///< in the field's unit
  std::string formula;  ///< how it was obtained, with the numbers
};
/// The derived cost fields that `config` leaves out, in schema order.
std::vector<DerivedValue> derived_values(const proto::ChipConfig& config);

/// Area of one kind of component on the chip.
struct AreaItem {
  std::string name;  ///< crossbar, dac, adc, tile_digital, tile_buffers, dpu, kv_sram, router
  double count = 0;  ///< instances on the chip (cells, converters, tiles, lanes, MiB, routers)
  double each_um2 = 0;
  double mm2 = 0;  ///< count x each
};

/// Area of the chip by component kind. total = sum(items) x (1 + overhead_fraction) + other.
struct AreaBreakdown {
  std::vector<AreaItem> items;
  double components_mm2 = 0;  ///< sum of the items
  double overhead_mm2 = 0;    ///< area.overhead_fraction x components_mm2
  double other_mm2 = 0;       ///< area.a_chip_other_mm2
  double total_mm2 = 0;
  /// One tile with its converters, digital logic and buffers (its share of a shared ADC bank
  /// included), in mm2: what a single core occupies.
  double tile_mm2 = 0;
  /// Area of the item called `name`; 0 when absent.
  double get(const std::string& name) const;
};

/// Area of every component of `config` (validated, defaults resolved).
AreaBreakdown chip_area(const proto::ChipConfig& config);

}  // namespace aimc::arch

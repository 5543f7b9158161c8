// The energy model: prices action counts with a per-action energy table and adds leakage
// power times simulated time. Plain C++; knows nothing of SystemC or of how counts were made.
#pragma once

#include <string>
#include <vector>

#include "arch/action_counts.h"

namespace aimc::arch {

/// Energy of one action of each kind, in picojoules (the fields mirror ActionCounts).
struct EnergySpec {
  double dac_drive_pj = 0;
  double cell_read_pj = 0;
  double adc_conversion_pj = 0;
  double tile_post_pj = 0;
  double digital_tile_mac_pj = 0;
  double dpu_add_pj = 0;
  double dpu_mul_pj = 0;
  double dpu_exp_pj = 0;
  double dpu_recip_pj = 0;
  double dpu_rsqrt_pj = 0;
  double sram_pj_per_bit = 0;
  double kv_sram_pj_per_bit = 0;
  double dram_pj_per_bit = 0;
  double noc_pj_per_bit_hop = 0;
  double program_pj_per_cell = 0;
  double shift_add_pj = 0;
  double noc_add_pj = 0;  ///< one element add in a router's adder (priced with the noc)
};

/// Static power of the chip's components, in milliwatts (already multiplied by their number).
struct LeakageSpec {
  double tiles_mw = 0;        ///< all tiles
  double dpus_mw = 0;         ///< all DPUs
  double kv_sram_mw = 0;      ///< the KV-cache SRAM
  double routers_mw = 0;      ///< all mesh routers
  double chip_static_mw = 0;  ///< clocking, control, I/O
  /// Power gating of tiles: one tile's leakage (mW), the fraction a switched-off tile still
  /// leaks, and the energy of one wake-up (pJ).
  double tile_unit_mw = 0;
  double tile_gated_fraction = 1;
  double tile_wake_up_pj = 0;
  double adc_banks_mw = 0;  ///< all ADC banks (beyond the tiles' leakage; 0 = inside it)
  /// Power gating of ADC banks and of routers: one unit's leakage (mW), the fraction a
  /// switched-off unit still leaks, and the energy of one wake-up (pJ).
  double adc_bank_unit_mw = 0;
  double adc_bank_gated_fraction = 1;
  double adc_bank_wake_up_pj = 0;
  double router_unit_mw = 0;
  double router_gated_fraction = 1;
  double router_wake_up_pj = 0;
  double total_mw() const {
    return tiles_mw + adc_banks_mw + dpus_mw + kv_sram_mw + routers_mw + chip_static_mw;
  }
};

/// What power gating did during a phase: time units spent switched off, summed over the units
/// of a kind, and their wake-ups.
struct GatingUse {
  double tile_off_s = 0;
  double tile_wake_ups = 0;
  double adc_bank_off_s = 0;
  double adc_bank_wake_ups = 0;
  double router_off_s = 0;
  double router_wake_ups = 0;
};

/// One named energy, in picojoules.
struct EnergyItem {
  std::string name;
  double pj = 0;
};

/// Energy split by component kind: dynamic items (dac, crossbar, adc, tile_digital, dpu, sram,
/// kv_sram, dram, noc, programming) then leakage items (tile_leakage, adc_leakage, dpu_leakage,
/// sram_leakage, router_leakage, chip_static). Items are always present, possibly 0.
struct EnergyBreakdown {
  std::vector<EnergyItem> items;
  double total_pj() const;
  /// Energy of the item called `name`; 0 when absent.
  double get(const std::string& name) const;
};

/// Dynamic energy of `counts` priced with `spec`, in picojoules.
double dynamic_energy_pj(const ActionCounts& counts, const EnergySpec& spec);

/// Dynamic energy by component kind plus leakage over `time_s`, in picojoules. With power
/// gating, the leakage of a kind (tiles, ADC banks, routers) drops by (1 - gated fraction) x one
/// unit's leakage x the time its units were off, and includes the wake-up energy.
EnergyBreakdown price(const ActionCounts& counts, const EnergySpec& spec,
                      const LeakageSpec& leakage, double time_s, const GatingUse& gating = {});

}  // namespace aimc::arch

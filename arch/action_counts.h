// Action counts: what the chip's components did during a simulation, as plain numbers. The
// SystemC components only count; arch/energy_model.h prices the counts, so an energy table can
// be changed without simulating again (docs/timing-energy.md).
#pragma once

#include <functional>
#include <string>

namespace aimc::arch {

/// Counts of priced actions. Every field is a number of events of one kind (or bits, or
/// bit-hops); each has exactly one per-action energy in EnergySpec.
struct ActionCounts {
  double dac_drives = 0;         ///< one DAC driving one row for one integration
  double cell_reads = 0;         ///< one cell taking part in one integration
  double adc_conversions = 0;    ///< one column conversion
  double tile_post_ops = 0;      ///< one output element through a tile's affine unit
  double digital_tile_macs = 0;  ///< one multiply-accumulate of a digital tile
  double dpu_adds = 0;           ///< one DPU element add (also compare / max)
  double dpu_muls = 0;           ///< one DPU element multiply
  double dpu_exps = 0;           ///< one DPU element exponential
  double dpu_recips = 0;         ///< one DPU element reciprocal
  double dpu_rsqrts = 0;         ///< one DPU element reciprocal square root
  double sram_bits = 0;          ///< bits read or written in tile buffers and DPU SRAM
  double kv_sram_bits = 0;       ///< bits read or written in the KV-cache SRAM
  double dram_bits = 0;          ///< bits read or written in off-chip DRAM
  double noc_bit_hops = 0;       ///< one bit over one mesh link
  double cells_programmed = 0;   ///< one cell written and verified
  double shift_adds = 0;         ///< one converted bit-serial sample shifted and added
  double noc_adds = 0;           ///< one element add in a router (in-network reduction)

  ActionCounts& operator+=(const ActionCounts& other);
  /// Sum of every field (the energy with every per-action energy set to 1).
  double sum() const;
  /// Calls `fn(name, unit, value)` for every field in declaration order; names are the field
  /// names above, units "count", "bits" or "bit-hops".
  void for_each(
      const std::function<void(const std::string&, const std::string&, double)>& fn) const;
  /// Sets the field called `name` (a for_each name); false when there is none.
  bool set(const std::string& name, double value);
};

}  // namespace aimc::arch

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

  ActionCounts& operator+=(const ActionCounts& o) {
    // Field by field (the controller adds counts per job: no table walk here).
    dac_drives += o.dac_drives;
    cell_reads += o.cell_reads;
    adc_conversions += o.adc_conversions;
    tile_post_ops += o.tile_post_ops;
    digital_tile_macs += o.digital_tile_macs;
    dpu_adds += o.dpu_adds;
    dpu_muls += o.dpu_muls;
    dpu_exps += o.dpu_exps;
    dpu_recips += o.dpu_recips;
    dpu_rsqrts += o.dpu_rsqrts;
    sram_bits += o.sram_bits;
    kv_sram_bits += o.kv_sram_bits;
    dram_bits += o.dram_bits;
    noc_bit_hops += o.noc_bit_hops;
    cells_programmed += o.cells_programmed;
    shift_adds += o.shift_adds;
    noc_adds += o.noc_adds;
    return *this;
  }
  /// Sum of every field (the energy with every per-action energy set to 1).
  double sum() const;
  /// Calls `fn(name, unit, value)` for every field in declaration order; names are the field
  /// names above, units "count", "bits" or "bit-hops".
  void for_each(
      const std::function<void(const std::string&, const std::string&, double)>& fn) const;
  /// Sets the field called `name` (a for_each name); false when there is none.
  bool set(const std::string& name, double value);
};
// A new field must be added to operator+= as well as to the field table (action_counts.cc).
static_assert(sizeof(ActionCounts) == 17 * sizeof(double),
              "ActionCounts::operator+= lists every field");

}  // namespace aimc::arch

// A chip's tiles and its ADC banks, each kind as one SystemC component standing for all its units
// (a 70B system has 320 x 4096 of each: one SystemC module apiece made the setup slow and large).
// The units' state lives in the chip's TileArray (arch/sc_tile_array.h), which reads them on the
// fast path; a unit's own object (ScTile, ScAdcBank: its trace track, its power-gating record, its
// read with trace spans) is made only when something needs it: tracing makes all of them, power
// gating or banks of several groups make all of them when the banks are bound, and tile(i) or
// bank(i) makes that one. Statistics, busy time and units are those of the units, summed in unit
// order, so a chip reports the same whether or not they were made.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arch/power_gating.h"
#include "arch/sc_adc_bank.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"
#include "arch/sc_tile.h"
#include "arch/sc_tile_array.h"

namespace aimc::arch {

/// The ADC banks of a chip: bank b's state in array->bank_slot(b), its object named `scope` +
/// "adc_bank" + b ("chip0.adc_bank3").
class ScAdcBankGroup : public ScComponent {
 public:
  ScAdcBankGroup(sc_core::sc_module_name name, const std::string& scope, const AdcBankSpec& spec,
                 int banks, TileArray* array);

  int count() const { return static_cast<int>(banks_.size()); }
  const AdcBankSpec& spec() const { return spec_; }
  /// Bank b's own object (made on the first call).
  ScAdcBank& bank(int b);
  /// Whether bank b's object has been made.
  bool made(int b) const { return banks_[b] != nullptr; }
  /// Makes every bank's object.
  void make_all();
  /// Closes the run at `end` (power gating) and adds the banks' off time and wake-ups split at
  /// `split` to `out` (ScAdcBank::close, then split_gated, bank by bank).
  void close(Ps end, Ps split, GatedTime out[2]);

  /// Tracing: every bank's object, each its own track (in bank order).
  void set_trace(SpanSink* sink) override;
  double busy_ps() const override;
  double units() const override { return static_cast<double>(adcs()) * count(); }
  /// Busy time is credited to one bank (add_instance_busy).
  void add_busy(double ps) override;
  /// Conversions, wake-ups and time off, summed over the banks (ScAdcBank::stat_values).
  std::vector<double> stat_values() const override;
  int instances() const override { return count(); }
  double instance_busy_ps(int b) const override { return array_->bank_slot(b)->busy_ps; }
  double instance_units(int) const override { return adcs(); }
  void add_instance_busy(int b, double ps) override { array_->bank_slot(b)->busy_ps += ps; }
  std::string instance_basename(int b) const override { return "adc_bank" + std::to_string(b); }

 private:
  int adcs() const { return spec_.adcs_per_group * spec_.groups; }

  std::string scope_;
  AdcBankSpec spec_;
  TileArray* array_;
  std::vector<std::unique_ptr<ScAdcBank>> banks_;
};

/// The tiles of a chip: tile i's state in array->tile_slot(i), its object named `scope` + "tile"
/// + i, converting on bank i / tiles_per_bank of the banks bound with bind().
class ScTileGroup : public ScComponent {
 public:
  ScTileGroup(sc_core::sc_module_name name, const std::string& scope, const TileSpec& spec,
              int tiles, TileArray* array);
  /// Binds the tiles to `banks`, tiles_per_bank consecutive tiles per bank; makes every tile's
  /// and bank's object when the fast path needs them (power gating, banks of several groups).
  void bind(ScAdcBankGroup* banks, int tiles_per_bank);

  int count() const { return static_cast<int>(tiles_.size()); }
  /// Tile i's own object (made on the first call, with its bank's).
  ScTile& tile(int i);
  /// Whether tile i's object has been made.
  bool made(int i) const { return tiles_[i] != nullptr; }
  /// Makes every tile's object.
  void make_all();
  /// Reads of all tiles so far (ScTile::reads summed in tile order).
  double reads() const;
  /// ScTile::stream_gating of every tile.
  void stream_gating(Ps at);
  /// Closes the run at `end` and adds the off time and wake-ups split at `split` to `out`
  /// (ScTile::close and split_gated of every tile that was read or replayed, in tile order).
  void close(Ps end, Ps split, GatedTime out[2]);

  /// Tracing: every tile's object, each its own track (in tile order).
  void set_trace(SpanSink* sink) override;
  double busy_ps() const override;
  double units() const override { return count(); }
  /// Busy time is credited to one tile (add_instance_busy).
  void add_busy(double ps) override;
  /// Reads, busy time, wake-ups and time off, summed over the tiles (ScTile::stat_values).
  std::vector<double> stat_values() const override;
  int instances() const override { return count(); }
  double instance_busy_ps(int i) const override { return array_->tile_slot(i)->busy_ps; }
  double instance_units(int) const override { return 1; }
  void add_instance_busy(int i, double ps) override { array_->tile_slot(i)->busy_ps += ps; }
  std::string instance_basename(int i) const override { return "tile" + std::to_string(i); }

 private:
  std::string scope_;
  TileSpec spec_;
  TileArray* array_;
  ScAdcBankGroup* banks_ = nullptr;
  int per_bank_ = 1;
  std::vector<std::unique_ptr<ScTile>> tiles_;
};

}  // namespace aimc::arch

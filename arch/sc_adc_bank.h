// ADC bank: a pool of ADCs shared by the columns of one or more tiles. Conversions queue when the
// ADCs are busy (first come, first served).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "arch/action_counts.h"
#include "arch/power_gating.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"

namespace aimc::arch {

/// Immutable parameters of one ADC bank.
struct AdcBankSpec {
  int adcs_per_group = 256;    ///< ADCs that one tile's columns are wired to (adc.adcs_per_tile)
  int groups = 1;              ///< tiles sharing the bank (adc.tiles_per_bank); a request takes the
                               ///< group that frees first
  Ps t_conversion_ps = 38400;  ///< one conversion
  /// Power gating of the bank as one domain: idle (no group converting) longer than the
  /// threshold, it is off; the next conversion waits the wake-up.
  GatingSpec gating;
};

/// What conversions change in a bank, apart from its gating: kept with the other banks of its
/// chip in one array (arch/tile_array.h), half a cache line each, or in the bank's own slot.
struct alignas(32) AdcBankState {
  Ps group_free = 0;   ///< when group 0 has converted its last request
  double busy_ps = 0;  ///< ADC-picoseconds spent converting
  double conversions = 0;
  Ps* more_free = nullptr;  ///< groups 1 .. groups - 1 (a bank shared by several tiles)
};

/// The arithmetic of one conversion request (ScAdcBank::convert) on `spec` and `state`; `gate`
/// applies the bank's power gating: gate.wake(begin) returns when the group really starts,
/// gate.busy_until(end) marks the bank busy until then.
template <class Gate>
inline Ps convert_on(const AdcBankSpec& spec, AdcBankState& state, Ps ready, int columns,
                     ActionCounts* counts, Ps* start, Gate&& gate) {
  // The group that frees first (the first of them on a tie).
  Ps* free = &state.group_free;
  for (int g = 1; g < spec.groups; ++g)
    if (state.more_free[g - 1] < *free) free = &state.more_free[g - 1];
  const Ps begin = gate.wake(std::max(ready, *free));
  const int per = std::max(1, spec.adcs_per_group);
  const Ps rounds = (columns + per - 1) / per;
  const Ps end = begin + rounds * spec.t_conversion_ps;
  *free = end;
  gate.busy_until(end);
  state.busy_ps += static_cast<double>(columns) * static_cast<double>(spec.t_conversion_ps);
  state.conversions += columns;
  if (counts) counts->adc_conversions += columns;
  if (start) *start = begin;
  return end;
}

/// A bank of `groups` x `adcs_per_group` ADCs. Not a SystemC module: the chip's banks are one
/// (ScAdcBankGroup, arch/sc_tile_group.h), which makes a bank's own object only when something
/// needs it.
class ScAdcBank : public Component {
 public:
  /// A bank named `name` whose state lives in `slot` (nullptr: a slot of its own).
  ScAdcBank(std::string name, const AdcBankSpec& spec, AdcBankState* slot = nullptr);
  const char* name() const override { return name_.c_str(); }

  /// Converts `columns` column samples that are ready at `ready`: the earliest-free group does
  /// ceil(columns / adcs_per_group) rounds of one conversion each. Returns when the last
  /// conversion ends; `*start` receives when the first began. Counts the conversions.
  Ps convert(Ps ready, int columns, ActionCounts* counts, Ps* start);

  const AdcBankSpec& spec() const { return spec_; }
  /// Asks the CPU to bring the state a conversion touches into its cache (a hint).
  void prefetch() const { __builtin_prefetch(state_, 1); }
  /// Number of ADCs in the bank.
  int adcs() const { return spec_.adcs_per_group * spec_.groups; }
  double conversions() const { return state_->conversions; }
  /// Busy time is ADC-picoseconds spent converting (summed over the bank's ADCs).
  double units() const override { return adcs(); }
  double busy_ps() const override { return state_->busy_ps; }
  void add_busy(double ps) override { state_->busy_ps += ps; }

  /// Closes the run at `end` (power gating: an idle bank stays off until then).
  void close(Ps end) { gate_.close(end); }
  /// The bank's off intervals (power gating).
  const std::vector<GatedInterval>& gated() const { return gate_.intervals(); }
  /// The bank's gating state (the memo of layer parts replays its uses into it).
  GatedUnits& gate() { return gate_; }

  /// Statistics: conversions, wake-ups, time off (ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override {
    return {state_->conversions, gate_.wake_ups(), gate_.off_ps()};
  }

 private:
  std::string name_;
  AdcBankSpec spec_;
  std::unique_ptr<AdcBankState> own_;  // when built without a slot
  AdcBankState* state_;
  std::vector<Ps> more_free_;  // state_->more_free
  GatedUnits gate_;
};

}  // namespace aimc::arch

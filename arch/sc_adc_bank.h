// ADC bank: a pool of ADCs shared by the columns of one or more tiles. Conversions queue when the
// ADCs are busy (first come, first served).
#pragma once

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

/// A bank of `groups` x `adcs_per_group` ADCs.
class ScAdcBank : public ScComponent {
 public:
  ScAdcBank(sc_core::sc_module_name name, const AdcBankSpec& spec);

  /// Converts `columns` column samples that are ready at `ready`: the earliest-free group does
  /// ceil(columns / adcs_per_group) rounds of one conversion each. Returns when the last
  /// conversion ends; `*start` receives when the first began. Counts the conversions.
  Ps convert(Ps ready, int columns, ActionCounts* counts, Ps* start);

  const AdcBankSpec& spec() const { return spec_; }
  /// Asks the CPU to bring the state a conversion touches into its cache (a hint).
  void prefetch() const {
    __builtin_prefetch(&busy_ps_, 1);
    __builtin_prefetch(&spec_);
    __builtin_prefetch(group_free_.data(), 1);
    __builtin_prefetch(&conversions_, 1);
  }
  /// Number of ADCs in the bank.
  int adcs() const { return spec_.adcs_per_group * spec_.groups; }
  double conversions() const { return conversions_; }
  /// Busy time is ADC-picoseconds spent converting (summed over the bank's ADCs).
  double units() const override { return adcs(); }

  /// Closes the run at `end` (power gating: an idle bank stays off until then).
  void close(Ps end) { gate_.close(end); }
  /// The bank's off intervals (power gating).
  const std::vector<GatedInterval>& gated() const { return gate_.intervals(); }
  /// The bank's gating state (the memo of layer parts replays its uses into it).
  GatedUnits& gate() { return gate_; }

  /// Statistics: conversions, wake-ups, time off (ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override {
    return {conversions_, gate_.wake_ups(), gate_.off_ps()};
  }

 private:
  AdcBankSpec spec_;
  std::vector<Ps> group_free_;
  double conversions_ = 0;
  GatedUnits gate_;
};

}  // namespace aimc::arch

// The base of every SystemC component of the chip: its name (the SystemC hierarchical name), the
// trace hook, its busy time, the actions it counts and its statistics with units. The chip
// (sim/chip/chip_top.h) holds components only through this base, so tracing, statistics,
// utilization and `aimcsim describe` cover a new component without naming it.
#pragma once

#include <string>
#include <systemc>
#include <vector>

#include "arch/sc_common.h"

namespace aimc::arch {

/// One statistic a component kind exposes: its name (after the component's name), its unit, and
/// the factor from the raw value a component returns to that unit (busy times are kept in ps and
/// reported in ns, factor 1e-3).
struct StatDef {
  std::string name;
  std::string unit;
  double scale = 1;
};

/// What a component kind is, independent of any instance: for the chip's report and `describe`.
struct ComponentTraits {
  std::vector<StatDef> stats;        ///< in the order of ScComponent::stat_values()
  std::vector<std::string> actions;  ///< the ActionCounts fields it counts (arch/action_counts.h)
  /// The unit its busy time is counted in ("tile", "ADC", "link", ...): utilization = busy time /
  /// (simulated time x units).
  std::string busy_unit;
};

class ScComponent : public sc_core::sc_module {
 public:
  explicit ScComponent(sc_core::sc_module_name name) : sc_core::sc_module(name) {}

  /// Attaches a span sink (nullptr detaches). By default the component is one track, named
  /// after it, kept when the sink wants it; a component with several tracks overrides this.
  virtual void set_trace(SpanSink* sink);
  /// Busy time summed over the component's units (unit-ps), and the number of units.
  virtual double busy_ps() const { return busy_ps_; }
  virtual double units() const { return 1; }
  /// Adds busy time measured elsewhere: the controller's memo of a layer part's reads
  /// (SimOptions::memo_parts) credits each component the busy time its first read took.
  virtual void add_busy(double ps) { busy_ps_ += ps; }
  /// Raw values of the kind's statistics (ComponentTraits::stats), in that order.
  virtual std::vector<double> stat_values() const = 0;

 protected:
  /// Records a span on the component's track when tracing.
  void span(const char* what, Ps start, Ps end) {
    if (sink_) sink_->span(track_, what, start, end);
  }

  double busy_ps_ = 0;        ///< unless busy_ps() is overridden (state kept elsewhere)
  SpanSink* sink_ = nullptr;  ///< set only while this component's track is traced
  int track_ = -1;
};

}  // namespace aimc::arch

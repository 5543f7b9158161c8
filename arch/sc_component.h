// The base of every component of the chip: its name, the trace hook, its busy time, the actions
// it counts and its statistics with units. The chip (sim/chip/chip_top.h) holds its SystemC
// components (ScComponent) only through this base, so tracing, statistics, utilization and
// `aimcsim describe` cover a new component without naming it. Many identical units (a chip's
// 4096 tiles) are one SystemC component standing for all of them (instances()), each unit a
// plain Component made only when something needs it (arch/sc_tile_group.h).
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
  std::vector<StatDef> stats;        ///< in the order of Component::stat_values()
  std::vector<std::string> actions;  ///< the ActionCounts fields it counts (arch/action_counts.h)
  /// The unit its busy time is counted in ("tile", "ADC", "link", ...): utilization = busy time /
  /// (simulated time x units).
  std::string busy_unit;
};

/// A component apart from SystemC: a SystemC module (ScComponent) or one unit of a group that is
/// one (ScTile and ScAdcBank in arch/sc_tile_group.h).
class Component {
 public:
  virtual ~Component() = default;
  /// Its hierarchical name ("chip0.tile12"): its trace track and its errors name it so.
  virtual const char* name() const = 0;
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

/// A component that is a SystemC module, one of the chip's children. It stands for instances()
/// instances of its kind: one (a DPU, the mesh) or many (all tiles of the chip), each with its
/// own busy time, units and name for the report's busiest component and the memo of layer parts.
class ScComponent : public sc_core::sc_module, public Component {
 public:
  explicit ScComponent(sc_core::sc_module_name name) : sc_core::sc_module(name) {}
  const char* name() const override { return sc_core::sc_module::name(); }

  /// The instances it stands for, and instance i's busy time (unit-ps), units, added busy time
  /// (Component::add_busy) and name within the chip ("tile12"). With one instance: the
  /// component's own.
  virtual int instances() const { return 1; }
  virtual double instance_busy_ps(int) const { return busy_ps(); }
  virtual double instance_units(int) const { return units(); }
  virtual void add_instance_busy(int, double ps) { add_busy(ps); }
  virtual std::string instance_basename(int) const { return basename(); }
};

}  // namespace aimc::arch

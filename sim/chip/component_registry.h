// The one list of the chip's SystemC component kinds. A kind has a name, a one-line description,
// its traits (statistics with units, the actions it counts, the unit of its busy time), whether
// its statistics are summed over its instances (64 tiles) or given per instance, the field of
// the report's Utilization it fills, and the function that builds its instances into a chip.
// Kind NAME is defined by `ComponentKind NAME_kind()` in sim/chip/NAME_kind.cc and listed by one
// line in sim/chip/component_registry.cc.
#pragma once

#include <string>
#include <vector>

#include "arch/sc_component.h"
#include "proto/chip_config.pb.h"

namespace aimc::sim {

class Chip;

struct ComponentKind {
  std::string name;         ///< "tile", "adc_bank", ...
  std::string description;  ///< one line, for `aimcsim describe`
  std::string label;        ///< in words, for people ("ADC bank"; numbered per instance)
  const arch::ComponentTraits* traits;
  /// Statistics summed over the instances as `chip.<name>*.<stat>` (many identical instances)
  /// rather than given per instance as `<instance>.<stat>`.
  bool summed;
  /// Field of proto::Utilization that this kind's busy time fills ("" = none).
  std::string utilization;
  /// Adds the kind's instances to `chip` (Chip::add); kinds are built in list order.
  void (*build)(const proto::ChipConfig& config, Chip* chip);
};

/// Every component kind, in the order the chip builds them and the report lists them.
const std::vector<ComponentKind>& component_kinds();

/// The name of instance `i` of a kind with several instances ("tile12").
std::string instance_name(const std::string& kind, size_t i);

}  // namespace aimc::sim

// The one list of component kinds: one line per kind in AIMC_COMPONENT_KINDS. Each kind's file
// (sim/chip/NAME_kind.cc) defines `ComponentKind NAME_kind()`; the order here is the order in
// which the chip builds the kinds and the report and `aimcsim describe` list them. (An explicit
// list rather than static self-registration: the linker drops unreferenced objects of a static
// library.)
#include "sim/chip/component_registry.h"

#define AIMC_COMPONENT_KINDS(X) \
  X(tile)                       \
  X(adc_bank)                   \
  X(dpu)                        \
  X(noc)                        \
  X(kv_sram)                    \
  X(dram)

namespace aimc::sim {

#define AIMC_DECLARE_KIND(name) ComponentKind name##_kind();
AIMC_COMPONENT_KINDS(AIMC_DECLARE_KIND)
#undef AIMC_DECLARE_KIND

const std::vector<ComponentKind>& component_kinds() {
#define AIMC_LIST_KIND(name) name##_kind(),
  static const std::vector<ComponentKind> kinds{AIMC_COMPONENT_KINDS(AIMC_LIST_KIND)};
#undef AIMC_LIST_KIND
  return kinds;
}

std::string instance_name(const std::string& kind, size_t i) {
  return kind + std::to_string(i);
}

}  // namespace aimc::sim

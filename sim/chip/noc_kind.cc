// Component kind "noc" (sim/chip/component_registry.h). The mesh network on chip: one component for
// all its links.
#include <memory>

#include "arch/sc_noc.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  chip->add("noc", std::make_unique<arch::ScNoc>("noc", noc_spec(config)));
}

}  // namespace

ComponentKind noc_kind() {
  return {"noc",
          "2D mesh with XY routing, per-link contention and multicast trees",
          "mesh links (mean)",
          &arch::ScNoc::traits(),
          /*summed=*/false,
          "links",
          build};
}

}  // namespace aimc::sim

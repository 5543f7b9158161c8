// Component kind "tile" (sim/chip/component_registry.h). The crossbar tiles: tile.count of them,
// tile i at mesh node i.
#include <memory>

#include "arch/sc_tile.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  const arch::TileSpec spec = tile_spec(config);
  for (uint32_t i = 0; i < config.tile().count(); ++i)
    chip->add("tile", std::make_unique<arch::ScTile>(instance_name("tile", i).c_str(), spec));
}

}  // namespace

ComponentKind tile_kind() {
  return {"tile",
          "crossbar tile: DAC drive, integration phases, sample-and-hold (or a MAC array)",
          "tile",
          &arch::ScTile::traits(),
          /*summed=*/true,
          "tiles",
          build};
}

}  // namespace aimc::sim

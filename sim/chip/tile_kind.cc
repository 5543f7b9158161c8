// Component kind "tile" (sim/chip/component_registry.h). The crossbar tiles: tile.count of them,
// tile i at mesh node i, all of them one component (arch::ScTileGroup), their state in the chip's
// tile array.
#include <memory>
#include <string>

#include "arch/sc_tile_group.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  const arch::TileSpec spec = tile_spec(config);
  const int tiles = static_cast<int>(config.tile().count());
  arch::TileArray& array = chip->tile_array();
  array.init_tiles(spec, tiles);
  chip->add("tile", std::make_unique<arch::ScTileGroup>("tiles", std::string(chip->name()) + ".",
                                                        spec, tiles, &array));
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

// Component kind "tile" (sim/chip/component_registry.h). The crossbar tiles: tile.count of them,
// tile i at mesh node i, its state in the chip's tile array.
#include <memory>

#include "arch/sc_tile.h"
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
  for (int i = 0; i < tiles; ++i)
    array.set_tile(
        i, chip->add("tile", std::make_unique<arch::ScTile>(instance_name("tile", i).c_str(), spec,
                                                            nullptr, array.tile_slot(i))));
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

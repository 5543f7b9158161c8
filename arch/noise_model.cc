// Stream set-up shared by all noise models.
#include "arch/noise_model.h"

namespace aimc::arch {

// Purpose tags of a tile's device streams; the output-noise stream of a read uses tag 4
// (crossbar_tile.cc). Fixed forever: changing them changes every seeded result.
DeviceStreams::DeviceStreams(uint64_t tile_seed)
    : programming(derive_seed(tile_seed, 1)),
      drift(derive_seed(tile_seed, 2)),
      read(derive_seed(tile_seed, 3)) {}

}  // namespace aimc::arch

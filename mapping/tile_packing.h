// What goes on which tile, shared by every placement strategy. Blocks are first packed into
// tile loads (one block per load, or with tile sharing several blocks packed into shelves:
// bands of rows filled left to right along the columns, so blocks on one tile never overlap);
// strategies then choose a free tile for each load. Packing before placing means every
// strategy needs exactly the tiles the fit check counted.
#pragma once

#include <utility>
#include <vector>

#include "mapping/mesh.h"
#include "mapping/partition.h"

namespace aimc::mapping {

/// Where a block sits inside its tile.
struct Slot {
  int tile = -1;
  int row_offset = 0;  ///< first crossbar row of the block
  int col_offset = 0;  ///< first weight column of the block
};

/// One block inside a tile load.
struct PackedBlock {
  int layer = 0;
  int row_tile = 0;
  int col_tile = 0;
  int row_offset = 0;
  int col_offset = 0;
};

/// The blocks that will share one tile, and the layer that opened it (its owner).
struct TileLoad {
  int owner = 0;
  std::vector<PackedBlock> blocks;
};

/// Shelf packing of one tile.
class ShelfPacker {
 public:
  explicit ShelfPacker(TileShape shape) : shape_(shape) {}
  /// Places a rows x cols block when it fits: on the first shelf tall enough with room along
  /// the columns, else on a new shelf below the last. Returns false (changing nothing) when
  /// it does not fit.
  bool try_place(int rows, int cols, int* row_offset, int* col_offset);

 private:
  struct Shelf {
    int row_offset, height, used_cols;
  };
  TileShape shape_;
  std::vector<Shelf> shelves_;
  int used_rows_ = 0;
};

/// Packs the blocks of the layers `which` (indices into `layers`, in execution order; all
/// layers when empty), row_tile-major within a layer, into tile loads: without `sharing` one
/// block each; with it next fit (a block joins the newest load when it fits there, else opens
/// a new one).
std::vector<TileLoad> pack_blocks(const std::vector<LayerPartition>& layers,
                                  const std::vector<int>& which, TileShape shape, bool sharing);

/// Which tiles are taken.
class FreeTiles {
 public:
  explicit FreeTiles(int tile_count) : used_(tile_count, false), free_(tile_count) {}
  bool used(int tile) const { return used_[tile]; }
  void take(int tile) {
    used_[tile] = true;
    --free_;
  }
  int free_count() const { return free_; }
  int tile_count() const { return static_cast<int>(used_.size()); }

 private:
  std::vector<bool> used_;
  int free_;
};

/// The tiles of a chip in order of distance from one mesh node (ties: lower tile id first).
class NearestTiles {
 public:
  NearestTiles(const Mesh& mesh, int tile_count, int node);

  /// The `count` free tiles nearest to the node (fewer when the chip runs out); takes nothing.
  std::vector<int> peek(int count, const FreeTiles& free);

  /// Takes the `count` free tiles nearest to the node and returns them; the caller checks
  /// free_count() first.
  std::vector<int> take(int count, FreeTiles* free);

 private:
  std::vector<int> order_;  ///< tile ids by distance
  size_t first_ = 0;        ///< order_[0, first_) are taken
};

}  // namespace aimc::mapping

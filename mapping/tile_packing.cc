// Tile loads (shelf packing) and nearest-first tile orders.
#include "mapping/tile_packing.h"

#include <algorithm>
#include <numeric>

namespace aimc::mapping {

bool ShelfPacker::try_place(int rows, int cols, int* row_offset, int* col_offset) {
  if (rows > shape_.rows || cols > shape_.cols) return false;
  for (Shelf& s : shelves_) {
    if (rows <= s.height && cols <= shape_.cols - s.used_cols) {
      *row_offset = s.row_offset;
      *col_offset = s.used_cols;
      s.used_cols += cols;
      return true;
    }
  }
  if (rows > shape_.rows - used_rows_) return false;
  shelves_.push_back(Shelf{used_rows_, rows, cols});
  *row_offset = used_rows_;
  *col_offset = 0;
  used_rows_ += rows;
  return true;
}

std::vector<TileLoad> pack_blocks(const std::vector<LayerPartition>& layers,
                                  const std::vector<int>& which, TileShape shape, bool sharing) {
  std::vector<int> order = which;
  if (order.empty()) {
    order.resize(layers.size());
    std::iota(order.begin(), order.end(), 0);
  }
  std::vector<TileLoad> loads;
  ShelfPacker packer(shape);
  for (int l : order) {
    const LayerPartition& layer = layers[l];
    for (int i = 0; i < layer.row_tiles(); ++i) {
      for (int j = 0; j < layer.col_tiles(); ++j) {
        PackedBlock block{l, i, j, 0, 0};
        const int rows = layer.row_sizes[i];
        const int cols = layer.col_sizes[j];
        if (!sharing || loads.empty() ||
            !packer.try_place(rows, cols, &block.row_offset, &block.col_offset)) {
          loads.push_back(TileLoad{l, {}});
          packer = ShelfPacker(shape);
          packer.try_place(rows, cols, &block.row_offset, &block.col_offset);
        }
        loads.back().blocks.push_back(block);
      }
    }
  }
  return loads;
}

NearestTiles::NearestTiles(const Mesh& mesh, int tile_count, int node) : order_(tile_count) {
  std::iota(order_.begin(), order_.end(), 0);
  std::vector<int> distance(tile_count);
  for (int t = 0; t < tile_count; ++t) distance[t] = mesh.hops(t, node);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int a, int b) { return distance[a] < distance[b]; });
}

std::vector<int> NearestTiles::peek(int count, const FreeTiles& free) {
  while (first_ < order_.size() && free.used(order_[first_])) ++first_;
  std::vector<int> tiles;
  for (size_t i = first_; i < order_.size() && static_cast<int>(tiles.size()) < count; ++i) {
    if (!free.used(order_[i])) tiles.push_back(order_[i]);
  }
  return tiles;
}

std::vector<int> NearestTiles::take(int count, FreeTiles* free) {
  std::vector<int> tiles = peek(count, *free);
  for (int t : tiles) free->take(t);
  return tiles;
}

}  // namespace aimc::mapping

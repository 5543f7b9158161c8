// Partition of a model's linear layers into crossbar blocks (numerics.md section 2): the input
// dimension along tile rows, the output dimension along weight columns, with the balanced split
// sizes of arch::balanced_split so that the mapper, calibration and the executor agree on
// every block border.
#pragma once

#include <string>
#include <vector>

#include "proto/chip_config.pb.h"
#include "workloads/model_config.h"

namespace aimc::mapping {

/// Crossbar geometry of one tile as the mapper sees it.
struct TileShape {
  int rows = 0;  ///< inputs per tile (tile.rows)
  int cols = 0;  ///< weight columns (outputs) per tile: tile.cols / tile.cells_per_weight
};

/// The tile geometry of a chip.
TileShape tile_shape(const proto::ChipConfig& chip);

/// One linear layer and its cut into blocks. Blocks are indexed (row_tile, col_tile); block
/// (i, j) holds inputs [row_offsets[i], row_offsets[i] + row_sizes[i]) and outputs
/// [col_offsets[j], col_offsets[j] + col_sizes[j]).
struct LayerPartition {
  std::string name;                         ///< checkpoint tensor prefix
  int block = -1;                           ///< decoder block; -1 for lm_head
  std::string role;                         ///< q, k, v, qkv, o, gate, up, gate_up, down, lm_head
  int in = 0;                               ///< input features
  int out = 0;                              ///< output features
  bool on_tiles = false;                    ///< false: runs digitally on a DPU and has no blocks
  std::vector<int> row_sizes, row_offsets;  ///< split of the input dimension
  std::vector<int> col_sizes, col_offsets;  ///< split of the output dimension

  int row_tiles() const { return static_cast<int>(row_sizes.size()); }
  int col_tiles() const { return static_cast<int>(col_sizes.size()); }
  /// Blocks of one copy of the layer (0 when digital).
  int block_count() const { return row_tiles() * col_tiles(); }
};

/// Splits the weight matrix of one layer (out x in) for `shape`; fills the split vectors of
/// `layer` from its `in` and `out` and sets on_tiles.
void split_layer(TileShape shape, LayerPartition* layer);

/// Short role name of a linear layer ("q", "gate_up", "lm_head", ...).
std::string role_name(workloads::LinearRole role);

/// Every linear layer of `model` in execution order, split for `shape`. The decoder blocks'
/// layers are always on tiles; lm_head is on tiles when `lm_head_on_tiles`. Embeddings and
/// attention are not linear layers here: they run on the DPUs.
std::vector<LayerPartition> partition_model(const workloads::ModelConfig& model, TileShape shape,
                                            bool lm_head_on_tiles);

/// Blocks of all layers on tiles (one copy each): the tiles needed without tile sharing.
long long total_blocks(const std::vector<LayerPartition>& layers);

}  // namespace aimc::mapping

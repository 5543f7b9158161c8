// The interface every placement strategy implements, the registry that lists them
// (`--mapping NAME`, `aimcsim describe`), and the building blocks they share. Adding a strategy
// takes one file that defines `StrategyInfo NAME_strategy()` and one line in
// strategy_registry.cc (docs/mapping.md, "Adding a strategy").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mapping/mesh.h"
#include "mapping/partition.h"
#include "mapping/tile_packing.h"

namespace aimc::mapping {

/// What a strategy places: the partitioned layers of one model, packed into tile loads, and
/// the chip's geometry.
struct PlacementInput {
  std::vector<LayerPartition> layers;         ///< execution order; digital layers have no blocks
  std::vector<TileLoad> loads;                ///< one copy of every block, packed (pack_blocks)
  std::vector<std::vector<int>> layer_loads;  ///< indices of the loads each layer owns
  Mesh mesh;
  TileShape shape;
  int tile_count = 0;          ///< tile.count (>= loads.size(), checked before placing)
  bool sharing = false;        ///< mapping.allow_tile_sharing
  std::vector<int> dpu_nodes;  ///< mesh node of each DPU
  int input_bits = 8;          ///< bits per input element sent to a tile
  int output_bits = 8;         ///< bits per partial-sum element sent to a DPU
  /// Latency of each layer without interconnect hops (0 for digital layers), in ns; what the
  /// pipeline balances.
  std::vector<double> layer_latency_ns;
};

/// One placed block: block (row_tile, col_tile) of copy `replica` of layer `layer`.
struct PlacedBlock {
  int layer = 0;
  int row_tile = 0;
  int col_tile = 0;
  int replica = 0;
  Slot slot;
};

/// A strategy's answer; turned into a proto::MappingPlan by make_plan().
struct Placement {
  std::vector<PlacedBlock> blocks;
  std::vector<int> layer_dpu;       ///< DPU index reducing each layer (digital: running it)
  std::vector<int> layer_stage;     ///< pipeline stage of each layer
  std::vector<int> layer_replicas;  ///< copies of each layer (>= 1)
  int stages = 1;
};

class PlacementStrategy {
 public:
  virtual ~PlacementStrategy() = default;
  /// Puts every tile load of `input` on its own free tile and picks the DPU of each layer.
  /// The caller has checked that the loads fit the chip.
  virtual Placement place(const PlacementInput& input) const = 0;
};

/// A registered strategy: its `--mapping` name, a one-line description, and its factory.
struct StrategyInfo {
  std::string name;
  std::string description;
  std::unique_ptr<PlacementStrategy> (*make)();
};

/// Every registered strategy, in registration order.
const std::vector<StrategyInfo>& strategies();

/// The strategy called `name`; throws UserError naming the known ones.
const StrategyInfo& find_strategy(const std::string& name);

// ---- Building blocks shared by the strategies ------------------------------------------------

/// An empty placement for `input`: one stage, one copy, DPU 0 everywhere.
Placement empty_placement(const PlacementInput& input);

/// Puts loads[load_ids[i]] on tiles[i] as copy `replica`.
void put_loads(const std::vector<TileLoad>& loads, const std::vector<int>& load_ids,
               const std::vector<int>& tiles, int replica, Placement* placement);

/// `tiles` sorted column by column (x, then y). XY routing shares the vertical links of one
/// column, so the blocks of one input slice (consecutive loads) in a column make the smallest
/// multicast tree.
std::vector<int> column_major(std::vector<int> tiles, const Mesh& mesh);

/// Sets the DPU of every layer on tiles to the one that minimizes its partial-sum traffic
/// (weight columns x hops from copy 0's blocks); ties: lower DPU index.
void assign_nearest_dpus(const PlacementInput& input, Placement* placement);

/// Gives each digital layer the DPU and stage of the layer before it (its input is there).
void assign_digital_layers(const PlacementInput& input, Placement* placement);

/// NearestTiles of every DPU, built on first use (a tile-count-sized list each).
class DpuNeighbourhoods {
 public:
  explicit DpuNeighbourhoods(const PlacementInput& input)
      : input_(input), lists_(input.dpu_nodes.size()) {}
  NearestTiles& of(int dpu);

 private:
  const PlacementInput& input_;
  std::vector<std::unique_ptr<NearestTiles>> lists_;
};

/// Pipeline stages: the on-tile layers cut into min(DPUs, on-tile layers) contiguous groups
/// minimizing the largest group latency (sum of layer_latency_ns); digital layers join the
/// stage before them. Returns the stage of each layer.
std::vector<int> balanced_stages(const PlacementInput& input, int* stage_count);

/// DPUs in snake order over the mesh (row by row, alternating direction), so that consecutive
/// stages get neighbouring DPUs.
std::vector<int> snake_dpu_order(const PlacementInput& input);

/// Puts the loads owned by the layers of stage `stage` on the free tiles nearest to DPU `dpu`
/// (column-major among them) and makes `dpu` those layers' DPU.
void place_stage_near_dpu(const PlacementInput& input, int stage, int dpu, DpuNeighbourhoods* near,
                          FreeTiles* free, Placement* placement);

/// The pipeline placement before its digital layers: balanced stages, stage s on the tiles
/// nearest to DPU dpu_of_stage[s] (snake order). `free`, `near` and `dpu_of_stage` stay for a
/// strategy that places more on top (replicate).
struct StagedPlacement {
  explicit StagedPlacement(const PlacementInput& input);
  Placement placement;
  FreeTiles free;
  DpuNeighbourhoods near;
  std::vector<int> dpu_of_stage;
};

}  // namespace aimc::mapping

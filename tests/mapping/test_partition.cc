// Partition and placement invariants over many random models and tile sizes (fixed seed):
// every weight element is on exactly one block of each copy, blocks follow the balanced split,
// and blocks on one tile never share cells (no tile holds two blocks unless sharing is on).
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "arch/quantize.h"
#include "mapping/mapper.h"
#include "mapping/partition.h"
#include "mapping_test_util.h"
#include "proto/user_error.h"

namespace aimc::mapping {
namespace {

using testing::make_chip;
using testing::size_chip_for;

/// A small random decoder-only model; fused layers and lm_head vary with the seed.
workloads::ModelConfig random_model(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  workloads::ModelConfig m;
  m.name = "random";
  m.num_layers = pick(1, 3);
  m.num_heads = pick(1, 4);
  m.num_kv_heads = pick(1, m.num_heads);
  m.head_dim = pick(1, 24);
  m.hidden_size = pick(1, 200);
  m.intermediate_size = pick(1, 300);
  m.vocab_size = pick(1, 300);
  m.fused_qkv = pick(0, 1) == 1;
  m.gated_mlp = pick(0, 1) == 1;
  m.fused_gate_up = pick(0, 1) == 1;
  return m;
}

/// Checks the blocks of `plan` against the layers of `model`: each weight element of each copy
/// of each layer on tiles exactly once, the balanced split, blocks inside their tile, and no
/// two blocks on one tile sharing a cell (or a tile at all, unless `sharing`). Returns the
/// number of failed checks so that a caller can stop early.
void check_plan(const proto::MappingPlan& plan, const workloads::ModelConfig& model,
                const proto::ChipConfig& chip, const std::string& what) {
  SCOPED_TRACE(what);
  const auto shapes = workloads::linear_layers(model);
  ASSERT_EQ(plan.layers_size(), static_cast<int>(shapes.size()));
  const int rows = static_cast<int>(plan.tile_rows());
  const int cols = static_cast<int>(plan.tile_cols());
  ASSERT_EQ(rows, static_cast<int>(chip.tile().rows()));
  ASSERT_EQ(cols, static_cast<int>(chip.tile().cols() / chip.tile().cells_per_weight()));

  // Coverage counts per (layer, replica): one counter per weight element.
  std::map<std::pair<int, int>, std::vector<int>> covered;
  std::map<int, std::vector<const proto::BlockPlacement*>> on_tile;
  for (const proto::BlockPlacement& b : plan.blocks()) {
    ASSERT_LT(b.layer_index(), shapes.size());
    const auto& shape = shapes[b.layer_index()];
    EXPECT_EQ(b.layer(), shape.name);
    ASSERT_TRUE(plan.layers(b.layer_index()).on_tiles()) << shape.name;
    ASSERT_LT(b.tile(), chip.tile().count());
    ASSERT_LE(b.row_end(), static_cast<uint32_t>(shape.in));
    ASSERT_LE(b.col_end(), static_cast<uint32_t>(shape.out));
    ASSERT_LT(b.row_begin(), b.row_end());
    ASSERT_LT(b.col_begin(), b.col_end());
    // The block's borders are those of the balanced split.
    const auto row_sizes = arch::balanced_split(shape.in, rows);
    const auto col_sizes = arch::balanced_split(shape.out, cols);
    const auto row_offsets = arch::split_offsets(row_sizes);
    const auto col_offsets = arch::split_offsets(col_sizes);
    ASSERT_LT(b.row_tile(), row_sizes.size());
    ASSERT_LT(b.col_tile(), col_sizes.size());
    EXPECT_EQ(b.row_begin(), static_cast<uint32_t>(row_offsets[b.row_tile()]));
    EXPECT_EQ(b.row_end() - b.row_begin(), static_cast<uint32_t>(row_sizes[b.row_tile()]));
    EXPECT_EQ(b.col_begin(), static_cast<uint32_t>(col_offsets[b.col_tile()]));
    EXPECT_EQ(b.col_end() - b.col_begin(), static_cast<uint32_t>(col_sizes[b.col_tile()]));
    // Inside the tile.
    EXPECT_LE(b.tile_row_offset() + (b.row_end() - b.row_begin()), static_cast<uint32_t>(rows));
    EXPECT_LE(b.tile_col_offset() + (b.col_end() - b.col_begin()), static_cast<uint32_t>(cols));
    EXPECT_DOUBLE_EQ(b.cell_utilization(), double(b.row_end() - b.row_begin()) *
                                               (b.col_end() - b.col_begin()) /
                                               (double(rows) * cols));
    auto& count = covered[{static_cast<int>(b.layer_index()), static_cast<int>(b.replica())}];
    count.resize(static_cast<size_t>(shape.in) * shape.out, 0);
    for (uint32_t i = b.row_begin(); i < b.row_end(); ++i) {
      for (uint32_t o = b.col_begin(); o < b.col_end(); ++o) ++count[o * shape.in + i];
    }
    on_tile[static_cast<int>(b.tile())].push_back(&b);
  }
  // Every layer on tiles has every copy, every element of each exactly once.
  for (int l = 0; l < plan.layers_size(); ++l) {
    const proto::LayerPlacement& layer = plan.layers(l);
    const bool expect_on =
        shapes[l].role != workloads::LinearRole::kLmHead || chip.mapping().lm_head_on_tiles();
    EXPECT_EQ(layer.on_tiles(), expect_on) << layer.name();
    if (!layer.on_tiles()) continue;
    ASSERT_GE(layer.replicas(), 1u);
    for (int r = 0; r < static_cast<int>(layer.replicas()); ++r) {
      const auto it = covered.find({l, r});
      ASSERT_NE(it, covered.end()) << layer.name() << " copy " << r << " has no blocks";
      const auto& count = it->second;
      const auto bad = std::find_if(count.begin(), count.end(), [](int c) { return c != 1; });
      EXPECT_EQ(bad, count.end()) << layer.name() << " copy " << r << ": element "
                                  << (bad - count.begin()) << " mapped " << *bad << " times";
    }
    EXPECT_EQ(covered.count({l, static_cast<int>(layer.replicas())}), 0u) << "extra copy";
  }
  // Cells of one tile: no overlap; without sharing, one block per tile.
  for (const auto& [tile, blocks] : on_tile) {
    if (!chip.mapping().allow_tile_sharing()) {
      EXPECT_EQ(blocks.size(), 1u) << "tile " << tile << " holds " << blocks.size() << " blocks";
    }
    for (size_t a = 0; a < blocks.size(); ++a) {
      for (size_t b = a + 1; b < blocks.size(); ++b) {
        const auto& x = *blocks[a];
        const auto& y = *blocks[b];
        const bool apart =
            x.tile_row_offset() + (x.row_end() - x.row_begin()) <= y.tile_row_offset() ||
            y.tile_row_offset() + (y.row_end() - y.row_begin()) <= x.tile_row_offset() ||
            x.tile_col_offset() + (x.col_end() - x.col_begin()) <= y.tile_col_offset() ||
            y.tile_col_offset() + (y.col_end() - y.col_begin()) <= x.tile_col_offset();
        EXPECT_TRUE(apart) << "blocks of " << x.layer() << " and " << y.layer()
                           << " overlap on tile " << tile;
      }
    }
  }
  EXPECT_EQ(plan.summary().tiles_used(), on_tile.size());
  EXPECT_EQ(plan.summary().blocks(), static_cast<uint32_t>(plan.blocks_size()));
}

TEST(Partition, EveryWeightMappedOnceForRandomShapesAndTiles) {
  std::mt19937 rng(20240611);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int shared_tiles_seen = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const workloads::ModelConfig model = random_model(rng);
    const int cells_per_weight = pick(1, 2);
    proto::ChipConfig chip =
        make_chip(1, pick(1, 64), cells_per_weight * pick(1, 48), cells_per_weight, pick(1, 6));
    chip.mutable_mapping()->set_lm_head_on_tiles(pick(0, 1) == 1);
    chip.mutable_mapping()->set_allow_tile_sharing(pick(0, 1) == 1);
    size_chip_for(model, &chip, pick(0, 40));
    for (const std::string& strategy : strategy_names()) {
      const proto::MappingPlan plan = make_plan(model, chip, strategy);
      check_plan(plan, model, chip, "trial " + std::to_string(trial) + " " + strategy);
      if (::testing::Test::HasFailure()) return;
      if (plan.summary().tiles_used() < plan.summary().blocks()) ++shared_tiles_seen;
    }
  }
  // The random cases must exercise sharing, or the overlap check above proves nothing.
  EXPECT_GT(shared_tiles_seen, 20);
}

TEST(Partition, BalancedSplitBordersAndRoleNames) {
  LayerPartition layer;
  layer.in = 10;
  layer.out = 7;
  split_layer(TileShape{4, 3}, &layer);
  // 10 inputs over ceil(10/4) = 3 tiles: 4, 3, 3; 7 outputs over 3 tiles: 3, 2, 2.
  EXPECT_EQ(layer.row_sizes, (std::vector<int>{4, 3, 3}));
  EXPECT_EQ(layer.row_offsets, (std::vector<int>{0, 4, 7}));
  EXPECT_EQ(layer.col_sizes, (std::vector<int>{3, 2, 2}));
  EXPECT_EQ(layer.block_count(), 9);
  EXPECT_EQ(role_name(workloads::LinearRole::kGateUp), "gate_up");
}

TEST(Partition, DifferentialPairHalvesTheWeightColumns) {
  const proto::ChipConfig chip = make_chip(4, 256, 256, 2);
  EXPECT_EQ(tile_shape(chip).rows, 256);
  EXPECT_EQ(tile_shape(chip).cols, 128);
}

TEST(Partition, LmHeadFollowsTheFlag) {
  workloads::ModelConfig m;
  m.name = "tiny";
  m.num_layers = 1;
  m.num_heads = 2;
  m.num_kv_heads = 2;
  m.head_dim = 4;
  m.hidden_size = 8;
  m.intermediate_size = 16;
  m.vocab_size = 32;
  const auto off = partition_model(m, TileShape{8, 8}, false);
  const auto on = partition_model(m, TileShape{8, 8}, true);
  EXPECT_FALSE(off.back().on_tiles);
  EXPECT_EQ(off.back().block_count(), 0);
  EXPECT_TRUE(on.back().on_tiles);
  EXPECT_EQ(on.back().block_count(), 4);  // 8 inputs x 32 outputs on 8 x 8 tiles
  EXPECT_EQ(total_blocks(on) - total_blocks(off), 4);
}

TEST(Partition, SharingPacksSmallBlocksWithoutOverlap) {
  // Every block is 8 x 8 on 32 x 32 tiles: 16 fit one tile with sharing.
  workloads::ModelConfig m;
  m.name = "small";
  m.num_layers = 2;
  m.num_heads = 2;
  m.num_kv_heads = 2;
  m.head_dim = 4;
  m.hidden_size = 8;
  m.intermediate_size = 8;
  m.vocab_size = 8;
  proto::ChipConfig chip = make_chip(16, 32, 32);
  chip.mutable_mapping()->set_allow_tile_sharing(true);
  for (const std::string& strategy : strategy_names()) {
    const proto::MappingPlan plan = make_plan(m, chip, strategy);
    check_plan(plan, m, chip, strategy);
    // 2 blocks x 7 layers = 14 blocks of 64 cells: one tile would do for one copy.
    if (strategy == "dense") {
      EXPECT_EQ(plan.summary().tiles_used(), 1u);
      EXPECT_NEAR(plan.summary().mean_cell_utilization(), 14 * 64 / 1024.0, 1e-12);
    }
  }
  chip.mutable_mapping()->set_allow_tile_sharing(false);
  const proto::MappingPlan exclusive = make_plan(m, chip, "dense");
  check_plan(exclusive, m, chip, "dense without sharing");
  EXPECT_EQ(exclusive.summary().tiles_used(), 14u);
}

}  // namespace
}  // namespace aimc::mapping

// The strategies on the shape cards: locality never costs more bit-hops than dense, the Llama
// cards map onto chips sized for them (fast), pipeline balances its stages, replicate fills
// left-over tiles, and a model that does not fit fails with a message that says what would fit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "mapping/mapper.h"
#include "mapping/placement_strategy.h"
#include "mapping_test_util.h"
#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "workloads/shape_cards.h"

namespace aimc::mapping {
namespace {

using testing::make_chip;
using testing::size_chip_for;

/// A chip of 512 x 512 tiles sized for the card (plus `slack` tiles).
proto::ChipConfig chip_for(const workloads::ModelConfig& model, int slack = 0, int dpus = 8) {
  proto::ChipConfig chip = make_chip(1, 512, 512, 1, dpus);
  chip.mutable_mapping()->set_lm_head_on_tiles(true);
  size_chip_for(model, &chip, slack);
  chip.mutable_dpu()->set_count(dpus);
  return chip;
}

TEST(Strategies, NearestDpuIsTheDirectSumOfColumnsTimesHops) {
  // assign_nearest_dpus sums each layer's columns per mesh column and row; against the direct
  // sum of columns x hops over copy 0's blocks, DPU by DPU (the first of equal costs), on
  // seeded random placements: meshes up to 16 x 16, some tiles beyond the mesh's rows, DPUs on
  // shared nodes (ties), copies other than 0 (ignored) and digital layers (left alone).
  std::mt19937 rng(11);
  int layers_checked = 0, ties = 0;
  for (int round = 0; round < 200; ++round) {
    PlacementInput input;
    input.mesh = {1 + static_cast<int>(rng() % 16), 1 + static_cast<int>(rng() % 16)};
    const int nodes = input.mesh.nodes() + static_cast<int>(rng() % 8);
    for (int d = 1 + static_cast<int>(rng() % 6); d > 0; --d)
      input.dpu_nodes.push_back(static_cast<int>(rng() % nodes));
    if (rng() % 4 == 0) input.dpu_nodes.push_back(input.dpu_nodes.front());
    const int layers = 1 + static_cast<int>(rng() % 5);
    for (int l = 0; l < layers; ++l) {
      LayerPartition layer;
      layer.on_tiles = rng() % 5 != 0;
      for (int c = 1 + static_cast<int>(rng() % 4); c > 0; --c)
        layer.col_sizes.push_back(1 + static_cast<int>(rng() % 512));
      input.layers.push_back(layer);
    }
    Placement placement = empty_placement(input);
    for (int b = static_cast<int>(rng() % 40); b > 0; --b) {
      PlacedBlock block;
      block.layer = static_cast<int>(rng() % layers);
      block.col_tile = static_cast<int>(rng() % input.layers[block.layer].col_sizes.size());
      block.replica = rng() % 4 == 0 ? 1 : 0;
      block.slot.tile = static_cast<int>(rng() % nodes);
      placement.blocks.push_back(block);
    }
    for (int l = 0; l < layers; ++l) placement.layer_dpu[l] = input.layers[l].on_tiles ? -1 : 7;
    assign_nearest_dpus(input, &placement);
    for (int l = 0; l < layers; ++l) {
      if (!input.layers[l].on_tiles) {
        EXPECT_EQ(placement.layer_dpu[l], 7);
        continue;
      }
      std::vector<long long> cost(input.dpu_nodes.size(), 0);
      for (const PlacedBlock& b : placement.blocks)
        if (b.layer == l && b.replica == 0)
          for (size_t d = 0; d < cost.size(); ++d)
            cost[d] += static_cast<long long>(input.layers[l].col_sizes[b.col_tile]) *
                       input.mesh.hops(b.slot.tile, input.dpu_nodes[d]);
      const auto best = std::min_element(cost.begin(), cost.end());
      ties += std::count(cost.begin(), cost.end(), *best) > 1;
      EXPECT_EQ(placement.layer_dpu[l], best - cost.begin()) << "round " << round << " layer " << l;
      ++layers_checked;
    }
  }
  EXPECT_GT(layers_checked, 300);
  EXPECT_GT(ties, 20);
}

TEST(Strategies, RegistryListsEveryStrategyWithADescription) {
  EXPECT_EQ(strategy_names(),
            (std::vector<std::string>{"dense", "locality", "pipeline", "replicate"}));
  for (const std::string& line : strategy_descriptions()) {
    EXPECT_NE(line.find(": "), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one line each: " << line;
  }
  try {
    find_strategy("round-robin");
    FAIL() << "an unknown strategy must be a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'round-robin'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("dense, locality, pipeline, replicate"),
              std::string::npos);
  }
}

TEST(Strategies, LocalityNeverMoreBitHopsThanDenseOnShapeCards) {
  for (const std::string& card : workloads::shape_card_names()) {
    const workloads::ModelConfig model = workloads::shape_card(card);
    for (int dpus : {1, 8, 32}) {
      const proto::ChipConfig chip = chip_for(model, 0, dpus);
      const double dense = make_plan(model, chip, "dense").estimate().bit_hops_per_token();
      const double local = make_plan(model, chip, "locality").estimate().bit_hops_per_token();
      EXPECT_LE(local, dense) << card << " with " << dpus << " DPUs";
      RecordProperty(card + "_" + std::to_string(dpus) + "_locality_over_dense",
                     std::to_string(local / dense));
    }
  }
}

TEST(Strategies, LlamaCardsMapOntoChipsSizedForThem) {
  for (const std::string card : {"llama-3.2-1b", "llama-3.1-8b"}) {
    const workloads::ModelConfig model = workloads::shape_card(card);
    const proto::ChipConfig chip = chip_for(model, 64);
    const long long blocks = tiles_needed(model, chip);
    uint64_t linear_weights = 0;
    for (const auto& l : workloads::linear_layers(model)) {
      linear_weights += static_cast<uint64_t>(l.in) * l.out;
    }
    for (const std::string& strategy : strategy_names()) {
      const auto start = std::chrono::steady_clock::now();
      const proto::MappingPlan plan = make_plan(model, chip, strategy);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      SCOPED_TRACE(card + " " + strategy);
      EXPECT_EQ(plan.model(), card);
      EXPECT_EQ(plan.strategy(), strategy);
      EXPECT_LE(plan.summary().tiles_used(), plan.summary().tiles_available());
      EXPECT_EQ(plan.summary().tiles_needed(), blocks);
      EXPECT_EQ(plan.summary().weights_on_tiles(), linear_weights)
          << "every linear weight (lm_head included) is on a tile";
      EXPECT_GT(plan.estimate().bit_hops_per_token(), 0);
      EXPECT_GT(plan.estimate().critical_path_ns_per_token(), 0);
      if (strategy != "replicate") {
        EXPECT_EQ(plan.summary().blocks(), blocks);
      }
      // Large chips must map quickly (the 8B card is ~27 000 tiles of 512 x 512); a loose bound
      // so that a slow CI machine passes, tight enough to catch a quadratic placement.
      EXPECT_LT(seconds, 3.0);
      RecordProperty(card + "_" + strategy + "_seconds", std::to_string(seconds));
    }
  }
}

TEST(Strategies, PipelineBalancesStagesAndReplicateFillsLeftOverTiles) {
  const workloads::ModelConfig model = workloads::shape_card("llama-3.2-1b");
  // Half again the tiles the model needs: room for copies.
  proto::ChipConfig chip = chip_for(model);
  const int need = static_cast<int>(chip.tile().count());
  size_chip_for(model, &chip, need / 2);
  ASSERT_EQ(chip.dpu().count(), 8u);
  const proto::MappingPlan dense = make_plan(model, chip, "dense");
  const proto::MappingPlan pipeline = make_plan(model, chip, "pipeline");
  const proto::MappingPlan replicate = make_plan(model, chip, "replicate");

  EXPECT_EQ(dense.summary().stages(), 1u);
  ASSERT_EQ(pipeline.summary().stages(), 8u);  // one per DPU
  const auto& stages = pipeline.estimate().stage_latency_ns();
  ASSERT_EQ(stages.size(), 8);
  const double slowest = *std::max_element(stages.begin(), stages.end());
  const double total = pipeline.estimate().critical_path_ns_per_token();
  // Balanced: 113 layers of similar latency in 8 stages; one layer more or less than the
  // ideal total / 8 is about 7 %.
  EXPECT_LT(slowest, total / 8 * 1.25);
  EXPECT_GT(pipeline.estimate().prefill_tokens_per_s(),
            4 * dense.estimate().prefill_tokens_per_s());
  // Stages are contiguous in layer order and each layer's DPU is its stage's DPU.
  std::set<int> stage_dpus;
  for (int l = 1; l < pipeline.layers_size(); ++l) {
    EXPECT_GE(pipeline.layers(l).stage(), pipeline.layers(l - 1).stage());
  }
  for (const auto& layer : pipeline.layers()) stage_dpus.insert(layer.dpu());
  EXPECT_EQ(stage_dpus.size(), 8u);

  EXPECT_GT(replicate.summary().tiles_used(), pipeline.summary().tiles_used());
  EXPECT_GT(replicate.summary().blocks(), pipeline.summary().blocks());
  EXPECT_GT(replicate.estimate().prefill_tokens_per_s(),
            pipeline.estimate().prefill_tokens_per_s());
  int copied = 0;
  for (const auto& layer : replicate.layers()) copied += layer.replicas() > 1;
  EXPECT_GT(copied, 0);
  // It stops only when the next copy does not fit: fewer free tiles than the largest stage.
  const long long free_tiles =
      replicate.summary().tiles_available() - replicate.summary().tiles_used();
  std::map<int, int> stage_blocks;
  for (const auto& b : pipeline.blocks()) ++stage_blocks[pipeline.layers(b.layer_index()).stage()];
  int largest = 0;
  for (const auto& [s, n] : stage_blocks) largest = std::max(largest, n);
  EXPECT_LT(free_tiles, largest);
}

TEST(Strategies, ComparisonTableHasARowPerStrategy) {
  const workloads::ModelConfig model = workloads::shape_card("gpt2");
  const proto::ChipConfig chip = chip_for(model, 100);
  const std::string table = compare_strategies_table(model, chip);
  EXPECT_NE(table.find("mapping of model 'gpt2' on chip 'test-chip'"), std::string::npos);
  for (const std::string& s : strategy_names()) {
    EXPECT_NE(table.find("\n" + s + " "), std::string::npos) << table;
  }
  EXPECT_NE(table.find("bit-hops/token"), std::string::npos);
  const auto rows = compare_strategies(model, chip);
  ASSERT_EQ(rows.size(), strategy_names().size());
  EXPECT_LE(rows[1].estimate.bit_hops_per_token(), rows[0].estimate.bit_hops_per_token());
}

TEST(Strategies, EightBillionOnHermesFailsWithWhatWouldFit) {
  const workloads::ModelConfig model = workloads::shape_card("llama-3.1-8b");
  proto::ChipConfig hermes =
      proto::load_chip_config(std::string(AIMC_SOURCE_DIR) + "/configs/hermes.pbtxt");
  const long long need = tiles_needed(model, hermes);
  // 32 blocks x (q 16x16 + k 16x4 + v 16x4 + o 16x16 + gate 16x56 + up 16x56 + down 56x16)
  // tiles of 256 x 256 (4096 = 16 x 256, 1024 = 4 x 256, 14336 = 56 x 256).
  EXPECT_EQ(need, 32LL * (256 + 64 + 64 + 256 + 3 * 896));
  for (const std::string& strategy : strategy_names()) {
    try {
      make_plan(model, hermes, strategy);
      FAIL() << "llama-3.1-8b must not fit HERMES (" << strategy << ")";
    } catch (const UserError& e) {
      const std::string m = e.what();
      SCOPED_TRACE(m);
      EXPECT_NE(m.find("model 'llama-3.1-8b' does not fit chip 'hermes'"), std::string::npos);
      EXPECT_NE(m.find("need " + std::to_string(need) + " tiles of 256 x 256 weights"),
                std::string::npos);
      EXPECT_NE(m.find("the chip has 64 (tile.count)"), std::string::npos);
      EXPECT_NE(m.find("tile.count: " + std::to_string(need)), std::string::npos);
      EXPECT_NE(m.find("noc.mesh_x * noc.mesh_y >= " + std::to_string(need)), std::string::npos);
      // Every one of the 224 layers needs a tile of its own, so only sharing tiles of larger
      // crossbars can fit 64 tiles.
      EXPECT_NE(m.find("larger crossbars: tile.rows: "), std::string::npos);
      EXPECT_NE(m.find("with mapping.allow_tile_sharing: true"), std::string::npos);
      // lm_head is digital on HERMES already: no advice to turn it off.
      EXPECT_EQ(m.find("lm_head_on_tiles"), std::string::npos);
    }
  }
  hermes.mutable_mapping()->set_lm_head_on_tiles(true);
  try {
    make_plan(model, hermes, "dense");
    FAIL() << "must not fit";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("mapping.lm_head_on_tiles: false alone is not enough"),
              std::string::npos)
        << e.what();
  }
}

TEST(Strategies, DoesNotFitSuggestionsActuallyFit) {
  // A model that fits 64 tiles only with a digital lm_head, or with larger crossbars.
  workloads::ModelConfig model;
  model.name = "small";
  model.num_layers = 1;
  model.num_heads = 4;
  model.num_kv_heads = 4;
  model.head_dim = 64;
  model.hidden_size = 256;
  model.intermediate_size = 512;
  model.vocab_size = 256 * 40;
  proto::ChipConfig chip = make_chip(64, 256, 256);
  chip.mutable_mapping()->set_lm_head_on_tiles(true);
  // Decoder tiles: q, k, v, o 1 each; gate, up 2 each (512 outputs); down 2 (512 inputs);
  // lm_head 40 (10240 outputs).
  ASSERT_EQ(tiles_needed(model, chip), 10 + 40);
  chip.mutable_tile()->set_count(16);
  std::string message;
  try {
    check_fits(model, chip);
  } catch (const UserError& e) {
    message = e.what();
  }
  ASSERT_FALSE(message.empty()) << "50 tiles do not fit 16";
  EXPECT_NE(message.find("mapping.lm_head_on_tiles: false (then it needs 10 tiles)"),
            std::string::npos)
      << message;
  // The crossbar advice, applied, fits.
  const auto at = message.find("tile.rows: ");
  ASSERT_NE(at, std::string::npos) << message;
  int rows = 0, cols = 0;
  ASSERT_EQ(std::sscanf(message.c_str() + at, "tile.rows: %d tile.cols: %d", &rows, &cols), 2);
  proto::ChipConfig bigger = chip;
  bigger.mutable_tile()->set_rows(rows);
  bigger.mutable_tile()->set_cols(cols);
  EXPECT_NO_THROW(check_fits(model, bigger)) << rows << " x " << cols;
  // The tile-count advice, applied, fits.
  proto::ChipConfig more = chip;
  more.mutable_tile()->set_count(50);
  EXPECT_NO_THROW(check_fits(model, more));
}

}  // namespace
}  // namespace aimc::mapping

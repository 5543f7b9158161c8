// Mapping across chips: consecutive blocks on consecutive chips, blocks larger than a chip split
// over chips with the link bytes of the closed form, the fewest chips, and the does-not-fit
// advice naming the chips that would hold the model.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "mapping/system_mapper.h"
#include "mapping_test_util.h"
#include "proto/system_config_io.h"
#include "workloads/shape_cards.h"

namespace aimc::mapping {
namespace {

using testing::make_chip;

// hidden 64, MLP 128, 4 blocks, 4 heads of 16: on 32 x 32 tiles a block takes q, k, v, o 4 tiles
// each, gate and up 2 x 4 = 8, down 4 x 2 = 8: 40 tiles. lm_head (256 x 64) takes 2 x 8 = 16.
workloads::ModelConfig tiny() {
  workloads::ModelConfig m;
  m.name = "tiny";
  m.vocab_size = 256;
  m.hidden_size = 64;
  m.intermediate_size = 128;
  m.num_layers = 4;
  m.num_heads = 4;
  m.num_kv_heads = 4;
  m.head_dim = 16;
  m.max_positions = 128;
  return m;
}

proto::SystemConfig system_of(int chips, int tiles) {
  proto::SystemConfig s = proto::system_of_chip(make_chip(tiles, 32, 32));
  s.set_name("test-system");
  s.mutable_chips(0)->set_count(chips);
  EXPECT_TRUE(proto::validate_system_config(s).empty());
  return s;
}

double hidden_bytes() {
  return 64 * 2.0;
}  // noc.activation_bits 16

TEST(SystemMapper, OneChipSystemIsTheChipsMapping) {
  const proto::ChipConfig chip = make_chip(200, 32, 32);
  const proto::SystemPlan plan = make_system_plan(tiny(), proto::system_of_chip(chip));
  EXPECT_EQ(plan.summary().chips_used(), 1u);
  EXPECT_EQ(plan.summary().stages(), 1u);
  EXPECT_EQ(plan.summary().tiles_used(), static_cast<uint64_t>(tiles_needed(tiny(), chip)));
  EXPECT_EQ(plan.summary().tiles_used(), 160u);
  EXPECT_EQ(plan.transfers_size(), 0);
  EXPECT_DOUBLE_EQ(plan.summary().link_bytes_per_token(), 0);
  EXPECT_EQ(plan.summary().lm_head(), "dram");
}

TEST(SystemMapper, ConsecutiveBlocksOnConsecutiveChips) {
  const proto::SystemPlan plan = make_system_plan(tiny(), system_of(4, 40));
  ASSERT_EQ(plan.summary().chips_used(), 4u);
  EXPECT_EQ(plan.summary().stages(), 4u);
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(plan.chips(c).tiles_used(), 40u);
    EXPECT_EQ(plan.chips(c).first_block(), c);
    EXPECT_EQ(plan.chips(c).last_block(), c);
    EXPECT_EQ(plan.chips(c).stage(), static_cast<uint32_t>(c));
  }
  EXPECT_TRUE(plan.chips(3).lm_head());
  // Three hidden states of 64 x 16 bits cross one link each.
  ASSERT_EQ(plan.transfers_size(), 3);
  EXPECT_DOUBLE_EQ(plan.summary().link_bytes_per_token(), 3 * hidden_bytes());
  EXPECT_EQ(plan.transfers(0).what(), "hidden state after block 0");
  EXPECT_EQ(plan.transfers(0).hops(), 1u);
  // Steady-state throughput is one over the slowest resource.
  double slowest = 0;
  for (double s : plan.estimate().stage_latency_ns()) slowest = std::max(slowest, s);
  slowest = std::max(slowest, plan.estimate().lm_head_dram_ns_per_token());
  slowest = std::max(slowest, plan.estimate().busiest_link_ns_per_token());
  EXPECT_DOUBLE_EQ(plan.estimate().pipeline_tokens_per_s(), 1e9 / slowest);
}

TEST(SystemMapper, MoreChipsLowerTheSlowestStageAutoPicksTheFewest) {
  const proto::SystemConfig s = system_of(4, 100);
  const proto::SystemPlan all = make_system_plan(tiny(), s);
  EXPECT_EQ(all.summary().chips_used(), 4u);  // one block per chip: the shortest stages
  SystemMapOptions fewest;
  fewest.chips = -1;
  const proto::SystemPlan two = make_system_plan(tiny(), s, fewest);
  EXPECT_EQ(two.summary().chips_used(), 2u);  // 2 blocks = 80 tiles per chip
  EXPECT_EQ(two.chips(0).tiles_used(), 80u);
  EXPECT_EQ(two.chips(2).tiles_used(), 0u);
  EXPECT_DOUBLE_EQ(two.summary().link_bytes_per_token(), hidden_bytes());
  EXPECT_EQ(chips_needed(tiny(), s, fewest), 2);
  EXPECT_EQ(chips_needed(tiny(), make_chip(100, 32, 32)), 2);
  EXPECT_EQ(chips_needed(tiny(), make_chip(40, 32, 32)), 4);
  EXPECT_EQ(chips_needed(tiny(), make_chip(39, 32, 32)), 8);  // each block split over 2
  // On at most 3 chips the slowest stage holds two blocks whether 2 or 3 chips are used: the
  // tie goes to fewer chips.
  SystemMapOptions three;
  three.chips = 3;
  EXPECT_EQ(make_system_plan(tiny(), s, three).summary().chips_used(), 2u);
}

TEST(SystemMapper, BlockLargerThanAChipIsSplitByOutputTiles) {
  SystemMapOptions by_output;
  by_output.split = SplitKind::kOutput;
  const proto::SystemPlan plan = make_system_plan(tiny(), system_of(8, 30), by_output);
  ASSERT_EQ(plan.summary().chips_used(), 8u);
  EXPECT_EQ(plan.summary().stages(), 4u);
  // Parts of at most a quarter chip (7 tiles): q, k, v, o (4 tiles) stay whole; gate, up and
  // down (8) are cut in two. All ten 4-tile parts go alternately to the two chips (most free
  // tiles first, ties to the first chip): the second holds k, o and one half of gate, up, down.
  EXPECT_EQ(plan.summary().split_layers(), 12u);
  // Every block of every layer is held exactly once, and no chip is over its tiles.
  std::map<int, std::set<std::pair<int, int>>> held;
  for (const proto::LayerPart& p : plan.parts()) {
    EXPECT_EQ(p.row_tile_begin(), 0u);  // output split: whole input
    for (uint32_t r = p.row_tile_begin(); r < p.row_tile_end(); ++r)
      for (uint32_t c = p.col_tile_begin(); c < p.col_tile_end(); ++c)
        EXPECT_TRUE(held[p.layer_index()].insert({r, c}).second) << p.layer();
  }
  long long blocks = 0;
  for (const auto& [layer, set] : held) blocks += set.size();
  EXPECT_EQ(blocks, 160);
  for (const proto::ChipLoad& c : plan.chips()) {
    EXPECT_LE(c.tiles_used(), 30u);
    EXPECT_EQ(c.tiles_used(), 20u);  // 40 tiles over 2 chips, evenly
  }
  // Per split block (closed form, 2 bytes per element): inputs to the second chip once per
  // distinct vector (attention input 64 for k, attention output 64 for o, MLP input 64 for gate
  // and up, MLP activation 128 for down) = 640 B; outputs back: k 64, o 64, half of gate 64,
  // half of up 64, half of down 32 = 288 elements = 576 B. Plus three hidden states between
  // the stages.
  EXPECT_DOUBLE_EQ(plan.summary().link_bytes_per_token(), 4 * (640 + 576) + 3 * hidden_bytes());
}

TEST(SystemMapper, AutoSplitPicksFewerLinkBytesPerLayer) {
  SystemMapOptions by_output, by_input, automatic;
  by_output.split = SplitKind::kOutput;
  by_input.split = SplitKind::kInput;
  const proto::SystemConfig s = system_of(8, 30);
  const double out = make_system_plan(tiny(), s, by_output).summary().link_bytes_per_token();
  const double in = make_system_plan(tiny(), s, by_input).summary().link_bytes_per_token();
  const proto::SystemPlan best = make_system_plan(tiny(), s, automatic);
  EXPECT_LT(best.summary().link_bytes_per_token(), std::min(out, in));
  // down (64 x 128): by input 128 B of slice + 128 B of partial sums < 256 + 64 by output;
  // everything else as by output.
  EXPECT_DOUBLE_EQ(best.summary().link_bytes_per_token(), out - 4 * 64);
  bool down_by_input = false;
  for (const proto::LayerPart& p : best.parts())
    if (p.layer().find("down_proj") != std::string::npos &&
        p.row_tile_end() - p.row_tile_begin() < 4)
      down_by_input = true;
  EXPECT_TRUE(down_by_input);
}

TEST(SystemMapper, LmHeadOnTilesIsSplitOverChipsWhenLarger) {
  SystemMapOptions tiles;
  tiles.lm_head = LmHeadPlacement::kTiles;
  // 12-tile chips: lm_head's 16 tiles take two.
  proto::SystemConfig s = system_of(64, 12);
  tiles.chips = -1;
  const proto::SystemPlan plan = make_system_plan(tiny(), s, tiles);
  EXPECT_EQ(plan.summary().lm_head(), "tiles");
  int head_chips = 0;
  for (const proto::ChipLoad& c : plan.chips()) head_chips += c.lm_head();
  EXPECT_EQ(head_chips, 2);
  EXPECT_DOUBLE_EQ(plan.estimate().lm_head_dram_ns_per_token(), 0);
  EXPECT_EQ(plan.summary().tiles_used(), 4u * 40 + 16);
}

TEST(SystemMapper, DoesNotFitNamesTheChipsThatWouldHoldIt) {
  try {
    make_system_plan(tiny(), system_of(3, 40));
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model 'tiny' does not fit system 'test-system' (3 chips used)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("4 chips like chip 0 ('test-chip', 40 tiles) would hold it"),
              std::string::npos)
        << m;
  }
  EXPECT_THROW(parse_split_kind("diagonal"), UserError);
  EXPECT_THROW(parse_lm_head_placement("cloud"), UserError);
}

// The presets of configs/systems/ hold their models as their comments say.
TEST(SystemMapper, PresetsHoldTheirModels) {
  struct Preset {
    const char* file;
    const char* model;
    uint32_t chips, stages;
  };
  const Preset presets[] = {{"phi3-mini-hermes16", "phi-3-mini-4k", 16, 16},
                            {"llama3-8b-hermes32", "llama-3.1-8b", 32, 32},
                            {"llama3-8b-hermes32-gated", "llama-3.1-8b", 32, 32},
                            {"llama3-70b-hermes320", "llama-3.1-70b", 320, 80}};
  for (const Preset& p : presets) {
    SCOPED_TRACE(p.file);
    const proto::SystemConfig s = proto::load_system_config(
        std::string(AIMC_SOURCE_DIR) + "/configs/systems/" + p.file + ".pbtxt");
    const proto::SystemPlan plan = make_system_plan(workloads::shape_card(p.model), s);
    EXPECT_EQ(plan.summary().chips_used(), p.chips);
    EXPECT_EQ(plan.summary().stages(), p.stages);
    for (const proto::ChipLoad& c : plan.chips()) EXPECT_LE(c.tiles_used(), c.tiles_available());
  }
}

}  // namespace
}  // namespace aimc::mapping

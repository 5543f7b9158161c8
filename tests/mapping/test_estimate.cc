// The plan estimate against a 4x4 mesh example worked out by hand (bit-hops with and without
// multicast, critical path), the tile read latency of the HERMES preset, and the XY multicast
// tree on its own.
#include <cmath>

#include <gtest/gtest.h>

#include "mapping/estimate.h"
#include "mapping/mesh.h"
#include "mapping_test_util.h"
#include "proto/chip_config_io.h"

namespace aimc::mapping {
namespace {

// The hand-worked example (docs/mapping.md uses the same numbers).
//
// 4x4 mesh, node n at (x, y) = (n % 4, n / 4):
//     0  1  2  3
//     4  5  6  7
//     8  9 10 11
//    12 13 14 15
// Tiles of 4 x 4 weights, 8-bit DAC and ADC: 8 bits per input element and per partial sum.
// DPU 0 at node 0, DPU 1 at node 15.
//
// Layer A (8 inputs -> 8 outputs, 2 x 2 blocks of 4 x 4), reduced by DPU 0 (node 0); its input
// comes from DPU 0 (first layer). Blocks: (0,0) on tile 5, (0,1) on 6, (1,0) on 9, (1,1) on 10.
//   input slice 0 (4 x 8 = 32 bits) to tiles 5 (1,1) and 6 (2,1):
//     multicast tree: row 0 from x=0 to x=2 (2 links) + column 1 down 1 + column 2 down 1
//     = 4 links -> 128 bit-hops; unicast: 2 + 3 = 5 hops -> 160.
//   input slice 1 (32 bits) to tiles 9 (1,2) and 10 (2,2):
//     multicast: 2 + 2 + 2 = 6 links -> 192; unicast: 3 + 4 = 7 hops -> 224.
//   partial sums (4 x 8 = 32 bits per block) to node 0: 2 + 3 + 3 + 4 = 12 hops -> 384.
//   A: multicast 128 + 192 + 384 = 704; unicast 160 + 224 + 384 = 768.
// Layer B (4 inputs -> 12 outputs, 1 x 3 blocks of 4 x 4), reduced by DPU 1 (node 15); its
// input comes from layer A's DPU (node 0). Blocks on tiles 3 (3,0), 7 (3,1), 11 (3,2).
//   input slice 0 (32 bits): multicast: row 0 from x=0 to x=3 (3 links) + column 3 down 2
//     = 5 links -> 160; unicast: 3 + 4 + 5 = 12 hops -> 384.
//   partial sums to node 15 (3,3): 3 + 2 + 1 = 6 hops -> 192.
//   B: multicast 160 + 192 = 352; unicast 384 + 192 = 576.
// Total: multicast 704 + 352 = 1056 (input 480, output 576); unicast 768 + 576 = 1344.
//
// Latency, 1 GHz, hop 1 cycle, links of 32 bits (one slice or one block's partial sums = 1
// cycle), PWM 2^7 = 128 steps of 1 cycle, 4 ADCs per tile (one round) of 10 ns, read overhead 5
// cycles, no post-processing: one block read = 128 + 10 + 5 = 143 ns.
//   A: tile 10 is the slowest: input 4 hops + 1 = 5, partial sums 4 hops + 1 = 5 -> 153 ns;
//      reduction (2 - 1 row tiles) x ceil(8 / 64 lanes) x 1 cycle = 1 ns -> 154 ns.
//   B: every tile 151 ns (tile 3: 4 + 143 + 4; tile 7: 5 + 143 + 3; tile 11: 6 + 143 + 2),
//      one row tile, no reduction -> 151 ns.
//   Critical path 154 + 151 = 305 ns; one stage, so prefill 1e9 / 305 tokens/s.

proto::ChipConfig example_chip(bool multicast) {
  proto::ChipConfig chip = testing::make_chip(16, 4, 4, 1, 2);
  chip.mutable_dpu()->add_nodes(0);
  chip.mutable_dpu()->add_nodes(15);
  chip.mutable_noc()->set_link_width_bits(32);
  chip.mutable_noc()->set_hop_latency_cycles(1);
  chip.mutable_noc()->set_multicast(multicast);
  chip.mutable_tile()->mutable_dac()->set_bits(8);
  chip.mutable_tile()->mutable_adc()->set_bits(8);
  chip.mutable_tile()->mutable_adc()->set_adcs_per_tile(4);
  chip.mutable_tile()->mutable_adc()->set_t_conversion_ns(10);
  chip.mutable_tile()->set_read_overhead_cycles(5);
  chip.mutable_tile()->set_post_process_cycles(0);
  chip.set_clock_ghz(1);
  EXPECT_TRUE(proto::validate_chip_config(chip).empty());
  return chip;
}

proto::MappingPlan example_plan() {
  proto::MappingPlan plan;
  plan.set_mesh_x(4);
  plan.set_mesh_y(4);
  plan.add_dpu_nodes(0);
  plan.add_dpu_nodes(15);
  plan.set_tile_rows(4);
  plan.set_tile_cols(4);
  auto add_layer = [&](const char* name, int in, int out, int dpu, int row_tiles, int col_tiles) {
    proto::LayerPlacement* l = plan.add_layers();
    l->set_name(name);
    l->set_in_features(in);
    l->set_out_features(out);
    l->set_on_tiles(true);
    l->set_dpu(dpu);
    l->set_dpu_node(plan.dpu_nodes(dpu));
    l->set_replicas(1);
    l->set_row_tiles(row_tiles);
    l->set_col_tiles(col_tiles);
  };
  auto add_block = [&](int layer, int row_tile, int col_tile, int tile) {
    proto::BlockPlacement* b = plan.add_blocks();
    b->set_layer(plan.layers(layer).name());
    b->set_layer_index(layer);
    b->set_row_tile(row_tile);
    b->set_col_tile(col_tile);
    b->set_row_begin(4 * row_tile);
    b->set_row_end(4 * row_tile + 4);
    b->set_col_begin(4 * col_tile);
    b->set_col_end(4 * col_tile + 4);
    b->set_tile(tile);
    b->set_cell_utilization(1);
  };
  add_layer("A", 8, 8, 0, 2, 2);
  add_layer("B", 4, 12, 1, 1, 3);
  add_block(0, 0, 0, 5);
  add_block(0, 0, 1, 6);
  add_block(0, 1, 0, 9);
  add_block(0, 1, 1, 10);
  add_block(1, 0, 0, 3);
  add_block(1, 0, 1, 7);
  add_block(1, 0, 2, 11);
  return plan;
}

TEST(Estimate, HandWorkedFourByFourMeshWithMulticast) {
  const proto::PlanEstimate e = estimate_plan(example_plan(), example_chip(true));
  EXPECT_DOUBLE_EQ(e.input_bit_hops_per_token(), 480);
  EXPECT_DOUBLE_EQ(e.output_bit_hops_per_token(), 576);
  EXPECT_DOUBLE_EQ(e.bit_hops_per_token(), 1056);
  EXPECT_DOUBLE_EQ(e.critical_path_ns_per_token(), 305);
  ASSERT_EQ(e.stage_latency_ns_size(), 1);
  EXPECT_DOUBLE_EQ(e.stage_latency_ns(0), 305);
  EXPECT_DOUBLE_EQ(e.prefill_tokens_per_s(), 1e9 / 305);
}

TEST(Estimate, HandWorkedFourByFourMeshWithoutMulticast) {
  const proto::PlanEstimate e = estimate_plan(example_plan(), example_chip(false));
  EXPECT_DOUBLE_EQ(e.input_bit_hops_per_token(), 160 + 224 + 384);
  EXPECT_DOUBLE_EQ(e.bit_hops_per_token(), 1344);
}

TEST(Estimate, ReplicasAverageTrafficAndStagesSetThroughput) {
  // Layer B gets a second copy on tiles 12, 13, 14 (row 3) and its own stage: its traffic per
  // token is the mean of the two copies, its stage takes two tokens per stage latency.
  proto::MappingPlan plan = example_plan();
  plan.mutable_layers(1)->set_replicas(2);
  plan.mutable_layers(1)->set_stage(1);
  for (int t : {12, 13, 14}) {
    proto::BlockPlacement* b = plan.add_blocks();
    *b = plan.blocks(4 + (t - 12));
    b->set_tile(t);
    b->set_replica(1);
  }
  const proto::PlanEstimate e = estimate_plan(plan, example_chip(true));
  // Copy 1 from node 0: multicast row 0 x=0..2 (2) + columns 0, 1, 2 down 3 each (9) = 11
  // links -> 352; partial sums to node 15: 3 + 2 + 1 = 6 hops -> 192. Mean of the copies:
  // input (160 + 352) / 2 = 256, output (192 + 192) / 2 = 192.
  EXPECT_DOUBLE_EQ(e.input_bit_hops_per_token(), 320 + 256);
  EXPECT_DOUBLE_EQ(e.output_bit_hops_per_token(), 384 + 192);
  // Copy 1's slowest tile is 14: input 5 hops + 1, partial sums 1 hop + 1 -> 151 ns, as copy 0.
  ASSERT_EQ(e.stage_latency_ns_size(), 2);
  EXPECT_DOUBLE_EQ(e.stage_latency_ns(0), 154);
  EXPECT_DOUBLE_EQ(e.stage_latency_ns(1), 151);
  // Stage 0 (154 ns, one copy) is slower than stage 1 (151 / 2 ns).
  EXPECT_DOUBLE_EQ(e.prefill_tokens_per_s(), 1e9 / 154);
}

TEST(Estimate, MulticastTreeOnItsOwn) {
  const Mesh mesh{4, 4};
  EXPECT_EQ(mesh.multicast_links(0, {}), 0);
  EXPECT_EQ(mesh.multicast_links(0, {15}), 6);  // one destination: the XY route
  EXPECT_EQ(mesh.multicast_links(5, {5}), 0);
  // From node 5 (1,1) to 0 (0,0), 3 (3,0), 13 (1,3): row 1 from x=0 to x=3 (3), column 0 up 1,
  // column 3 up 1, column 1 down 2 -> 7.
  EXPECT_EQ(mesh.multicast_links(5, {0, 3, 13}), 7);
  // Destinations above and below in one column share nothing: column 1 up 1 and down 2.
  EXPECT_EQ(mesh.multicast_links(5, {1, 13}), 3);
}

TEST(Estimate, HermesTileReadLatency) {
  const proto::ChipConfig hermes =
      proto::load_chip_config(std::string(AIMC_SOURCE_DIR) + "/configs/hermes.pbtxt");
  // 128 PWM steps of 1 ns + one 38.4 ns conversion round + (5 + 4) cycles of overhead.
  EXPECT_DOUBLE_EQ(block_read_ns(hermes, 256, 256), 128 + 38.4 + 9);
  proto::ChipConfig precise = hermes;
  precise.mutable_tile()->mutable_dac()->set_read_phases(4);
  EXPECT_DOUBLE_EQ(block_read_ns(precise, 256, 256), 4 * (128 + 38.4) + 9);
  proto::ChipConfig serial = hermes;
  serial.mutable_tile()->mutable_dac()->set_encoding(proto::BIT_SERIAL);
  serial.mutable_tile()->mutable_adc()->set_adcs_per_tile(64);
  serial.mutable_tile()->mutable_adc()->set_cols_per_adc(4);
  // 8 bit-serial integrations, 256 columns over 64 ADCs = 4 conversion rounds.
  EXPECT_DOUBLE_EQ(block_read_ns(serial, 256, 256), 8 + 4 * 38.4 + 9);
  EXPECT_EQ(input_bits_per_element(hermes), 8);
  EXPECT_EQ(output_bits_per_element(hermes), 8);
}

TEST(Estimate, DigitalTilesUseTheirMacArray) {
  proto::ChipConfig chip = testing::make_chip(4, 256, 256);
  chip.mutable_tile()->set_kind(proto::DIGITAL_W4A8);
  chip.mutable_tile()->mutable_digital()->set_macs_per_cycle(1024);
  chip.mutable_tile()->mutable_digital()->set_pipeline_cycles(8);
  chip.mutable_tile()->set_post_process_cycles(0);
  EXPECT_DOUBLE_EQ(block_read_ns(chip, 256, 256), 64 + 8);
  EXPECT_EQ(input_bits_per_element(chip), 8);
  EXPECT_EQ(output_bits_per_element(chip), 32);
}

TEST(Mesh, DefaultDpuNodesSpreadOverTheMesh) {
  proto::ChipConfig chip = testing::make_chip(64, 256, 256, 1, 8);
  // 8 DPUs on 8 x 8: a 2 x 4 grid of 4 x 2 cells, each DPU at its cell's centre.
  EXPECT_EQ(dpu_nodes(chip), (std::vector<int>{1 * 8 + 2, 1 * 8 + 6, 3 * 8 + 2, 3 * 8 + 6,
                                               5 * 8 + 2, 5 * 8 + 6, 7 * 8 + 2, 7 * 8 + 6}));
  chip.mutable_dpu()->set_count(1);
  EXPECT_EQ(dpu_nodes(chip), (std::vector<int>{4 * 8 + 4}));
  chip.mutable_dpu()->set_count(2);
  chip.mutable_dpu()->add_nodes(7);
  chip.mutable_dpu()->add_nodes(56);
  EXPECT_EQ(dpu_nodes(chip), (std::vector<int>{7, 56}));
}

}  // namespace
}  // namespace aimc::mapping

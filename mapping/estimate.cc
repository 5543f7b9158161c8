// Analytic plan estimate: bit-hops over XY routes (multicast trees when the mesh multicasts)
// and a per-layer latency of input delivery, crossbar reads and partial-sum collection.
#include "mapping/estimate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "arch/chip_costs.h"
#include "mapping/mesh.h"

namespace aimc::mapping {
namespace {

int round_up_to_bytes(int bits) {
  return (bits + 7) / 8 * 8;
}

long long ceil_div(long long a, long long b) {
  return (a + b - 1) / b;
}

/// Cost of one copy of one layer.
struct CopyCost {
  double input_bit_hops = 0;
  double output_bit_hops = 0;
  double latency_ns = 0;
};

}  // namespace

int input_bits_per_element(const proto::ChipConfig& chip) {
  switch (chip.tile().kind()) {
    case proto::DIGITAL_W4A8:
      return 8;
    case proto::DIGITAL_FP:
      return 32;
    default:
      return round_up_to_bytes(static_cast<int>(chip.tile().dac().bits()));
  }
}

int output_bits_per_element(const proto::ChipConfig& chip) {
  if (chip.tile().kind() != proto::ANALOG) return 32;
  return round_up_to_bytes(static_cast<int>(chip.tile().adc().bits()));
}

double block_read_ns(const proto::ChipConfig& chip, int rows, int cols) {
  const proto::TileConfig& tile = chip.tile();
  const double clock = chip.clock_ghz();  // cycles per ns
  if (tile.kind() != proto::ANALOG) {
    const long long macs = static_cast<long long>(rows) * cols;
    return (ceil_div(macs, tile.digital().macs_per_cycle()) + tile.digital().pipeline_cycles() +
            tile.post_process_cycles()) /
           clock;
  }
  const double steps = tile.dac().encoding() == proto::PWM
                           ? std::ldexp(1.0, static_cast<int>(tile.dac().bits()) - 1)
                           : static_cast<double>(tile.dac().bits());
  const double integration_ns = steps * tile.dac().cycles_per_step() / clock;
  // Columns beyond the ADC count wait for a second (third, ...) conversion round.
  const double conversion_ns = static_cast<double>(ceil_div(cols, tile.adc().adcs_per_tile())) *
                               arch::adc_conversion_time_ns(chip);
  return tile.dac().read_phases() * (integration_ns + conversion_ns) +
         (tile.read_overhead_cycles() + tile.post_process_cycles()) / clock;
}

namespace {

// The DPU cycles adding a layer's partial sums after they have arrived, where noc.reduction
// puts the adds: at the layer's DPU, all row groups' partials of every output; in the network,
// none (one adder stage per merge, about log2(row groups) deep); on DPUs near the tiles, each
// column slice on its own DPU in parallel (slices beyond the DPU count take turns).
double reduce_ns(const proto::ChipConfig& chip, const LayerPartition& layer) {
  const double clock = chip.clock_ghz();
  const long long rows = layer.row_tiles();
  if (rows <= 1) return 0;
  switch (chip.noc().reduction()) {
    case proto::REDUCE_IN_NETWORK:
      return std::ceil(std::log2(static_cast<double>(rows))) * chip.noc().router_add_cycles() /
             clock;
    case proto::REDUCE_NEAR_TILE_DPUS: {
      long long widest = 0;
      for (int c : layer.col_sizes) widest = std::max<long long>(widest, c);
      const long long turns =
          ceil_div(static_cast<long long>(layer.col_sizes.size()), chip.dpu().count());
      return static_cast<double>(turns * (rows - 1) * ceil_div(widest, chip.dpu().lanes()) *
                                 chip.dpu().add_cycles()) /
             clock;
    }
    default:
      return static_cast<double>((rows - 1) * ceil_div(layer.out, chip.dpu().lanes()) *
                                 chip.dpu().add_cycles()) /
             clock;
  }
}

}  // namespace

double layer_latency_without_hops_ns(const proto::ChipConfig& chip, const LayerPartition& layer) {
  if (layer.block_count() == 0) return 0;
  const double clock = chip.clock_ghz();
  const int link = static_cast<int>(chip.noc().link_width_bits());
  double slowest = 0;
  for (int r : layer.row_sizes) {
    for (int c : layer.col_sizes) {
      const double t = block_read_ns(chip, r, c) +
                       (ceil_div(static_cast<long long>(r) * input_bits_per_element(chip), link) +
                        ceil_div(static_cast<long long>(c) * output_bits_per_element(chip), link)) /
                           clock;
      slowest = std::max(slowest, t);
    }
  }
  return slowest + reduce_ns(chip, layer);
}

namespace {

// Column slices of one copy: col_begin -> (columns, the tiles whose partial sums add up).
using ColumnSlices = std::map<long long, std::pair<int, std::vector<int>>>;

// Per tile of one copy, indexed by tile: latest input arrival and partial-sum delivery
// (cycles), summed reads (ns); `tiles` lists the tiles with values, in the order first seen.
// Kept over the copies of a plan (a std::map per copy cost more than the estimate's arithmetic
// on chips of thousands of tiles).
struct TileTimes {
  std::vector<double> arrive, leave, read;
  std::vector<int> tiles;
  std::vector<char> seen;

  // Forgets the last copy's values.
  void clear() {
    for (int t : tiles) arrive[t] = leave[t] = read[t] = 0, seen[t] = 0;
    tiles.clear();
  }
  void touch(int tile) {
    if (static_cast<size_t>(tile) >= seen.size()) {
      const size_t n = std::max<size_t>(tile + 1, 2 * seen.size());
      arrive.resize(n, 0), leave.resize(n, 0), read.resize(n, 0), seen.resize(n, 0);
    }
    if (!seen[tile]) seen[tile] = 1, tiles.push_back(tile);
  }
};

// REDUCE_IN_NETWORK: the partial sums' bit-hops and each tile's delivery time (cycles).
void in_network_partials(const proto::ChipConfig& chip, const Mesh& mesh,
                         const ColumnSlices& columns, int dpu, CopyCost& cost,
                         std::vector<double>& leave_cycles) {
  const long long link = chip.noc().link_width_bits();
  const long long hop_cycles = chip.noc().hop_latency_cycles();
  const int out_bits = output_bits_per_element(chip);
  // Each slice's partials travel the union of their XY routes (x first) to the DPU, once per
  // link; where k streams meet a router adds them in one adder stage.
  for (const auto& [col, column] : columns) {
    const long long bits = static_cast<long long>(column.first) * out_bits;
    std::set<std::pair<int, int>> tree;
    std::vector<std::vector<int>> routes;
    for (int t : column.second) {
      std::vector<int> nodes{t};
      for (int n = t; n != dpu;) {
        const int next = mesh.x(n) != mesh.x(dpu)
                             ? n + (mesh.x(dpu) > mesh.x(n) ? 1 : -1)
                             : n + (mesh.y(dpu) > mesh.y(n) ? mesh.width : -mesh.width);
        tree.insert({n, next});
        nodes.push_back(next);
        n = next;
      }
      routes.push_back(std::move(nodes));
    }
    cost.output_bit_hops += static_cast<double>(bits) * static_cast<double>(tree.size());
    std::map<int, int> streams;  // node -> streams entering it (links in, plus a tile there)
    for (const auto& [from, to] : tree) ++streams[to];
    for (int t : column.second) ++streams[t];
    for (size_t i = 0; i < routes.size(); ++i) {
      int merges = 0;
      for (int n : routes[i]) merges += streams[n] >= 2 ? 1 : 0;
      const int t = column.second[i];
      const double leave = hop_cycles * mesh.hops(t, dpu) + ceil_div(bits, link) +
                           merges * static_cast<double>(chip.noc().router_add_cycles());
      leave_cycles[t] = std::max(leave_cycles[t], leave);
    }
  }
}

// REDUCE_NEAR_TILE_DPUS: the partial sums' bit-hops and each tile's delivery time (cycles),
// the near DPU's adds included.
void near_dpu_partials(const proto::MappingPlan& plan, const proto::ChipConfig& chip,
                       const Mesh& mesh, const ColumnSlices& columns, int dpu, CopyCost& cost,
                       std::vector<double>& leave_cycles) {
  const long long link = chip.noc().link_width_bits();
  const long long hop_cycles = chip.noc().hop_latency_cycles();
  const int out_bits = output_bits_per_element(chip);
  // Each slice is reduced by the DPU with the fewest hops summed over its tiles (the lowest
  // index on ties), which sends the sum on to the layer's DPU; slices sharing a DPU take turns.
  std::vector<int> dpus(plan.dpu_nodes().begin(), plan.dpu_nodes().end());
  if (dpus.empty()) dpus = dpu_nodes(chip);
  std::map<int, double> near_busy_cycles;
  for (const auto& [col, column] : columns) {
    const long long bits = static_cast<long long>(column.first) * out_bits;
    int near = 0;
    long long best = -1;
    for (size_t d = 0; d < dpus.size(); ++d) {
      long long sum = 0;
      for (int t : column.second) sum += mesh.hops(t, dpus[d]);
      if (best < 0 || sum < best) best = sum, near = static_cast<int>(d);
    }
    const int node = dpus[near];
    double in_cycles = 0;
    for (int t : column.second) {
      cost.output_bit_hops += static_cast<double>(bits) * mesh.hops(t, node);
      in_cycles = std::max(
          in_cycles, hop_cycles * mesh.hops(t, node) + static_cast<double>(ceil_div(bits, link)));
    }
    cost.output_bit_hops += static_cast<double>(bits) * mesh.hops(node, dpu);
    near_busy_cycles[near] += static_cast<double>(column.second.size() - 1) *
                              ceil_div(column.first, chip.dpu().lanes()) * chip.dpu().add_cycles();
    const double on = in_cycles + near_busy_cycles[near] + hop_cycles * mesh.hops(node, dpu) +
                      (node != dpu ? static_cast<double>(ceil_div(bits, link)) : 0.0);
    for (int t : column.second) leave_cycles[t] = std::max(leave_cycles[t], on);
  }
}

// The cost of one copy of a layer (its `blocks` in the plan) when its input comes from mesh node
// `source` and its partial sums go to the DPU at node `dpu`: bit-hops of the input slices and
// partial sums, and its latency (the slowest tile's input arrival, reads and delivery, then the
// DPU's reduction). `times` is scratch space.
CopyCost copy_cost(const proto::MappingPlan& plan, const proto::ChipConfig& chip, const Mesh& mesh,
                   const proto::LayerPlacement& layer, const std::vector<int>& blocks, int source,
                   int dpu, TileTimes& times) {
  const double clock = chip.clock_ghz();
  const long long link = chip.noc().link_width_bits();
  const long long hop_cycles = chip.noc().hop_latency_cycles();
  const bool multicast = chip.noc().multicast();
  const int in_bits = input_bits_per_element(chip);
  const int out_bits = output_bits_per_element(chip);
  CopyCost cost;
  const proto::PartialSumReduction reduction = chip.noc().reduction();
  // Column slices: the tiles whose partial sums add up (one per row group), and their width.
  ColumnSlices columns;
  // Input slices: every tile of one row_tile gets the same slice (one multicast tree).
  std::map<int, std::pair<long long, std::vector<int>>> slices;  // row_tile -> (bits, tiles)
  times.clear();
  std::vector<double>& leave_cycles = times.leave;
  for (int b : blocks) {
    const proto::BlockPlacement& block = plan.blocks(b);
    const int tile = static_cast<int>(block.tile());
    const int rows = static_cast<int>(block.row_end() - block.row_begin());
    const int cols = static_cast<int>(block.col_end() - block.col_begin());
    const long long slice_bits = static_cast<long long>(rows) * in_bits;
    const long long partial_bits = static_cast<long long>(cols) * out_bits;
    auto& slice = slices[static_cast<int>(block.row_tile())];
    slice.first = slice_bits;
    slice.second.push_back(tile);
    auto& column = columns[static_cast<long long>(block.col_begin())];
    column.first = cols;
    column.second.push_back(tile);
    const double arrive = hop_cycles * mesh.hops(source, tile) + ceil_div(slice_bits, link);
    times.touch(tile);
    times.arrive[tile] = std::max(times.arrive[tile], arrive);
    if (reduction == proto::REDUCE_AT_LAYER_DPU) {
      cost.output_bit_hops += static_cast<double>(partial_bits) * mesh.hops(tile, dpu);
      const double leave = hop_cycles * mesh.hops(tile, dpu) + ceil_div(partial_bits, link);
      leave_cycles[tile] = std::max(leave_cycles[tile], leave);
    }
    // Blocks of one layer that share a tile are read one after another.
    times.read[tile] += block_read_ns(chip, rows, cols);
  }
  for (auto& [row_tile, slice] : slices) {
    std::vector<int>& tiles = slice.second;
    std::sort(tiles.begin(), tiles.end());
    tiles.erase(std::unique(tiles.begin(), tiles.end()), tiles.end());
    long long links = 0;
    if (multicast) {
      links = mesh.multicast_links(source, tiles);
    } else {
      for (int t : tiles) links += mesh.hops(source, t);
    }
    cost.input_bit_hops += static_cast<double>(slice.first) * links;
  }
  double after_ns = 0;  // from the last partial's delivery to the layer's output at its DPU
  if (reduction == proto::REDUCE_AT_LAYER_DPU) {
    after_ns = static_cast<double>(layer.row_tiles() - 1) *
               ceil_div(layer.out_features(), chip.dpu().lanes()) * chip.dpu().add_cycles() / clock;
  } else if (reduction == proto::REDUCE_IN_NETWORK) {
    in_network_partials(chip, mesh, columns, dpu, cost, leave_cycles);
  } else {
    near_dpu_partials(plan, chip, mesh, columns, dpu, cost, leave_cycles);
  }
  for (int tile : times.tiles) {
    cost.latency_ns = std::max(
        cost.latency_ns, (times.arrive[tile] + leave_cycles[tile]) / clock + times.read[tile]);
  }
  cost.latency_ns += after_ns;
  return cost;
}

}  // namespace

proto::PlanEstimate estimate_plan(const proto::MappingPlan& plan, const proto::ChipConfig& chip) {
  const Mesh mesh{static_cast<int>(plan.mesh_x()), static_cast<int>(plan.mesh_y())};

  // Blocks of each (layer, replica).
  std::vector<std::map<int, std::vector<int>>> copies(plan.layers_size());
  for (int b = 0; b < plan.blocks_size(); ++b) {
    const proto::BlockPlacement& block = plan.blocks(b);
    copies[block.layer_index()][static_cast<int>(block.replica())].push_back(b);
  }

  proto::PlanEstimate estimate;
  double critical_path_ns = 0;
  std::map<int, std::pair<double, int>> stages;  // stage -> (latency, copies)
  TileTimes times;
  for (int l = 0; l < plan.layers_size(); ++l) {
    const proto::LayerPlacement& layer = plan.layers(l);
    if (!layer.on_tiles() || copies[l].empty()) continue;
    // The input vector comes from the DPU of the layer before (DPU 0 for the first layer).
    const int first_source = plan.dpu_nodes_size() > 0 ? static_cast<int>(plan.dpu_nodes(0)) : 0;
    const int source = l == 0 ? first_source : static_cast<int>(plan.layers(l - 1).dpu_node());
    const int dpu = static_cast<int>(layer.dpu_node());
    double input_sum = 0, output_sum = 0, latency = 0;
    for (const auto& [replica, blocks] : copies[l]) {
      const CopyCost cost = copy_cost(plan, chip, mesh, layer, blocks, source, dpu, times);
      input_sum += cost.input_bit_hops;
      output_sum += cost.output_bit_hops;
      latency = std::max(latency, cost.latency_ns);
    }
    // A token uses one copy; copies take turns, so the traffic per token is their mean.
    const double n = static_cast<double>(copies[l].size());
    estimate.set_input_bit_hops_per_token(estimate.input_bit_hops_per_token() + input_sum / n);
    estimate.set_output_bit_hops_per_token(estimate.output_bit_hops_per_token() + output_sum / n);
    critical_path_ns += latency;
    auto& stage = stages[static_cast<int>(layer.stage())];
    stage.first += latency;
    stage.second =
        stage.second == 0 ? static_cast<int>(n) : std::min(stage.second, static_cast<int>(n));
  }
  estimate.set_bit_hops_per_token(estimate.input_bit_hops_per_token() +
                                  estimate.output_bit_hops_per_token());
  estimate.set_critical_path_ns_per_token(critical_path_ns);
  // Prefill: the stages work on different tokens at once; a stage with r copies takes r tokens
  // per stage latency. The slowest stage sets the rate.
  double slowest = 0;
  for (const auto& [index, stage] : stages) {
    estimate.add_stage_latency_ns(stage.first);
    slowest = std::max(slowest, stage.first / stage.second);
  }
  estimate.set_prefill_tokens_per_s(slowest > 0 ? 1e9 / slowest : 0);
  return estimate;
}

}  // namespace aimc::mapping

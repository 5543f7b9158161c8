// make_plan(): partition, fit check, placement by the chosen strategy, and the plan's summary
// and estimate; plus the side-by-side comparison of all strategies.
#include "mapping/mapper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>

#include "mapping/estimate.h"
#include "mapping/mesh.h"
#include "mapping/number_text.h"
#include "mapping/partition.h"
#include "mapping/placement_strategy.h"
#include "mapping/system_mapper.h"
#include "proto/user_error.h"

namespace aimc::mapping {
namespace {

/// Largest tile.rows / tile.cols the config schema accepts.
constexpr long long kMaxCrossbar = 65536;
/// Largest tile.count and mesh side the config schema accepts.
constexpr long long kMaxTiles = 1048576;
constexpr long long kMaxMeshSide = 4096;

/// Tiles needed by `layers` on tiles of `shape`: one per block without sharing, else the tile
/// loads of next-fit shelf packing in layer order (pack_blocks).
long long count_tiles(const std::vector<LayerPartition>& layers, TileShape shape, bool sharing) {
  if (!sharing) return total_blocks(layers);
  return static_cast<long long>(pack_blocks(layers, {}, shape, true).size());
}

long long count_tiles_for(const workloads::ModelConfig& model, TileShape shape, bool lm_head,
                          bool sharing) {
  return count_tiles(partition_model(model, shape, lm_head), shape, sharing);
}

PlacementInput placement_input(std::vector<LayerPartition> layers, const proto::ChipConfig& chip) {
  PlacementInput input;
  input.shape = tile_shape(chip);
  input.layers = std::move(layers);
  input.mesh = chip_mesh(chip);
  input.tile_count = static_cast<int>(chip.tile().count());
  input.sharing = chip.mapping().allow_tile_sharing();
  input.dpu_nodes = dpu_nodes(chip);
  input.input_bits = input_bits_per_element(chip);
  input.output_bits = output_bits_per_element(chip);
  for (const LayerPartition& layer : input.layers) {
    input.layer_latency_ns.push_back(layer_latency_without_hops_ns(chip, layer));
  }
  input.loads = pack_blocks(input.layers, {}, input.shape, input.sharing);
  input.layer_loads.resize(input.layers.size());
  for (size_t k = 0; k < input.loads.size(); ++k) {
    input.layer_loads[input.loads[k].owner].push_back(static_cast<int>(k));
  }
  return input;
}

proto::MappingPlan plan_of(const std::string& model_name, const proto::ChipConfig& chip,
                           const StrategyInfo& info, const PlacementInput& input);

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const StrategyInfo& s : strategies()) names.push_back(s.name);
  return names;
}

std::vector<std::string> strategy_descriptions() {
  std::vector<std::string> lines;
  for (const StrategyInfo& s : strategies()) lines.push_back(s.name + ": " + s.description);
  return lines;
}

long long tiles_needed(const workloads::ModelConfig& model, const proto::ChipConfig& chip) {
  return count_tiles_for(model, tile_shape(chip), chip.mapping().lm_head_on_tiles(),
                         chip.mapping().allow_tile_sharing());
}

namespace {

// What the does-not-fit message proposes: each alternative on its own "\n  - " line (joined into
// one line at the end).

// More tiles, on a mesh with a node for each.
void suggest_more_tiles(const proto::ChipConfig& chip, long long need, std::ostream& m) {
  if (need > kMaxTiles) {
    m << "\n  - more tiles: not possible, " << need << " exceeds the largest tile.count ("
      << kMaxTiles << ")";
    return;
  }
  long long side = static_cast<long long>(std::ceil(std::sqrt(static_cast<double>(need))));
  while (side * side < need) ++side;
  const long long mx = std::max<long long>(chip.noc().mesh_x(), side);
  const long long my = std::max<long long>(chip.noc().mesh_y(), (need + mx - 1) / mx);
  m << "\n  - more tiles: tile.count: " << need
    << " (or more), with noc.mesh_x * noc.mesh_y >= " << need;
  if (mx <= kMaxMeshSide && my <= kMaxMeshSide) {
    m << " (e.g. noc { mesh_x: " << mx << " mesh_y: " << my << " })";
  }
}

// The smallest (then most square) crossbar of the current rows and weight columns scaled by
// powers of two with which the model fits the chip's tile count; false when none does.
bool find_crossbar(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                   bool with_sharing, long long* rows, long long* cols) {
  const TileShape shape = tile_shape(chip);
  const bool lm_head = chip.mapping().lm_head_on_tiles();
  const long long have = chip.tile().count();
  const long long cpw = chip.tile().cells_per_weight();
  *rows = *cols = 0;
  for (long long r = shape.rows; r <= kMaxCrossbar; r *= 2) {
    for (long long c = shape.cols; c * cpw <= kMaxCrossbar; c *= 2) {
      if (r == shape.rows && c == shape.cols) continue;
      const bool better = *rows == 0 || r * c < *rows * *cols ||
                          (r * c == *rows * *cols && std::llabs(r - c) < std::llabs(*rows - *cols));
      const TileShape bigger{static_cast<int>(r), static_cast<int>(c)};
      if (better && count_tiles_for(model, bigger, lm_head, with_sharing) <= have) {
        *rows = r;
        *cols = c;
      }
    }
  }
  return *rows > 0;
}

// Larger crossbars with the same tile count. Without sharing every layer takes at least one
// tile, so when no size fits alone, sizes with sharing are tried too.
void suggest_larger_crossbars(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                              std::ostream& m) {
  const bool lm_head = chip.mapping().lm_head_on_tiles();
  const bool sharing = chip.mapping().allow_tile_sharing();
  const long long cpw = chip.tile().cells_per_weight();
  long long rows = 0, cols = 0;
  bool with_sharing = sharing;
  bool found = find_crossbar(model, chip, sharing, &rows, &cols);
  if (!found && !sharing) {
    with_sharing = true;
    found = find_crossbar(model, chip, true, &rows, &cols);
  }
  if (found) {
    const TileShape bigger{static_cast<int>(rows), static_cast<int>(cols)};
    m << "\n  - larger crossbars: tile.rows: " << rows << " tile.cols: " << cols * cpw
      << (with_sharing && !sharing ? " with mapping.allow_tile_sharing: true" : "") << " (" << rows
      << " x " << cols << " weights; needs "
      << count_tiles_for(model, bigger, lm_head, with_sharing) << " tiles; tile.adc must cover "
      << cols << " columns)";
  } else {
    m << "\n  - larger crossbars: none up to " << kMaxCrossbar << " x " << kMaxCrossbar
      << " cells fits in " << chip.tile().count() << " tiles";
  }
}

// A digital lm_head, tile sharing, or several chips like this one (the model mapped across
// them, mapping/system_mapper.h).
void suggest_mapping_options(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                             std::ostream& m) {
  const TileShape shape = tile_shape(chip);
  const bool lm_head = chip.mapping().lm_head_on_tiles();
  const bool sharing = chip.mapping().allow_tile_sharing();
  const long long have = chip.tile().count();
  if (lm_head) {
    const long long without = count_tiles_for(model, shape, false, sharing);
    if (without <= have) {
      m << "\n  - digital lm_head: mapping.lm_head_on_tiles: false (then it needs " << without
        << " tiles)";
    } else {
      m << " (mapping.lm_head_on_tiles: false alone is not enough: it would still need " << without
        << " tiles)";
    }
  }
  if (!sharing) {
    const long long shared = count_tiles_for(model, shape, lm_head, true);
    if (shared <= have) {
      m << "\n  - tile sharing: mapping.allow_tile_sharing: true (then it needs " << shared
        << " tiles)";
    }
  }
  const int chips = chips_needed(model, chip);
  if (chips > 1) {
    m << "\n  - a system of " << chips << " such chips (--chips " << chips
      << " or auto, or a system config with chips { count: " << chips << " }, docs/systems.md)";
  }
}

// One line: the alternatives follow the colon, separated by "; or ".
std::string one_line(std::string text) {
  const std::string item = "\n  - ";
  for (size_t pos = text.find(item), k = 0; pos != std::string::npos;
       pos = text.find(item, pos), ++k) {
    const std::string sep = k == 0 ? " " : "; or ";
    text.replace(pos, item.size(), sep);
    pos += sep.size();
  }
  return text;
}

}  // namespace

void check_fits(const workloads::ModelConfig& model, const proto::ChipConfig& chip) {
  const TileShape shape = tile_shape(chip);
  const bool lm_head = chip.mapping().lm_head_on_tiles();
  const bool sharing = chip.mapping().allow_tile_sharing();
  const long long have = chip.tile().count();
  const std::vector<LayerPartition> layers = partition_model(model, shape, lm_head);
  const long long need = count_tiles(layers, shape, sharing);
  if (need <= have) return;

  const int analog = static_cast<int>(
      std::count_if(layers.begin(), layers.end(), [](const auto& l) { return l.on_tiles; }));
  std::ostringstream m;
  m << "model '" << model.name << "' does not fit chip '" << chip.name() << "': its " << analog
    << " analog layers need " << need << " tiles of " << shape.rows << " x " << shape.cols
    << " weights (tile.rows x tile.cols / tile.cells_per_weight)"
    << (sharing ? " with tile sharing" : "") << ", the chip has " << have
    << " (tile.count). Any one of these makes it fit:";
  suggest_more_tiles(chip, need, m);
  suggest_larger_crossbars(model, chip, m);
  suggest_mapping_options(model, chip, m);
  throw UserError(one_line(m.str()));
}

namespace {

// What the blocks of a plan add up to: the tiles of each layer and the cell utilization of each
// tile used, and the weights on tiles (of the first copy).
struct BlockTotals {
  std::vector<std::vector<int>> layer_tiles;
  std::map<int, double> tile_utilization;
  unsigned long long weights = 0;
};

// The plan's blocks, ordered by copy, layer, then position, whatever order the strategy placed
// them in.
BlockTotals add_blocks(const PlacementInput& input, Placement* placement,
                       proto::MappingPlan* plan) {
  std::sort(placement->blocks.begin(), placement->blocks.end(),
            [](const PlacedBlock& a, const PlacedBlock& b) {
              return std::tie(a.replica, a.layer, a.row_tile, a.col_tile) <
                     std::tie(b.replica, b.layer, b.row_tile, b.col_tile);
            });
  const double tile_cells = static_cast<double>(input.shape.rows) * input.shape.cols;
  BlockTotals totals;
  totals.layer_tiles.resize(input.layers.size());
  plan->mutable_blocks()->Reserve(static_cast<int>(placement->blocks.size()));
  for (const PlacedBlock& p : placement->blocks) {
    const LayerPartition& layer = input.layers[p.layer];
    proto::BlockPlacement* b = plan->add_blocks();
    b->set_layer(layer.name);
    b->set_layer_index(p.layer);
    b->set_row_begin(layer.row_offsets[p.row_tile]);
    b->set_row_end(layer.row_offsets[p.row_tile] + layer.row_sizes[p.row_tile]);
    b->set_col_begin(layer.col_offsets[p.col_tile]);
    b->set_col_end(layer.col_offsets[p.col_tile] + layer.col_sizes[p.col_tile]);
    b->set_tile(p.slot.tile);
    b->set_tile_row_offset(p.slot.row_offset);
    b->set_tile_col_offset(p.slot.col_offset);
    const double cells =
        static_cast<double>(layer.row_sizes[p.row_tile]) * layer.col_sizes[p.col_tile];
    b->set_cell_utilization(cells / tile_cells);
    b->set_replica(p.replica);
    b->set_row_tile(p.row_tile);
    b->set_col_tile(p.col_tile);
    totals.layer_tiles[p.layer].push_back(p.slot.tile);
    totals.tile_utilization[p.slot.tile] += cells / tile_cells;
    if (p.replica == 0) totals.weights += static_cast<unsigned long long>(cells);
  }
  return totals;
}

// The plan's layers (tiles, DPU, stage, copies) and the tiles of each in the summary.
void add_layers(const PlacementInput& input, const Placement& placement, BlockTotals* totals,
                proto::MappingPlan* plan) {
  for (size_t l = 0; l < input.layers.size(); ++l) {
    const LayerPartition& layer = input.layers[l];
    std::vector<int>& tiles = totals->layer_tiles[l];
    std::sort(tiles.begin(), tiles.end());
    tiles.erase(std::unique(tiles.begin(), tiles.end()), tiles.end());
    proto::LayerPlacement* lp = plan->add_layers();
    lp->set_name(layer.name);
    lp->set_block(layer.block);
    lp->set_role(layer.role);
    lp->set_in_features(layer.in);
    lp->set_out_features(layer.out);
    lp->set_on_tiles(layer.on_tiles);
    for (int t : tiles) lp->add_tiles(t);
    lp->set_dpu(placement.layer_dpu[l]);
    lp->set_dpu_node(input.dpu_nodes[placement.layer_dpu[l]]);
    lp->set_stage(placement.layer_stage[l]);
    lp->set_replicas(placement.layer_replicas[l]);
    lp->set_row_tiles(layer.row_tiles());
    lp->set_col_tiles(layer.col_tiles());
    plan->mutable_summary()->add_tiles_per_layer(static_cast<uint32_t>(tiles.size()));
  }
}

}  // namespace

proto::MappingPlan make_plan(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                             const std::string& strategy) {
  const StrategyInfo& info = find_strategy(strategy);
  check_fits(model, chip);
  return plan_of(
      model.name, chip, info,
      placement_input(partition_model(model, tile_shape(chip), chip.mapping().lm_head_on_tiles()),
                      chip));
}

proto::MappingPlan make_part_plan(const std::string& model_name, const proto::ChipConfig& chip,
                                  const std::string& strategy, std::vector<LayerPartition> layers) {
  const StrategyInfo& info = find_strategy(strategy);
  const PlacementInput input = placement_input(std::move(layers), chip);
  if (static_cast<long long>(input.loads.size()) > input.tile_count)
    throw UserError("layer parts of model '" + model_name + "' need " +
                    std::to_string(input.loads.size()) + " tiles, chip '" + chip.name() + "' has " +
                    std::to_string(input.tile_count) + " (tile.count)");
  return plan_of(model_name, chip, info, input);
}

namespace {

proto::MappingPlan plan_of(const std::string& model_name, const proto::ChipConfig& chip,
                           const StrategyInfo& info, const PlacementInput& input) {
  Placement placement = info.make()->place(input);

  proto::MappingPlan plan;
  plan.set_model(model_name);
  plan.set_chip(chip.name());
  plan.set_strategy(info.name);
  plan.set_mesh_x(input.mesh.width);
  plan.set_mesh_y(input.mesh.height);
  for (int n : input.dpu_nodes) plan.add_dpu_nodes(n);
  plan.set_tile_rows(input.shape.rows);
  plan.set_tile_cols(input.shape.cols);
  BlockTotals totals = add_blocks(input, &placement, &plan);
  add_layers(input, placement, &totals, &plan);

  proto::PlanSummary* summary = plan.mutable_summary();
  double utilization = 0;
  for (const auto& [tile, u] : totals.tile_utilization) utilization += u;
  summary->set_tiles_used(static_cast<uint32_t>(totals.tile_utilization.size()));
  summary->set_tiles_available(chip.tile().count());
  summary->set_mean_cell_utilization(
      totals.tile_utilization.empty() ? 0 : utilization / totals.tile_utilization.size());
  summary->set_weights_on_tiles(totals.weights);
  summary->set_stages(placement.stages);
  summary->set_blocks(static_cast<uint32_t>(placement.blocks.size()));
  summary->set_tiles_needed(
      static_cast<uint32_t>(count_tiles(input.layers, input.shape, input.sharing)));
  *plan.mutable_estimate() = estimate_plan(plan, chip);
  return plan;
}

}  // namespace

std::vector<StrategyComparison> compare_strategies(const workloads::ModelConfig& model,
                                                   const proto::ChipConfig& chip) {
  std::vector<StrategyComparison> rows;
  for (const std::string& name : strategy_names()) {
    const proto::MappingPlan plan = make_plan(model, chip, name);
    rows.push_back({name, plan.summary(), plan.estimate()});
  }
  return rows;
}

std::string format_comparison_table(const std::vector<StrategyComparison>& rows,
                                    const std::string& model, const std::string& chip) {
  const std::vector<std::string> header{"strategy",     "tiles used",     "cell util",
                                        "stages",       "bit-hops/token", "critical path us",
                                        "prefill tok/s"};
  std::vector<std::vector<std::string>> cells{header};
  for (const StrategyComparison& r : rows) {
    cells.push_back(
        {r.strategy,
         std::to_string(r.summary.tiles_used()) + "/" + std::to_string(r.summary.tiles_available()),
         fixed(100 * r.summary.mean_cell_utilization(), 1) + "%",
         std::to_string(r.summary.stages()), sci(r.estimate.bit_hops_per_token()),
         fixed(r.estimate.critical_path_ns_per_token() / 1000, 2),
         sci(r.estimate.prefill_tokens_per_s())});
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream out;
  out << "mapping of model '" << model << "' on chip '" << chip << "'\n";
  for (size_t i = 0; i < cells.size(); ++i) {
    for (size_t c = 0; c < cells[i].size(); ++c) {
      // Names left-aligned, numbers right-aligned.
      const std::string& s = cells[i][c];
      const std::string pad(width[c] - s.size(), ' ');
      out << (c == 0 ? s + pad : "  " + pad + s);
    }
    out << '\n';
    if (i == 0) {
      size_t total = 0;
      for (size_t c = 0; c < width.size(); ++c) total += width[c] + (c == 0 ? 0 : 2);
      out << std::string(total, '-') << '\n';
    }
  }
  return out.str();
}

std::string compare_strategies_table(const workloads::ModelConfig& model,
                                     const proto::ChipConfig& chip) {
  return format_comparison_table(compare_strategies(model, chip), model.name, chip.name());
}

}  // namespace aimc::mapping

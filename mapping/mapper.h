// The mapping layer's entry points: make a plan for a model on a chip with a named strategy,
// check that a model fits (with an error that says what would make it fit), and compare all
// strategies side by side (`aimcsim map --compare`).
#pragma once

#include <string>
#include <vector>

#include "mapping/partition.h"
#include "proto/chip_config.pb.h"
#include "proto/mapping_plan.pb.h"
#include "workloads/model_config.h"

namespace aimc::mapping {

/// Names of the registered placement strategies, in registration order.
std::vector<std::string> strategy_names();

/// One line per strategy, "name: description", for `aimcsim describe`.
std::vector<std::string> strategy_descriptions();

/// Tiles one copy of the model needs on `chip` (its tile size, lm_head flag and sharing flag).
long long tiles_needed(const workloads::ModelConfig& model, const proto::ChipConfig& chip);

/// Throws UserError when the model does not fit the chip. The message names the model, the
/// tiles (and their size) it needs, the tiles the chip has, and the config fields that would
/// make it fit: tile.count with the mesh to hold it, larger tile.rows/tile.cols, and
/// mapping.lm_head_on_tiles: false / mapping.allow_tile_sharing: true where those suffice.
void check_fits(const workloads::ModelConfig& model, const proto::ChipConfig& chip);

/// Maps `model` onto `chip` with strategy `strategy` (see strategy_names()): every block of
/// every analog layer on a tile, the DPU of each layer, the summary and the estimate. Throws
/// UserError for an unknown strategy or a model that does not fit.
proto::MappingPlan make_plan(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                             const std::string& strategy);

/// Places `layers` (whole layers or parts of layers, e.g. sub-partitions keeping their row and
/// column offsets) on `chip` with strategy `strategy`: the plan of one chip of a system
/// (mapping/system_mapper.h). Throws UserError when the parts need more tiles than the chip has.
proto::MappingPlan make_part_plan(const std::string& model_name, const proto::ChipConfig& chip,
                                  const std::string& strategy, std::vector<LayerPartition> layers);

/// One row of the strategy comparison.
struct StrategyComparison {
  std::string strategy;
  proto::PlanSummary summary;
  proto::PlanEstimate estimate;
};

/// A plan per registered strategy, summarized.
std::vector<StrategyComparison> compare_strategies(const workloads::ModelConfig& model,
                                                   const proto::ChipConfig& chip);

/// The comparison as an aligned text table with a header line naming model and chip.
std::string format_comparison_table(const std::vector<StrategyComparison>& rows,
                                    const std::string& model, const std::string& chip);

/// compare_strategies() formatted by format_comparison_table().
std::string compare_strategies_table(const workloads::ModelConfig& model,
                                     const proto::ChipConfig& chip);

}  // namespace aimc::mapping

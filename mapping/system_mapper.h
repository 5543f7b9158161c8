// Mapping a model across the chips of a system: consecutive decoder blocks on consecutive chips
// (a pipeline), and a decoder block larger than one chip split over several consecutive chips,
// each of its layers cut by output tiles (outputs concatenated) or input tiles (partial sums
// reduced) with the transfers this takes over the links. The formulas are in docs/systems.md.
#pragma once

#include <string>
#include <vector>

#include "arch/chip_links.h"
#include "mapping/partition.h"
#include "proto/mapping_plan.pb.h"
#include "proto/system_config.pb.h"
#include "proto/system_plan.pb.h"
#include "workloads/model_config.h"

namespace aimc::mapping {

/// Where lm_head runs in a system.
enum class LmHeadPlacement {
  kChipDefault,  ///< chip 0's mapping.lm_head_on_tiles decides
  kTiles,        ///< on tiles (split over chips when larger than one)
  kDram,         ///< on the DPUs of the last chip, weights streamed from its DRAM
};

/// How a layer of a decoder block split over k chips is cut.
enum class SplitKind {
  kAuto,    ///< per layer, the cut with fewer link bytes per token (ties: output)
  kOutput,  ///< by output tiles: the input goes to every chip, the output slices are gathered
  kInput,   ///< by input tiles: each chip gets its input slice, partial sums are reduced
};

/// What the system mapper may do.
struct SystemMapOptions {
  /// Chips to use: 0 = as many of the system's chips as lower the slowest stage, N = at most the
  /// first N, -1 (`--chips auto`) = the fewest that hold the model.
  int chips = 0;
  LmHeadPlacement lm_head = LmHeadPlacement::kChipDefault;
  SplitKind split = SplitKind::kAuto;
};

/// The links of `system` as arch::ChipLinks takes them (topology shape resolved).
arch::ChipLinkSpec link_spec(const proto::SystemConfig& system);

/// Parses "auto" / "output" / "input" (names the flag in the error).
SplitKind parse_split_kind(const std::string& text);
/// Parses "chip" / "tiles" / "dram".
LmHeadPlacement parse_lm_head_placement(const std::string& text);

/// Fewest chips of `system` (taken in index order) that hold `model`; 0 when even all of them
/// do not. Same rules as make_system_plan.
int chips_needed(const workloads::ModelConfig& model, const proto::SystemConfig& system,
                 const SystemMapOptions& options = {});

/// Fewest chips like `chip` that hold `model` (a system of identical chips with default links)
/// under `options` (lm_head placement, split); 0 when none up to 65536 do.
int chips_needed(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                 const SystemMapOptions& options = {});

/// Maps `model` onto `system`. Stages are consecutive chips; each holds whole decoder blocks, or
/// one decoder block split over several chips; lm_head on tiles is its own unit like a block.
/// Among the partitions that fit every chip's tiles it picks the one with the smallest slowest
/// stage (fewest chips at a tie). Throws UserError when the model does not fit, naming the
/// chips it would need.
proto::SystemPlan make_system_plan(const workloads::ModelConfig& model,
                                   const proto::SystemConfig& system,
                                   const SystemMapOptions& options = {});

/// A system plan made concrete for the timed run: the tiles of every chip.
struct SystemChipPlans {
  /// Every linear layer of the model in execution order (name, block, role, shape, on tiles);
  /// no blocks.
  proto::MappingPlan layers;
  /// Per chip used (chips 0 .. summary.chips_used - 1), the placement of the layer parts it holds
  /// (a chip holding none has an empty plan). A part is a sub-partition of its layer keeping its
  /// row and column offsets.
  std::vector<proto::MappingPlan> chips;
  /// Home chip of each decoder block (the first chip of its stage) and of lm_head.
  std::vector<int> block_chip;
  int head_chip = 0;
};

/// Places the parts `plan` gives each chip on that chip's tiles with strategy `strategy`
/// (mapping::strategy_names()).
SystemChipPlans make_chip_plans(const workloads::ModelConfig& model,
                                const proto::SystemConfig& system, const proto::SystemPlan& plan,
                                const std::string& strategy);

/// Human-readable summary: tiles per chip, stages, transfers, link bytes per token, estimate.
std::string format_system_plan_summary(const proto::SystemPlan& plan);

}  // namespace aimc::mapping

// Strategy `pipeline`: the layers cut into contiguous stages of balanced latency, one stage per
// DPU (consecutive stages on neighbouring DPUs), each stage's blocks on the tiles nearest its
// DPU. In prefill the stages work on different tokens at once.
#include "mapping/placement_strategy.h"

namespace aimc::mapping {
namespace {

class PipelineStrategy : public PlacementStrategy {
 public:
  Placement place(const PlacementInput& input) const override {
    Placement placement = empty_placement(input);
    placement.layer_stage = balanced_stages(input, &placement.stages);
    FreeTiles free(input.tile_count);
    DpuNeighbourhoods near(input);
    const std::vector<int> dpu_of_stage = snake_dpu_order(input);
    for (int s = 0; s < placement.stages; ++s) {
      place_stage_near_dpu(input, s, dpu_of_stage[s], &near, &free, &placement);
    }
    assign_digital_layers(input, &placement);
    return placement;
  }
};

}  // namespace

StrategyInfo pipeline_strategy() {
  return {"pipeline",
          "layers grouped into one stage per DPU with balanced latency, each stage around its "
          "DPU (prefill pipelining)",
          [] { return std::unique_ptr<PlacementStrategy>(new PipelineStrategy); }};
}

}  // namespace aimc::mapping

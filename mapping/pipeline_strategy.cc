// Strategy `pipeline`: the layers cut into contiguous stages of balanced latency, one stage per
// DPU (consecutive stages on neighbouring DPUs), each stage's blocks on the tiles nearest its
// DPU. In prefill the stages work on different tokens at once.
#include "mapping/placement_strategy.h"

namespace aimc::mapping {
namespace {

class PipelineStrategy : public PlacementStrategy {
 public:
  Placement place(const PlacementInput& input) const override {
    StagedPlacement staged(input);
    assign_digital_layers(input, &staged.placement);
    return staged.placement;
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

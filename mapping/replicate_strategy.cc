// Strategy `replicate`: the `pipeline` placement, then, while free tiles remain, one more copy
// of the stage that limits prefill throughput (largest latency per copy). Copies of a stage
// take alternate tokens, so a stage with r copies accepts r tokens per stage latency.
#include "mapping/placement_strategy.h"

namespace aimc::mapping {
namespace {

class ReplicateStrategy : public PlacementStrategy {
 public:
  Placement place(const PlacementInput& input) const override {
    StagedPlacement staged(input);
    Placement& placement = staged.placement;
    FreeTiles& free = staged.free;
    DpuNeighbourhoods& near = staged.near;
    const std::vector<int>& dpu_of_stage = staged.dpu_of_stage;
    std::vector<double> latency(placement.stages, 0);
    std::vector<std::vector<int>> stage_layers(placement.stages);
    for (size_t l = 0; l < input.layers.size(); ++l) {
      latency[placement.layer_stage[l]] += input.layer_latency_ns[l];
      if (input.layers[l].on_tiles) stage_layers[placement.layer_stage[l]].push_back(l);
    }
    // A copy of a stage is packed on its own (with sharing, the primary copy's loads may mix
    // stages at their borders).
    std::vector<std::vector<TileLoad>> stage_loads(placement.stages);
    for (int s = 0; s < placement.stages; ++s) {
      stage_loads[s] = pack_blocks(input.layers, stage_layers[s], input.shape, input.sharing);
    }
    std::vector<int> copies(placement.stages, 1);
    while (true) {
      int bottleneck = 0;
      for (int s = 1; s < placement.stages; ++s) {
        if (latency[s] / copies[s] > latency[bottleneck] / copies[bottleneck]) bottleneck = s;
      }
      // A copy is all of the stage or nothing: a half-copied stage adds no throughput. Copying
      // another stage does not raise throughput either, so the first copy that does not fit
      // ends the search.
      const std::vector<TileLoad>& loads = stage_loads[bottleneck];
      if (loads.empty() || static_cast<int>(loads.size()) > free.free_count()) break;
      std::vector<int> ids(loads.size());
      for (size_t k = 0; k < ids.size(); ++k) ids[k] = static_cast<int>(k);
      const std::vector<int> tiles = column_major(
          near.of(dpu_of_stage[bottleneck]).take(static_cast<int>(loads.size()), &free),
          input.mesh);
      put_loads(loads, ids, tiles, copies[bottleneck], &placement);
      ++copies[bottleneck];
    }
    for (size_t l = 0; l < input.layers.size(); ++l) {
      placement.layer_replicas[l] = input.layers[l].on_tiles ? copies[placement.layer_stage[l]] : 1;
    }
    assign_digital_layers(input, &placement);
    return placement;
  }
};

}  // namespace

StrategyInfo replicate_strategy() {
  return {"replicate",
          "the pipeline placement plus copies of the bottleneck stage on the tiles left over "
          "(prefill throughput)",
          [] { return std::unique_ptr<PlacementStrategy>(new ReplicateStrategy); }};
}

}  // namespace aimc::mapping

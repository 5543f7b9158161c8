// Strategy `locality`: each layer's blocks on the free tiles nearest to the DPU that reduces
// them, that DPU chosen among those nearest to where the layer's input is produced, so that a
// layer is a compact patch around its DPU and consecutive layers are neighbours.
#include <algorithm>
#include <limits>

#include "mapping/placement_strategy.h"

namespace aimc::mapping {
namespace {

/// DPUs considered for one layer: the ones nearest to its input. A handful is enough (the
/// rest are farther from the input than these) and keeps large meshes with many DPUs cheap.
constexpr int kCandidateDpus = 8;

class LocalityStrategy : public PlacementStrategy {
 public:
  Placement place(const PlacementInput& input) const override {
    Placement placement = empty_placement(input);
    FreeTiles free(input.tile_count);
    DpuNeighbourhoods near(input);
    const int dpus = static_cast<int>(input.dpu_nodes.size());
    int source_dpu = 0;  // where the current layer's input vector is produced
    for (size_t l = 0; l < input.layers.size(); ++l) {
      const LayerPartition& layer = input.layers[l];
      if (!layer.on_tiles) {
        placement.layer_dpu[l] = source_dpu;
        continue;
      }
      const std::vector<int>& own = input.layer_loads[l];
      const int count = static_cast<int>(own.size());
      const int source = input.dpu_nodes[source_dpu];
      // Candidates by distance from the source (ties: lower index).
      std::vector<int> candidates(dpus);
      for (int d = 0; d < dpus; ++d) candidates[d] = d;
      std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
        return input.mesh.hops(source, input.dpu_nodes[a]) <
               input.mesh.hops(source, input.dpu_nodes[b]);
      });
      candidates.resize(std::min(dpus, kCandidateDpus));
      // Traffic of one load, per hop: its input slice from the source and its partial sums to
      // the DPU (mean block size; the blocks of a layer differ by at most one row or column).
      const double in_bits = static_cast<double>(layer.in) / layer.row_tiles() * input.input_bits;
      const double out_bits =
          static_cast<double>(layer.out) / layer.col_tiles() * input.output_bits;
      int chosen = candidates.front();
      double best = std::numeric_limits<double>::infinity();
      for (int d : candidates) {
        // Every DPU sees the same free tiles, so each finds `count` of them (checked before).
        double cost = 0;
        for (int t : near.of(d).peek(count, free)) {
          cost += in_bits * input.mesh.hops(source, t) +
                  out_bits * input.mesh.hops(t, input.dpu_nodes[d]);
        }
        if (cost < best) {
          best = cost;
          chosen = d;
        }
      }
      const std::vector<int> tiles = column_major(near.of(chosen).take(count, &free), input.mesh);
      put_loads(input.loads, own, tiles, 0, &placement);
      placement.layer_dpu[l] = chosen;
      source_dpu = chosen;
    }
    return placement;
  }
};

}  // namespace

StrategyInfo locality_strategy() {
  return {"locality",
          "each layer on the free tiles nearest its reducing DPU, consecutive layers adjacent "
          "(least interconnect traffic)",
          [] { return std::unique_ptr<PlacementStrategy>(new LocalityStrategy); }};
}

}  // namespace aimc::mapping

// Strategy `dense`: blocks in layer order packed onto tiles in mesh order (tile 0, 1, 2, ...),
// the baseline the other strategies are compared against.
#include "mapping/placement_strategy.h"

namespace aimc::mapping {
namespace {

class DenseStrategy : public PlacementStrategy {
 public:
  Placement place(const PlacementInput& input) const override {
    Placement placement = empty_placement(input);
    // Load k (layer order) on tile k (mesh order).
    std::vector<int> ids(input.loads.size());
    for (size_t k = 0; k < ids.size(); ++k) ids[k] = static_cast<int>(k);
    put_loads(input.loads, ids, ids, 0, &placement);
    // The DPU is not part of the packing rule; the nearest one keeps the baseline fair.
    assign_nearest_dpus(input, &placement);
    assign_digital_layers(input, &placement);
    return placement;
  }
};

}  // namespace

StrategyInfo dense_strategy() {
  return {"dense", "blocks in layer order, packed onto tiles in mesh (row-major) order",
          [] { return std::unique_ptr<PlacementStrategy>(new DenseStrategy); }};
}

}  // namespace aimc::mapping

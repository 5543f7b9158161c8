// Component kind "dpu" (sim/chip/component_registry.h). The DPUs: one per DPU node of the chip (the
// mapping plan's placement).
#include <memory>

#include "arch/sc_dpu.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  const arch::DpuSpec spec = dpu_spec(config);
  for (size_t d = 0; d < chip->dpu_nodes().size(); ++d)
    chip->add("dpu", std::make_unique<arch::ScDpu>(instance_name("dpu", d).c_str(), spec));
}

}  // namespace

ComponentKind dpu_kind() {
  return {"dpu",
          "digital processing unit: vector ops, reductions, norms, softmax, attention",
          "DPU",
          &arch::ScDpu::traits(),
          /*summed=*/false,
          "dpus",
          build};
}

}  // namespace aimc::sim

// Component kind "dram" (sim/chip/component_registry.h). The off-chip DRAM.
#include <memory>

#include "arch/sc_memory.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  chip->add("dram", std::make_unique<arch::ScMemory>("dram", dram_spec(config)));
}

}  // namespace

ComponentKind dram_kind() {
  return {"dram",
          "off-chip DRAM: embeddings, digital weights, KV cache beyond the SRAM",
          "DRAM",
          &arch::ScMemory::traits(arch::MemoryKind::kDram),
          /*summed=*/false,
          "dram",
          build};
}

}  // namespace aimc::sim

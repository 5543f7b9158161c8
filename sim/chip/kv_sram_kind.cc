// Component kind "kv_sram" (sim/chip/component_registry.h). The on-chip SRAM that holds the KV
// cache.
#include <memory>

#include "arch/sc_memory.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  chip->add("kv_sram", std::make_unique<arch::ScMemory>("kv_sram", kv_sram_spec(config)));
}

}  // namespace

ComponentKind kv_sram_kind() {
  return {"kv_sram",
          "on-chip SRAM of the KV cache (bandwidth, latency, capacity)",
          "KV-cache SRAM",
          &arch::ScMemory::traits(arch::MemoryKind::kKvSram),
          /*summed=*/false,
          "kv_sram",
          build};
}

}  // namespace aimc::sim

// The one list of component kinds. To add a component: write arch/sc_<name>.{h,cc} (a spec
// struct, a class deriving from arch::ScComponent with its traits()), a spec builder in
// chip_specs.cc, and one line below with the function that builds its instances.
#include "sim/chip/component_registry.h"

#include <memory>
#include <string>

#include "arch/sc_adc_bank.h"
#include "arch/sc_dpu.h"
#include "arch/sc_memory.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"

namespace aimc::sim {
namespace {

std::string numbered(const char* kind, size_t i) {
  return kind + std::to_string(i);
}

void build_tiles(const proto::ChipConfig& config, Chip* chip) {
  const arch::TileSpec spec = tile_spec(config);
  for (uint32_t i = 0; i < config.tile().count(); ++i)
    chip->add("tile", std::make_unique<arch::ScTile>(numbered("tile", i).c_str(), spec));
}

// One bank per adc.tiles_per_bank consecutive tiles, bound to them.
void build_adc_banks(const proto::ChipConfig& config, Chip* chip) {
  const arch::AdcBankSpec spec = adc_bank_spec(config);
  const int tiles = chip->tile_count();
  const int per_bank = static_cast<int>(config.tile().adc().tiles_per_bank());
  for (int b = 0; b < (tiles + per_bank - 1) / per_bank; ++b) {
    auto* bank = chip->add(
        "adc_bank", std::make_unique<arch::ScAdcBank>(numbered("adc_bank", b).c_str(), spec));
    for (int t = b * per_bank; t < std::min(tiles, (b + 1) * per_bank); ++t)
      chip->tile(t).bind(bank);
  }
}

void build_dpus(const proto::ChipConfig& config, Chip* chip) {
  const arch::DpuSpec spec = dpu_spec(config);
  for (size_t d = 0; d < chip->dpu_nodes().size(); ++d)
    chip->add("dpu", std::make_unique<arch::ScDpu>(numbered("dpu", d).c_str(), spec));
}

void build_noc(const proto::ChipConfig& config, Chip* chip) {
  chip->add("noc", std::make_unique<arch::ScNoc>("noc", noc_spec(config)));
}

void build_kv_sram(const proto::ChipConfig& config, Chip* chip) {
  chip->add("kv_sram", std::make_unique<arch::ScMemory>("kv_sram", kv_sram_spec(config)));
}

void build_dram(const proto::ChipConfig& config, Chip* chip) {
  chip->add("dram", std::make_unique<arch::ScMemory>("dram", dram_spec(config)));
}

}  // namespace

const std::vector<ComponentKind>& component_kinds() {
  // name, description, label, traits, summed, utilization field, builder
  static const std::vector<ComponentKind> kKinds = {
      {"tile", "crossbar tile: DAC drive, integration phases, sample-and-hold (or a MAC array)",
       "tile", &arch::ScTile::traits(), true, "tiles", build_tiles},
      {"adc_bank", "ADCs of adc.tiles_per_bank tiles, conversions first come first served",
       "ADC bank", &arch::ScAdcBank::traits(), true, "adcs", build_adc_banks},
      {"dpu", "digital processing unit: vector ops, reductions, norms, softmax, attention", "DPU",
       &arch::ScDpu::traits(), false, "dpus", build_dpus},
      {"noc", "2D mesh with XY routing, per-link contention and multicast trees",
       "mesh links (mean)", &arch::ScNoc::traits(), false, "links", build_noc},
      {"kv_sram", "on-chip SRAM of the KV cache (bandwidth, latency, capacity)", "KV-cache SRAM",
       &arch::ScMemory::traits(arch::MemoryKind::kKvSram), false, "kv_sram", build_kv_sram},
      {"dram", "off-chip DRAM: embeddings, digital weights, KV cache beyond the SRAM", "DRAM",
       &arch::ScMemory::traits(arch::MemoryKind::kDram), false, "dram", build_dram},
  };
  return kKinds;
}

}  // namespace aimc::sim

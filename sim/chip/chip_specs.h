// Component specs built from a validated proto::ChipConfig: the one place that reads the config
// for the timing and energy model (components only ever see their spec).
#pragma once

#include "arch/energy_model.h"
#include "arch/sc_adc_bank.h"
#include "arch/sc_dpu.h"
#include "arch/sc_memory.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "proto/chip_config.pb.h"

namespace aimc::sim {

/// Clock period of the chip, in picoseconds.
double cycle_ps(const proto::ChipConfig& config);
/// Power gating of one kind of component, times in ps.
arch::GatingSpec gating_spec(const proto::GatingConfig& gating);
/// ADC banks on the chip: one per adc.tiles_per_bank tiles.
int adc_bank_count(const proto::ChipConfig& config);
arch::TileSpec tile_spec(const proto::ChipConfig& config);
arch::AdcBankSpec adc_bank_spec(const proto::ChipConfig& config);
arch::DpuSpec dpu_spec(const proto::ChipConfig& config);
arch::NocSpec noc_spec(const proto::ChipConfig& config);
arch::MemorySpec kv_sram_spec(const proto::ChipConfig& config);
arch::MemorySpec dram_spec(const proto::ChipConfig& config);
arch::EnergySpec energy_spec(const proto::ChipConfig& config);
/// Leakage power of the chip; `tiles_used` tiles hold weights (-1: all of them), the others leak
/// energy.p_tile_gated_leak_fraction of a tile's leakage (power gating).
arch::LeakageSpec leakage_spec(const proto::ChipConfig& config, long long tiles_used = -1);
/// Mesh node of each DPU: dpu.nodes when given, else spread evenly over the mesh.
std::vector<int> dpu_nodes(const proto::ChipConfig& config);

}  // namespace aimc::sim

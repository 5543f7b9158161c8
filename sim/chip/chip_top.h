// The chip top: every SystemC component of one chip (tiles, ADC banks, DPUs, mesh, KV-cache
// SRAM, DRAM), built from a chip config, with their statistics.
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "arch/sc_adc_bank.h"
#include "arch/sc_dpu.h"
#include "arch/sc_memory.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "proto/chip_config.pb.h"

namespace aimc::sim {

/// One named statistic of a component (SystemC hierarchical name), with its unit.
struct Stat {
  std::string name;
  std::string unit;
  double value;
};

/// The chip. Tile i sits at mesh node i; DPU d at `dpu_node[d]`.
class Chip : public sc_core::sc_module {
 public:
  /// Builds the components of `config` (validated, defaults resolved). `dpu_nodes` places the
  /// DPUs (the mapping plan's; empty = sim::dpu_nodes(config)).
  Chip(sc_core::sc_module_name name, const proto::ChipConfig& config,
       const std::vector<int>& dpu_nodes = {});

  const proto::ChipConfig& config() const { return config_; }
  int tile_count() const { return static_cast<int>(tiles_.size()); }
  arch::ScTile& tile(int i) { return *tiles_[i]; }
  int dpu_count() const { return static_cast<int>(dpus_.size()); }
  arch::ScDpu& dpu(int i) { return *dpus_[i]; }
  int dpu_node(int i) const { return dpu_nodes_[i]; }
  arch::ScNoc& noc() { return *noc_; }
  arch::ScMemory& kv_sram() { return *kv_sram_; }
  arch::ScMemory& dram() { return *dram_; }
  int adc_bank_count() const { return static_cast<int>(banks_.size()); }
  arch::ScAdcBank& adc_bank(int i) { return *banks_[i]; }

  /// Attaches a span sink to every component (nullptr detaches).
  void set_trace(arch::SpanSink* sink);
  /// Utilization of tiles, ADCs, DPUs, links over `time_ps` (0..1 each), in that order.
  std::vector<double> utilization(double time_ps) const;
  /// Busy time so far of every single component (each tile, ADC bank (per ADC), DPU, the mesh
  /// links as one (per link), the KV-cache SRAM, DRAM), in ps, named.
  std::vector<std::pair<std::string, double>> busy_by_component() const;
  /// The component whose busy time grew most between `before` (an earlier busy_by_component(),
  /// empty = start) and now, and that growth over `window_ps` (its utilization, 0..1).
  std::pair<std::string, double> busiest(
      double window_ps, const std::vector<std::pair<std::string, double>>& before = {}) const;
  /// Named statistics of every component kind (aggregated per kind, plus per-DPU values).
  std::vector<Stat> statistics(double time_ps) const;
  /// Tile reads simulated so far.
  double tile_reads() const;

 private:
  proto::ChipConfig config_;
  std::vector<std::unique_ptr<arch::ScAdcBank>> banks_;
  std::vector<std::unique_ptr<arch::ScTile>> tiles_;
  std::vector<std::unique_ptr<arch::ScDpu>> dpus_;
  std::vector<int> dpu_nodes_;
  std::unique_ptr<arch::ScNoc> noc_;
  std::unique_ptr<arch::ScMemory> kv_sram_;
  std::unique_ptr<arch::ScMemory> dram_;
};

}  // namespace aimc::sim

// The chip top: every SystemC component of one chip, built from a chip config by the component
// kinds of sim/chip/component_registry.h, with their statistics and utilization.
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "arch/energy_model.h"
#include "arch/sc_component.h"
#include "arch/sc_dpu.h"
#include "arch/sc_memory.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "arch/sc_tile_array.h"
#include "arch/sc_tile_group.h"
#include "proto/chip_config.pb.h"

namespace aimc::sim {

/// One named statistic of a component (SystemC hierarchical name), with its unit.
struct Stat {
  std::string name;
  std::string unit;
  double value;
};

/// The chip. Tile i sits at mesh node i; DPU d at `dpu_node(d)`.
class Chip : public sc_core::sc_module {
 public:
  /// Builds the components of `config` (validated, defaults resolved), kind by kind. `dpu_nodes`
  /// places the DPUs (the mapping plan's; empty = sim::dpu_nodes(config)).
  Chip(sc_core::sc_module_name name, const proto::ChipConfig& config,
       const std::vector<int>& dpu_nodes = {});

  const proto::ChipConfig& config() const { return config_; }

  /// Adds a component of the registered kind `kind` (for the kinds' builders); returns it.
  template <class T>
  T* add(const std::string& kind, std::unique_ptr<T> component) {
    T* raw = component.get();
    add_component(kind, std::move(component));
    return raw;
  }
  /// Every component, kind by kind in registry order.
  std::vector<arch::ScComponent*> components() const;
  /// The instances of one kind, in the order they were added.
  const std::vector<arch::ScComponent*>& components(const std::string& kind) const;

  // Typed access for the controller (which decides what each component does when).
  /// The tiles and the ADC banks (the kinds "tile" and "adc_bank", one component each).
  arch::ScTileGroup& tiles() const { return static_cast<arch::ScTileGroup&>(*tiles_->front()); }
  arch::ScAdcBankGroup& adc_banks() const {
    return static_cast<arch::ScAdcBankGroup&>(*adc_banks_->front());
  }
  int tile_count() const { return tiles().count(); }
  /// Tile i's own object (made on first use: the fast path, tile_array(), needs none).
  arch::ScTile& tile(int i) { return tiles().tile(i); }
  /// The state of the tiles and ADC banks (the kinds "tile" and "adc_bank" keep it there);
  /// tile_array().read(i, ...) is tile(i).read(...) while tile_array().direct().
  arch::TileArray& tile_array() { return tile_array_; }
  int dpu_count() const { return static_cast<int>(dpus_->size()); }
  arch::ScDpu& dpu(int i) { return static_cast<arch::ScDpu&>(*(*dpus_)[i]); }
  const std::vector<int>& dpu_nodes() const { return dpu_nodes_; }
  int dpu_node(int i) const { return dpu_nodes_[i]; }
  arch::ScNoc& noc() { return static_cast<arch::ScNoc&>(*noc_->front()); }
  arch::ScMemory& kv_sram() { return static_cast<arch::ScMemory&>(*kv_sram_->front()); }
  arch::ScMemory& dram() { return static_cast<arch::ScMemory&>(*dram_->front()); }

  /// Attaches a span sink to every component (nullptr detaches).
  void set_trace(arch::SpanSink* sink);
  /// Utilization over `time_ps` (0..1) of every kind with a Utilization field: (field, value),
  /// busy time over simulated time x units, in registry order.
  std::vector<std::pair<std::string, double>> utilization(double time_ps) const;
  /// Busy time (ps) and units of every kind with a Utilization field: (field, (busy, units)).
  std::vector<std::pair<std::string, std::pair<double, double>>> busy_and_units() const;
  /// Busy time so far of every single component instance per unit (each tile, ADC bank (per ADC),
  /// DPU, the mesh links as one (per link), the KV-cache SRAM, DRAM), in ps, named by the kind's
  /// label and the instance number ("tile 3", "DRAM").
  std::vector<std::pair<std::string, double>> busy_by_component() const;
  /// The busy times of busy_by_component() without their names (cheap to snapshot).
  std::vector<double> busy_values() const;
  /// The component whose busy time grew most between `before` (an earlier busy_values(),
  /// empty = start) and now, and that growth over `window_ps` (its utilization, 0..1).
  std::pair<std::string, double> busiest(double window_ps,
                                         const std::vector<double>& before = {}) const;
  /// Named statistics of every component (summed per kind or per instance, as registered),
  /// then the simulated time.
  std::vector<Stat> statistics(double time_ps) const;
  /// Tile reads simulated so far.
  double tile_reads() const;
  /// Ends power gating at `end` (units idle since their last use stay off until then; tiles
  /// that hold no weights are left to energy.p_tile_gated_leak_fraction) and returns the off
  /// time and wake-ups of tiles, ADC banks and routers split at `split`: out[0] before, out[1]
  /// after (a wake-up belongs to the phase in which its interval ends). Call once, after the run.
  void close_gating(arch::Ps end, arch::Ps split, arch::GatingUse out[2]);

 private:
  void add_component(const std::string& kind, std::unique_ptr<arch::ScComponent> component);
  int kind_index(const std::string& kind) const;

  proto::ChipConfig config_;
  std::vector<int> dpu_nodes_;
  arch::TileArray tile_array_;  // before the components: their state lives in it
  std::vector<std::unique_ptr<arch::ScComponent>> owned_;
  std::vector<std::vector<arch::ScComponent*>> by_kind_;  // indexed like component_kinds()
  const std::vector<arch::ScComponent*>* tiles_;
  const std::vector<arch::ScComponent*>* adc_banks_;
  const std::vector<arch::ScComponent*>* dpus_;
  const std::vector<arch::ScComponent*>* noc_;
  const std::vector<arch::ScComponent*>* kv_sram_;
  const std::vector<arch::ScComponent*>* dram_;
};

}  // namespace aimc::sim

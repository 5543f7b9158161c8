// Memories with bandwidth and latency: the KV-cache SRAM and off-chip DRAM. (Tile buffers and DPU
// SRAM are sized to their vectors and only counted, in ScTile and ScDpu.)
#pragma once

#include <systemc>

#include "arch/action_counts.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"

namespace aimc::arch {

/// Which action counter a memory's bits go to.
enum class MemoryKind { kKvSram, kDram };

/// Immutable parameters of one memory.
struct MemorySpec {
  MemoryKind kind = MemoryKind::kKvSram;
  double bandwidth_gbps = 256;  ///< GB/s (= bytes per ns)
  Ps latency_ps = 2000;         ///< access latency, paid once per access and not occupying the port
  double capacity_bytes = 0;    ///< size (0 = unbounded, DRAM)
};

/// One memory port: accesses are served one after another at the configured bandwidth.
class ScMemory : public ScComponent {
 public:
  ScMemory(sc_core::sc_module_name name, const MemorySpec& spec);

  /// Reads or writes `bits` requested at `ready`; returns when the data is there (latency plus
  /// transfer time after the port frees). Counts the bits.
  Ps access(Ps ready, double bits, ActionCounts* counts, const char* what);
  /// Transfer time of `bits` at the configured bandwidth, in ps.
  Ps transfer_ps(double bits) const;

  const MemorySpec& spec() const { return spec_; }
  double bits() const { return bits_; }

  /// Statistics: bits (read and written), busy (the port, ns); the bits counted are the kind's.
  static const ComponentTraits& traits(MemoryKind kind);
  std::vector<double> stat_values() const override { return {bits_, busy_ps_}; }

 private:
  MemorySpec spec_;
  Ps free_ = 0;
  double bits_ = 0;
};

}  // namespace aimc::arch

// Memory port with bandwidth and latency.
#include "arch/sc_memory.h"

#include <algorithm>

namespace aimc::arch {

ScMemory::ScMemory(sc_core::sc_module_name name, const MemorySpec& spec)
    : ScComponent(name), spec_(spec) {}

const ComponentTraits& ScMemory::traits(MemoryKind kind) {
  static const ComponentTraits kKvSram{
      {{"bits", "bits", 1}, {"busy", "ns", 1e-3}}, {"kv_sram_bits"}, "port"};
  static const ComponentTraits kDram{
      {{"bits", "bits", 1}, {"busy", "ns", 1e-3}}, {"dram_bits"}, "port"};
  return kind == MemoryKind::kDram ? kDram : kKvSram;
}

Ps ScMemory::transfer_ps(double bits) const {
  // bandwidth in GB/s = bytes per ns; 1 ns = 1000 ps.
  return static_cast<Ps>(bits / 8.0 / spec_.bandwidth_gbps * 1000.0 + 0.5);
}

Ps ScMemory::access(Ps ready, double bits, ActionCounts* counts, const char* what) {
  if (bits <= 0) return ready;
  const Ps begin = std::max(ready, free_);
  const Ps xfer = transfer_ps(bits);
  free_ = begin + xfer;
  busy_ps_ += static_cast<double>(xfer);
  bits_ += bits;
  if (counts) (spec_.kind == MemoryKind::kDram ? counts->dram_bits : counts->kv_sram_bits) += bits;
  const Ps end = free_ + spec_.latency_ps;
  span(what, begin, end);
  return end;
}

}  // namespace aimc::arch

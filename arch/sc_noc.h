// The network on chip: a 2D mesh with XY routing, per-hop latency, link contention (a busy link
// delays the next transfer) and multicast along the XY tree.
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

#include "arch/action_counts.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"

namespace aimc::arch {

/// Immutable parameters of the mesh.
struct NocSpec {
  int mesh_x = 8;              ///< nodes per row
  int mesh_y = 8;              ///< rows
  int link_width_bits = 256;   ///< bits per clock cycle per link
  double cycle_ps = 1000;      ///< NoC clock period
  int hop_latency_cycles = 1;  ///< router + link latency per hop
  bool multicast = true;       ///< multicast as one XY tree (else one unicast per destination)
};

/// The mesh. Transfers are cut-through: the head advances one hop per hop latency, and each link
/// it crosses is occupied for ceil(bits / link_width) cycles, starting when the head gets there
/// and the link is free.
class ScNoc : public ScComponent {
 public:
  ScNoc(sc_core::sc_module_name name, const NocSpec& spec);

  /// Sends `bits` from node `src` to node `dst`, ready at `ready`; returns the arrival time of
  /// the tail. src == dst costs nothing. Counts bit-hops.
  Ps unicast(Ps ready, int src, int dst, double bits, ActionCounts* counts);
  /// Sends the same `bits` from `src` to each of `n` nodes `dsts`; `arrivals[i]` receives the
  /// tail arrival at dsts[i]. With multicast, each link of the XY tree carries the data once.
  void multicast(Ps ready, int src, const int* dsts, int n, double bits, Ps* arrivals,
                 ActionCounts* counts);

  /// XY hop count between two nodes.
  int hops(int src, int dst) const;

  const NocSpec& spec() const { return spec_; }
  int links() const { return static_cast<int>(link_free_.size()); }
  double bit_hops() const { return bit_hops_; }
  /// Busy time is counted per link.
  double units() const override { return links(); }
  /// One track per link, named <noc>.link<node>_<east|west|south|north>, asked for lazily.
  void set_trace(SpanSink* sink) override;

  /// Statistics: bit_hops, link_busy (link-ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override { return {bit_hops_, busy_ps_}; }

 private:
  int next_link(int node, int dst, int* next_node) const;
  Ps flits_ps(double bits) const;
  Ps reserve(int link, Ps head, Ps occupancy);

  NocSpec spec_;
  Ps hop_ps_;
  std::vector<Ps> link_free_;  // node * 4 + direction (0 +x, 1 -x, 2 +y, 3 -y)
  // Per-multicast scratch: the time the head reached each node in the current tree.
  std::vector<Ps> node_time_;
  std::vector<uint32_t> node_stamp_;
  uint32_t stamp_ = 0;
  std::vector<int> path_;
  double bit_hops_ = 0;
  std::vector<int> link_track_;  // -2 = not yet asked, -1 = filtered out
};

}  // namespace aimc::arch

// The network on chip: a 2D mesh with XY routing, per-hop latency, link contention (a busy link
// delays the next transfer) and multicast along the XY tree.
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

#include "arch/action_counts.h"
#include "arch/power_gating.h"
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
  /// In-network reduction: one merge stage of a router's adder (pipelined with the flits).
  Ps add_ps = 1000;
  /// Power gating of the routers, each one domain: a router that forwarded nothing for longer
  /// than the threshold is off; the next head that reaches it waits the wake-up.
  GatingSpec router_gating;
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

  /// Reduces in the network: node `srcs[i]` holds a vector of `elems` elements (`bits` bits)
  /// ready at `ready[i]`; the vectors travel along their XY routes to `dst`, and where routes
  /// meet the router adds them (one adder stage, add_ps, before the merged head goes on), so
  /// each link of the union of the routes (an in-tree rooted at dst) carries the vector once.
  /// Returns when the tail of the sum arrives at dst. Counts bit-hops and element adds
  /// (noc_adds: n - 1 merges of `elems` elements for n distinct sources; a source listed twice
  /// adds in its own router).
  Ps reduce(const Ps* ready, const int* srcs, int n, int dst, double bits, double elems,
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

  /// Closes the run at `end` (power gating: idle routers stay off until then).
  void close(Ps end) { routers_.close(end); }
  /// The routers' off intervals (power gating), of all routers.
  const std::vector<GatedInterval>& gated() const { return routers_.intervals(); }
  double adds() const { return adds_; }

  /// Statistics: bit_hops, link_busy (link-ns), adds (in-network reduction), router wake-ups,
  /// router time off (router-ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override {
    return {bit_hops_, busy_ps_, adds_, routers_.wake_ups(), routers_.off_ps()};
  }

 private:
  int next_link(int node, int dst, int* next_node) const;
  Ps flits_ps(double bits) const;
  Ps reserve(int link, Ps head, Ps occupancy);
  /// reduce()'s in-tree: the sources' nodes and every node on their XY routes to dst in
  /// `tree_nodes_`, leaves first, each with the streams merging in its router
  /// (`node_inputs_`, of them `node_local_` its own) and its sources' ready time (`node_time_`).
  void reduction_tree(const Ps* ready, const int* srcs, int n, int dst);

  NocSpec spec_;
  Ps hop_ps_;
  std::vector<Ps> link_free_;  // node * 4 + direction (0 +x, 1 -x, 2 +y, 3 -y)
  // Per-multicast scratch: the time the head reached each node in the current tree.
  std::vector<Ps> node_time_;
  std::vector<uint32_t> node_stamp_;
  uint32_t stamp_ = 0;
  std::vector<int> path_;
  double bit_hops_ = 0;
  double adds_ = 0;
  GatedUnits routers_;
  // Per-reduction scratch: streams merging at each node of the tree.
  std::vector<int> node_inputs_;
  std::vector<int> node_local_;
  std::vector<uint32_t> walk_stamp_;
  std::vector<int> tree_nodes_;
  std::vector<int> link_track_;  // -2 = not yet asked, -1 = filtered out
};

}  // namespace aimc::arch

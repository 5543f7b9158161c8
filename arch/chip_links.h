// The links between the chips of a system: routes by topology (ring, 2D mesh, 2D torus, switch),
// per-direction busy-until state, and counts of the bits each link carried. Plain object, no
// SystemC kernel: a transfer returns its arrival time from the links' state, as the on-chip
// components do (arch/sc_common.h).
//
// Timing: cut-through. A transfer of `bits` over a route of h links starts when its data is
// ready and every link of the route is free for it in turn (link k is reached k latencies after
// the start); each link is occupied for bits / bandwidth from then; the tail arrives
// h * latency + bits / bandwidth after the start. One idle link: latency + bits / bandwidth;
// two transfers over one direction of one link serialize. transfer_link() sends over one link,
// for routes crossed link by link (the timed run with on-chip paths through each chip).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/sc_common.h"

namespace aimc::arch {

/// How the chips are joined (proto::ChipTopology).
enum class Topology { kRing, kMesh2d, kTorus2d, kSwitch };

/// Immutable parameters of the links.
struct ChipLinkSpec {
  int chips = 1;
  Topology topology = Topology::kRing;
  int mesh_x = 1;              ///< chips per row (mesh and torus)
  int mesh_y = 1;              ///< rows of chips (mesh and torus)
  double bandwidth_gbps = 50;  ///< one direction of one link, GB/s (= bytes per ns)
  double latency_ns = 100;     ///< one link
  double e_pj_per_bit = 2;     ///< one bit over one link
  /// Data crosses each chip's mesh between its DPUs and the link ports (port_node()).
  bool route_via_ports = false;
};

/// The mesh node of a chip of `mesh_x` x `mesh_y` nodes where the port of link direction
/// `direction` (ChipLinks::direction_of) sits: the middle of an edge; direction 0 (RING: to the
/// next chip; mesh: +x) east, 1 (previous; -x) west, 2 (+y) south, 3 (-y) north; a SWITCH
/// chip's one port (up- and downlink) east.
int port_node(Topology topology, int direction, int mesh_x, int mesh_y);

/// The links of a system.
class ChipLinks {
 public:
  explicit ChipLinks(const ChipLinkSpec& spec);

  /// Directed links a transfer from chip `src` to chip `dst` crosses, in order (empty when
  /// src == dst). Ring: the shorter way round (ties: increasing index); mesh: X then Y;
  /// torus: X then Y, each the shorter way round (ties: increasing); switch: src's uplink then
  /// dst's downlink.
  std::vector<int> route(int src, int dst) const;
  /// Links of the route (hops).
  int hops(int src, int dst) const { return static_cast<int>(route(src, dst).size()); }

  /// Sends `bits` from `src` to `dst`, ready at `ready`; returns the arrival of the tail and
  /// counts the bits on every link crossed. src == dst costs nothing and returns `ready`.
  Ps transfer(Ps ready, int src, int dst, double bits);

  /// Sends `bits` over the one directed link `link`, ready at `ready` (as transfer() over a
  /// route of that link alone); returns the arrival of the tail. A route crossed link by link
  /// (ready at each link when the previous one delivered) is store-and-forward at every chip
  /// on the way, where transfer() is cut-through.
  Ps transfer_link(Ps ready, int link, double bits);
  /// Books directed link `link` for `bits` ready at `ready` (no earlier than the end of the
  /// previous transfer's serialization) and returns when the transfer starts on it: its head
  /// reaches the far end latency later, its tail latency + bits / bandwidth later. A route
  /// booked link by link, each link when the head reaches it, is transfer() over that route
  /// with each link's wait taken where it is met (the same on idle links).
  Ps book_link(Ps ready, int link, double bits);
  /// The chip that books directed link `link` (a parallel run's owner of its state): the chip
  /// it leaves, or for a switch's downlink the chip it reaches.
  int link_owner(int link) const { return link / directions_; }
  Ps latency_ps() const { return latency_ps_; }
  Ps occupancy_ps(double bits) const { return serialize_ps(bits); }
  /// The chip directed link `link` reaches; -1 for a switch chip's uplink (it reaches the
  /// switch, not a chip).
  int link_end(int link) const;

  /// Closed form of one transfer over `hops` idle links, in ps.
  Ps unloaded_ps(int hops, double bits) const;

  /// The direction of directed link `link` at the chip it leaves (its port there), and the
  /// direction of the port it enters at the chip it reaches (the opposite one; a switch's
  /// downlink enters the chip's one port).
  int direction_of(int link) const { return link % directions_; }
  int entry_direction(int link) const;

  /// Directed links in all (busy-until state is kept per directed link).
  int link_count() const { return static_cast<int>(free_.size()); }
  /// Bits times links crossed, summed over every transfer (what the energy is priced on): the
  /// sum of every link's bits, in link order.
  double bit_links() const;
  /// Bits carried by directed link `link`.
  double link_bits(int link) const { return bits_[link]; }
  /// Picoseconds directed link `link` was busy.
  double link_busy_ps(int link) const { return busy_ps_[link]; }
  /// Energy of every bit carried so far, in pJ.
  double energy_pj() const { return bit_links() * spec_.e_pj_per_bit; }
  /// A readable name of directed link `link` ("chip 2 -> chip 3", "chip 4 -> switch").
  std::string link_name(int link) const;
  const ChipLinkSpec& spec() const { return spec_; }

 private:
  int link_id(int from, int direction) const { return from * directions_ + direction; }
  Ps serialize_ps(double bits) const;

  ChipLinkSpec spec_;
  int directions_ = 2;
  Ps latency_ps_ = 0;
  std::vector<Ps> free_;
  std::vector<double> bits_;
  std::vector<double> busy_ps_;
};

/// One direction of a point-to-point link: a pipe of `latency_ns` whose transfers serialize at
/// `bandwidth_gbps`. A transfer of b bits ready at r starts at max(r, the end of the previous
/// one's serialization), occupies the link b / bandwidth, and arrives latency + b / bandwidth
/// after its start. The host link is two of them (into the system, out of it).
class LinkChannel {
 public:
  LinkChannel(double bandwidth_gbps, double latency_ns);
  /// Sends `bits` ready at `ready`; returns the arrival of the tail.
  Ps transfer(Ps ready, double bits);
  /// Closed form of one transfer over the idle channel, in ps.
  Ps unloaded_ps(double bits) const { return latency_ps_ + serialize_ps(bits); }
  Ps serialize_ps(double bits) const;
  double bits() const { return bits_; }
  double busy_ps() const { return busy_ps_; }
  long long transfers() const { return transfers_; }

 private:
  double bandwidth_gbps_;
  Ps latency_ps_ = 0;
  Ps free_ = 0;
  double bits_ = 0, busy_ps_ = 0;
  long long transfers_ = 0;
};

}  // namespace aimc::arch

// The network on chip: a 2D mesh with XY routing, per-hop latency, link contention (a busy link
// delays the next transfer) and multicast along the XY tree.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "arch/action_counts.h"
#include "arch/power_gating.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"
#include "arch/touch_hook.h"

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

/// A multicast's XY tree from one source to a list of destinations, computed once
/// (ScNoc::build_tree) and reused by every multicast along it: the links in the order the
/// multicast reserves them, each with the tree slot its head leaves from.
struct McTree {
  struct Hop {
    int link = 0;  ///< where the link keeps its state (ScNoc::link_index; its nodes follow)
    int slot = 0;  ///< tree slot of the node it leaves (0 = the source, k + 1 = hop k's end)
  };
  // What a multicast along a registered tree reads first, side by side.
  /// The mesh that registered the tree as a flow of its own (ScNoc::build_tree), and where it
  /// keeps it; null when not registered (the tree is then replayed link by link).
  const class ScNoc* owner = nullptr;
  int flow = -1;
  int src = -1;
  int mesh_x = 0, mesh_y = 0;
  std::vector<int> dsts;
  std::vector<Hop> hops;
  std::vector<int> dst_end;   ///< per destination: hops up to here lead to it
  std::vector<int> dst_slot;  ///< per destination: its tree slot (-1 when it is the source)
  bool forwards = false;      ///< some destination is not the source
  /// The hops as straight runs, for the walk of a mesh with gated routers (filled by
  /// build_tree when they are): hops `first` to first + len - 1, one destination's, each along
  /// the same direction from the node the one before reached: hop first + j leaves node
  /// from + j * node_step over link link + j * link_step; the first leaves tree slot `slot`.
  struct Run {
    int first = 0, len = 0, slot = 0;
    int link = 0, link_step = 0;
    int from = 0, node_step = 0;
  };
  std::vector<Run> runs;
};

/// What a group of operations on a quiet mesh did to it (ScNoc::capture_end), to be applied to
/// the same mesh later from another quiet start (ScNoc::apply): only the entries it changed, times
/// relative to the group's start, statistics as increments.
struct NocDelta {
  struct Link {
    int link = 0;
    Ps free = 0;  ///< free time - t0
  };
  struct Start {
    int flow = 0, real = 0;  ///< a registered flow's plan and its real link (Plan::real() index)
    Ps start = 0;            ///< its last start - t0
  };
  struct Occ {
    int flow = 0;
    Ps occ = 0;  ///< the plan's last occupancy (a duration, not shifted)
  };
  uint64_t epoch = 0;         ///< ScNoc::structure_epoch() it was captured under
  std::vector<Link> links;    ///< explicit link free times changed (deferred records settled)
  std::vector<int> segments;  ///< exit segments (rows of one direction) whose links changed
  std::vector<Start> starts;  ///< plans' last starts changed
  std::vector<Occ> occs;      ///< plans' last occupancies changed
  double bit_hops = 0, busy_ps = 0, adds = 0;  ///< statistics' increments (whole numbers)
  bool has_horizon = false;  ///< the group raised the horizon (else it changed nothing)
  Ps horizon = 0;            ///< the horizon the group's operations raised it to - t0
};

/// The mesh. Transfers are cut-through: the head advances one hop per hop latency, and each link
/// it crosses is occupied for ceil(bits / link_width) cycles, starting when the head gets there
/// and the link is free.
///
/// Shadowed links (exact, no trace and no router gating): a transfer takes link k at
/// start_k = max(head_k, free_k), frees it at start_k + occupancy and its head reaches the next
/// link at start_k + hop. When every transfer that ever crosses a link L came to it over the same
/// link P just before (P enters the node L leaves), free_L <= free_P + hop holds after each
/// transfer (it holds at 0; a transfer over both sets free_L = start_P + hop + occ = free_P + hop;
/// one over P alone only raises free_P), so start_L = start_P + hop: L never delays anything and
/// needs no state. Multicast trees registered by build_tree are such flows, known before they
/// run: a tree link whose registered trees all enter it over the same link is shadowed, and a
/// tree's multicast reserves only its other links (the trunk; the branches down to the tiles
/// are shadowed), each destination's arrival a fixed offset after the start of the last link
/// it reserves on its path. Anything else that reaches a shadowed link (a unicast, a reduction,
/// a tree not registered, a tree entering it over another link) first gives it back its free
/// time (the latest start + occupancy of the trees over it, from their last starts) and makes
/// it an ordinary link for good; so are all when a trace is attached.
///
/// Exit links (exact, no trace and no router gating): the links of a row in one direction
/// before an exit link E (the links toward the DPUs' column, which every partial output of the
/// row's tiles crosses) are reserved lazily. A unicast whose row run crosses E from link L on
/// (a through run) would start on E at max(head + d * hop, free_E), d the links from L to E,
/// whenever every link J before E is free at 0 or by free_E - d_J * hop (J is then never what
/// delays the head at E: a later start on J reaches E no earlier than the head; "dominated").
/// A through run keeps this: each link it crosses is freed at its start + occupancy, and E
/// starts at least d_J hops later, so free_J + d_J * hop <= free_E. So a through run reserves E
/// at once and only records (head, occupancy, d) for the links before E. The records are
/// replayed in their order, giving each link the free time of the link-by-link walk, when 32
/// have gathered or before anything else reads or reserves a link before E (a unicast that
/// ends or turns before E); the row then walks link by link until a check finds the links
/// dominated again. A replay walks a record link by link only up to the links next to E that
/// are each free a hop or more after the one before ("sorted"): there a head that waits at one
/// link reaches the next no later than it is free, so each link starts on its own at
/// max(the record's head + its hops to it, its free time), and a record leaves its links
/// sorted (the replay takes those links in SIMD lanes where the CPU has them: the same sums and
/// maxima of whole numbers, so the same times at every level). Links a multicast tree or a
/// reduction takes (pinned) keep a row's links from being lazy before E: their paths reserve links
/// directly.
///
/// Quiet replay (no trace, no router gating): horizon() bounds every free time the mesh holds,
/// explicit, deferred or shadowed. Each operation raises it to the latest time it returns or a
/// bound of it: a unicast's arrival comes after each link it held is free again (a link's
/// start + occupancy is at most the next link's start, the last one's at most the arrival; a
/// deferred link starts, once replayed, d hops before the exit at the latest, as the walk would
/// have it); every link of a tree or a reduction lies on the way to a destination, reached
/// after the link is free (along a registered tree: the latest start on a link it reserves +
/// the most hops from such a link to a destination + the occupancy bounds every arrival).
/// When horizon() <= t0 ("quiet") and a group of operations all ready at t0 or later runs,
/// max(head, free) is the head wherever a free time from before t0 is read: what the group
/// does is a function of its ready times alone, and from another quiet start t the same
/// shifted by t - t0. capture_begin/capture_end record it (the entries it changed, relative to
/// t0: link free times with the deferred records settled, the plans' last starts and last
/// occupancy, from which the shadowed links' free times follow; statistics as whole-number
/// increments) and apply() writes it shifted, as long as structure_epoch() (the flows, plans,
/// shadowed and pinned links, exit links switched on or off) is the capture's. Exit segments
/// may end in another mode than the run's (both are exact): a lazy segment apply() writes to is
/// settled first and checked again. Router gating and deferred_runs() are not part of it.
class ScNoc : public ScComponent {
 public:
  ScNoc(sc_core::sc_module_name name, const NocSpec& spec);

  /// Sends `bits` from node `src` to node `dst`, ready at `ready`; returns the arrival time of
  /// the tail. src == dst costs nothing. Counts bit-hops.
  Ps unicast(Ps ready, int src, int dst, double bits, ActionCounts* counts) {
    touch_route(src, dst, bits);
    return unicast_impl(ready, src, dst, bits, counts);
  }
  /// Sends the same `bits` from `src` to each of `n` nodes `dsts`; `arrivals[i]` receives the
  /// tail arrival at dsts[i]. With multicast, each link of the XY tree carries the data once.
  void multicast(Ps ready, int src, const int* dsts, int n, double bits, Ps* arrivals,
                 ActionCounts* counts) {
    touch();
    multicast_impl(ready, src, dsts, n, bits, arrivals, counts);
  }
  /// The XY tree of a multicast from `src` to the `n` nodes `dsts` (for multicast(tree)),
  /// registered as a flow of this mesh (its shadowed links are skipped, see above) unless a
  /// trace, router gating or unicast-only multicast make that moot.
  void build_tree(int src, const int* dsts, int n, McTree* tree) {
    touch();
    build_tree_impl(src, dsts, n, tree);
  }
  /// multicast() along a tree from build_tree(): the same reservations, in the same order.
  void multicast(Ps ready, const McTree& tree, double bits, Ps* arrivals, ActionCounts* counts) {
    if (tree.owner == this && tree.flow >= 0 && shadowing())
      touch_flow(tree.flow, bits);
    else
      touch();
    multicast_tree(ready, tree, bits, arrivals, counts);
  }
  /// Whether a tree registered by this mesh (McTree::owner) is run from its flow now: then
  /// multicast(ready, tree, ...) is multicast_flow(ready, tree.flow, ...).
  bool runs_flows() const { return shadowing(); }
  /// multicast() along the registered tree of flow `flow` (McTree::flow of a tree this mesh
  /// registered), when runs_flows(): `arrivals` per destination of the tree, in its order.
  void multicast_flow(Ps ready, int flow, double bits, Ps* arrivals, ActionCounts* counts) {
    touch_flow(flow, bits);
    multicast_flow_impl(ready, flow, bits, arrivals, counts);
  }
  /// Hints the caches at what multicast_flow(flow) reads (no other effect).
  void prefetch_flow(int flow) const {
    const auto* p = reinterpret_cast<const char*>(plans_[flow]);
    for (int b = 0, n = plan_bytes_[flow]; b < n; b += 64) __builtin_prefetch(p + b);
  }
  /// Exit links (see the class comment): on by default where there is no trace and no router
  /// gating; off (every deferred reservation made first) reserves every row link as it is
  /// crossed, for tests and benchmarks.
  void set_exit_links(bool on) {
    touch();
    set_exit_links_impl(on);
  }
  bool exit_links() const { return exit_links_; }
  /// Through runs whose links before the exit were deferred (a statistic for tests).
  long long deferred_runs() const { return deferred_runs_; }
  /// The free time of `link` (deferred reservations on it made first); for tests.
  Ps free_at(int link) {
    touch();
    return free_at_impl(link);
  }
  /// Distinct for every mesh of the process (a mesh at the address of one destroyed has
  /// another).
  uint64_t serial() const { return serial_; }

  /// Reduces in the network: node `srcs[i]` holds a vector of `elems` elements (`bits` bits)
  /// ready at `ready[i]`; the vectors travel along their XY routes to `dst`, and where routes
  /// meet the router adds them (one adder stage, add_ps, before the merged head goes on), so
  /// each link of the union of the routes (an in-tree rooted at dst) carries the vector once.
  /// Returns when the tail of the sum arrives at dst. Counts bit-hops and element adds
  /// (noc_adds: n - 1 merges of `elems` elements for n distinct sources; a source listed twice
  /// adds in its own router).
  Ps reduce(const Ps* ready, const int* srcs, int n, int dst, double bits, double elems,
            ActionCounts* counts) {
    touch();
    return reduce_impl(ready, srcs, n, dst, bits, elems, counts);
  }

  // ---- Quiet replay (see the class comment) ----
  /// An upper bound of every free time the mesh holds (explicit, deferred or shadowed; router
  /// gating aside): the latest time an operation returned, or a bound of it (a multicast
  /// along a flow: its latest real start + the most hops to a destination + the occupancy).
  /// Never decreases.
  Ps horizon() const { return std::max(horizon_, capture_floor_); }
  /// Changes whenever what later operations compute changes otherwise than through free times:
  /// a flow registered, a plan compiled or marked stale, a link unshadowed or pinned, exit links
  /// switched, a trace attached.
  uint64_t structure_epoch() const { return epoch_; }
  /// Starts recording what the next operations change: settles every deferred record and takes
  /// a snapshot of the links' free times, the plans and the statistics.
  void capture_begin();
  /// Ends the recording of a group that started at `t0` (every operation ready at t0 or later,
  /// horizon() <= t0 at capture_begin()): settles, fills `d` with what changed relative to t0
  /// and returns true; false (`d` unusable) when structure_epoch() changed meanwhile, the mesh
  /// was not quiet at t0, something changed before t0, a statistic is not a whole number, or the
  /// mesh is traced or has gated routers. Throws std::logic_error without capture_begin().
  bool capture_end(Ps t0, NocDelta* d);
  /// Leaves the mesh as the captured group's operations, run from `t` (each ready time shifted
  /// by t - t0), would: free times, plans' last starts and occupancies, statistics, horizon().
  /// Throws std::logic_error unless held_by(d) <= t and structure_epoch() == d.epoch (links
  /// outside the delta may be held later: see footprint below). Calls no touch hook.
  /// O(entries of d).
  void apply(const NocDelta& d, Ps t);
  /// Footprint replay: the links the captured group writes (d.links) are the only ones whose
  /// free times it reads but for shadowed links, which never delay a head (the class comment)
  /// and whose implied free times follow from the plans' last starts. So when every link of
  /// d.links is free by t (after the deferred records of d.segments are replayed), the group run
  /// from t does what it did from t0, shifted, whatever other links hold: held_by(d) is the
  /// latest free time of d.links (those segments' records replayed first), the largest Ps when
  /// d cannot be applied (another structure epoch, a capture under way, a link shadowed).
  Ps held_by(const NocDelta& d);
  /// The footprint of `d`: one bit per link (link l: bit l % 64 of word l / 64), set for the
  /// links of d.links, every link of its segments (their records are replayed as a whole) and
  /// every link of the trees of its flows (d.occs).
  void footprint(const NocDelta& d, std::vector<uint64_t>* bits) const;
  /// While armed with a guard (the footprint of a delta being replayed), the touch hook fires
  /// only for an operation that may read or write a link of the footprint: a unicast whose
  /// route crosses one, or a shadowed link (it would change the structure), or whose bits are
  /// not a whole number (the statistics would then depend on the order of the adds); a
  /// multicast along a registered flow whose tree has one or whose plan is stale; every other
  /// operation. The same operations on other links commute with the group's. null: every
  /// operation fires. The footprint must outlive the guard.
  void guard(const uint64_t* footprint) { guard_ = footprint; }
  /// A hook the mesh calls first thing in every public operation that reads or changes its
  /// links (unicast, both multicasts, multicast_flow, reduce, build_tree, free_at,
  /// set_exit_links, set_trace, close), while armed (not the statistics' getters, not the cache
  /// hints, not capture/apply). The hook runs disarmed (operations it calls do not call it
  /// again) and may disarm it for good (arm_touch_hook(false) from inside).
  void set_touch_hook(void (*fn)(void*), void* ctx) { hook_.set(fn, ctx); }
  void arm_touch_hook(bool on) { hook_.arm(on); }
  bool touch_hook_armed() const { return hook_.wanted(); }

  /// Hints the caches at the link state that unicast(src, dst) will read (no other effect).
  void prefetch_route(int src, int dst) const {
    const int y = row_of(src), x = src - y * spec_.mesh_x;
    const int dy = row_of(dst), dx = dst - dy * spec_.mesh_x;
    const Ps* free = link_free_.data();
    auto lines = [](const Ps* a, const Ps* b) {
      if (b < a) std::swap(a, b);
      for (; a <= b; a += 8) __builtin_prefetch(a);
      __builtin_prefetch(b);
    };
    const int len = std::abs(dx - x), stride = dx > x ? 1 : -1, seg = (dx < x) * spec_.mesh_y + y;
    const Exit* e = exit_links_ && len > 0 ? &exits_[seg] : nullptr;
    const int dist = e ? (e->col - x) * stride : -1;
    if (e && e->mode == kLazy && dist >= 0 && dist < len) {
      // A through run: its deferred record, then the exit on.
      __builtin_prefetch(&deferred_[static_cast<size_t>(seg) * kDeferred + e->logged]);
      lines(free + e->link, free + e->link + (len - dist - 1) * stride);
    } else if (dx > x) {
      lines(free + src, free + src + (dx - x - 1));
    } else if (dx < x) {
      lines(free + nodes_ + src - (x - dx - 1), free + nodes_ + src);
    }
    const Ps* col = free + dx * spec_.mesh_y;
    if (dy > y) lines(col + 2 * nodes_ + y, col + 2 * nodes_ + dy - 1);
    if (dy < y) lines(col + 3 * nodes_ + dy + 1, col + 3 * nodes_ + y);
  }
  /// XY hop count between two nodes.
  int hops(int src, int dst) const {
    const int sy = row_of(src), dy = row_of(dst);
    return std::abs(src - sy * spec_.mesh_x - (dst - dy * spec_.mesh_x)) + std::abs(sy - dy);
  }

  const NocSpec& spec() const { return spec_; }
  int links() const { return static_cast<int>(link_free_.size()); }
  double bit_hops() const { return bit_hops_; }
  /// Links shadowed now (see the class comment), and registered trees.
  int shadowed_links() const;
  int flows() const { return static_cast<int>(flows_.size()); }
  /// Busy time is counted per link.
  double units() const override { return links(); }
  /// One track per link, named <noc>.link<node>_<east|west|south|north>, asked for lazily.
  void set_trace(SpanSink* sink) override;

  /// Closes the run at `end` (power gating: idle routers stay off until then).
  void close(Ps end) {
    touch();
    routers_.close(end);
  }
  /// The routers' off intervals (power gating), of all routers.
  const std::vector<GatedInterval>& gated() const { return routers_.intervals(); }
  /// The routers' gating state, one unit per node (the memo of layer parts replays into it).
  GatedUnits& routers() { return routers_; }
  double adds() const { return adds_; }

  /// Statistics: bit_hops, link_busy (link-ns), adds (in-network reduction), router wake-ups,
  /// router time off (router-ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override {
    return {bit_hops_, busy_ps_, adds_, routers_.wake_ups(), routers_.off_ps()};
  }

 private:
  /// Calls the touch hook when armed (one predictable branch when not).
  void touch() { hook_.touch(); }
  /// unicast()'s and multicast_flow()'s: the hook only when the operation meets the guard.
  void touch_route(int src, int dst, double bits) {
    if (__builtin_expect(hook_.armed(), false) && (!guard_ || route_guarded(src, dst, bits)))
      hook_.touch();
  }
  void touch_flow(int flow, double bits) {
    if (__builtin_expect(hook_.armed(), false) && (!guard_ || flow_guarded(flow, bits)))
      hook_.touch();
  }
  bool route_guarded(int src, int dst, double bits) const;
  bool flow_guarded(int flow, double bits) const;
  bool guarded(int link) const { return (guard_[link >> 6] >> (link & 63)) & 1; }
  const uint64_t* guard_ = nullptr;
  TouchHook hook_;
  /// The operations (the public ones without the touch hook, which they call among themselves).
  Ps unicast_impl(Ps ready, int src, int dst, double bits, ActionCounts* counts);
  void multicast_impl(Ps ready, int src, const int* dsts, int n, double bits, Ps* arrivals,
                      ActionCounts* counts);
  void build_tree_impl(int src, const int* dsts, int n, McTree* tree);
  void multicast_tree(Ps ready, const McTree& tree, double bits, Ps* arrivals,
                      ActionCounts* counts);
  void multicast_flow_impl(Ps ready, int flow, double bits, Ps* arrivals, ActionCounts* counts);
  Ps reduce_impl(const Ps* ready, const int* srcs, int n, int dst, double bits, double elems,
                 ActionCounts* counts);
  void set_exit_links_impl(bool on);
  Ps free_at_impl(int link);
  /// Raises the horizon to `t` (an operation returned it).
  void reach(Ps t) { horizon_ = std::max(horizon_, t); }
  static constexpr Ps kNoTime = std::numeric_limits<Ps>::min();
  Ps horizon_ = 0;
  Ps capture_floor_ = kNoTime;  // while capturing: the horizon at capture_begin()
  uint64_t epoch_ = 0;
  /// The capture's snapshot (capture_begin): free times, per flow its plan's last starts (from
  /// cap_off_[flow] on) and last occupancy, statistics, epoch.
  bool capturing_ = false;
  std::vector<Ps> cap_free_;
  std::vector<Ps> cap_start_;
  std::vector<size_t> cap_off_;
  std::vector<Ps> cap_occ_;
  double cap_bit_hops_ = 0, cap_busy_ps_ = 0, cap_adds_ = 0;
  uint64_t cap_epoch_ = 0;
  std::vector<uint8_t> seg_mark_;  // capture_end scratch
  /// capture_end()'s record of a capture the mesh accepts (`group`: the horizon the group
  /// raised, kNoTime when none); false when something in it cannot be replayed.
  bool diff(Ps t0, Ps group, NocDelta* out);
  /// The mesh row of `node` (node / mesh_x, by a multiplication when row_magic_ allows).
  int row_of(int node) const {
    return row_magic_ ? static_cast<int>((static_cast<uint64_t>(node) * row_magic_) >> 40)
                      : node / spec_.mesh_x;
  }
  int next_link(int node, int dst, int* next_node) const;
  /// Where the link leaving `node` in direction `dir` keeps its state, direction by direction:
  /// the east links of a row side by side (then the west links), the south links of a column
  /// side by side (then the north links), so that a route's links are neighbours.
  int link_index(int node, int dir) const;
  void link_of(int link, int* node, int* dir) const;
  /// The node `link` leaves and the node it reaches.
  void link_nodes(int link, int* from, int* to) const {
    int dir;
    link_of(link, from, &dir);
    const int step[4] = {1, -1, spec_.mesh_x, -spec_.mesh_x};
    *to = *from + step[dir];
  }
  /// Adds the busy time of `links` links each held `occ`.
  void add_link_busy(Ps occ, int links);
  /// The occupancy of `bits` on a link, ceil(bits / link_width) cycles (the last one kept).
  Ps flits_ps(double bits) {
    if (bits != occ_bits_) {
      occ_bits_ = bits;
      occ_ps_ = cycles_to_ps(std::ceil(bits / spec_.link_width_bits), spec_.cycle_ps);
    }
    return occ_ps_;
  }
  double occ_bits_ = -1;
  Ps occ_ps_ = 0;
  /// Free time of `link`, given back first when it is shadowed.
  Ps link_free(int link) {
    const Ps f = link_free_[link];
    return f >= 0 ? f : unshadow(link);
  }
  Ps reserve(int link, Ps head, Ps occupancy) {
    const Ps start = std::max(head, link_free(link));
    link_free_[link] = start + occupancy;
    busy_ps_ += static_cast<double>(occupancy);
    if (sink_) trace_link(link, start, start + occupancy);
    return start;
  }
  void trace_link(int link, Ps start, Ps end);
  /// Reserves the `n` links of a straight run, from `link` on with link index step `stride` (a
  /// row's or column's links of one direction lie side by side), for a head reaching the first
  /// at `head` (no trace, no gating); returns the head after the last.
  Ps walk(Ps head, int link, int stride, int n, Ps occ) {
    Ps* free = link_free_.data();
    const Ps hop = hop_ps_;  // (a local: stores through `free` cannot change it)
    for (; n > 0; --n, link += stride) {
      const Ps f = free[link];
      const Ps start = std::max(head, f >= 0 ? f : unshadow(link));
      free[link] = start + occ;
      head = start + hop;
    }
    return head;
  }

  // ---- Exit links (see the class comment) ----
  /// A row's links of one direction (a segment): its exit link and the column of the node it
  /// leaves; kOpen: no exit yet; kLazy: the links before the exit are dominated by it and
  /// through runs defer them (`logged` records in deferred_); kDirect: every link reserved as
  /// crossed, the segment checked again after `recheck` more runs.
  enum : int { kOpen, kLazy, kDirect };
  struct Exit {
    int link = -1, col = 0, mode = kOpen, logged = 0, recheck = 0;
    int sorted = 0;  ///< links next to the exit each free a hop or more after the one before
  };
  /// A through run's reservations of the `dist` links before the exit, for a head at `head`.
  struct Deferred {
    Ps head = 0;
    int32_t occ = 0, dist = 0;
  };
  static constexpr int kDeferred = 32;  ///< records per segment before they are replayed
  static constexpr int kRecheck = 64;   ///< runs a direct segment walks before a check
  /// unicast()'s run along row `y` from node `src` (column `x`), `len` links in direction
  /// `dir` (0 east, 1 west): the head after it.
  Ps row_run(Ps head, int src, int x, int y, int dir, int len, Ps occ);
  /// Replays segment `seg`'s deferred records.
  void settle(int seg);
  /// Whether segment `seg`'s links before its exit are dominated by it (and none is pinned or
  /// shadowed); finds its sorted links.
  bool dominated(int seg);
  /// `link` is reserved by a path that walks links directly (a tree, a reduction): the
  /// deferred records of its segment are replayed if it lies before the exit, for good.
  void pin(int link);
  void pin_tree(const McTree& tree) {
    if (exit_links_)
      for (const McTree::Hop& h : tree.hops) pin(h.link);
  }
  bool exit_links_ = false;
  long long deferred_runs_ = 0;
  std::vector<Exit> exits_;         // per segment: east segments of rows 0.., then west ones
  std::vector<Deferred> deferred_;  // kDeferred per segment
  std::vector<uint8_t> pinned_;     // per east or west link

  /// unicast() link by link through reserve() (the path a traced mesh takes): the head's
  /// arrival at `dst`, with every router's wake-up and busy time on the way.
  Ps unicast_per_hop(Ps ready, int src, int dst, Ps occ);

  // ---- Shadowed links (see the class comment) ----
  /// Fills `tree` (not registered).
  void grow_tree(int src, const int* dsts, int n, McTree* tree);
  /// Fills tree->runs from its hops.
  void find_runs(McTree* tree) const;
  /// The step of link_index between a link and the next one in direction `dir` (a straight run;
  /// the same for every node, found once from link_index).
  int link_step(int dir) const { return link_step_[dir]; }
  int link_step_[4] = {0, 0, 0, 0};
  /// Gated routers, no trace: multicast() along `tree`'s runs, the same reservations, wake-ups
  /// and busy times in the same order as hop by hop.
  void multicast_gated(Ps ready, const McTree& tree, Ps occ, Ps* arrivals);
  /// Gated routers: when destination `i` of `tree` has the flits (`ready` when it is the source,
  /// else its tree slot's head time in `time` + occ), its router kept busy until then.
  Ps tree_arrival(const McTree& tree, int i, Ps ready, const Ps* time, Ps occ) {
    const int slot = tree.dst_slot[i];
    if (slot < 0) return ready;
    const Ps at = time[slot] + occ;
    routers_.busy_until(tree.dsts[i], at);
    return at;
  }
  /// A registered tree's plan, what a multicast along it reads, in one allocation: this
  /// header, then the `reals` links it reserves (in tree order), each with the step its head
  /// comes from (-1: the source) and how many hops after that step's start, and its last start;
  /// then per destination the step it comes from (-1: it is the source) and how many hops
  /// after. The last occupancy (-1: never run). `stale`: a link of the tree became ordinary
  /// since the plan was built (the plan still describes its runs so far).
  struct Plan {
    struct Real {
      Ps start = 0;
      int link = 0, parent = -1, hops = 0;
    };
    struct Dst {
      int parent = -1, hops = 0;
    };
    int reals = 0, dsts = 0, links = 0;
    bool stale = false;
    /// The most hops a destination lies after the real link it comes from (-1: every
    /// destination is the source; kTailLong: too many for the field, the arrivals' maximum is
    /// taken instead): no link of the tree is free after the latest real start + that many
    /// hops + the occupancy (each leads to a destination, reached once it is free).
    int16_t tail_hops = -1;
    static constexpr int16_t kTailLong = -2;
    Ps last_occ = -1;
    Real* real() { return reinterpret_cast<Real*>(this + 1); }
    Dst* dst() { return reinterpret_cast<Dst*>(real() + reals); }
  };
  /// A registered tree: per hop its link and tree slot; per hop the real link it is governed by
  /// (the last link on its path from the source that is not shadowed, an index into the plan's
  /// reals) and its start's distance in hops from that link's start; the plan.
  struct Flow {
    std::vector<int> link, slot, gov, gov_hops, dst_slot;
    Plan* plan = nullptr;
    int room = 0;  ///< reals the plan's room holds (a rebuilt plan takes room for all hops)
  };
  /// Room for a plan of `reals` and `dsts`: the plans of a mesh lie side by side, in the order they
  /// are built (a part's row groups one after another), apart from everything else on the heap.
  void* plan_room(int reals, int dsts);
  std::vector<std::unique_ptr<unsigned char[]>> plan_pool_;
  size_t pool_left_ = 0;
  unsigned char* pool_next_ = nullptr;
  bool shadowing() const { return spec_.multicast && !sink_ && !routers_.spec().enabled; }
  void register_flow(McTree* tree);
  /// (Re)builds `f`'s plan from the links' states, keeping its last starts.
  Plan* compile(Flow* f);
  /// Makes shadowed `link` an ordinary link again (for good); returns its free time.
  Ps unshadow(int link);
  std::vector<Flow> flows_;
  std::vector<Plan*> plans_;     // per flow, its plan (read first by a multicast)
  std::vector<int> plan_bytes_;  // per flow, its plan's size
  uint64_t serial_ = 0;
  static constexpr int kUnclaimed = -2, kOrdinary = -3;
  std::vector<int> link_pred_;  // per link: kUnclaimed, kOrdinary or (shadowed) the link before
  // The trees over each shadowed link: a list per link (its first entry, -1: none) in one pool
  // (entries of links made ordinary are not reused).
  struct User {
    int flow = 0, hop = 0, next = -1;
  };
  std::vector<int> link_users_;
  std::vector<User> users_;
  std::vector<Ps> hop_start_;  // compile scratch
  /// reduce()'s in-tree: the sources' nodes and every node on their XY routes to dst in
  /// `tree_nodes_`, leaves first, each with the streams merging in its router
  /// (`node_inputs_`, of them `node_local_` its own) and its sources' ready time (`node_time_`).
  void reduction_tree(const Ps* ready, const int* srcs, int n, int dst);

  NocSpec spec_;
  Ps hop_ps_;
  int nodes_ = 0;
  std::vector<Ps> link_free_;   // link_index(node, direction (0 +x, 1 -x, 2 +y, 3 -y))
  uint64_t row_magic_ = 0;      // see row_of()
  std::vector<Ps> slot_time_;   // multicast scratch: head time per tree slot
  std::vector<int> node_slot_;  // build_tree scratch: tree slot of each stamped node
  McTree scratch_tree_;
  std::vector<McTree::Hop> hop_scratch_;  // grow_tree scratch
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

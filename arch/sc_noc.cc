// 2D mesh with XY routing, link reservation and tree multicast.
#include "arch/sc_noc.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "arch/rng.h"
#include "arch/snapshot_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AIMC_NOC_X86 1
#endif

namespace aimc::arch {
namespace {

// The replay of a deferred record over the `n` links next to the exit (ScNoc::settle): the
// link d links before the exit (d = 1..n) lies at exit - d * stride and is reached by the head
// at `at` - d * hop; it starts at max(that, its free time) and is held `occ`. No link's start
// depends on another's, so the links go lane by lane; every level gives the same values (whole
// numbers, max and add). [lo, hi) holds the row's links of that direction.
void fast_links_scalar(Ps* exit, const Ps*, const Ps*, int stride, int n, Ps at, Ps hop, Ps occ) {
  for (int d = 1; d <= n; ++d) {
    Ps& f = exit[-d * stride];
    f = std::max(at - d * hop, f) + occ;
  }
}

#ifdef AIMC_NOC_X86
// Eight links a vector, in blocks at fixed distances from the exit (d = 8k + 1 to 8k + 8), so
// that each record's loads find the previous record's stores at the same addresses; a block
// wholly in the row is loaded and stored whole (its links past the record's unchanged).
__attribute__((target("avx512f"))) void fast_links_avx512(Ps* exit, const Ps* lo, const Ps* hi,
                                                          int stride, int n, Ps at, Ps hop,
                                                          Ps occ) {
  const __m512i hold = _mm512_set1_epi64(occ);
  // head = at - d * hop: east at - d0 * hop + j * hop, west at - d0 * hop - j * hop.
  const Ps dh = stride > 0 ? hop : -hop;
  const __m512i step = _mm512_setr_epi64(0, dh, 2 * dh, 3 * dh, 4 * dh, 5 * dh, 6 * dh, 7 * dh);
  for (int k = 0; 8 * k < n; ++k) {
    // East (stride 1): lane j is d = 8k + 8 - j; west: d = 8k + 1 + j.
    Ps* base = stride > 0 ? exit - 8 * k - 8 : exit + 8 * k + 1;
    const int d0 = stride > 0 ? 8 * k + 8 : 8 * k + 1;
    const int live = n - 8 * k < 8 ? n - 8 * k : 8;  // links of this block the record takes
    const __mmask8 act =
        static_cast<__mmask8>(stride > 0 ? (0xFFu << (8 - live)) & 0xFFu : (1u << live) - 1);
    const __m512i head = _mm512_add_epi64(_mm512_set1_epi64(at - d0 * hop), step);
    if (base >= lo && base + 8 <= hi) {
      const __m512i f = _mm512_loadu_si512(base);
      const __m512i later = _mm512_mask_max_epi64(f, act, head, f);
      _mm512_storeu_si512(base, _mm512_mask_add_epi64(f, act, later, hold));
    } else {
      const __m512i f = _mm512_maskz_loadu_epi64(act, base);
      const __m512i later = _mm512_mask_max_epi64(f, act, head, f);
      _mm512_mask_storeu_epi64(base, act, _mm512_add_epi64(later, hold));
    }
  }
}

__attribute__((target("avx2"))) void fast_links_avx2(Ps* exit, const Ps* lo, const Ps* hi,
                                                     int stride, int n, Ps at, Ps hop, Ps occ) {
  // The links in memory order: east from exit - n up, west from exit + 1 up.
  Ps* free = stride > 0 ? exit - n : exit + 1;
  Ps h0 = stride > 0 ? at - n * hop : at - hop;
  const Ps dh = stride > 0 ? hop : -hop;
  __m256i head = _mm256_setr_epi64x(h0, h0 + dh, h0 + 2 * dh, h0 + 3 * dh);
  const __m256i four = _mm256_set1_epi64x(4 * dh);
  const __m256i hold = _mm256_set1_epi64x(occ);
  int m = 0;
  for (; m + 4 <= n; m += 4, head = _mm256_add_epi64(head, four)) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(free + m));
    const __m256i later = _mm256_blendv_epi8(f, head, _mm256_cmpgt_epi64(head, f));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(free + m), _mm256_add_epi64(later, hold));
  }
  for (h0 += m * dh; m < n; ++m, h0 += dh) free[m] = std::max(h0, free[m]) + occ;
  (void)lo;
  (void)hi;
}
#endif

using FastLinks = void (*)(Ps*, const Ps*, const Ps*, int, int, Ps, Ps, Ps);
FastLinks fast_links() {
#ifdef AIMC_NOC_X86
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      return fast_links_avx512;
    case SimdLevel::kAvx2:
      return fast_links_avx2;
    default:
      break;
  }
#endif
  return fast_links_scalar;
}

}  // namespace

ScNoc::ScNoc(sc_core::sc_module_name name, const NocSpec& spec)
    : ScComponent(name),
      spec_(spec),
      hop_ps_(cycles_to_ps(spec.hop_latency_cycles, spec.cycle_ps)),
      link_free_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y * 4, 0),
      node_time_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y, 0),
      node_stamp_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y, 0),
      routers_(spec.router_gating, spec.mesh_x * spec.mesh_y) {
  static std::atomic<uint64_t> meshes{0};
  serial_ = ++meshes;
  nodes_ = spec.mesh_x * spec.mesh_y;
  // ceil(2^40 / mesh_x): for node < 2^24 and mesh_x <= 2^12 (the configs' limits) the product's
  // top bits are node / mesh_x exactly (the rounding adds under node / 2^40 < 2^-16 < 1 / mesh_x).
  row_magic_ = ((uint64_t{1} << 40) + static_cast<uint64_t>(spec.mesh_x) - 1) /
               static_cast<uint64_t>(spec.mesh_x);
  if (static_cast<int64_t>(nodes_) >= (int64_t{1} << 24) || spec.mesh_x > 4096) row_magic_ = 0;
  const int mx = spec.mesh_x;
  if (mx > 1) {
    link_step_[0] = link_index(1, 0) - link_index(0, 0);
    link_step_[1] = link_index(0, 1) - link_index(1, 1);
  }
  if (spec.mesh_y > 1) {
    link_step_[2] = link_index(mx, 2) - link_index(0, 2);
    link_step_[3] = link_index(0, 3) - link_index(mx, 3);
  }
  set_exit_links(true);
}

int ScNoc::next_link(int node, int dst, int* next) const {
  const int y = row_of(node), x = node - y * spec_.mesh_x;
  const int dy = row_of(dst), dx = dst - dy * spec_.mesh_x;
  if (x != dx) {
    const int dir = dx > x ? 0 : 1;
    *next = node + (dx > x ? 1 : -1);
    return link_index(node, dir);
  }
  const int dir = dy > y ? 2 : 3;
  *next = node + (dy > y ? spec_.mesh_x : -spec_.mesh_x);
  return link_index(node, dir);
}

int ScNoc::link_index(int node, int dir) const {
  if (dir < 2) return dir * nodes_ + node;
  const int y = row_of(node), x = node - y * spec_.mesh_x;
  return dir * nodes_ + x * spec_.mesh_y + y;
}

void ScNoc::link_of(int link, int* node, int* dir) const {
  *dir = link / nodes_;
  const int r = link % nodes_;
  if (*dir < 2) {
    *node = r;
    return;
  }
  const int col = r / spec_.mesh_y, row = r % spec_.mesh_y;
  *node = row * spec_.mesh_x + col;
}

void ScNoc::add_link_busy(Ps occ, int links) {
  // Integer busy times below 2^53 add exactly in any grouping: one add per transfer then gives
  // the same sum as one per link.
  const double total = static_cast<double>(occ) * links;
  if (busy_ps_ + total < 9007199254740992.0 && total < 9007199254740992.0) {
    busy_ps_ += total;
  } else {
    for (int k = 0; k < links; ++k) busy_ps_ += static_cast<double>(occ);
  }
}

void ScNoc::trace_link(int link, Ps start, Ps end) {
  int& tr = link_track_[link];
  if (tr == -2) {
    static const char* kDir[] = {"east", "west", "south", "north"};
    int node, dir;
    link_of(link, &node, &dir);
    const std::string nm = std::string(name()) + ".link" + std::to_string(node) + "_" + kDir[dir];
    tr = sink_->wants(nm) ? sink_->track(nm) : -1;
  }
  if (tr >= 0) sink_->span(tr, "transfer", start, end);
}

Ps ScNoc::unicast_impl(Ps ready, int src, int dst, double bits, ActionCounts* counts) {
  if (src == dst || bits <= 0) return ready;
  const Ps occ = flits_ps(bits);
  const int y = row_of(src), x = src - y * spec_.mesh_x;
  const int dy = row_of(dst), dx = dst - dy * spec_.mesh_x;
  const int h = std::abs(dx - x) + std::abs(dy - y);
  Ps head;
  if (!sink_ && !routers_.spec().enabled) {
    // No trace, no gating: each link only delays the head and is held by the flits. XY: along
    // the row first (a row's links of one direction are adjacent), then along the column (so
    // are a column's).
    head = ready;
    if (dx != x) {
      const int dir = dx > x ? 0 : 1, len = std::abs(dx - x);
      head = exit_links_ ? row_run(head, src, x, y, dir, len, occ)
                         : walk(head, dir * nodes_ + src, dx > x ? 1 : -1, len, occ);
    }
    head = walk(head, (dy > y ? 2 : 3) * nodes_ + dx * spec_.mesh_y + y, dy > y ? 1 : -1,
                std::abs(dy - y), occ);
    add_link_busy(occ, h);
  } else if (!sink_) {
    // Gated routers, no trace: the same reservations, wake-ups and busy times as the per-hop
    // calls below, in the same order, with the links found by stepping.
    Ps* free = link_free_.data();
    head = routers_.wake(src, ready);
    int node = src;
    const int xdir = dx > x ? 0 : 1, xstep = dx > x ? 1 : -1, xlink = link_step(xdir);
    int link = link_index(node, xdir);
    for (int k = std::abs(dx - x); k > 0; --k, link += xlink) {
      const Ps f = free[link];
      const Ps start = std::max(head, f >= 0 ? f : unshadow(link));
      free[link] = start + occ;
      routers_.busy_until(node, start + occ);
      node += xstep;
      head = routers_.wake(node, start + hop_ps_);
    }
    const int ydir = dy > y ? 2 : 3, ystep = dy > y ? spec_.mesh_x : -spec_.mesh_x;
    const int ylink = link_step(ydir);
    link = link_index(node, ydir);
    for (int k = std::abs(dy - y); k > 0; --k, link += ylink) {
      const Ps f = free[link];
      const Ps start = std::max(head, f >= 0 ? f : unshadow(link));
      free[link] = start + occ;
      routers_.busy_until(node, start + occ);
      node += ystep;
      head = routers_.wake(node, start + hop_ps_);
    }
    routers_.busy_until(dst, head + occ);
    add_link_busy(occ, h);
  } else {
    head = unicast_per_hop(ready, src, dst, occ);
  }
  bit_hops_ += bits * h;
  if (counts) counts->noc_bit_hops += bits * h;
  reach(head + occ);  // every link it held is free by then
  return head + occ;
}

void ScNoc::set_exit_links_impl(bool on) {
  ++epoch_;
  for (int seg = 0; seg < static_cast<int>(exits_.size()); ++seg) {
    settle(seg);
    exits_[seg] = Exit{};  // a fresh start: the links' state is whole
  }
  exit_links_ = on && !sink_ && !routers_.spec().enabled;
  if (exit_links_ && exits_.empty()) {
    exits_.assign(static_cast<size_t>(2) * spec_.mesh_y, Exit{});
    deferred_.assign(exits_.size() * kDeferred, Deferred{});
    pinned_.assign(static_cast<size_t>(2) * nodes_, 0);
  }
}

Ps ScNoc::free_at_impl(int link) {
  if (link < 2 * nodes_ && !exits_.empty())
    settle((link >= nodes_) * spec_.mesh_y + row_of(link % nodes_));
  return link_free_[link];
}

Ps ScNoc::row_run(Ps head, int src, int x, int y, int dir, int len, Ps occ) {
  const int stride = dir == 0 ? 1 : -1, link = dir * nodes_ + src;
  const int seg = dir * spec_.mesh_y + y;
  Exit& e = exits_[seg];
  if (e.mode == kLazy) {
    const int dist = (e.col - x) * stride;                    // links before the exit on this run
    if (dist < 0) return walk(head, link, stride, len, occ);  // it starts past the exit
    if (dist < len && head >= 0 && occ <= std::numeric_limits<int32_t>::max()) {
      // A through run (heads are never negative; a free link is free at 0 or later).
      const Ps at_exit = head + dist * hop_ps_;
      if (dist > 0) {
        ++deferred_runs_;
        Deferred* d = &deferred_[static_cast<size_t>(seg) * kDeferred];
        d[e.logged] = {head, static_cast<int32_t>(occ), static_cast<int32_t>(dist)};
        if (++e.logged == kDeferred) {
          settle(seg);
        } else if (e.logged == kDeferred - 8) {
          // The links the replay takes, fetched while the last records gather (cache hints).
          const Ps* near = link_free_.data() + e.link;
          for (int k = 0; k < e.sorted; k += 8) __builtin_prefetch(near - stride * (k + 1), 1);
          if (e.sorted > 0) __builtin_prefetch(near - stride * e.sorted, 1);
        }
      }
      return walk(at_exit, e.link, stride, len - dist, occ);
    }
    // It reserves links before the exit and does not cross it, or cannot be deferred.
    settle(seg);
    const Ps out = walk(head, link, stride, len, occ);
    if (!dominated(seg)) {
      e.mode = kDirect;
      e.recheck = kRecheck;
    }
    return out;
  }
  const Ps out = walk(head, link, stride, len, occ);
  if (e.mode == kOpen ? len >= 2 : --e.recheck <= 0) {
    // This run's last link is the segment's exit if the links before it are dominated by it.
    e.link = link + (len - 1) * stride;
    e.col = x + (len - 1) * stride;
    e.mode = dominated(seg) ? kLazy : kDirect;
    e.recheck = kRecheck;
  }
  return out;
}

void ScNoc::settle(int seg) {
  // A record reserves the links `dist` to 1 before the exit, in its order. Over the `sorted`
  // links next to the exit (each free a hop or more after the one before) a head that waits at
  // a link leaves it when it is free and reaches the next no later than that one is free: each
  // of them starts at max(the head + its hops from the first of them, its free time), with no
  // chain from link to link. A record that starts farther out walks link by link up to them;
  // after it, all its links are sorted (each starts at least a hop after the one before).
  Exit& e = exits_[seg];
  const int stride = seg < spec_.mesh_y ? 1 : -1;
  const Deferred* d = &deferred_[static_cast<size_t>(seg) * kDeferred];
  Ps* free = link_free_.data();
  const Ps hop = hop_ps_;
  const FastLinks replay = fast_links();
  // The row's links of this direction.
  const Ps* row = free + (stride > 0 ? 0 : nodes_) + (seg % spec_.mesh_y) * spec_.mesh_x;
  for (int i = 0; i < e.logged; ++i) {
    const int dist = d[i].dist;
    const Ps occ = d[i].occ;
    Ps head = d[i].head;
    int fast = dist;  // its links reserved without the chain
    if (dist > e.sorted) {
      head = walk(head, e.link - dist * stride, stride, dist - e.sorted, occ);
      fast = e.sorted;
      e.sorted = dist;
    }
    // Links e.link - fast * stride to e.link - stride, the first reached at `head`.
    if (fast > 0)
      replay(free + e.link, row, row + spec_.mesh_x, stride, fast, head + fast * hop, hop, occ);
  }
  e.logged = 0;
}

bool ScNoc::dominated(int seg) {
  Exit& e = exits_[seg];
  const int stride = seg < spec_.mesh_y ? 1 : -1;
  const Ps exit_free = link_free_[e.link];
  if (exit_free < 0 || pinned_[e.link]) return false;
  // The links before the exit: columns e.col - 1 down to 0 (east), e.col + 1 up (west).
  const int before = stride > 0 ? e.col : spec_.mesh_x - 1 - e.col;
  e.sorted = 0;
  for (int d = 1; d <= before; ++d) {
    const int link = e.link - d * stride;
    const Ps f = link_free_[link];
    if (pinned_[link] || f < 0 || (f != 0 && f + d * hop_ps_ > exit_free)) return false;
    // The links from the exit back to here are sorted while each is free at least a hop
    // after the one before it.
    if (e.sorted == d - 1 && (d == 1 || f + hop_ps_ <= link_free_[link + stride])) e.sorted = d;
  }
  return true;
}

void ScNoc::pin(int link) {
  if (link >= 2 * nodes_ || pinned_[link]) return;
  pinned_[link] = 1;
  ++epoch_;
  const int node = link % nodes_, y = row_of(node), x = node - y * spec_.mesh_x;
  const int seg = (link >= nodes_) * spec_.mesh_y + y;
  Exit& e = exits_[seg];
  if (e.mode != kLazy || (seg < spec_.mesh_y ? x > e.col : x < e.col)) return;
  settle(seg);
  e.mode = kDirect;
  e.recheck = kRecheck;
}

Ps ScNoc::unicast_per_hop(Ps ready, int src, int dst, Ps occ) {
  const int y = row_of(src), x = src - y * spec_.mesh_x;
  const int dy = row_of(dst), dx = dst - dy * spec_.mesh_x;
  Ps head = routers_.wake(src, ready);
  int node = src;
  const int xdir = dx > x ? 0 : 1, xstep = dx > x ? 1 : -1;
  for (int k = std::abs(dx - x); k > 0; --k) {
    const Ps start = reserve(link_index(node, xdir), head, occ);
    routers_.busy_until(node, start + occ);
    node += xstep;
    head = routers_.wake(node, start + hop_ps_);
  }
  const int ydir = dy > y ? 2 : 3, ystep = dy > y ? spec_.mesh_x : -spec_.mesh_x;
  for (int k = std::abs(dy - y); k > 0; --k) {
    const Ps start = reserve(link_index(node, ydir), head, occ);
    routers_.busy_until(node, start + occ);
    node += ystep;
    head = routers_.wake(node, start + hop_ps_);
  }
  routers_.busy_until(dst, head + occ);
  return head;
}

void ScNoc::build_tree_impl(int src, const int* dsts, int n, McTree* tree) {
  grow_tree(src, dsts, n, tree);
  if (shadowing()) register_flow(tree);
}

void ScNoc::grow_tree(int src, const int* dsts, int n, McTree* tree) {
  tree->owner = nullptr;
  tree->flow = -1;
  tree->src = src;
  tree->mesh_x = spec_.mesh_x;
  tree->mesh_y = spec_.mesh_y;
  tree->dsts.assign(dsts, dsts + n);
  // The hops gather in scratch and go to the tree at their exact size (a registered tree is
  // kept for the run: grown in place it would hold up to twice the room).
  std::vector<McTree::Hop>& hops = hop_scratch_;
  hops.clear();
  tree->dst_end.clear();
  tree->dst_slot.clear();
  tree->dst_end.reserve(n);
  tree->dst_slot.reserve(n);
  tree->forwards = false;
  if (++stamp_ == 0) {
    std::fill(node_stamp_.begin(), node_stamp_.end(), 0);
    std::fill(walk_stamp_.begin(), walk_stamp_.end(), 0);
    stamp_ = 1;
  }
  if (node_slot_.size() != node_stamp_.size()) node_slot_.assign(node_stamp_.size(), 0);
  node_stamp_[src] = stamp_;
  node_slot_[src] = 0;
  const int sy = row_of(src), sx = src - sy * spec_.mesh_x;
  for (int i = 0; i < n; ++i) {
    const int dst = dsts[i];
    if (dst != src) tree->forwards = true;
    // Walk back along the XY route from dst until a node already on the tree (at worst src):
    // on the route, nodes off the source's row lie on the destination's column.
    path_.clear();
    int node = dst;
    while (node_stamp_[node] != stamp_) {
      path_.push_back(node);
      const int y = row_of(node), x = node - y * spec_.mesh_x;
      if (y != sy)
        node += y > sy ? -spec_.mesh_x : spec_.mesh_x;
      else
        node += x > sx ? -1 : 1;
    }
    // Then grow the tree forward from there: each new link once.
    for (size_t k = path_.size(); k-- > 0;) {
      int next;
      const int link = next_link(node, path_[k], &next);
      McTree::Hop hop;
      hop.link = link;
      hop.slot = node_slot_[node];
      hops.push_back(hop);
      node = next;
      node_stamp_[node] = stamp_;
      node_slot_[node] = static_cast<int>(hops.size());
    }
    tree->dst_end.push_back(static_cast<int>(hops.size()));
    tree->dst_slot.push_back(dst == src ? -1 : node_slot_[dst]);
  }
  tree->hops.assign(hops.begin(), hops.end());
  tree->runs.clear();
  if (routers_.spec().enabled) find_runs(tree);
  pin_tree(*tree);
}

void ScNoc::find_runs(McTree* tree) const {
  const int hops = static_cast<int>(tree->hops.size());
  int dst = 0;
  for (int k = 0; k < hops; ++k) {
    const McTree::Hop& h = tree->hops[k];
    int from, to;
    link_nodes(h.link, &from, &to);
    const int step = to - from;
    const int dir = step == 1 ? 0 : step == -1 ? 1 : step > 0 ? 2 : 3;
    while (tree->dst_end[dst] <= k) ++dst;  // hop k leads to destination `dst`
    // A hop goes on the run before when it leaves the node the hop before reached, in the
    // same direction, toward the same destination.
    if (!tree->runs.empty()) {
      McTree::Run& r = tree->runs.back();
      if (h.slot == k && r.node_step == step && r.first + r.len == k &&
          r.first >= (dst > 0 ? tree->dst_end[dst - 1] : 0) &&
          h.link == r.link + r.len * r.link_step) {
        ++r.len;
        continue;
      }
    }
    tree->runs.push_back({k, 1, h.slot, h.link, link_step(dir), from, step});
  }
}

void ScNoc::multicast_gated(Ps ready, const McTree& tree, Ps occ, Ps* arrivals) {
  const int n = static_cast<int>(tree.dsts.size());
  const size_t slots = tree.hops.size() + 1;
  if (slot_time_.size() < slots) slot_time_.resize(slots);
  Ps* time = slot_time_.data();
  Ps* free = link_free_.data();
  time[0] = tree.forwards ? routers_.wake(tree.src, ready) : ready;
  const McTree::Run* run = tree.runs.data();
  const McTree::Run* const runs_end = run + tree.runs.size();
  for (int i = 0; i < n; ++i) {
    for (const int end = tree.dst_end[i]; run != runs_end && run->first < end; ++run) {
      Ps head = time[run->slot];
      int link = run->link, node = run->from;
      Ps* t = time + run->first + 1;
      for (int j = 0; j < run->len; ++j, link += run->link_step) {
        const Ps f = free[link];
        const Ps start = std::max(head, f >= 0 ? f : unshadow(link));
        free[link] = start + occ;
        routers_.busy_until(node, start + occ);
        node += run->node_step;
        head = routers_.wake(node, start + hop_ps_);
        t[j] = head;
      }
    }
    arrivals[i] = tree_arrival(tree, i, ready, time, occ);
  }
  add_link_busy(occ, static_cast<int>(tree.hops.size()));
}

void ScNoc::multicast_impl(Ps ready, int src, const int* dsts, int n, double bits, Ps* arrivals,
                           ActionCounts* counts) {
  if (!spec_.multicast) {
    for (int i = 0; i < n; ++i) arrivals[i] = unicast_impl(ready, src, dsts[i], bits, counts);
    return;
  }
  grow_tree(src, dsts, n, &scratch_tree_);
  multicast_tree(ready, scratch_tree_, bits, arrivals, counts);
}

void ScNoc::multicast_tree(Ps ready, const McTree& tree, double bits, Ps* arrivals,
                           ActionCounts* counts) {
  const int n = static_cast<int>(tree.dsts.size());
  if (!spec_.multicast) {
    for (int i = 0; i < n; ++i)
      arrivals[i] = unicast_impl(ready, tree.src, tree.dsts[i], bits, counts);
    return;
  }
  const Ps occ = flits_ps(bits);
  if (tree.owner == this && tree.flow >= 0 && !sink_ && !routers_.spec().enabled) {
    multicast_flow_impl(ready, tree.flow, bits, arrivals, counts);
    return;
  }
  // Every link of the tree leads to some destination, which its flits reach after it is free.
  auto reach_all = [&] {
    for (int i = 0; i < n; ++i) reach(arrivals[i]);
  };
  if (!sink_ && routers_.spec().enabled && tree.runs.size() + tree.hops.empty() > 0) {
    multicast_gated(ready, tree, occ, arrivals);
    const double links_used = static_cast<double>(tree.hops.size());
    bit_hops_ += bits * links_used;
    if (counts) counts->noc_bit_hops += bits * links_used;
    reach_all();
    return;
  }
  const size_t slots = tree.hops.size() + 1;
  if (slot_time_.size() < slots) slot_time_.resize(slots);
  Ps* time = slot_time_.data();
  // The source's router forwards when some destination is elsewhere.
  time[0] = tree.forwards ? routers_.wake(tree.src, ready) : ready;
  const McTree::Hop* hop = tree.hops.data();
  const int hops = static_cast<int>(tree.hops.size());
  if (!sink_ && !routers_.spec().enabled) {
    // No trace, no gating: the links in tree order, then each destination's arrival (a tree
    // built by another mesh pins its links here first).
    if (tree.owner != this) pin_tree(tree);
    Ps* free = link_free_.data();
    for (int k = 0; k < hops; ++k) {
      const McTree::Hop& h = hop[k];
      const Ps f = free[h.link];
      const Ps start = std::max(time[h.slot], f >= 0 ? f : unshadow(h.link));
      free[h.link] = start + occ;
      time[k + 1] = start + hop_ps_;
    }
    add_link_busy(occ, hops);
    for (int i = 0; i < n; ++i) {
      const int slot = tree.dst_slot[i];
      arrivals[i] = slot < 0 ? ready : time[slot] + occ;
    }
  } else {
    int k = 0;
    for (int i = 0; i < n; ++i) {
      for (const int end = tree.dst_end[i]; k < end; ++k) {
        const McTree::Hop& h = hop[k];
        const Ps start = reserve(h.link, time[h.slot], occ);
        int from, to;
        link_nodes(h.link, &from, &to);
        routers_.busy_until(from, start + occ);
        time[k + 1] = routers_.wake(to, start + hop_ps_);
      }
      arrivals[i] = tree_arrival(tree, i, ready, time, occ);
    }
  }
  const double links_used = static_cast<double>(tree.hops.size());
  bit_hops_ += bits * links_used;
  if (counts) counts->noc_bit_hops += bits * links_used;
  reach_all();
}

void ScNoc::multicast_flow_impl(Ps ready, int flow, double bits, Ps* arrivals,
                                ActionCounts* counts) {
  // A registered tree: only its links that are not shadowed.
  const Ps occ = flits_ps(bits);
  Plan* plan = plans_[flow];
  if (plan->stale) plan = compile(&flows_[flow]);
  Ps* free = link_free_.data();
  const Ps hop = hop_ps_;
  Plan::Real* r = plan->real();
  const int reals = plan->reals;
  Ps latest = 0;  // the latest start
  for (int k = 0; k < reals; ++k) {
    const Ps head = r[k].parent < 0 ? ready : r[r[k].parent].start + r[k].hops * hop;
    const Ps start = std::max(head, free[r[k].link]);
    free[r[k].link] = start + occ;
    r[k].start = start;
    latest = std::max(latest, start);
  }

  plan->last_occ = occ;
  add_link_busy(occ, plan->links);
  const Plan::Dst* d = plan->dst();
  for (int i = 0, n = plan->dsts; i < n; ++i)
    arrivals[i] = d[i].parent < 0 ? ready : r[d[i].parent].start + d[i].hops * hop + occ;
  if (plan->tail_hops >= 0) {
    reach(latest + plan->tail_hops * hop + occ);
  } else if (plan->tail_hops == Plan::kTailLong) {
    for (int i = 0, n = plan->dsts; i < n; ++i) reach(arrivals[i]);
  }
  const double links = plan->links;
  bit_hops_ += bits * links;
  if (counts) counts->noc_bit_hops += bits * links;
}

void ScNoc::reduction_tree(const Ps* ready, const int* srcs, int n, int dst) {
  if (++stamp_ == 0) {
    std::fill(node_stamp_.begin(), node_stamp_.end(), 0);
    std::fill(walk_stamp_.begin(), walk_stamp_.end(), 0);
    stamp_ = 1;
  }
  if (node_inputs_.size() != node_stamp_.size()) {
    node_inputs_.assign(node_stamp_.size(), 0);
    node_local_.assign(node_stamp_.size(), 0);
    walk_stamp_.assign(node_stamp_.size(), 0);
  }
  tree_nodes_.clear();
  auto enter = [&](int node) {
    if (node_stamp_[node] == stamp_) return;
    node_stamp_[node] = stamp_;
    node_time_[node] = 0;
    node_inputs_[node] = 0;
    node_local_[node] = 0;
    tree_nodes_.push_back(node);
  };
  // The sources' vectors, then the union of their XY routes to dst: each node counts the
  // streams that merge in its router (its own vectors and those of the links into it).
  for (int i = 0; i < n; ++i) {
    enter(srcs[i]);
    node_time_[srcs[i]] = std::max(node_time_[srcs[i]], ready[i]);
    node_inputs_[srcs[i]] += 1;
    node_local_[srcs[i]] += 1;
  }
  enter(dst);
  const size_t sources = tree_nodes_.size();
  for (size_t k = 0; k < sources; ++k) {
    int node = tree_nodes_[k];
    while (node != dst && walk_stamp_[node] != stamp_) {
      walk_stamp_[node] = stamp_;
      int next;
      next_link(node, dst, &next);
      enter(next);
      node_inputs_[next] += 1;
      node = next;
    }
  }
  // Leaves first: a node's children are one hop farther from dst than the node.
  std::sort(tree_nodes_.begin(), tree_nodes_.end(), [&](int a, int b) {
    const int ha = hops(a, dst), hb = hops(b, dst);
    return ha != hb ? ha > hb : a < b;
  });
}

Ps ScNoc::reduce_impl(const Ps* ready, const int* srcs, int n, int dst, double bits, double elems,
                      ActionCounts* counts) {
  if (n <= 0) return 0;
  const Ps occ = flits_ps(bits);
  reduction_tree(ready, srcs, n, dst);
  double links_used = 0, adds = 0;
  Ps done = 0;
  for (int node : tree_nodes_) {
    const int in = node_inputs_[node];
    Ps t = node_time_[node];
    if (node == dst && in == node_local_[node]) {
      // Only local vectors at dst: they are there already; adding them takes one stage.
      done = in > 1 ? t + spec_.add_ps : t;
      adds += (in - 1) * elems;
      break;
    }
    t = routers_.wake(node, t);
    if (in > 1) {
      t += spec_.add_ps;
      adds += (in - 1) * elems;
    }
    if (node == dst) {
      done = t + occ;
      routers_.busy_until(dst, done);
      break;
    }
    int next;
    const int link = next_link(node, dst, &next);
    if (exit_links_) pin(link);
    const Ps start = reserve(link, t, occ);
    routers_.busy_until(node, start + occ);
    node_time_[next] = std::max(node_time_[next], start + hop_ps_);
    links_used += 1;
  }
  bit_hops_ += bits * links_used;
  adds_ += adds;
  reach(done);  // the sum's tail reaches dst after every link of the in-tree is free
  if (counts) {
    counts->noc_bit_hops += bits * links_used;
    counts->noc_adds += adds;
  }
  return done;
}

const ComponentTraits& ScNoc::traits() {
  static const ComponentTraits kTraits{{{"bit_hops", "bit-hops", 1},
                                        {"link_busy", "link-ns", 1e-3},
                                        {"adds", "count", 1},
                                        {"router_wake_ups", "count", 1},
                                        {"router_gated", "router-ns", 1e-3}},
                                       {"noc_bit_hops", "noc_adds"},
                                       "link"};
  return kTraits;
}

void ScNoc::register_flow(McTree* tree) {
  ++epoch_;
  const int id = static_cast<int>(flows_.size());
  flows_.emplace_back();
  plans_.push_back(nullptr);
  plan_bytes_.push_back(0);
  const int hops = static_cast<int>(tree->hops.size());
  if (link_pred_.empty()) {
    link_pred_.assign(link_free_.size(), kUnclaimed);
    link_users_.assign(link_free_.size(), -1);
  }
  {
    Flow& f = flows_.back();
    f.link.resize(hops);
    f.slot.resize(hops);
    for (int k = 0; k < hops; ++k) {
      f.link[k] = tree->hops[k].link;
      f.slot[k] = tree->hops[k].slot;
    }
    f.dst_slot = tree->dst_slot;
  }
  for (int k = 0; k < hops; ++k) {
    const McTree::Hop& h = tree->hops[k];
    const int pred = h.slot == 0 ? -1 : tree->hops[h.slot - 1].link;
    int& state = link_pred_[h.link];
    if (state == kUnclaimed) {
      // A link some other transfer used already, or the first of the tree, stays ordinary.
      if (pred < 0 || link_free_[h.link] != 0) {
        state = kOrdinary;
      } else {
        state = pred;
        link_free_[h.link] = -1;
        users_.push_back({id, k, link_users_[h.link]});
        link_users_[h.link] = static_cast<int>(users_.size()) - 1;
      }
    } else if (state >= 0) {
      if (state == pred) {
        users_.push_back({id, k, link_users_[h.link]});
        link_users_[h.link] = static_cast<int>(users_.size()) - 1;
      } else {
        unshadow(h.link);
      }
    }
  }
  compile(&flows_[id]);
  plans_[id] = flows_[id].plan;
  tree->owner = this;
  tree->flow = id;
}

void* ScNoc::plan_room(int reals, int dsts) {
  size_t bytes = sizeof(Plan) + sizeof(Plan::Real) * reals + sizeof(Plan::Dst) * dsts;
  bytes = (bytes + 7) / 8 * 8;
  if (bytes > pool_left_) {
    const size_t chunk = std::max<size_t>(bytes, size_t{1} << 18);
    plan_pool_.emplace_back(new unsigned char[chunk]);
    pool_next_ = plan_pool_.back().get();
    pool_left_ = chunk;
  }
  void* room = pool_next_;
  pool_next_ += bytes;
  pool_left_ -= bytes;
  return room;
}

ScNoc::Plan* ScNoc::compile(Flow* f) {
  ++epoch_;
  const int hops = static_cast<int>(f->link.size());
  // The last start of every link of the flow, from the links it reserved.
  const Plan* old = f->plan;
  const bool ran = old && old->last_occ >= 0;
  if (ran) {
    hop_start_.resize(hops);
    Plan* p = f->plan;
    for (int k = 0; k < hops; ++k)
      hop_start_[k] = p->real()[f->gov[k]].start + f->gov_hops[k] * hop_ps_;
  }
  f->gov.resize(hops);
  f->gov_hops.resize(hops);
  int reals = 0;
  for (int k = 0; k < hops; ++k) reals += link_pred_[f->link[k]] < 0;
  const int dsts = static_cast<int>(f->dst_slot.size());
  const Ps last_occ = old ? old->last_occ : -1;
  // The first plan takes the room it needs; a rebuilt one (more reals) room for every hop, once
  // (its reals only grow), so a flow holds at most two rooms.
  void* mem = f->plan;
  if (!old || reals > f->room) {
    f->room = old ? hops : reals;
    mem = plan_room(f->room, dsts);
  }
  Plan* plan = new (mem) Plan;
  plan->reals = reals;
  plan->dsts = dsts;
  plan->links = hops;
  plan->last_occ = last_occ;
  Plan::Real* r = plan->real();
  int next = 0;
  for (int k = 0; k < hops; ++k) {
    const int link = f->link[k], slot = f->slot[k];
    if (link_pred_[link] >= 0) {
      // Shadowed: it starts when its head arrives, one hop after the link before it.
      f->gov[k] = f->gov[slot - 1];
      f->gov_hops[k] = f->gov_hops[slot - 1] + 1;
      continue;
    }
    Plan::Real* step = new (r + next) Plan::Real;
    step->link = link;
    step->parent = slot == 0 ? -1 : f->gov[slot - 1];
    step->hops = slot == 0 ? 0 : f->gov_hops[slot - 1] + 1;
    step->start = ran ? hop_start_[k] : 0;
    f->gov[k] = next++;
    f->gov_hops[k] = 0;
  }
  Plan::Dst* d = plan->dst();
  for (int i = 0; i < dsts; ++i) {
    const int s = f->dst_slot[i];
    Plan::Dst* dst = new (d + i) Plan::Dst;
    dst->parent = s < 0 ? -1 : f->gov[s - 1];
    dst->hops = s < 0 ? 0 : f->gov_hops[s - 1] + 1;
    if (s >= 0 && plan->tail_hops != Plan::kTailLong)
      plan->tail_hops = dst->hops > std::numeric_limits<int16_t>::max()
                            ? Plan::kTailLong
                            : static_cast<int16_t>(std::max<int>(plan->tail_hops, dst->hops));
  }
  f->plan = plan;
  const int id = static_cast<int>(f - flows_.data());
  plans_[id] = plan;
  plan_bytes_[id] =
      static_cast<int>(reinterpret_cast<char*>(d + dsts) - reinterpret_cast<char*>(plan));
  return plan;
}

Ps ScNoc::unshadow(int link) {
  ++epoch_;
  // Every transfer over the link came over the link before it and never waited there: its
  // free time is the latest start + occupancy of the trees over it (starts only grow along a
  // link, so a tree's last run over it is the latest of that tree). The trees' plans are
  // rebuilt before their next run.
  Ps free = 0;
  for (int u = link_users_[link]; u >= 0; u = users_[u].next) {
    Flow& f = flows_[users_[u].flow];
    const int k = users_[u].hop;
    Plan* p = f.plan;
    if (p->last_occ >= 0)
      free = std::max(free, p->real()[f.gov[k]].start + f.gov_hops[k] * hop_ps_ + p->last_occ);
    p->stale = true;
  }
  link_users_[link] = -1;
  link_pred_[link] = kOrdinary;
  link_free_[link] = free;
  return free;
}

int ScNoc::shadowed_links() const {
  return static_cast<int>(
      std::count_if(link_pred_.begin(), link_pred_.end(), [](int p) { return p >= 0; }));
}

void ScNoc::set_trace(SpanSink* sink) {
  touch();
  ++epoch_;
  if (sink) set_exit_links_impl(false);
  // Traced transfers record every link's span: no link stays shadowed.
  for (int link = 0; link < static_cast<int>(link_pred_.size()); ++link)
    if (link_pred_[link] >= 0) unshadow(link);
  sink_ = sink;
  link_track_.assign(link_free_.size(), -2);
}

namespace {
// Whether `x` is a whole number that doubles add exactly (|x| < 2^53).
bool whole(double x) {
  return std::floor(x) == x && std::fabs(x) < 9007199254740992.0;
}
}  // namespace

void ScNoc::capture_begin() {
  if (capturing_) throw std::logic_error(std::string(name()) + ": capture_begin twice");
  capturing_ = true;
  for (int seg = 0; seg < static_cast<int>(exits_.size()); ++seg) settle(seg);
  take_snapshot(link_free_, &cap_free_);
  take_room(&cap_off_);
  take_room(&cap_occ_);
  take_room(&cap_start_);
  cap_off_.resize(flows_.size() + 1);
  cap_occ_.resize(flows_.size());
  for (size_t f = 0; f < flows_.size(); ++f) {
    Plan* p = plans_[f];
    cap_off_[f] = cap_start_.size();
    cap_occ_[f] = p->last_occ;
    const Plan::Real* r = p->real();
    for (int k = 0; k < p->reals; ++k) cap_start_.push_back(r[k].start);
  }
  cap_off_[flows_.size()] = cap_start_.size();
  cap_bit_hops_ = bit_hops_;
  cap_busy_ps_ = busy_ps_;
  cap_adds_ = adds_;
  cap_epoch_ = epoch_;
  // The horizon of the group alone from here on (horizon() stays a bound: the larger of both).
  capture_floor_ = horizon();
  horizon_ = kNoTime;
}

bool ScNoc::capture_end(Ps t0, NocDelta* out) {
  if (!capturing_) throw std::logic_error(std::string(name()) + ": capture_end without begin");
  capturing_ = false;
  const Ps floor = capture_floor_, group = horizon_;
  horizon_ = std::max(horizon_, capture_floor_);
  capture_floor_ = kNoTime;
  const bool ok = epoch_ == cap_epoch_ && floor <= t0 && !sink_ && !routers_.spec().enabled &&
                  diff(t0, group, out);
  release_snapshot(&cap_free_);
  release_snapshot(&cap_start_);
  release_snapshot(&cap_off_);
  release_snapshot(&cap_occ_);
  return ok;
}

bool ScNoc::diff(Ps t0, Ps group, NocDelta* out) {
  for (int seg = 0; seg < static_cast<int>(exits_.size()); ++seg) settle(seg);
  *out = NocDelta{};
  // The entries gather in scratch shared by every mesh of the thread, then go to `out` at their
  // exact size (a record is kept for the run; grown in place it would leave room unused).
  static thread_local NocDelta scratch;
  NocDelta* d = &scratch;
  d->links.clear();
  d->segments.clear();
  d->starts.clear();
  d->occs.clear();
  d->epoch = epoch_;
  const int links = static_cast<int>(link_free_.size());
  seg_mark_.assign(exits_.size(), 0);
  for (int l = 0; l < links; ++l) {
    const Ps f = link_free_[l];
    if (f == cap_free_[l]) continue;
    if (f < t0) return false;  // reserved before t0: not a shift of the group's start
    d->links.push_back({l, f - t0});
    if (l < 2 * nodes_ && !exits_.empty()) {
      const int seg = (l >= nodes_) * spec_.mesh_y + row_of(l % nodes_);
      if (!seg_mark_[seg]) {
        seg_mark_[seg] = 1;
        d->segments.push_back(seg);
      }
    }
  }
  for (size_t f = 0; f < flows_.size(); ++f) {
    Plan* p = plans_[f];
    const Ps* was = cap_start_.data() + cap_off_[f];
    // A plan that ran wrote every start (each at t0 or later, after every old one: an old start
    // plus its occupancy is a free time, at most t0) and its occupancy, which another mesh's
    // plan (or this one's later) may hold another of: it is taken whole.
    const Plan::Real* r = p->real();
    bool ran = p->last_occ != cap_occ_[f];
    for (int k = 0; k < p->reals && !ran; ++k) ran = r[k].start != was[k];
    if (!ran) continue;
    d->occs.push_back({static_cast<int>(f), p->last_occ});
    for (int k = 0; k < p->reals; ++k) {
      if (r[k].start < t0) return false;
      d->starts.push_back({static_cast<int>(f), k, r[k].start - t0});
    }
  }
  d->bit_hops = bit_hops_ - cap_bit_hops_;
  d->busy_ps = busy_ps_ - cap_busy_ps_;
  d->adds = adds_ - cap_adds_;
  for (double x : {bit_hops_, busy_ps_, adds_, d->bit_hops, d->busy_ps, d->adds})
    if (!whole(x)) return false;
  d->has_horizon = group != kNoTime;
  d->horizon = d->has_horizon ? group - t0 : 0;
  out->epoch = d->epoch;
  out->links.assign(d->links.begin(), d->links.end());
  out->segments.assign(d->segments.begin(), d->segments.end());
  out->starts.assign(d->starts.begin(), d->starts.end());
  out->occs.assign(d->occs.begin(), d->occs.end());
  out->bit_hops = d->bit_hops;
  out->busy_ps = d->busy_ps;
  out->adds = d->adds;
  out->has_horizon = d->has_horizon;
  out->horizon = d->horizon;
  return true;
}

Ps ScNoc::held_by(const NocDelta& d) {
  if (d.epoch != epoch_ || capturing_) return std::numeric_limits<Ps>::max();
  for (int seg : d.segments) settle(seg);
  Ps held = kNoTime;
  for (const NocDelta::Link& l : d.links) {
    const Ps f = link_free_[l.link];
    if (f < 0) return std::numeric_limits<Ps>::max();
    held = std::max(held, f);
  }
  return held;
}

void ScNoc::apply(const NocDelta& d, Ps t) {
  if (d.epoch != epoch_)
    throw std::logic_error(std::string(name()) + ": apply of a delta of another structure epoch");
  if (capturing_) throw std::logic_error(std::string(name()) + ": apply while capturing");
  // Segments it writes: their deferred records first (held_by), then lazy ones are checked
  // again once written.
  const Ps held = held_by(d);
  if (held > t)
    throw std::logic_error(std::string(name()) + ": apply at " + std::to_string(t) +
                           " while a link it writes is held until " + std::to_string(held) +
                           " (or shadowed)");
  Ps* free = link_free_.data();
  for (const NocDelta::Link& l : d.links) free[l.link] = t + l.free;
  for (int seg : d.segments) {
    Exit& e = exits_[seg];
    if (e.mode == kLazy && !dominated(seg)) {
      e.mode = kDirect;
      e.recheck = kRecheck;
    }
  }
  for (const NocDelta::Occ& o : d.occs) plans_[o.flow]->last_occ = o.occ;
  for (const NocDelta::Start& s : d.starts) plans_[s.flow]->real()[s.real].start = t + s.start;
  bit_hops_ += d.bit_hops;
  busy_ps_ += d.busy_ps;
  adds_ += d.adds;
  if (d.has_horizon) reach(t + d.horizon);
}

void ScNoc::footprint(const NocDelta& d, std::vector<uint64_t>* bits) const {
  bits->assign((link_free_.size() + 63) / 64, 0);
  uint64_t* b = bits->data();
  auto mark = [b](int link) { b[link >> 6] |= uint64_t{1} << (link & 63); };
  for (const NocDelta::Link& l : d.links) mark(l.link);
  for (int seg : d.segments) {
    const int first = (seg >= spec_.mesh_y) * nodes_ + (seg % spec_.mesh_y) * spec_.mesh_x;
    for (int k = 0; k < spec_.mesh_x; ++k) mark(first + k);
  }
  for (const NocDelta::Occ& o : d.occs)
    for (int link : flows_[o.flow].link) mark(link);
}

bool ScNoc::route_guarded(int src, int dst, double bits) const {
  if (src == dst || bits <= 0) return false;  // the unicast does nothing
  if (std::floor(bits) != bits || bits >= 9007199254740992.0 || sink_ || routers_.spec().enabled)
    return true;
  const Ps* free = link_free_.data();
  auto meets = [&](int link, int stride, int n) {
    for (; n > 0; --n, link += stride)
      if (guarded(link) || free[link] < 0) return true;
    return false;
  };
  const int y = row_of(src), x = src - y * spec_.mesh_x;
  const int dy = row_of(dst), dx = dst - dy * spec_.mesh_x;
  return meets((dx > x ? 0 : 1) * nodes_ + src, dx > x ? 1 : -1, std::abs(dx - x)) ||
         meets((dy > y ? 2 : 3) * nodes_ + dx * spec_.mesh_y + y, dy > y ? 1 : -1,
               std::abs(dy - y));
}

bool ScNoc::flow_guarded(int flow, double bits) const {
  if (std::floor(bits) != bits || bits >= 9007199254740992.0 || plans_[flow]->stale) return true;
  for (int link : flows_[flow].link)
    if (guarded(link)) return true;
  return false;
}

}  // namespace aimc::arch

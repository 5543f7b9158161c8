// 2D mesh with XY routing, link reservation and tree multicast.
#include "arch/sc_noc.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace aimc::arch {

ScNoc::ScNoc(sc_core::sc_module_name name, const NocSpec& spec)
    : ScComponent(name),
      spec_(spec),
      hop_ps_(cycles_to_ps(spec.hop_latency_cycles, spec.cycle_ps)),
      link_free_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y * 4, 0),
      node_time_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y, 0),
      node_stamp_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y, 0),
      routers_(spec.router_gating, spec.mesh_x * spec.mesh_y) {}

int ScNoc::hops(int src, int dst) const {
  return std::abs(src % spec_.mesh_x - dst % spec_.mesh_x) +
         std::abs(src / spec_.mesh_x - dst / spec_.mesh_x);
}

Ps ScNoc::flits_ps(double bits) const {
  return cycles_to_ps(std::ceil(bits / spec_.link_width_bits), spec_.cycle_ps);
}

int ScNoc::next_link(int node, int dst, int* next) const {
  const int x = node % spec_.mesh_x, dx = dst % spec_.mesh_x;
  if (x != dx) {
    const int dir = dx > x ? 0 : 1;
    *next = node + (dx > x ? 1 : -1);
    return node * 4 + dir;
  }
  const int y = node / spec_.mesh_x, dy = dst / spec_.mesh_x;
  const int dir = dy > y ? 2 : 3;
  *next = node + (dy > y ? spec_.mesh_x : -spec_.mesh_x);
  return node * 4 + dir;
}

Ps ScNoc::reserve(int link, Ps head, Ps occ) {
  const Ps start = std::max(head, link_free_[link]);
  link_free_[link] = start + occ;
  busy_ps_ += static_cast<double>(occ);
  if (sink_) {
    int& tr = link_track_[link];
    if (tr == -2) {
      static const char* kDir[] = {"east", "west", "south", "north"};
      const std::string nm =
          std::string(name()) + ".link" + std::to_string(link / 4) + "_" + kDir[link % 4];
      tr = sink_->wants(nm) ? sink_->track(nm) : -1;
    }
    if (tr >= 0) sink_->span(tr, "transfer", start, start + occ);
  }
  return start;
}

Ps ScNoc::unicast(Ps ready, int src, int dst, double bits, ActionCounts* counts) {
  if (src == dst || bits <= 0) return ready;
  const Ps occ = flits_ps(bits);
  Ps head = routers_.wake(src, ready);
  int node = src, h = 0;
  while (node != dst) {
    int next;
    const int link = next_link(node, dst, &next);
    const Ps start = reserve(link, head, occ);
    routers_.busy_until(node, start + occ);
    head = routers_.wake(next, start + hop_ps_);
    node = next;
    ++h;
  }
  routers_.busy_until(dst, head + occ);
  bit_hops_ += bits * h;
  if (counts) counts->noc_bit_hops += bits * h;
  return head + occ;
}

void ScNoc::multicast(Ps ready, int src, const int* dsts, int n, double bits, Ps* arrivals,
                      ActionCounts* counts) {
  if (!spec_.multicast) {
    for (int i = 0; i < n; ++i) arrivals[i] = unicast(ready, src, dsts[i], bits, counts);
    return;
  }
  const Ps occ = flits_ps(bits);
  if (++stamp_ == 0) {
    std::fill(node_stamp_.begin(), node_stamp_.end(), 0);
    std::fill(walk_stamp_.begin(), walk_stamp_.end(), 0);
    stamp_ = 1;
  }
  node_stamp_[src] = stamp_;
  node_time_[src] = ready;
  if (routers_.spec().enabled)
    for (int i = 0; i < n; ++i)
      if (dsts[i] != src) {
        node_time_[src] = routers_.wake(src, ready);  // the source's router forwards
        break;
      }
  double links_used = 0;
  const int sx = src % spec_.mesh_x, sy = src / spec_.mesh_x;
  for (int i = 0; i < n; ++i) {
    const int dst = dsts[i];
    // Walk back along the XY route from dst until a node already on the tree (at worst src):
    // on the route, nodes off the source's row lie on the destination's column.
    path_.clear();
    int node = dst;
    while (node_stamp_[node] != stamp_) {
      path_.push_back(node);
      const int x = node % spec_.mesh_x, y = node / spec_.mesh_x;
      if (y != sy)
        node += y > sy ? -spec_.mesh_x : spec_.mesh_x;
      else
        node += x > sx ? -1 : 1;
    }
    // Then grow the tree forward from there, reserving each new link once.
    Ps head = node_time_[node];
    for (size_t k = path_.size(); k-- > 0;) {
      int next;
      const int link = next_link(node, path_[k], &next);
      const Ps start = reserve(link, head, occ);
      routers_.busy_until(node, start + occ);
      head = routers_.wake(next, start + hop_ps_);
      node = next;
      node_stamp_[node] = stamp_;
      node_time_[node] = head;
      links_used += 1;
    }
    arrivals[i] = dst == src ? ready : node_time_[dst] + occ;
    if (dst != src) routers_.busy_until(dst, arrivals[i]);
  }
  bit_hops_ += bits * links_used;
  if (counts) counts->noc_bit_hops += bits * links_used;
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

Ps ScNoc::reduce(const Ps* ready, const int* srcs, int n, int dst, double bits, double elems,
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
    const Ps start = reserve(link, t, occ);
    routers_.busy_until(node, start + occ);
    node_time_[next] = std::max(node_time_[next], start + hop_ps_);
    links_used += 1;
  }
  bit_hops_ += bits * links_used;
  adds_ += adds;
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

void ScNoc::set_trace(SpanSink* sink) {
  sink_ = sink;
  link_track_.assign(link_free_.size(), -2);
}

}  // namespace aimc::arch

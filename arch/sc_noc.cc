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
      node_stamp_(static_cast<size_t>(spec.mesh_x) * spec.mesh_y, 0) {}

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
  Ps head = ready;
  int node = src, h = 0;
  while (node != dst) {
    int next;
    const int link = next_link(node, dst, &next);
    head = reserve(link, head, occ) + hop_ps_;
    node = next;
    ++h;
  }
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
    stamp_ = 1;
  }
  node_stamp_[src] = stamp_;
  node_time_[src] = ready;
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
      head = reserve(link, head, occ) + hop_ps_;
      node = next;
      node_stamp_[node] = stamp_;
      node_time_[node] = head;
      links_used += 1;
    }
    arrivals[i] = dst == src ? ready : node_time_[dst] + occ;
  }
  bit_hops_ += bits * links_used;
  if (counts) counts->noc_bit_hops += bits * links_used;
}

const ComponentTraits& ScNoc::traits() {
  static const ComponentTraits kTraits{
      {{"bit_hops", "bit-hops", 1}, {"link_busy", "link-ns", 1e-3}}, {"noc_bit_hops"}, "link"};
  return kTraits;
}

void ScNoc::set_trace(SpanSink* sink) {
  sink_ = sink;
  link_track_.assign(link_free_.size(), -2);
}

}  // namespace aimc::arch

// Chip-to-chip links: routing per topology and cut-through transfers with per-link busy-until.
#include "arch/chip_links.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aimc::arch {

ChipLinks::ChipLinks(const ChipLinkSpec& spec) : spec_(spec) {
  if (spec_.chips < 1) throw std::invalid_argument("a system needs at least one chip");
  if (spec_.bandwidth_gbps <= 0) throw std::invalid_argument("link bandwidth must be positive");
  if ((spec_.topology == Topology::kMesh2d || spec_.topology == Topology::kTorus2d) &&
      spec_.mesh_x * spec_.mesh_y != spec_.chips) {
    throw std::invalid_argument("mesh_x * mesh_y must equal the chip count");
  }
  directions_ =
      (spec_.topology == Topology::kMesh2d || spec_.topology == Topology::kTorus2d) ? 4 : 2;
  latency_ps_ = static_cast<Ps>(std::llround(spec_.latency_ns * 1000.0));
  const size_t n = static_cast<size_t>(spec_.chips) * directions_;
  free_.assign(n, 0);
  bits_.assign(n, 0);
  busy_ps_.assign(n, 0);
}

std::vector<int> ChipLinks::route(int src, int dst) const {
  std::vector<int> links;
  if (src == dst) return links;
  const int n = spec_.chips;
  switch (spec_.topology) {
    case Topology::kRing: {
      const int forward = (dst - src + n) % n;
      const bool up = forward <= n - forward;
      for (int at = src; at != dst; at = (at + (up ? 1 : n - 1)) % n) {
        links.push_back(link_id(at, up ? 0 : 1));
      }
      break;
    }
    case Topology::kSwitch:
      links.push_back(link_id(src, 0));
      links.push_back(link_id(dst, 1));
      break;
    case Topology::kMesh2d:
    case Topology::kTorus2d: {
      const int w = spec_.mesh_x, h = spec_.mesh_y;
      const bool torus = spec_.topology == Topology::kTorus2d;
      int x = src % w, y = src / w;
      const int tx = dst % w, ty = dst / w;
      // One dimension at a time; `size` nodes along it, directions (plus, minus).
      auto walk = [&](int* pos, int target, int size, int plus, int minus) {
        if (*pos == target) return;
        bool up = target > *pos;
        if (torus) {
          const int forward = (target - *pos + size) % size;
          up = forward <= size - forward;
        }
        while (*pos != target) {
          links.push_back(link_id(y * w + x, up ? plus : minus));
          *pos = torus ? (*pos + (up ? 1 : size - 1)) % size : *pos + (up ? 1 : -1);
        }
      };
      walk(&x, tx, w, 0, 1);
      walk(&y, ty, h, 2, 3);
      break;
    }
  }
  return links;
}

Ps ChipLinks::serialize_ps(double bits) const {
  // bandwidth_gbps bytes per ns = bandwidth_gbps * 8 bits per ns.
  return static_cast<Ps>(std::ceil(bits / (spec_.bandwidth_gbps * 8.0) * 1000.0));
}

Ps ChipLinks::unloaded_ps(int hops, double bits) const {
  if (hops == 0) return 0;
  return hops * latency_ps_ + serialize_ps(bits);
}

Ps ChipLinks::transfer(Ps ready, int src, int dst, double bits) {
  const std::vector<int> links = route(src, dst);
  if (links.empty()) return ready;
  const Ps occupy = serialize_ps(bits);
  // The head reaches link k at start + k * latency; each link must be free by then.
  Ps start = ready;
  for (size_t k = 0; k < links.size(); ++k) {
    start = std::max(start, free_[links[k]] - static_cast<Ps>(k) * latency_ps_);
  }
  for (size_t k = 0; k < links.size(); ++k) {
    const int l = links[k];
    free_[l] = start + static_cast<Ps>(k) * latency_ps_ + occupy;
    bits_[l] += bits;
    busy_ps_[l] += static_cast<double>(occupy);
  }
  return start + static_cast<Ps>(links.size()) * latency_ps_ + occupy;
}

Ps ChipLinks::transfer_link(Ps ready, int link, double bits) {
  return book_link(ready, link, bits) + latency_ps_ + serialize_ps(bits);
}

Ps ChipLinks::book_link(Ps ready, int link, double bits) {
  const Ps occupy = serialize_ps(bits);
  const Ps start = std::max(ready, free_[link]);
  free_[link] = start + occupy;
  bits_[link] += bits;
  busy_ps_[link] += static_cast<double>(occupy);
  return start;
}

double ChipLinks::bit_links() const {
  double sum = 0;
  for (double b : bits_) sum += b;
  return sum;
}

int ChipLinks::link_end(int link) const {
  const int chip = link / directions_, dir = link % directions_;
  const int n = spec_.chips;
  switch (spec_.topology) {
    case Topology::kRing:
      return dir == 0 ? (chip + 1) % n : (chip + n - 1) % n;
    case Topology::kSwitch:
      return dir == 0 ? -1 : chip;
    default: {
      const int w = spec_.mesh_x, h = spec_.mesh_y;
      int x = chip % w, y = chip / w;
      // A mesh's routes never leave it, so only a torus wraps.
      if (dir == 0) x = (x + 1) % w;
      if (dir == 1) x = (x + w - 1) % w;
      if (dir == 2) y = (y + 1) % h;
      if (dir == 3) y = (y + h - 1) % h;
      return y * w + x;
    }
  }
}

int ChipLinks::entry_direction(int link) const {
  const int dir = direction_of(link);
  if (spec_.topology == Topology::kSwitch) return dir;  // one port: up- and downlink
  return dir ^ 1;  // +x <-> -x, +y <-> -y, ring next <-> previous
}

int port_node(Topology topology, int direction, int mesh_x, int mesh_y) {
  if (topology == Topology::kSwitch) direction = 0;
  switch (direction) {
    case 0:
      return (mesh_y / 2) * mesh_x + (mesh_x - 1);
    case 1:
      return (mesh_y / 2) * mesh_x;
    case 2:
      return (mesh_y - 1) * mesh_x + mesh_x / 2;
    default:
      return mesh_x / 2;
  }
}

std::string ChipLinks::link_name(int link) const {
  const int chip = link / directions_, dir = link % directions_;
  const int n = spec_.chips;
  const std::string from = "chip " + std::to_string(chip);
  switch (spec_.topology) {
    case Topology::kRing:
      return from + " -> chip " + std::to_string(dir == 0 ? (chip + 1) % n : (chip + n - 1) % n);
    case Topology::kSwitch:
      return dir == 0 ? from + " -> switch" : "switch -> " + from;
    default: {
      static const char* kDir[] = {"+x", "-x", "+y", "-y"};
      return from + " " + kDir[dir];
    }
  }
}

LinkChannel::LinkChannel(double bandwidth_gbps, double latency_ns)
    : bandwidth_gbps_(bandwidth_gbps),
      latency_ps_(static_cast<Ps>(std::llround(latency_ns * 1000.0))) {
  if (bandwidth_gbps_ <= 0) throw std::invalid_argument("link bandwidth must be positive");
}

Ps LinkChannel::serialize_ps(double bits) const {
  return static_cast<Ps>(std::ceil(bits / (bandwidth_gbps_ * 8.0) * 1000.0));
}

Ps LinkChannel::transfer(Ps ready, double bits) {
  const Ps occupy = serialize_ps(bits);
  const Ps start = std::max(ready, free_);
  free_ = start + occupy;
  bits_ += bits;
  busy_ps_ += static_cast<double>(occupy);
  ++transfers_;
  return start + latency_ps_ + occupy;
}

}  // namespace aimc::arch

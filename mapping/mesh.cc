// Mesh geometry: XY multicast trees and the default DPU positions.
#include "mapping/mesh.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace aimc::mapping {

int64_t Mesh::multicast_links(int source, const std::vector<int>& destinations) const {
  if (destinations.empty()) return 0;
  const int sx = x(source);
  const int sy = y(source);
  // XY routing goes along the source row first, so every route shares that row segment; the
  // tree's row part spans from the westmost to the eastmost destination column (and the source).
  int min_x = sx;
  int max_x = sx;
  // Per destination column, how far the tree reaches north (smaller y) and south of the source
  // row; routes in one column share their vertical links.
  std::map<int, std::pair<int, int>> reach;  // column -> (up, down)
  for (int d : destinations) {
    const int dx = x(d);
    const int dy = y(d);
    min_x = std::min(min_x, dx);
    max_x = std::max(max_x, dx);
    auto& r = reach[dx];
    if (dy < sy) r.first = std::max(r.first, sy - dy);
    if (dy > sy) r.second = std::max(r.second, dy - sy);
  }
  int64_t links = max_x - min_x;
  for (const auto& [column, r] : reach) links += r.first + r.second;
  return links;
}

Mesh chip_mesh(const proto::ChipConfig& chip) {
  return Mesh{static_cast<int>(chip.noc().mesh_x()), static_cast<int>(chip.noc().mesh_y())};
}

std::vector<int> dpu_nodes(const proto::ChipConfig& chip) {
  const Mesh mesh = chip_mesh(chip);
  const int count = static_cast<int>(chip.dpu().count());
  std::vector<int> nodes;
  if (chip.dpu().nodes_size() > 0) {
    for (uint32_t n : chip.dpu().nodes()) nodes.push_back(static_cast<int>(n));
    return nodes;
  }
  // Grid columns: the divisor of count closest to the value that makes cells square.
  const double ideal = std::sqrt(static_cast<double>(count) * mesh.width / mesh.height);
  int gx = 1;
  for (int d = 1; d <= count; ++d) {
    if (count % d == 0 && std::abs(d - ideal) < std::abs(gx - ideal)) gx = d;
  }
  const int gy = count / gx;
  if (gx <= mesh.width && gy <= mesh.height) {
    for (int i = 0; i < count; ++i) {
      const int cx = i % gx;
      const int cy = i / gx;
      const int x = static_cast<int>((2LL * cx + 1) * mesh.width / (2LL * gx));
      const int y = static_cast<int>((2LL * cy + 1) * mesh.height / (2LL * gy));
      nodes.push_back(mesh.node(x, y));
    }
    return nodes;
  }
  const int64_t total = mesh.nodes();
  for (int i = 0; i < count; ++i) {
    nodes.push_back(static_cast<int>((2LL * i + 1) * total / (2LL * count)));
  }
  return nodes;
}

}  // namespace aimc::mapping

// Geometry of the 2D mesh network on chip: node coordinates, XY-routing distances, multicast
// trees, and where the DPUs sit. Tiles occupy mesh nodes 0..tile.count-1 in row-major order, so
// a tile id is also its mesh node.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "proto/chip_config.pb.h"

namespace aimc::mapping {

/// A mesh of width x height nodes; node n sits at column n % width, row n / width.
struct Mesh {
  int width = 1;   ///< noc.mesh_x
  int height = 1;  ///< noc.mesh_y

  int x(int node) const { return node % width; }
  int y(int node) const { return node / width; }
  int node(int x, int y) const { return y * width + x; }
  int nodes() const { return width * height; }

  /// Hops of the XY route between two nodes (Manhattan distance).
  int hops(int a, int b) const { return std::abs(x(a) - x(b)) + std::abs(y(a) - y(b)); }

  /// Links of the multicast tree that XY routing builds from `source` to every node of
  /// `destinations` (duplicates allowed): the row segment from the source spanning every
  /// destination column, then in each destination column the segments from the source row up
  /// and down to the farthest destination. Equals the sum of hops for one destination.
  int64_t multicast_links(int source, const std::vector<int>& destinations) const;
};

/// The mesh of a chip (noc.mesh_x x noc.mesh_y).
Mesh chip_mesh(const proto::ChipConfig& chip);

/// Mesh node of each DPU: dpu.nodes when given, else spread evenly: the DPUs form a gx x gy
/// grid (gx a divisor of dpu.count chosen so the cells are as square as the mesh allows) and
/// each sits at the centre of its cell; DPU i is in cell (i % gx, i / gx). When the grid does
/// not fit the mesh, node floor((2i + 1) * nodes / (2 * count)) in row-major order. The
/// simulator places DPUs with this same function.
std::vector<int> dpu_nodes(const proto::ChipConfig& chip);

}  // namespace aimc::mapping

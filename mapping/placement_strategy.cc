// Building blocks shared by the placement strategies: block lists, DPU choice, pipeline stage
// balancing and nearest-tile placement around a DPU.
#include "mapping/placement_strategy.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace aimc::mapping {

Placement empty_placement(const PlacementInput& input) {
  Placement p;
  const size_t n = input.layers.size();
  p.layer_dpu.assign(n, 0);
  p.layer_stage.assign(n, 0);
  p.layer_replicas.assign(n, 1);
  p.blocks.reserve(total_blocks(input.layers));
  return p;
}

void put_loads(const std::vector<TileLoad>& loads, const std::vector<int>& load_ids,
               const std::vector<int>& tiles, int replica, Placement* placement) {
  for (size_t i = 0; i < load_ids.size(); ++i) {
    for (const PackedBlock& b : loads[load_ids[i]].blocks) {
      placement->blocks.push_back(PlacedBlock{b.layer, b.row_tile, b.col_tile, replica,
                                              Slot{tiles[i], b.row_offset, b.col_offset}});
    }
  }
}

std::vector<int> column_major(std::vector<int> tiles, const Mesh& mesh) {
  std::sort(tiles.begin(), tiles.end(), [&](int a, int b) {
    return std::make_pair(mesh.x(a), mesh.y(a)) < std::make_pair(mesh.x(b), mesh.y(b));
  });
  return tiles;
}

void assign_nearest_dpus(const PlacementInput& input, Placement* placement) {
  // A block's cost at DPU d is cols x (|dx| + |dy|): summed over a layer's blocks, the columns
  // of the layer in each mesh column and row (two histograms) give every DPU's cost exactly in
  // width + height steps instead of one per block.
  const Mesh& mesh = input.mesh;
  int rows = mesh.height;
  for (const PlacedBlock& b : placement->blocks) rows = std::max(rows, mesh.y(b.slot.tile) + 1);
  for (int node : input.dpu_nodes) rows = std::max(rows, mesh.y(node) + 1);
  const size_t w = static_cast<size_t>(mesh.width), h = static_cast<size_t>(rows);
  std::vector<long long> in_x(input.layers.size() * w, 0), in_y(input.layers.size() * h, 0);
  for (const PlacedBlock& b : placement->blocks) {
    if (b.replica != 0) continue;
    const long long cols = input.layers[b.layer].col_sizes[b.col_tile];
    in_x[b.layer * w + mesh.x(b.slot.tile)] += cols;
    in_y[b.layer * h + mesh.y(b.slot.tile)] += cols;
  }
  for (size_t l = 0; l < input.layers.size(); ++l) {
    if (!input.layers[l].on_tiles) continue;
    long long best = 0;
    for (size_t d = 0; d < input.dpu_nodes.size(); ++d) {
      const int dx = mesh.x(input.dpu_nodes[d]), dy = mesh.y(input.dpu_nodes[d]);
      long long cost = 0;
      for (size_t x = 0; x < w; ++x) cost += in_x[l * w + x] * std::abs(static_cast<int>(x) - dx);
      for (size_t y = 0; y < h; ++y) cost += in_y[l * h + y] * std::abs(static_cast<int>(y) - dy);
      if (d == 0 || cost < best) {  // the first of equal costs
        best = cost;
        placement->layer_dpu[l] = static_cast<int>(d);
      }
    }
  }
}

void assign_digital_layers(const PlacementInput& input, Placement* placement) {
  for (size_t l = 1; l < input.layers.size(); ++l) {
    if (input.layers[l].on_tiles) continue;
    placement->layer_dpu[l] = placement->layer_dpu[l - 1];
    placement->layer_stage[l] = placement->layer_stage[l - 1];
  }
}

NearestTiles& DpuNeighbourhoods::of(int dpu) {
  if (!lists_[dpu]) {
    lists_[dpu] =
        std::make_unique<NearestTiles>(input_.mesh, input_.tile_count, input_.dpu_nodes[dpu]);
  }
  return *lists_[dpu];
}

std::vector<int> balanced_stages(const PlacementInput& input, int* stage_count) {
  std::vector<int> on;  // indices of on-tile layers
  for (size_t l = 0; l < input.layers.size(); ++l) {
    if (input.layers[l].on_tiles) on.push_back(static_cast<int>(l));
  }
  const int n = static_cast<int>(on.size());
  const int stages = std::max(1, std::min(static_cast<int>(input.dpu_nodes.size()), n));
  std::vector<double> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + input.layer_latency_ns[on[i]];
  // Linear partition by dynamic programming: best[s][i] = smallest possible largest stage
  // latency when the first i layers form s stages; cut[s][i] = where the last stage starts.
  // O(stages * n^2) steps: 8 DPUs x 225 layers of Llama-3.1-8B is 0.4 M.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(stages + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= stages; ++s) {
    for (int i = s; i <= n; ++i) {
      for (int j = s - 1; j < i; ++j) {
        const double worst = std::max(best[s - 1][j], prefix[i] - prefix[j]);
        if (worst < best[s][i]) {
          best[s][i] = worst;
          cut[s][i] = j;
        }
      }
    }
  }
  std::vector<int> stage_of_on(n, 0);
  for (int s = stages, i = n; s >= 1 && i > 0; --s) {
    const int j = cut[s][i];
    for (int k = j; k < i; ++k) stage_of_on[k] = s - 1;
    i = j;
  }
  std::vector<int> stage(input.layers.size(), 0);
  for (int i = 0; i < n; ++i) stage[on[i]] = stage_of_on[i];
  for (size_t l = 1; l < stage.size(); ++l) {
    if (!input.layers[l].on_tiles) stage[l] = stage[l - 1];
  }
  *stage_count = n == 0 ? 1 : stages;
  return stage;
}

std::vector<int> snake_dpu_order(const PlacementInput& input) {
  std::vector<int> order(input.dpu_nodes.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int>(d);
  auto key = [&](int d) {
    const int x = input.mesh.x(input.dpu_nodes[d]);
    const int y = input.mesh.y(input.dpu_nodes[d]);
    return std::make_pair(y, y % 2 == 0 ? x : -x);
  };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
  return order;
}

StagedPlacement::StagedPlacement(const PlacementInput& input)
    : placement(empty_placement(input)),
      free(input.tile_count),
      near(input),
      dpu_of_stage(snake_dpu_order(input)) {
  placement.layer_stage = balanced_stages(input, &placement.stages);
  for (int s = 0; s < placement.stages; ++s)
    place_stage_near_dpu(input, s, dpu_of_stage[s], &near, &free, &placement);
}

void place_stage_near_dpu(const PlacementInput& input, int stage, int dpu, DpuNeighbourhoods* near,
                          FreeTiles* free, Placement* placement) {
  for (size_t l = 0; l < input.layers.size(); ++l) {
    if (placement->layer_stage[l] != stage || !input.layers[l].on_tiles) continue;
    const std::vector<int>& own = input.layer_loads[l];
    const std::vector<int> tiles =
        column_major(near->of(dpu).take(static_cast<int>(own.size()), free), input.mesh);
    put_loads(input.loads, own, tiles, 0, placement);
    placement->layer_dpu[l] = dpu;
  }
}

}  // namespace aimc::mapping

// Reductions of a layer's partial outputs away from the layer's DPU (noc.reduction): an adder
// tree in the routers, or the DPUs nearest each column slice's tiles.
#include <algorithm>
#include <limits>
#include <map>

#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

// Column slices: the tiles of one replica that hold the same output columns, one per row group.
void Controller::build_slices() {
  for (Layer& l : layers_) {
    for (Part& p : l.parts) {
      if (reduction_[p.chip] == proto::REDUCE_AT_LAYER_DPU) continue;
      Chip& chip = *layout_.chips[p.chip];
      arch::ScNoc& noc = chip.noc();
      p.slices.assign(p.replicas.size(), {});
      for (size_t rep = 0; rep < p.replicas.size(); ++rep) {
        std::map<std::pair<int, int>, int> slice_of;  // (first column, columns) -> slice
        std::vector<ColSlice>& slices = p.slices[rep];
        const std::vector<RowGroup>& groups = p.replicas[rep];
        for (size_t g = 0; g < groups.size(); ++g) {
          for (size_t i = 0; i < groups[g].tiles.size(); ++i) {
            const auto key = std::make_pair(groups[g].cols[i], groups[g].outs[i]);
            auto it = slice_of.find(key);
            if (it == slice_of.end()) {
              it = slice_of.emplace(key, static_cast<int>(slices.size())).first;
              slices.push_back(ColSlice{});
              slices.back().outs = groups[g].outs[i];
            }
            slices[it->second].parts.push_back({static_cast<int>(g), static_cast<int>(i)});
          }
        }
        // The DPU with the fewest hops summed over the slice's tiles (the lowest index on ties).
        for (ColSlice& s : slices) {
          long long best = std::numeric_limits<long long>::max();
          for (int d = 0; d < chip.dpu_count(); ++d) {
            long long h = 0;
            for (const auto& [g, i] : s.parts) h += noc.hops(groups[g].tiles[i], chip.dpu_node(d));
            if (h < best) {
              best = h;
              s.near_dpu = d;
            }
          }
        }
      }
    }
  }
}

Ps Controller::run_part_reduced(const Part& p, int replica, int src_node, Ps ready, int dpu_node,
                                bool bias, Then then) {
  Chip& chip = *layout_.chips[p.chip];
  arch::ActionCounts* c = counts(p.chip);
  arch::ScNoc& noc = chip.noc();
  const std::vector<RowGroup>& groups = p.replicas[replica];
  // Every row group's input multicast and its tiles' reads, as in the reduction at the DPU.
  if (ln().part_done_.size() < groups.size()) ln().part_done_.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const RowGroup& rg = groups[g];
    const int n = static_cast<int>(rg.tiles.size());
    if (static_cast<int>(ln().arrivals_.size()) < n) ln().arrivals_.resize(n);
    noc.multicast(ready, tree_of(rg, src_node, noc), static_cast<double>(rg.rows) * dac_bits_,
                  ln().arrivals_.data(), c);
    ln().part_done_[g].resize(n);
    arch::TileArray& array = chip.tile_array();
    for (int i = 0; i < n; ++i)
      ln().part_done_[g][i] =
          array.direct()
              ? array.read(rg.tiles[i], ln().arrivals_[i], rg.rows, rg.cols_phys[i], c)
              : chip.tile(rg.tiles[i]).read(ln().arrivals_[i], rg.rows, rg.cols_phys[i], c);
  }
  const bool near = reduction_[p.chip] == proto::REDUCE_NEAR_TILE_DPUS;
  // Near-tile DPUs: the part is done once every slice's outputs have reached the layer's DPU
  // (the slices are concatenated).
  auto slices = std::make_shared<Gather>();
  slices->left = static_cast<int>(p.slices[replica].size());
  slices->all = ready;
  slices->then = then ? then : [](Ps all) { return all; };
  Ps all_in = ready;
  for (const ColSlice& s : p.slices[replica]) {
    const double bits = static_cast<double>(s.outs) * act_bits_;
    ln().part_ready_.clear();
    ln().part_nodes_.clear();
    for (const auto& [g, i] : s.parts) {
      ln().part_ready_.push_back(ln().part_done_[g][i]);
      ln().part_nodes_.push_back(groups[g].tiles[i]);
    }
    const int n = static_cast<int>(ln().part_ready_.size());
    if (!near) {
      all_in = std::max(all_in, noc.reduce(ln().part_ready_.data(), ln().part_nodes_.data(), n,
                                           dpu_node, bits, s.outs, c));
      continue;
    }
    // Near-tile DPU: it gathers the slice's partials, sums and scales them (and adds the bias),
    // and sends the slice's outputs on to the layer's DPU.
    const int near_node = chip.dpu_node(s.near_dpu);
    Ps in = ready;
    for (int k = 0; k < n; ++k)
      in = std::max(in, noc.unicast(ln().part_ready_[k], ln().part_nodes_[k], near_node, bits, c));
    const int chip_idx = p.chip;
    all_in = std::max(
        all_in, dpu_at(p.chip, s.near_dpu, in, arch::DpuWork::reduce_partials(s.outs, n, bias),
                       "reduce", [this, chip_idx, near_node, dpu_node, bits, slices](Ps sum) {
                         Chip& chip = *layout_.chips[chip_idx];
                         const Ps out =
                             chip.noc().unicast(sum, near_node, dpu_node, bits, counts(chip_idx));
                         return gather(slices)(out);
                       }));
  }
  if (near) return all_in;
  // In the network: the layer's DPU receives the sums and applies the per-channel scale (and
  // the bias).
  return dpu_at(p.chip, p.dpu, all_in, arch::DpuWork::reduce_partials(p.out, 1, bias), "reduce",
                std::move(then));
}

}  // namespace aimc::sim

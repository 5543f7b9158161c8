// The units of a model on a system: each whole on one chip, or split over consecutive chips
// (each layer cut by output or input tiles, the parts spread over the group, the transfers this
// takes); and the dynamic programme over (units placed, chips used) that minimizes the slowest
// stage.
#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "mapping/estimate.h"
#include "mapping/mapper.h"
#include "mapping/system_units.h"

namespace aimc::mapping::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Which vector a layer reads: layers with the same key (and the same input split) read the
/// same data, which is sent to another chip only once.
std::string input_key(const LayerPartition& l) {
  if (l.role == "q" || l.role == "k" || l.role == "v" || l.role == "qkv") return "attn_in";
  if (l.role == "gate" || l.role == "up" || l.role == "gate_up") return "mlp_in";
  return l.role;
}

/// Contiguous ranges of `n` items over `k` parts, sizes as equal as possible; the larger parts
/// start at part `rotate` (mod k) so that consecutive layers load the chips evenly.
std::vector<std::pair<int, int>> even_ranges(int n, int k, int rotate) {
  std::vector<std::pair<int, int>> ranges(k);
  int at = 0;
  for (int j = 0; j < k; ++j) {
    const int extra = ((j - rotate) % k + k) % k < n % k ? 1 : 0;
    const int size = n / k + extra;
    ranges[j] = {at, at + size};
    at += size;
  }
  return ranges;
}

int sum_sizes(const std::vector<int>& sizes, std::pair<int, int> range) {
  int s = 0;
  for (int i = range.first; i < range.second; ++i) s += sizes[i];
  return s;
}

}  // namespace

LayerPartition sub_layer(const LayerPartition& l, std::pair<int, int> rows,
                         std::pair<int, int> cols) {
  LayerPartition p = l;
  p.row_sizes.assign(l.row_sizes.begin() + rows.first, l.row_sizes.begin() + rows.second);
  p.row_offsets.assign(l.row_offsets.begin() + rows.first, l.row_offsets.begin() + rows.second);
  p.col_sizes.assign(l.col_sizes.begin() + cols.first, l.col_sizes.begin() + cols.second);
  p.col_offsets.assign(l.col_offsets.begin() + cols.first, l.col_offsets.begin() + cols.second);
  p.in = sum_sizes(l.row_sizes, rows);
  p.out = sum_sizes(l.col_sizes, cols);
  return p;
}

Mapper::Mapper(const workloads::ModelConfig& model, const proto::SystemConfig& system,
               const SystemMapOptions& options)
    : model_(model), system_(system), options_(options) {
  chips_ = proto::chip_count(system);
  const proto::ChipConfig& chip0 = proto::chip_config(system, 0);
  bool lm_on_tiles = chip0.mapping().lm_head_on_tiles();
  if (options.lm_head == LmHeadPlacement::kTiles) lm_on_tiles = true;
  if (options.lm_head == LmHeadPlacement::kDram) lm_on_tiles = false;
  lm_on_tiles_ = lm_on_tiles;
  layers_ = partition_model(model, tile_shape(chip0), lm_on_tiles);
  units_.resize(model.num_layers + (lm_on_tiles ? 1 : 0));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const int b = layers_[l].block;
    if (b >= 0) {
      units_[b].push_back(static_cast<int>(l));
    } else if (lm_on_tiles) {
      units_.back().push_back(static_cast<int>(l));
    } else {
      head_layer_ = static_cast<int>(l);
    }
  }
  for (int c = 0; c < chips_; ++c) cap_.push_back(proto::chip_config(system, c).tile().count());
  links_ = std::make_unique<arch::ChipLinks>(link_spec(system));
  unit_tiles_.assign(units_.size(), 0);
  for (size_t u = 0; u < units_.size(); ++u)
    for (int l : units_[u]) unit_tiles_[u] += layers_[l].block_count();
}

double Mapper::whole_latency(int u, int c) {
  auto key = std::make_pair(u, group_of(c));
  auto it = whole_latency_.find(key);
  if (it != whole_latency_.end()) return it->second;
  double t = 0;
  for (int l : units_[u])
    t += layer_latency_without_hops_ns(proto::chip_config(system_, c), layers_[l]);
  whole_latency_[key] = t;
  return t;
}

std::vector<Mapper::Cut> Mapper::cut_unit(int u, int k, long long min_cap) const {
  const long long grain = std::max<long long>(1, min_cap / 4);
  std::vector<Cut> cuts;
  for (int l : units_[u]) {
    const LayerPartition& layer = layers_[l];
    const long long tiles = layer.block_count();
    const int want = static_cast<int>(std::min<long long>(k, (tiles + grain - 1) / grain));
    // Link bytes (in elements) of each cut into q parts, home holding one of them.
    auto bytes = [&](bool by_output) {
      const int n = by_output ? layer.col_tiles() : layer.row_tiles();
      const double q = std::max(1, std::min(want, n));
      return by_output ? (q - 1) * layer.in + layer.out * (q - 1) / q
                       : layer.in * (q - 1) / q + (q - 1) * layer.out;
    };
    bool by_output = true;
    if (options_.split == SplitKind::kInput) by_output = false;
    if (options_.split == SplitKind::kAuto) by_output = bytes(true) <= bytes(false);
    // A single output slice (all input tiles) larger than a chip forces the input cut.
    if (by_output && layer.row_tiles() > min_cap) by_output = false;
    const int n = by_output ? layer.col_tiles() : layer.row_tiles();
    const int q = std::max(1, std::min(want, n));
    for (const auto& range : even_ranges(n, q, 0)) {
      Cut c;
      c.layer = l;
      c.by_output = by_output;
      c.rows = by_output ? std::make_pair(0, layer.row_tiles()) : range;
      c.cols = by_output ? range : std::make_pair(0, layer.col_tiles());
      c.tiles = (c.rows.second - c.rows.first) * (c.cols.second - c.cols.first);
      cuts.push_back(c);
    }
  }
  return cuts;
}

UnitPlacement Mapper::split(int u, int first, int k) const {
  UnitPlacement p;
  p.tiles.assign(k, 0);
  const int home = first;
  long long min_cap = cap_[first];
  for (int j = 1; j < k; ++j) min_cap = std::min(min_cap, cap_[first + j]);
  const std::vector<Cut> cuts = cut_unit(u, k, min_cap);
  // Largest first onto the chip with the most free tiles (ties: lower index).
  std::vector<int> order(cuts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return cuts[a].tiles > cuts[b].tiles; });
  std::vector<int> chip_of(cuts.size());
  for (int i : order) {
    int best = 0;
    for (int j = 1; j < k; ++j) {
      if (cap_[first + j] - p.tiles[j] > cap_[first + best] - p.tiles[best]) best = j;
    }
    chip_of[i] = first + best;
    p.tiles[best] += cuts[i].tiles;
  }
  p.feasible = true;
  for (int j = 0; j < k; ++j)
    if (p.tiles[j] > cap_[first + j]) p.feasible = false;
  p.latency_ns = add_parts_and_transfers(cuts, chip_of, home, &p);
  return p;
}

double Mapper::add_parts_and_transfers(const std::vector<Cut>& cuts,
                                       const std::vector<int>& chip_of, int home,
                                       UnitPlacement* p) const {
  std::map<std::tuple<std::string, int, int, int>, bool> sent;  // (input, chip, rows) sent
  double latency = 0;
  size_t i = 0;
  while (i < cuts.size()) {
    const int l = cuts[i].layer;
    const LayerPartition& layer = layers_[l];
    const double ab = act_bytes(home);
    std::map<int, double> in_bytes, out_bytes;  // per chip
    std::map<int, double> compute;              // per chip: slowest part there
    for (; i < cuts.size() && cuts[i].layer == l; ++i) {
      const Cut& c = cuts[i];
      const int chip = chip_of[i];
      Part part{l, chip, c.rows, c.cols, c.tiles};
      p->parts.push_back(part);
      compute[chip] =
          std::max(compute[chip], layer_latency_without_hops_ns(proto::chip_config(system_, chip),
                                                                sub_layer(layer, c.rows, c.cols)));
      if (chip == home) continue;
      const auto key = std::make_tuple(input_key(layer), chip, c.rows.first, c.rows.second);
      if (!sent.count(key)) {
        sent[key] = true;
        in_bytes[chip] += sum_sizes(layer.row_sizes, c.rows) * ab;
      }
      out_bytes[chip] += (c.by_output ? sum_sizes(layer.col_sizes, c.cols) : layer.out) * ab;
    }
    double slowest = 0;
    for (const auto& [chip, t] : compute) {
      double total = t;
      if (in_bytes.count(chip)) {
        p->transfers.push_back({home, chip, in_bytes[chip], "input of " + layer.name});
        total += links_->unloaded_ps(links_->hops(home, chip), in_bytes[chip] * 8) / 1000.0;
      }
      if (out_bytes.count(chip)) {
        const bool by_output =
            p->parts.back().rows.second - p->parts.back().rows.first == layer.row_tiles();
        p->transfers.push_back(
            {chip, home, out_bytes[chip],
             (by_output ? "output slices of " : "partial sums of ") + layer.name});
        total += links_->unloaded_ps(links_->hops(chip, home), out_bytes[chip] * 8) / 1000.0;
      }
      slowest = std::max(slowest, total);
    }
    latency += slowest;
  }
  return latency;
}

int Mapper::split_chips(int u, int first) {
  auto key = std::make_pair(u, first);
  auto it = split_k_.find(key);
  if (it != split_k_.end()) return it->second;
  int found = 0;
  // Each chip of k holds about 1/k of the unit: start from the tile ratio.
  long long room = 0;
  for (int k = 1; first + k <= chips_; ++k) {
    room += cap_[first + k - 1];
    if (k < 2 || room < unit_tiles_[u]) continue;
    if (k > 4 * (unit_tiles_[u] / std::max<long long>(1, cap_[first]) + 1)) break;
    const UnitPlacement p = split(u, first, k);
    if (p.feasible) {
      found = k;
      split_latency_[key] = p.latency_ns;
      break;
    }
  }
  split_k_[key] = found;
  return found;
}

double Mapper::split_latency(int u, int first) {
  split_chips(u, first);
  return split_latency_.at(std::make_pair(u, first));
}

std::vector<Stage> solve(Mapper& m, int max_chips, bool fewest) {
  const int U = m.units(), N = std::min(max_chips, m.chips());
  std::vector<std::vector<double>> best(U + 1, std::vector<double>(N + 1, kInf));
  std::vector<std::vector<Stage>> from(U + 1, std::vector<Stage>(N + 1));
  best[0][0] = 0;
  for (int c = 1; c <= N; ++c) {
    for (int i = 1; i <= U; ++i) {
      // Chip c - 1 holds units [j, i) whole.
      long long tiles = 0;
      double latency = 0;
      for (int j = i - 1; j >= 0; --j) {
        tiles += m.unit_tiles(j);
        if (tiles > m.cap(c - 1)) break;
        latency += m.whole_latency(j, c - 1);
        if (best[j][c - 1] == kInf) continue;
        const double v = std::max(best[j][c - 1], latency);
        if (v < best[i][c]) {
          best[i][c] = v;
          from[i][c] = Stage{j, i, c - 1, 1, latency};
        }
      }
      // Unit i - 1 split over the fewest chips ending at chip c - 1.
      // (Splitting a unit that fits one chip only adds transfers: never considered.)
      for (int k = 2; k <= c; ++k) {
        const int first = c - k;
        if (best[i - 1][first] == kInf || m.unit_tiles(i - 1) <= m.cap(first)) continue;
        if (m.split_chips(i - 1, first) != k) continue;
        const double latency = m.split_latency(i - 1, first);
        const double v = std::max(best[i - 1][first], latency);
        if (v < best[i][c]) {
          best[i][c] = v;
          from[i][c] = Stage{i - 1, i, first, k, latency};
        }
      }
    }
  }
  int chosen = -1;
  for (int c = 1; c <= N; ++c) {
    if (best[U][c] == kInf) continue;
    if (chosen < 0 || (!fewest && best[U][c] < best[U][chosen])) chosen = c;
    if (fewest) break;
  }
  std::vector<Stage> stages;
  if (chosen < 0) return stages;
  for (int i = U, c = chosen; i > 0;) {
    const Stage s = from[i][c];
    stages.push_back(s);
    i = s.first_unit;
    c = s.first_chip;
  }
  std::reverse(stages.begin(), stages.end());
  return stages;
}

}  // namespace aimc::mapping::detail

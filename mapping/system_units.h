// Internal to the system mapper (system_mapper.cc): the units of a model (decoder blocks,
// lm_head on tiles), their latency whole or split over consecutive chips, and the dynamic
// programme that groups them into pipeline stages.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arch/chip_links.h"
#include "mapping/partition.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config.pb.h"
#include "proto/system_config.pb.h"
#include "proto/system_config_io.h"
#include "workloads/model_config.h"

namespace aimc::mapping::detail {

/// The partition of a layer restricted to blocks [rows) x [cols), for latency estimates.
LayerPartition sub_layer(const LayerPartition& l, std::pair<int, int> rows,
                         std::pair<int, int> cols);

struct Part {
  int layer, chip;
  std::pair<int, int> rows, cols;
  int tiles;
};

struct Transfer {
  int from, to;
  double bytes;
  std::string what;
};

/// A unit (decoder block, or lm_head) placed on chips [first, first + k).
struct UnitPlacement {
  bool feasible = false;
  double latency_ns = 0;
  std::vector<Part> parts;
  std::vector<Transfer> transfers;
  std::vector<long long> tiles;  // per chip of the group
};

/// The units of a model on a system and what placing them costs (latencies memoized).
class Mapper {
 public:
  Mapper(const workloads::ModelConfig& model, const proto::SystemConfig& system,
         const SystemMapOptions& options);

  int chips() const { return chips_; }
  int units() const { return static_cast<int>(units_.size()); }

  double act_bytes(int chip) const {
    return proto::chip_config(system_, chip).noc().activation_bits() / 8.0;
  }

  /// Latency of unit u whole on chip c.
  double whole_latency(int u, int c);

  /// Unit u split over chips [first, first + k). Each layer is cut along one dimension (output
  /// tiles, or input tiles) into parts of about a quarter of a chip or less, the cut with fewer
  /// link bytes when the options leave the choice; the parts of the whole unit then go, largest
  /// first, to the chip of the group with the most free tiles. Chip `first` (home) runs the
  /// unit's attention, norms and activations: it sends each other chip the inputs of its parts
  /// (a vector once per chip) and receives their output slices or partial sums.
  UnitPlacement split(int u, int first, int k) const;

  /// Fewest chips from `first` on that hold unit u split (>= 2), or 0 when none do.
  int split_chips(int u, int first);

  /// Latency of unit u split over split_chips(u, first) chips from `first`.
  double split_latency(int u, int first);

  long long unit_tiles(int u) const { return unit_tiles_[u]; }
  long long cap(int c) const { return cap_[c]; }
  const std::vector<LayerPartition>& layers() const { return layers_; }
  const std::vector<int>& unit_layers(int u) const { return units_[u]; }
  int head_layer() const { return head_layer_; }
  bool lm_on_tiles() const { return lm_on_tiles_; }
  arch::ChipLinks& links() { return *links_; }

 private:
  /// One cut of a layer of a split unit: its tile rows and columns.
  struct Cut {
    int layer;
    bool by_output;
    std::pair<int, int> rows, cols;
    int tiles;
  };
  /// Each layer of unit u cut for a group of k chips whose smallest holds `min_cap` tiles.
  std::vector<Cut> cut_unit(int u, int k, long long min_cap) const;
  /// Adds the parts `cuts` (on chips `chip_of`) and the transfers to and from chip `home` to
  /// `p`; returns the unit's latency, layer by layer in execution order.
  double add_parts_and_transfers(const std::vector<Cut>& cuts, const std::vector<int>& chip_of,
                                 int home, UnitPlacement* p) const;

  int group_of(int chip) const {
    int first = 0;
    for (int g = 0; g < system_.chips_size(); ++g) {
      first += static_cast<int>(system_.chips(g).count());
      if (chip < first) return g;
    }
    return 0;
  }

  const workloads::ModelConfig& model_;
  const proto::SystemConfig& system_;
  SystemMapOptions options_;
  int chips_ = 0;
  bool lm_on_tiles_ = false;
  int head_layer_ = -1;
  std::vector<LayerPartition> layers_;
  std::vector<std::vector<int>> units_;
  std::vector<long long> unit_tiles_;
  std::vector<long long> cap_;
  std::unique_ptr<arch::ChipLinks> links_;
  std::map<std::pair<int, int>, double> whole_latency_;
  std::map<std::pair<int, int>, int> split_k_;
  std::map<std::pair<int, int>, double> split_latency_;
};

/// Result of the programme: per stage, the units and chips.
struct Stage {
  int first_unit, end_unit;  // [first, end)
  int first_chip, chips;
  double latency_ns;
};

/// best[i][c]: smallest slowest-stage latency with units [0, i) on chips [0, c) (chip c - 1
/// used). Returns the stages of the best plan using at most `max_chips` chips (fewest chips
/// when `fewest`), or empty when none fits.
std::vector<Stage> solve(Mapper& m, int max_chips, bool fewest);

}  // namespace aimc::mapping::detail

// The memo of one layer part's read (memo_parts, sim/chip/memo_replay.cc): what the first read
// of a part replica did on a scratch copy of its chip, which every later read replays, and, with
// power gating, the gated units that read used.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "arch/action_counts.h"
#include "arch/power_gating.h"
#include "arch/sc_component.h"
#include "arch/sc_tile.h"

namespace aimc::sim {

// A power-gated unit a memo's read uses (memo_parts with power gating): a tile, or one unit
// of an ADC bank's or the mesh routers' group, from `begin` to `end` after the read starts.
struct UnitUse {
  arch::ScTile* tile = nullptr;
  arch::GatedUnits* units = nullptr;
  int unit = 0;
  arch::Ps begin = 0, end = 0;
};

// A layer part's first read, replayed (memo_parts): from its input's arrival to the last
// partial output at its DPU, the tiles' steady interval, its counts and busy time.
struct PartMemo {
  bool valid = false;
  // A tile of this part replica is read by another part replica too: the memo's pipeline
  // cannot model their contention, so its reads are simulated in full (never replayed).
  bool shared_tiles = false;
  arch::Ps latency = 0, interval = 0, free = 0;
  arch::Ps in_span = 0, first_out = 0;  // last input at a tile; first output at the DPU
  arch::Ps out_occ = 0;                 // the partial outputs' flits through the DPU's port
  arch::ActionCounts counts;
  struct Busy {
    arch::ScComponent* component;
    int instance;  // of the component (ScComponent::instances())
    double ps;
  };
  std::vector<Busy> busy;
  double reads = 0;
  long long pending = 0;  // replays whose busy time is not credited yet
  // Power gating: the gated units the read uses, and how much longer the read takes when
  // every one of them is off (its latency with all of them woken, less the warm latency).
  std::vector<UnitUse> uses;
  arch::Ps cold_extra = 0;
  // Tiles no other memo uses: their gating state is kept here, contiguous (when each use
  // begins and ends after the read's start, when it last ended), and the replays' starts and
  // wake-up delays are handed to the tiles at the end of the run (settle_gating), which compute
  // their off intervals from them when asked, exactly as each replay would have written them.
  std::vector<arch::ScTile*> own_tiles;
  std::vector<arch::Ps> own_begin, own_end, own_last;
  std::vector<std::pair<arch::Ps, arch::Ps>> replays;  // (start, delay); kept to the end
  arch::Ps own_gate_after_ps = 0;
  size_t units() const { return uses.size() + own_tiles.size(); }

  // Applies a replay starting at `start` to its units' gating state; returns its wake-up delay.
  arch::Ps replay_gating(arch::Ps start);
  // Hands the replays to the own tiles (once, after the last replay).
  void settle_gating();
};

}  // namespace aimc::sim

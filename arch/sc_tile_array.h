// The tiles and ADC banks of one chip, their state in two contiguous arrays indexed by tile and
// bank. A tile read touches its tile's line and its bank's half line, at addresses computed from
// the tile's index (no pointer to follow): the controller prefetches both while the read's input
// crosses the mesh, and a chip's state (384 KiB for 4096 tiles) stays far smaller than its
// components (SystemC modules, scattered over the heap). ScTile and ScAdcBank keep their state in
// these arrays; read() is ScTile::read without its trace spans.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "arch/action_counts.h"
#include "arch/sc_adc_bank.h"
#include "arch/sc_common.h"
#include "arch/sc_tile.h"
#include "arch/touch_hook.h"

namespace aimc::arch {

/// What a group of reads on a quiet tile array did to it (TileArray::capture_end), to be applied
/// later from another quiet start (TileArray::apply): the tiles and banks it read, their times
/// relative to the group's start, statistics as increments.
struct TileDelta {
  struct Tile {
    int tile = 0;
    int parity = 0;     ///< its next_slot when the group began
    int next_slot = 0;  ///< and after it
    int slots = 0;      ///< which slot_free entries the group wrote (bit s: slot_free[s])
    Ps integrator_free = 0, slot_free[2] = {0, 0}, last_end = 0;  ///< - t0
    double reads = 0, busy_ps = 0;                                ///< increments
  };
  struct Bank {
    int bank = 0;
    Ps group_free = 0;                    ///< - t0
    double busy_ps = 0, conversions = 0;  ///< increments
  };
  std::vector<Tile> tiles;
  std::vector<Bank> banks;
  bool has_horizon = false;  ///< some read ran
  Ps horizon = 0;            ///< the latest time a read returned - t0
};

/// Sums over some reads of their rows, converted columns and cells (rows x columns).
struct ReadSums {
  long long rows = 0, cols = 0, cells = 0;
};

class TileArray {
 public:
  /// Room for `tiles` tiles of `spec`, tile i's state in tile_slot(i). Call once, first.
  void init_tiles(const TileSpec& spec, int tiles);
  /// Room for `banks` banks of `spec`, bank b converting for tiles b x tiles_per_bank onwards
  /// (tiles_per_bank of them), its state in bank_slot(b). Call once, after init_tiles.
  void init_banks(const AdcBankSpec& spec, int banks, int tiles_per_bank);
  TileState* tile_slot(int tile) { return &tiles_[tile]; }
  AdcBankState* bank_slot(int bank) { return &banks_[bank]; }
  /// The components whose state is in slot `tile` and `bank` (every slot must have one before
  /// read()).
  void set_tile(int tile, ScTile* t) { tile_of_[tile] = t; }
  void set_bank(int bank, ScAdcBank* b) { bank_of_[bank] = b; }

  /// Whether read() may stand for the tiles' own read(): the arrays are complete and no span is
  /// recorded (set_traced).
  bool direct() const {
    return !traced_ && !tiles_.empty() && banks_.size() * per_ >= tiles_.size();
  }
  /// A span sink is attached to the chip's components: their reads go through them.
  void set_traced(bool traced) { traced_ = traced; }

  /// Cache hints (no effect on results): the state a read of `tile` touches.
  void prefetch(int tile) const {
    __builtin_prefetch(&tiles_[tile], 1);
    __builtin_prefetch(&banks_[bank_index(tile)], 1);
  }
  /// Cache hints for a read of `tile` when tiles are gated (no effect on results): with `tail`
  /// false the tile's record of off intervals, with `tail` true (once that is in the cache)
  /// where its next one goes.
  void prefetch_gating(int tile, bool tail) const {
    if (!tile_spec_.gating) return;
    const GatedLog& log = tile_of_[tile]->gated_;
    if (tail) {
      log.prefetch_tail();
    } else {
      __builtin_prefetch(&log, 1);  // the record may straddle two lines
      __builtin_prefetch(reinterpret_cast<const char*>(&log) + sizeof log - 1, 1);
    }
  }
  /// Whether every read() takes read_plain() (whose counts add_plain_counts() can add at once).
  bool plain() const { return plain_; }
  /// What read_plain() adds to the counts over reads summing to `s`, added to `c` at once when
  /// that leaves it as the reads one by one would (every field it adds to is a whole number and
  /// stays below 2^53: each partial sum is exact); returns whether it did.
  bool add_plain_counts(const ReadSums& s, ActionCounts* c) const;
  /// ScTile::read of tile `tile` (what tile(tile).read() returns and changes, spans aside).
  Ps read(int tile, Ps ready, int rows, int cols, ActionCounts* counts) {
    hook_.touch();
    if (plain_) {
      // One group per bank: the conversions end in order, the last one after every slot, the
      // integrator and the bank are free.
      const Ps end = read_plain(tile, ready, rows, cols, counts);
      horizon_ = std::max(horizon_, end);
      return end;
    }
    const Ps end = read_general(tile, ready, rows, cols, counts);
    reach_read(tile, end);
    return end;
  }

  // ---- Quiet replay (arch/sc_noc.h has the argument; the same holds for tiles and banks) ----
  /// An upper bound of every busy-until time of the tiles and banks read through read() (their
  /// integrators, sample-and-hold slots, last ends and ADC groups; not reads through the tiles'
  /// own ScTile::read, which a traced chip takes). Never decreases.
  Ps horizon() const { return std::max(horizon_, capture_floor_); }
  /// Starts recording what the next reads change (a snapshot of every tile and bank).
  void capture_begin();
  /// Ends the recording of a group that started at `t0` (every read ready at t0 or later,
  /// horizon() <= t0 at capture_begin()): fills `d` with the tiles and banks read, relative to
  /// t0, and returns true; false (`d` unusable) when the array is not direct(), its tiles or
  /// banks are gated, a bank has more than one group, it was not quiet at t0, something changed
  /// before t0 or a statistic is not a whole number. Throws std::logic_error without
  /// capture_begin().
  bool capture_end(Ps t0, TileDelta* d);
  /// Leaves the array as the captured reads, run from `t` (each ready time shifted by t - t0),
  /// would, on either double-buffer parity of each tile: a tile whose next_slot differs from the
  /// capture's takes the roles of its two slots swapped (its slots are free before any read of
  /// the group needs them, so only their labels differ). Throws std::logic_error unless
  /// horizon() <= t (or when the array is not one capture_end() accepts). Calls no touch hook.
  void apply(const TileDelta& d, Ps t);
  /// A hook read() calls first thing while armed (as ScNoc::set_touch_hook).
  void set_touch_hook(void (*fn)(void*), void* ctx) { hook_.set(fn, ctx); }
  void arm_touch_hook(bool on) { hook_.arm(on); }
  bool touch_hook_armed() const { return hook_.wanted(); }

 private:
  TouchHook hook_;
  static constexpr Ps kNoTime = std::numeric_limits<Ps>::min();
  Ps horizon_ = 0;
  Ps capture_floor_ = kNoTime;  // while capturing: the horizon at capture_begin()
  bool capturing_ = false;
  std::vector<TileState> cap_tiles_;
  std::vector<AdcBankState> cap_banks_;
  std::vector<uint8_t> bank_mark_;  // capture_end scratch
  /// capture_end's entries of the tiles (marking their banks) and of the banks that changed,
  /// appended to `d`; false when one cannot be replayed.
  bool diff_tiles(Ps t0, TileDelta* d);
  bool diff_banks(Ps t0, TileDelta* d);
  /// Whether capture_end() and apply() can stand for reads of this array.
  bool replayable() const {
    return direct() && !tile_spec_.gating && bank_spec_.groups == 1 && !bank_spec_.gating.enabled;
  }
  /// A read by read_on() (gating, shared groups) may end a conversion before an earlier one
  /// (the earlier woke the bank, or waited for a busy group): the horizon also takes both slots,
  /// which hold the latest conversion of each (an integration waits for its slot's conversion
  /// before: the conversions into one slot end in order; single-buffered, all do). The groups
  /// hold conversions of some read, each in a slot of its tile when it ended; the integrator is
  /// free by the last conversion (digital tiles: by the end).
  void reach_read(int tile, Ps end) {
    const TileState& s = tiles_[tile];
    horizon_ = std::max({horizon_, end, s.slot_free[0], s.slot_free[1]});
  }
  Ps read_general(int tile, Ps ready, int rows, int cols, ActionCounts* counts) {
    const int b = bank_index(tile);
    Ps begin = 0;
    return read_on(
        tile_spec_, tiles_[tile], ready, rows, cols, counts, &begin,
        [this, tile](Ps at) {
          // ScTile::wake with the chip's tile spec: the tile's own record only when it is off.
          return wake_on(tile_spec_, tiles_[tile], at,
                         [this, tile]() -> GatedLog& { return tile_of_[tile]->gated_; });
        },
        [this, b](Ps r, int c, ActionCounts* k, Ps* s) {
          return convert_on(bank_spec_, banks_[b], r, c, k, s, Gate{this, b});
        });
  }

  // The power gating of bank `bank` (none when the banks are not gated).
  struct Gate {
    TileArray* array;
    int bank;
    Ps wake(Ps begin) {
      return array->bank_spec_.gating.enabled ? array->bank_of_[bank]->gate().wake(0, begin)
                                              : begin;
    }
    void busy_until(Ps end) {
      if (array->bank_spec_.gating.enabled) array->bank_of_[bank]->gate().busy_until(0, end);
    }
  };
  int bank_index(int tile) const { return per_ == 1 ? tile : tile / per_; }
  /// read() of an analog tile without power gating converting on a bank of one group without
  /// power gating (the presets' tiles): read_on() and convert_on() with the branches such a
  /// spec never takes left out and the conversion rounds of `cols` found once per read. The same
  /// operations in the same order, so the same times, statistics and counts.
  Ps read_plain(int tile, Ps ready, int rows, int cols, ActionCounts* counts) {
    const TileSpec& spec = tile_spec_;
    TileState& state = tiles_[tile];
    AdcBankState& bank = banks_[bank_index(tile)];
    state.reads += 1;
    if (counts) counts->sram_bits += 2.0 * rows * spec.dac_bits + 2.0 * cols * spec.out_bits;
    Ps t = std::max(ready, state.integrator_free);
    const Ps start = t;
    t += spec.t_overhead_ps;
    // convert_on's rounds, (cols + per - 1) / per, without the division when one round holds
    // them (cols <= per; cols = 0 takes none).
    const Ps per = bank_per_;
    const Ps rounds = cols <= per ? (cols > 0 ? 1 : 0) : (cols + per - 1) / per;
    const Ps conv = rounds * bank_spec_.t_conversion_ps;
    const double conv_busy =
        static_cast<double>(cols) * static_cast<double>(bank_spec_.t_conversion_ps);
    Ps last_conv_end = 0;
    for (int i = 0; i < spec.integrations; ++i) {
      int& s = state.next_slot;
      const Ps int_end = std::max(t, state.slot_free[s]) + spec.t_integration_ps;
      const Ps conv_end = std::max(int_end, bank.group_free) + conv;
      bank.group_free = conv_end;
      bank.busy_ps += conv_busy;
      bank.conversions += cols;
      if (counts) counts->adc_conversions += cols;
      state.slot_free[s] = conv_end;
      if (spec.double_buffered) {
        s ^= 1;
        t = int_end;
      } else {
        t = conv_end;
      }
      last_conv_end = conv_end;
    }
    state.integrator_free = t;
    state.busy_ps += static_cast<double>(t - start);
    if (counts) {
      counts->dac_drives += static_cast<double>(rows) * spec.integrations;
      counts->cell_reads += static_cast<double>(rows) * cols * spec.integrations;
      counts->tile_post_ops += cols;
      if (spec.shift_add) counts->shift_adds += static_cast<double>(cols) * spec.integrations;
    }
    const Ps end = last_conv_end + spec.t_post_ps;
    state.last_end = std::max(state.last_end, end);
    return end;
  }
  bool plain_ = false;  // read() may take read_plain()
  Ps bank_per_ = 1;     // ADCs per group (at least 1)

  TileSpec tile_spec_;
  AdcBankSpec bank_spec_;
  size_t per_ = 1;
  bool traced_ = false;
  std::vector<TileState> tiles_;
  std::vector<AdcBankState> banks_;
  std::vector<ScTile*> tile_of_;
  std::vector<ScAdcBank*> bank_of_;
};

}  // namespace aimc::arch

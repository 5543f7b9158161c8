// Crossbar tile: drives an input vector through its DACs, integrates on the crossbar, hands the
// column samples to its ADC bank and delivers digitized (and locally scaled) partial outputs to
// its output buffer. Digital tiles (W4A8, FP) instead run a MAC array.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "arch/action_counts.h"
#include "arch/power_gating.h"
#include "arch/sc_adc_bank.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"

namespace aimc::arch {

/// Immutable timing parameters of one tile (built in sim/ from proto TileConfig).
struct TileSpec {
  bool analog = true;
  /// Integrations per read: read_phases for PWM, read_phases x dac bits for bit-serial.
  int integrations = 1;
  /// One integration: 2^(bits-1) PWM steps (or one bit-serial step) x cycles_per_step.
  Ps t_integration_ps = 128000;
  /// Fixed overhead at the start of each read (precharge, S&H settle).
  Ps t_overhead_ps = 5000;
  /// Local affine post-processing of the output vector, after the last conversion.
  Ps t_post_ps = 0;
  /// Two sample-and-hold slots: integration of the next sample overlaps conversion of the last.
  bool double_buffered = true;
  int dac_bits = 8;   ///< bits of the input codes (input buffer bits per row)
  int out_bits = 16;  ///< bits of one partial output written to the output buffer
  /// Bit-serial inputs: every converted column sample is shifted and added into its output.
  bool shift_add = false;
  // Digital tiles only.
  double macs_per_cycle = 1024;  ///< MAC array throughput
  double cycle_ps = 1000;        ///< tile clock period
  Ps t_pipeline_ps = 8000;       ///< fixed pipeline latency of one matrix-vector product
  /// Power gating: idle longer than gate_after_ps switches the tile off; its next read starts
  /// wake_up_ps later.
  bool gating = false;
  Ps gate_after_ps = 0;
  Ps wake_up_ps = 0;
};

/// What reads change in a tile, apart from its off intervals: kept with the other tiles of its
/// chip in one array (arch/tile_array.h), one cache line each, or in the tile's own slot.
struct alignas(64) TileState {
  Ps integrator_free = 0;
  Ps slot_free[2] = {0, 0};  ///< when each sample-and-hold slot's sample has been converted
  Ps last_end = 0;  ///< when the last read's outputs were delivered (the tile is on from 0)
  double reads = 0;
  double busy_ps = 0;  ///< the integrator's or MAC array's busy time
  int next_slot = 0;
};

/// The arithmetic of one read (ScTile::read) on `spec` and `state`: `wake(begin)` applies the
/// tile's power gating (returns when the read really starts), `convert(ready, cols, counts,
/// &start)` converts one integration's samples (ScAdcBank::convert). Returns when the outputs
/// are in the output buffer; `*begin` receives when the read began.
template <class Wake, class Convert>
inline Ps read_on(const TileSpec& spec, TileState& state, Ps ready, int rows, int cols,
                  ActionCounts* counts, Ps* begin, Wake&& wake, Convert&& convert) {
  state.reads += 1;
  if (counts) {
    // The input codes are written into and read out of the input buffer; the partial outputs
    // likewise through the output buffer.
    counts->sram_bits += 2.0 * rows * spec.dac_bits + 2.0 * cols * spec.out_bits;
  }
  if (!spec.analog) {
    const Ps start = wake(std::max(ready, state.integrator_free));
    const double macs = static_cast<double>(rows) * cols;
    const Ps compute = cycles_to_ps(std::ceil(macs / spec.macs_per_cycle), spec.cycle_ps);
    state.integrator_free = start + compute;
    state.busy_ps += static_cast<double>(compute);
    if (counts) counts->digital_tile_macs += macs;
    const Ps end = start + compute + spec.t_pipeline_ps;
    state.last_end = std::max(state.last_end, end);
    *begin = start;
    return end;
  }
  const int n = spec.integrations;
  Ps t = wake(std::max(ready, state.integrator_free));
  const Ps start = t;
  t += spec.t_overhead_ps;
  Ps last_conv_end = 0;
  for (int i = 0; i < n; ++i) {
    int& s = state.next_slot;
    const Ps int_start = std::max(t, state.slot_free[s]);
    const Ps int_end = int_start + spec.t_integration_ps;
    Ps conv_start = 0;
    const Ps conv_end = convert(int_end, cols, counts, &conv_start);
    state.slot_free[s] = conv_end;
    if (spec.double_buffered) {
      s ^= 1;
      t = int_end;  // the next integration fills the other slot
    } else {
      t = conv_end;  // one slot: wait until the sample has been converted
    }
    last_conv_end = conv_end;
  }
  state.integrator_free = t;
  state.busy_ps += static_cast<double>(t - start);
  if (counts) {
    counts->dac_drives += static_cast<double>(rows) * n;
    counts->cell_reads += static_cast<double>(rows) * cols * n;
    counts->tile_post_ops += cols;
    if (spec.shift_add) counts->shift_adds += static_cast<double>(cols) * n;
  }
  const Ps end = last_conv_end + spec.t_post_ps;
  state.last_end = std::max(state.last_end, end);
  *begin = start;
  return end;
}

/// The power gating of a read that could start at `begin` (ScTile::wake): a tile idle for more
/// than spec.gate_after_ps since its last read was off from then until `begin`; that interval
/// goes into `log()` (the tile's GatedLog&, fetched only then) and the read starts after the
/// wake-up. Returns when the read really starts.
template <class Log>
inline Ps wake_on(const TileSpec& spec, const TileState& state, Ps begin, Log&& log) {
  const Ps last_end = state.last_end;
  if (!spec.gating || begin - last_end <= spec.gate_after_ps) return begin;
  log().add(last_end + spec.gate_after_ps, begin, true);
  return begin + spec.wake_up_ps;
}

/// One tile. Reads of one tile execute in request order; a read starts when its input is in
/// the input buffer and the integrator (and a sample-and-hold slot) is free. Not a SystemC
/// module: the chip's tiles are one (ScTileGroup, arch/sc_tile_group.h), which makes a tile's
/// own object only when something needs it.
class ScTile : public Component {
 public:
  /// A tile named `name` converting on `bank` (nullptr: bound later with bind()), its state in
  /// `slot` (nullptr: a slot of its own).
  ScTile(std::string name, const TileSpec& spec, ScAdcBank* bank = nullptr,
         TileState* slot = nullptr);
  const char* name() const override { return name_.c_str(); }
  /// Wires the tile's columns to the ADC bank that converts them.
  void bind(ScAdcBank* bank) { bank_ = bank; }

  /// One matrix-vector read of a `rows` x `cols` block (cols = physical columns converted) whose
  /// input is ready at `ready`. Returns when the outputs are in the output buffer. Counts DAC
  /// drives, cell reads, conversions, post-processing ops and buffer bits into `counts`.
  Ps read(Ps ready, int rows, int cols, ActionCounts* counts);

  /// Closed-form latency of one read on an idle tile and idle bank (what read() returns for
  /// ready = 0 on a fresh tile when the bank serves only this tile).
  static Ps unloaded_latency(const TileSpec& spec, const AdcBankSpec& bank, int cols);
  /// Closed-form interval between back-to-back reads in steady state.
  static Ps steady_interval(const TileSpec& spec, const AdcBankSpec& bank, int cols);

  const TileSpec& spec() const { return spec_; }
  ScAdcBank* bank() const { return bank_; }
  /// Asks the CPU to bring the state a read touches into its cache (a hint; no effect on
  /// results): the tile's own, and with `bank` its ADC bank's.
  void prefetch(bool bank) const;
  double reads() const { return state_->reads; }
  double busy_ps() const override { return state_->busy_ps; }
  void add_busy(double ps) override { state_->busy_ps += ps; }

  /// Closes the run at `end`: a tile idle since its last read for longer than the gating
  /// threshold stays off until `end` (no wake-up). Call once, after the last read.
  void close(Ps end);
  /// The intervals the tile spent off (power gating) that it stores, in time order: all of them
  /// unless uses were replayed from a schedule (replay_schedule; visit_gated visits all).
  /// Once the phase split is known (stream_gating), one that begins after it begins at the split
  /// (GatedLog).
  std::vector<GatedInterval> gated() const { return gated_.intervals(); }
  /// Off intervals stored, and the bytes they take.
  size_t gated_count() const { return gated_.size(); }
  size_t gated_bytes() const { return gated_.bytes(); }
  /// Visits every off interval in time order: the stored ones and those of a replayed schedule.
  template <typename F>
  void visit_gated(F&& f) const;
  /// The phase split is `at`: later off intervals that begin after it keep their length only
  /// (split_gated then takes no other split).
  void stream_gating(Ps at) {
    if (spec_.gating && !gated_.streaming()) gated_.stream_from(at);
  }
  /// Adds the off time and wake-ups split at `at` to `out` (split_gated over visit_gated).
  void split_gated(Ps at, GatedTime out[2]) const;
  /// Uses replayed from a schedule kept elsewhere (memo_parts): for each (start, delay) of
  /// `*replays`, a use from start + `begin` to start + `end` + delay, applied after the uses so
  /// far as replay_use() would apply them one by one, `last_end` being when the last ends. Their
  /// off intervals are not stored but computed from the schedule when visited, so `*replays`
  /// must stay unchanged while the tile is read. Once per tile.
  void replay_schedule(const std::vector<std::pair<Ps, Ps>>* replays, Ps begin, Ps end,
                       Ps last_end);
  /// A read replayed from a memo (not simulated here) that uses the tile from `begin` to `end`:
  /// applies its gating as read() would (an off interval and a wake-up when the tile has been
  /// idle longer than the threshold) and returns whether it woke the tile. The read's timing is
  /// the memo's; the tile then counts as holding weights though reads() stays 0.
  bool replay_use(Ps begin, Ps end);
  /// Whether a read that could start at `begin` finds the tile off.
  bool asleep(Ps begin) const {
    return spec_.gating && begin - state_->last_end > spec_.gate_after_ps;
  }
  /// When the tile's last read or replayed use so far ended (0: never used).
  Ps last_end() const { return state_->last_end; }
  /// Whether replay_use() was called.
  bool replayed() const { return replayed_; }
  /// Cache hints for a replayed use (no effect on results): the gating state, and with
  /// `interval` where the next off interval will be stored.
  void prefetch_gating(bool interval) const {
    if (!interval) {
      __builtin_prefetch(state_, 1);
    } else {
      gated_.prefetch_tail();
    }
  }

  /// Statistics: reads, busy (the integrator or MAC array, ns), wake-ups, time off (ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override;

 private:
  friend class TileArray;  // reads tiles through their state, recording into gated_

  std::string name_;
  TileSpec spec_;
  ScAdcBank* bank_;
  std::unique_ptr<TileState> own_;  // when built without a slot
  TileState* state_;
  GatedLog gated_;
  bool replayed_ = false;
  // A replayed schedule (replay_schedule): its uses follow the first `at` stored intervals.
  struct Schedule {
    const std::vector<std::pair<Ps, Ps>>* replays = nullptr;
    Ps begin = 0, end = 0;
    Ps last_end = 0;  // the tile's last use ended here before the schedule
    size_t at = 0;
  };
  std::unique_ptr<Schedule> schedule_;
  // Applies gating to a read that could start at `begin`: records the off interval and returns
  // when the read really starts.
  Ps wake(Ps begin);
};

template <typename F>
void ScTile::visit_gated(F&& f) const {
  if (!schedule_) {
    gated_.visit(f);
    return;
  }
  auto replayed = [&] {
    Ps last = schedule_->last_end;
    for (const auto& [start, delay] : *schedule_->replays) {
      const Ps begin = start + schedule_->begin;
      if (spec_.gating && begin - last > spec_.gate_after_ps)
        f(GatedInterval{last + spec_.gate_after_ps, begin, true});
      last = std::max(last, start + schedule_->end + delay);
    }
  };
  // The schedule's uses follow the first `at` stored intervals.
  const size_t at = schedule_->at;
  size_t i = 0;
  gated_.visit([&](const GatedInterval& g) {
    if (i++ == at) replayed();
    f(g);
  });
  if (i <= at) replayed();
}

}  // namespace aimc::arch

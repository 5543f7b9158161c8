// Crossbar tile: drives an input vector through its DACs, integrates on the crossbar, hands the
// column samples to its ADC bank and delivers digitized (and locally scaled) partial outputs to
// its output buffer. Digital tiles (W4A8, FP) instead run a MAC array.
#pragma once

#include <algorithm>
#include <memory>
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

/// One tile. Reads of one tile execute in request order; a read starts when its input is in
/// the input buffer and the integrator (and a sample-and-hold slot) is free.
class ScTile : public ScComponent {
 public:
  /// A tile converting on `bank` (nullptr: bound later with bind()).
  ScTile(sc_core::sc_module_name name, const TileSpec& spec, ScAdcBank* bank = nullptr);
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
  double reads() const { return reads_; }

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
  bool asleep(Ps begin) const { return spec_.gating && begin - last_end_ > spec_.gate_after_ps; }
  /// When the tile's last read or replayed use so far ended (0: never used).
  Ps last_end() const { return last_end_; }
  /// Whether replay_use() was called.
  bool replayed() const { return replayed_; }
  /// Cache hints for a replayed use (no effect on results): the gating state, and with
  /// `interval` where the next off interval will be stored.
  void prefetch_gating(bool interval) const {
    if (!interval) {
      __builtin_prefetch(&last_end_, 1);
    } else {
      gated_.prefetch_tail();
    }
  }

  /// Statistics: reads, busy (the integrator or MAC array, ns), wake-ups, time off (ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override;

 private:
  TileSpec spec_;
  ScAdcBank* bank_;
  Ps integrator_free_ = 0;
  Ps slot_free_[2] = {0, 0};  // when each sample-and-hold slot's sample has been converted
  int next_slot_ = 0;
  double reads_ = 0;
  Ps last_end_ = 0;  // when the last read's outputs were delivered (the tile is on from 0)
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

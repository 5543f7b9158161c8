// Power gating of a group of identical units (ADC banks, mesh routers): a unit idle longer than a
// threshold is switched off; its next use waits a wake-up latency. The group only records when
// each unit was off and how often it woke; arch/energy_model.h prices that as leakage saved and
// wake-up energy spent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "arch/sc_common.h"

namespace aimc::arch {

/// One interval a unit spent switched off, and whether it ended with a wake-up (the interval at
/// the end of a run does not).
struct GatedInterval {
  Ps begin = 0;
  Ps end = 0;
  bool woke = false;
  int unit = 0;  ///< which unit of its group
};

/// When a unit of a kind is switched off and how long it takes to wake.
struct GatingSpec {
  bool enabled = false;
  Ps gate_after_ps = 0;  ///< idle time after which a unit is off
  Ps wake_up_ps = 0;     ///< delay of the first use after an off interval
};

/// Off time and wake-ups of a phase of a run, for the energy model.
struct GatedTime {
  double off_s = 0;  ///< time units spent off, summed over the units
  double wake_ups = 0;
};

/// Adds one off interval to the two phases split at `at` (split_gated's terms, one interval).
inline void add_split(const GatedInterval& g, Ps at, GatedTime out[2]) {
  out[0].off_s += static_cast<double>(std::max<Ps>(0, std::min(g.end, at) - g.begin)) * 1e-12;
  out[1].off_s += static_cast<double>(std::max<Ps>(0, g.end - std::max(g.begin, at))) * 1e-12;
  if (g.woke) out[g.end <= at ? 0 : 1].wake_ups += 1;
}

/// Gating state of `units` units, each on at time 0. Uses are told in issue order; a use that
/// starts before the unit's last use ended (a later-issued request filling an earlier gap) never
/// gates it.
///
/// The off intervals are kept until the phase split is known (stream_from); from then on each
/// is added to the sums the report reads as it is recorded, in the same order, and none is kept:
/// the same sums, bit for bit, without the memory (tens of millions of router intervals on a
/// large gated system). Before that, fold_until adds those that surely end before the split (in
/// the order recorded, a prefix of them) to the sums already.
class GatedUnits {
 public:
  GatedUnits() = default;
  GatedUnits(const GatingSpec& spec, int units);

  /// A use of unit `u` that could start at `begin`: when the unit has been idle for longer than
  /// the threshold, records its off interval and returns begin + the wake-up latency; else begin.
  Ps wake(int u, Ps begin) {
    if (!spec_.enabled || begin - last_end_[u] <= spec_.gate_after_ps) return begin;
    record({last_end_[u] + spec_.gate_after_ps, begin, true, u});
    return begin + spec_.wake_up_ps;
  }
  /// Whether a use of unit `u` that could start at `begin` finds it off.
  bool asleep(int u, Ps begin) const {
    return spec_.enabled && begin - last_end_[u] > spec_.gate_after_ps;
  }
  /// Cache hint (no effect on results): unit `u`'s gating state.
  void prefetch(int u) const {
    if (spec_.enabled) __builtin_prefetch(&last_end_[u], 1);
  }
  /// When unit `u`'s last use so far ended (0: never used).
  Ps last_end(int u) const { return last_end_[u]; }
  /// Unit `u` is in use until `end`.
  void busy_until(int u, Ps end) {
    if (spec_.enabled && end > last_end_[u]) last_end_[u] = end;
  }
  /// Closes the run at `end`: a unit idle for longer than the threshold stays off until `end`
  /// (no wake-up). Call once, after the last use.
  void close(Ps end);

  const GatingSpec& spec() const { return spec_; }
  int units() const { return static_cast<int>(last_end_.size()); }
  /// Every off interval so far, of all units, in the order they were recorded (complete only
  /// while none was summed: before fold_until and stream_from).
  const std::vector<GatedInterval>& intervals() const { return intervals_; }
  /// Off intervals kept, not summed yet.
  size_t kept() const { return intervals_.size() - first_; }
  /// Wake-ups and time off (ps) so far, summed over the units in the order recorded.
  double wake_ups() const;
  double off_ps() const;

  /// The phase split is `at`: the intervals kept so far, then every later one as it is
  /// recorded, are added to the sums split() returns, and no longer kept. Call once.
  void stream_from(Ps at);
  bool streaming() const { return streaming_; }
  /// The phase split will be no earlier than `bound`: the kept intervals, from the oldest, that
  /// end by then are added to the sums (wholly before the split) and dropped, up to the first
  /// that ends later. stream_from and split check that their split is not earlier.
  void fold_until(Ps bound);
  /// Adds the off time and wake-ups split at `at` to `out` (split_gated over every interval, in
  /// the order recorded). Once some were summed (stream_from, fold_until): `at` must be the
  /// split given to stream_from, or not earlier than the intervals folded, and `out` zero for
  /// the same bits as split_gated (the group's sums are added as a whole).
  void split(Ps at, GatedTime out[2]) const;

 private:
  void record(const GatedInterval& g) {
    if (streaming_) {
      fold(g, split_at_);
    } else {
      intervals_.push_back(g);
    }
  }
  void fold(const GatedInterval& g, Ps at) {
    off_sum_ps_ += static_cast<double>(g.end - g.begin);
    wakes_ += g.woke ? 1 : 0;
    add_split(g, at, phase_);
  }
  void check_split(Ps at) const;

  GatingSpec spec_;
  std::vector<Ps> last_end_;
  // The intervals not summed yet: intervals_[first_] onwards.
  std::vector<GatedInterval> intervals_;
  size_t first_ = 0;
  // Streaming: the split; the sums of the intervals summed so far, and the latest end of those
  // summed before the split was known (fold_until).
  bool streaming_ = false;
  Ps split_at_ = 0;
  Ps folded_end_ = -1;
  double off_sum_ps_ = 0, wakes_ = 0;
  GatedTime phase_[2];
};

/// Splits off intervals at `at`: phase 0 gets the time before it, phase 1 the time after; a
/// wake-up belongs to the phase in which its interval ends.
void split_gated(const std::vector<GatedInterval>& intervals, Ps at, GatedTime out[2]);

/// The off intervals of one unit (a tile), in time order, in a few bytes each instead of a
/// GatedInterval's 24: each as two LEB128 varints, its distance from the previous one's end and
/// its length. Once the phase split is known (stream_from), an interval that begins after it
/// keeps its length only, all that the phase sums (add_split at the split) and the unit's
/// statistics read: it is visited as beginning at the split. Only the last interval may end
/// without a wake-up (the run's close).
class GatedLog {
 public:
  /// Records [begin, end): begin no earlier than the previous interval's end, end later than
  /// begin (else throws std::logic_error).
  void add(Ps begin, Ps end, bool woke) {
    if (end <= begin || begin < prev_end_) throw_disordered();
    if (streaming_ && begin >= split_at_) {
      put(static_cast<uint64_t>(end - begin));
    } else {
      put(static_cast<uint64_t>(begin - prev_end_));
      put(static_cast<uint64_t>(end - begin));
      raw_bytes_ = bytes_.size();
    }
    prev_end_ = end;
    ++count_;
    last_woke_ = woke;
  }
  /// Intervals recorded.
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// Bytes held for them.
  size_t bytes() const { return bytes_.size(); }
  /// The phase split is `at`: every later interval that begins at or after it keeps only its
  /// length. Call once.
  void stream_from(Ps at);
  bool streaming() const { return streaming_; }
  Ps split_at() const { return split_at_; }
  /// Visits every interval in the order recorded, as f(const GatedInterval&); one that keeps
  /// its length only begins at the split.
  template <typename F>
  void visit(F&& f) const;
  /// Every interval (visit's), as a vector.
  std::vector<GatedInterval> intervals() const;
  /// Cache hint (no effect on results): where the next interval will be written.
  void prefetch_tail() const {
    if (bytes_.size() < bytes_.capacity()) __builtin_prefetch(bytes_.data() + bytes_.size(), 1);
  }

 private:
  [[noreturn]] static void throw_disordered();
  void put(uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<uint8_t>(v));
  }
  static uint64_t get(const uint8_t** p) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = *(*p)++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  }

  std::vector<uint8_t> bytes_;
  size_t raw_bytes_ = 0;  // the intervals before here keep their distance and length
  size_t count_ = 0;
  Ps prev_end_ = 0;
  Ps split_at_ = 0;
  bool streaming_ = false;
  bool last_woke_ = true;
};

template <typename F>
void GatedLog::visit(F&& f) const {
  const uint8_t* p = bytes_.data();
  const uint8_t* const raw_end = p + raw_bytes_;
  const uint8_t* const end = p + bytes_.size();
  size_t left = count_;
  Ps prev = 0;
  while (p < raw_end) {
    const Ps begin = prev + static_cast<Ps>(get(&p));
    prev = begin + static_cast<Ps>(get(&p));
    f(GatedInterval{begin, prev, --left > 0 || last_woke_, 0});
  }
  while (p < end) {
    const Ps length = static_cast<Ps>(get(&p));
    f(GatedInterval{split_at_, split_at_ + length, --left > 0 || last_woke_, 0});
  }
}

}  // namespace aimc::arch

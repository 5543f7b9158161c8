// Power gating of a group of identical units: off intervals and wake-ups.
#include "arch/power_gating.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace aimc::arch {

GatedUnits::GatedUnits(const GatingSpec& spec, int units)
    : spec_(spec), last_end_(spec.enabled ? std::max(0, units) : 0, 0) {}

void GatedUnits::close(Ps end) {
  if (!spec_.enabled) return;
  for (size_t u = 0; u < last_end_.size(); ++u) {
    Ps& last = last_end_[u];
    if (end - last > spec_.gate_after_ps)
      record({last + spec_.gate_after_ps, end, false, static_cast<int>(u)});
    last = std::max(last, end);
  }
}

double GatedUnits::wake_ups() const {
  double n = wakes_;
  for (size_t i = first_; i < intervals_.size(); ++i) n += intervals_[i].woke ? 1 : 0;
  return n;
}

double GatedUnits::off_ps() const {
  double s = off_sum_ps_;
  for (size_t i = first_; i < intervals_.size(); ++i)
    s += static_cast<double>(intervals_[i].end - intervals_[i].begin);
  return s;
}

void GatedUnits::check_split(Ps at) const {
  if (streaming_ ? at != split_at_ : at < folded_end_)
    throw std::logic_error("power gating: off intervals were summed for another phase split");
}

void GatedUnits::fold_until(Ps bound) {
  if (streaming_) return;
  // Wholly before the split: the split's place does not matter (the time after it adds 0).
  constexpr Ps kNever = std::numeric_limits<Ps>::max();
  const size_t n = intervals_.size();
  while (first_ < n && intervals_[first_].end <= bound) {
    const GatedInterval& g = intervals_[first_++];
    fold(g, kNever);
    folded_end_ = std::max(folded_end_, g.end);
  }
  // Drop the summed ones once they are most of the vector (amortized: each moves at most once).
  if (first_ > 4096 && 2 * first_ > n) {
    intervals_.erase(intervals_.begin(), intervals_.begin() + static_cast<ptrdiff_t>(first_));
    first_ = 0;
  }
}

void GatedUnits::stream_from(Ps at) {
  if (streaming_) throw std::logic_error("power gating: the phase split is given twice");
  check_split(at);
  streaming_ = true;
  split_at_ = at;
  for (size_t i = first_; i < intervals_.size(); ++i) fold(intervals_[i], at);
  std::vector<GatedInterval>().swap(intervals_);
  first_ = 0;
}

void GatedUnits::split(Ps at, GatedTime out[2]) const {
  if (!streaming_ && folded_end_ < 0) {
    split_gated(intervals_, at, out);
    return;
  }
  check_split(at);
  for (int p = 0; p < 2; ++p) {
    out[p].off_s += phase_[p].off_s;
    out[p].wake_ups += phase_[p].wake_ups;
  }
  for (size_t i = first_; i < intervals_.size(); ++i) add_split(intervals_[i], at, out);
}

void GatedLog::throw_disordered() {
  throw std::logic_error("power gating: an off interval that is empty or not after the last");
}

void GatedLog::stream_from(Ps at) {
  if (streaming_) throw std::logic_error("power gating: the phase split is given twice");
  streaming_ = true;
  split_at_ = at;
}

std::vector<GatedInterval> GatedLog::intervals() const {
  std::vector<GatedInterval> all;
  all.reserve(count_);
  visit([&](const GatedInterval& g) { all.push_back(g); });
  return all;
}

void split_gated(const std::vector<GatedInterval>& intervals, Ps at, GatedTime out[2]) {
  for (const GatedInterval& g : intervals) add_split(g, at, out);
}

}  // namespace aimc::arch

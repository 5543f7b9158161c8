// Power gating of a group of identical units: off intervals and wake-ups.
#include "arch/power_gating.h"

#include <algorithm>
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
  if (streaming_) return wakes_;
  double n = 0;
  for (const GatedInterval& g : intervals_) n += g.woke ? 1 : 0;
  return n;
}

double GatedUnits::off_ps() const {
  if (streaming_) return off_sum_ps_;
  double s = 0;
  for (const GatedInterval& g : intervals_) s += static_cast<double>(g.end - g.begin);
  return s;
}

void GatedUnits::stream_from(Ps at) {
  if (streaming_) throw std::logic_error("power gating: the phase split is given twice");
  streaming_ = true;
  split_at_ = at;
  for (const GatedInterval& g : intervals_) fold(g);
  std::vector<GatedInterval>().swap(intervals_);
}

void GatedUnits::split(Ps at, GatedTime out[2]) const {
  if (!streaming_) {
    split_gated(intervals_, at, out);
    return;
  }
  if (at != split_at_)
    throw std::logic_error("power gating: off intervals were summed for another phase split");
  for (int p = 0; p < 2; ++p) {
    out[p].off_s += phase_[p].off_s;
    out[p].wake_ups += phase_[p].wake_ups;
  }
}

void split_gated(const std::vector<GatedInterval>& intervals, Ps at, GatedTime out[2]) {
  for (const GatedInterval& g : intervals) add_split(g, at, out);
}

}  // namespace aimc::arch

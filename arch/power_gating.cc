// Power gating of a group of identical units: off intervals and wake-ups.
#include "arch/power_gating.h"

#include <algorithm>

namespace aimc::arch {

GatedUnits::GatedUnits(const GatingSpec& spec, int units)
    : spec_(spec), last_end_(spec.enabled ? std::max(0, units) : 0, 0) {}

void GatedUnits::close(Ps end) {
  if (!spec_.enabled) return;
  for (size_t u = 0; u < last_end_.size(); ++u) {
    Ps& last = last_end_[u];
    if (end - last > spec_.gate_after_ps)
      intervals_.push_back({last + spec_.gate_after_ps, end, false, static_cast<int>(u)});
    last = std::max(last, end);
  }
}

double GatedUnits::wake_ups() const {
  double n = 0;
  for (const GatedInterval& g : intervals_) n += g.woke ? 1 : 0;
  return n;
}

double GatedUnits::off_ps() const {
  double s = 0;
  for (const GatedInterval& g : intervals_) s += static_cast<double>(g.end - g.begin);
  return s;
}

void split_gated(const std::vector<GatedInterval>& intervals, Ps at, GatedTime out[2]) {
  for (const GatedInterval& g : intervals) {
    out[0].off_s += static_cast<double>(std::max<Ps>(0, std::min(g.end, at) - g.begin)) * 1e-12;
    out[1].off_s += static_cast<double>(std::max<Ps>(0, g.end - std::max(g.begin, at))) * 1e-12;
    if (g.woke) out[g.end <= at ? 0 : 1].wake_ups += 1;
  }
}

}  // namespace aimc::arch

// Crossbar tile: integration phases, sample-and-hold slots and hand-off to the ADC bank.
#include "arch/sc_tile.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace aimc::arch {

ScTile::ScTile(sc_core::sc_module_name name, const TileSpec& spec, ScAdcBank* bank)
    : ScComponent(name), spec_(spec), bank_(bank) {}

const ComponentTraits& ScTile::traits() {
  static const ComponentTraits kTraits{
      {{"reads", "count", 1},
       {"busy", "ns", 1e-3},
       {"wake_ups", "count", 1},
       {"gated", "ns", 1e-3}},
      {"dac_drives", "cell_reads", "tile_post_ops", "digital_tile_macs", "sram_bits"},
      "tile"};
  return kTraits;
}

std::vector<double> ScTile::stat_values() const {
  double wakes = 0, off_ps = 0;
  visit_gated([&](const GatedInterval& g) {
    wakes += g.woke ? 1 : 0;
    off_ps += static_cast<double>(g.end - g.begin);
  });
  return {reads_, busy_ps_, wakes, off_ps};
}

void ScTile::split_gated(Ps at, GatedTime out[2]) const {
  if (gated_.streaming() && at != gated_.split_at())
    throw std::logic_error(std::string(name()) +
                           ": off intervals were kept for another phase split");
  visit_gated([&](const GatedInterval& g) { add_split(g, at, out); });
}

void ScTile::replay_schedule(const std::vector<std::pair<Ps, Ps>>* replays, Ps begin, Ps end,
                             Ps last_end) {
  if (schedule_) throw std::logic_error(std::string(name()) + ": a second replayed schedule");
  replayed_ = true;
  schedule_ = std::make_unique<Schedule>(Schedule{replays, begin, end, last_end_, gated_.size()});
  last_end_ = std::max(last_end_, last_end);
}

void ScTile::prefetch(bool bank) const {
  if (bank) {
    if (bank_) bank_->prefetch();
    return;
  }
  __builtin_prefetch(&busy_ps_, 1);
  __builtin_prefetch(&spec_);
  __builtin_prefetch(&integrator_free_, 1);
  __builtin_prefetch(&last_end_, 1);
}

Ps ScTile::wake(Ps begin) {
  if (!spec_.gating || begin - last_end_ <= spec_.gate_after_ps) return begin;
  gated_.add(last_end_ + spec_.gate_after_ps, begin, true);
  return begin + spec_.wake_up_ps;
}

void ScTile::close(Ps end) {
  if (spec_.gating && end - last_end_ > spec_.gate_after_ps)
    gated_.add(last_end_ + spec_.gate_after_ps, end, false);
  last_end_ = std::max(last_end_, end);
}

bool ScTile::replay_use(Ps begin, Ps end) {
  replayed_ = true;
  const size_t before = gated_.size();
  wake(begin);
  const bool woke = gated_.size() != before;
  last_end_ = std::max(last_end_, end);
  return woke;
}

Ps ScTile::read(Ps ready, int rows, int cols, ActionCounts* counts) {
  reads_ += 1;
  if (counts) {
    // The input codes are written into and read out of the input buffer; the partial outputs
    // likewise through the output buffer.
    counts->sram_bits += 2.0 * rows * spec_.dac_bits + 2.0 * cols * spec_.out_bits;
  }
  if (!spec_.analog) {
    const Ps begin = wake(std::max(ready, integrator_free_));
    const double macs = static_cast<double>(rows) * cols;
    const Ps compute = cycles_to_ps(std::ceil(macs / spec_.macs_per_cycle), spec_.cycle_ps);
    integrator_free_ = begin + compute;
    busy_ps_ += static_cast<double>(compute);
    if (counts) counts->digital_tile_macs += macs;
    const Ps end = begin + compute + spec_.t_pipeline_ps;
    last_end_ = std::max(last_end_, end);
    span("mac", begin, end);
    return end;
  }
  const int n = spec_.integrations;
  Ps t = wake(std::max(ready, integrator_free_));
  const Ps begin = t;
  t += spec_.t_overhead_ps;
  Ps last_conv_end = 0;
  for (int i = 0; i < n; ++i) {
    int& s = next_slot_;
    const Ps int_start = std::max(t, slot_free_[s]);
    const Ps int_end = int_start + spec_.t_integration_ps;
    Ps conv_start = 0;
    const Ps conv_end = bank_->convert(int_end, cols, counts, &conv_start);
    slot_free_[s] = conv_end;
    if (spec_.double_buffered) {
      s ^= 1;
      t = int_end;  // the next integration fills the other slot
    } else {
      t = conv_end;  // one slot: wait until the sample has been converted
    }
    last_conv_end = conv_end;
  }
  integrator_free_ = t;
  busy_ps_ += static_cast<double>(t - begin);
  if (counts) {
    counts->dac_drives += static_cast<double>(rows) * n;
    counts->cell_reads += static_cast<double>(rows) * cols * n;
    counts->tile_post_ops += cols;
    if (spec_.shift_add) counts->shift_adds += static_cast<double>(cols) * n;
  }
  const Ps end = last_conv_end + spec_.t_post_ps;
  last_end_ = std::max(last_end_, end);
  span("read", begin, end);
  return end;
}

Ps ScTile::unloaded_latency(const TileSpec& s, const AdcBankSpec& b, int cols) {
  if (!s.analog) return 0;  // digital tiles: see read(); not used by the closed-form checks
  const Ps rounds = (cols + b.adcs_per_group - 1) / b.adcs_per_group;
  const Ps conv = rounds * b.t_conversion_ps;
  const Ps n = s.integrations;
  if (!s.double_buffered) return s.t_overhead_ps + n * (s.t_integration_ps + conv) + s.t_post_ps;
  // Double-buffered: integrations run back to back and the ADC converts each sample after the
  // later of its integration end and the previous conversion end.
  return s.t_overhead_ps + s.t_integration_ps + (n - 1) * std::max(s.t_integration_ps, conv) +
         conv + s.t_post_ps;
}

Ps ScTile::steady_interval(const TileSpec& s, const AdcBankSpec& b, int cols) {
  const Ps rounds = (cols + b.adcs_per_group - 1) / b.adcs_per_group;
  const Ps conv = rounds * b.t_conversion_ps;
  const Ps n = s.integrations;
  if (!s.double_buffered) return s.t_overhead_ps + n * (s.t_integration_ps + conv);
  return std::max(s.t_overhead_ps + n * s.t_integration_ps, n * conv);
}

}  // namespace aimc::arch

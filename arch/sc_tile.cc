// Crossbar tile: integration phases, sample-and-hold slots and hand-off to the ADC bank.
#include "arch/sc_tile.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace aimc::arch {

ScTile::ScTile(std::string name, const TileSpec& spec, ScAdcBank* bank, TileState* slot)
    : name_(std::move(name)),
      spec_(spec),
      bank_(bank),
      own_(slot ? nullptr : std::make_unique<TileState>()),
      state_(slot ? slot : own_.get()) {}

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
  return {state_->reads, state_->busy_ps, wakes, off_ps};
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
  schedule_ =
      std::make_unique<Schedule>(Schedule{replays, begin, end, state_->last_end, gated_.size()});
  state_->last_end = std::max(state_->last_end, last_end);
}

void ScTile::prefetch(bool bank) const {
  if (bank) {
    if (bank_) bank_->prefetch();
    return;
  }
  __builtin_prefetch(&spec_);
  __builtin_prefetch(state_, 1);
}

Ps ScTile::wake(Ps begin) {
  return wake_on(spec_, *state_, begin, [this]() -> GatedLog& { return gated_; });
}

void ScTile::close(Ps end) {
  const Ps last_end = state_->last_end;
  if (spec_.gating && end - last_end > spec_.gate_after_ps)
    gated_.add(last_end + spec_.gate_after_ps, end, false);
  state_->last_end = std::max(last_end, end);
}

bool ScTile::replay_use(Ps begin, Ps end) {
  replayed_ = true;
  const size_t before = gated_.size();
  wake(begin);
  const bool woke = gated_.size() != before;
  state_->last_end = std::max(state_->last_end, end);
  return woke;
}

Ps ScTile::read(Ps ready, int rows, int cols, ActionCounts* counts) {
  Ps begin = 0;
  const Ps end = read_on(
      spec_, *state_, ready, rows, cols, counts, &begin, [this](Ps b) { return wake(b); },
      [this](Ps r, int c, ActionCounts* k, Ps* s) { return bank_->convert(r, c, k, s); });
  span(spec_.analog ? "read" : "mac", begin, end);
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

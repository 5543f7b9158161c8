// A chip's tiles and ADC banks as one SystemC component each, their units made on demand.
#include "arch/sc_tile_group.h"

#include <algorithm>
#include <stdexcept>

namespace aimc::arch {

ScAdcBankGroup::ScAdcBankGroup(sc_core::sc_module_name name, const std::string& scope,
                               const AdcBankSpec& spec, int banks, TileArray* array)
    : ScComponent(name), scope_(scope), spec_(spec), array_(array), banks_(banks) {}

ScAdcBank& ScAdcBankGroup::bank(int b) {
  if (!banks_[b]) {
    banks_[b] =
        std::make_unique<ScAdcBank>(scope_ + instance_basename(b), spec_, array_->bank_slot(b));
    array_->set_bank(b, banks_[b].get());
  }
  return *banks_[b];
}

void ScAdcBankGroup::make_all() {
  for (int b = 0; b < count(); ++b) bank(b);
}

void ScAdcBankGroup::close(Ps end, Ps split, GatedTime out[2]) {
  // A bank not made has no power gating: nothing to close, no off interval.
  for (const auto& bank : banks_) {
    if (!bank) continue;
    bank->close(end);
    split_gated(bank->gated(), split, out);
  }
}

void ScAdcBankGroup::set_trace(SpanSink* sink) {
  if (sink) make_all();
  for (const auto& bank : banks_)
    if (bank) bank->set_trace(sink);
}

double ScAdcBankGroup::busy_ps() const {
  double busy = 0;
  for (int b = 0; b < count(); ++b) busy += instance_busy_ps(b);
  return busy;
}

void ScAdcBankGroup::add_busy(double) {
  throw std::logic_error(std::string(name()) + ": busy time goes to one bank (add_instance_busy)");
}

std::vector<double> ScAdcBankGroup::stat_values() const {
  std::vector<double> sums(3, 0);
  for (int b = 0; b < count(); ++b) {
    sums[0] += array_->bank_slot(b)->conversions;
    if (!banks_[b]) continue;  // not made: never gated
    sums[1] += banks_[b]->gate().wake_ups();
    sums[2] += banks_[b]->gate().off_ps();
  }
  return sums;
}

ScTileGroup::ScTileGroup(sc_core::sc_module_name name, const std::string& scope,
                         const TileSpec& spec, int tiles, TileArray* array)
    : ScComponent(name), scope_(scope), spec_(spec), array_(array), tiles_(tiles) {}

void ScTileGroup::bind(ScAdcBankGroup* banks, int tiles_per_bank) {
  banks_ = banks;
  per_bank_ = std::max(1, tiles_per_bank);
  for (int i = 0; i < count(); ++i)
    if (tiles_[i]) tiles_[i]->bind(&banks_->bank(i / per_bank_));
  // The fast path (TileArray::read) keeps power gating in the units' objects, and a bank of
  // several groups keeps their free times there.
  if (spec_.gating || banks->spec().gating.enabled || banks->spec().groups > 1) {
    banks->make_all();
    make_all();
  }
}

ScTile& ScTileGroup::tile(int i) {
  if (!tiles_[i]) {
    ScAdcBank* bank = banks_ ? &banks_->bank(i / per_bank_) : nullptr;
    tiles_[i] =
        std::make_unique<ScTile>(scope_ + instance_basename(i), spec_, bank, array_->tile_slot(i));
    array_->set_tile(i, tiles_[i].get());
  }
  return *tiles_[i];
}

void ScTileGroup::make_all() {
  for (int i = 0; i < count(); ++i) tile(i);
}

double ScTileGroup::reads() const {
  double r = 0;
  for (int i = 0; i < count(); ++i) r += array_->tile_slot(i)->reads;
  return r;
}

void ScTileGroup::stream_gating(Ps at) {
  // A tile not made has no power gating (ScTile::stream_gating does nothing).
  for (const auto& tile : tiles_)
    if (tile) tile->stream_gating(at);
}

void ScTileGroup::close(Ps end, Ps split, GatedTime out[2]) {
  for (int i = 0; i < count(); ++i) {
    TileState& state = *array_->tile_slot(i);
    const ScTile* made = tiles_[i].get();
    // A tile neither read nor replayed (memo_parts) holds no weights:
    // energy.p_tile_gated_leak_fraction
    if (state.reads == 0 && !(made && made->replayed())) continue;
    if (made) {
      tiles_[i]->close(end);
      made->split_gated(split, out);
    } else {
      state.last_end = std::max(state.last_end, end);  // ScTile::close without power gating
    }
  }
}

void ScTileGroup::set_trace(SpanSink* sink) {
  if (sink) make_all();
  for (const auto& tile : tiles_)
    if (tile) tile->set_trace(sink);
}

double ScTileGroup::busy_ps() const {
  double busy = 0;
  for (int i = 0; i < count(); ++i) busy += instance_busy_ps(i);
  return busy;
}

void ScTileGroup::add_busy(double) {
  throw std::logic_error(std::string(name()) + ": busy time goes to one tile (add_instance_busy)");
}

std::vector<double> ScTileGroup::stat_values() const {
  std::vector<double> sums(4, 0);
  for (int i = 0; i < count(); ++i) {
    const TileState& state = *array_->tile_slot(i);
    sums[0] += state.reads;
    sums[1] += state.busy_ps;
    if (!tiles_[i]) continue;                                  // not made: never gated
    const std::vector<double> own = tiles_[i]->stat_values();  // the same sums, tile by tile
    sums[2] += own[2];
    sums[3] += own[3];
  }
  return sums;
}

}  // namespace aimc::arch

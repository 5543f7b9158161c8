// The state arrays of a chip's tiles and ADC banks.
#include "arch/sc_tile_array.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "arch/snapshot_pool.h"

namespace aimc::arch {

void TileArray::init_tiles(const TileSpec& spec, int tiles) {
  if (!tiles_.empty()) throw std::logic_error("TileArray: tiles initialised twice");
  tile_spec_ = spec;
  tiles_.assign(tiles, TileState{});
  tile_of_.assign(tiles, nullptr);
}

void TileArray::init_banks(const AdcBankSpec& spec, int banks, int tiles_per_bank) {
  if (!banks_.empty()) throw std::logic_error("TileArray: banks initialised twice");
  bank_spec_ = spec;
  per_ = static_cast<size_t>(tiles_per_bank < 1 ? 1 : tiles_per_bank);
  banks_.assign(banks, AdcBankState{});
  bank_of_.assign(banks, nullptr);
  bank_per_ = std::max(1, spec.adcs_per_group);
  plain_ = tile_spec_.analog && !tile_spec_.gating && spec.groups == 1 && !spec.gating.enabled;
}

}  // namespace aimc::arch

namespace aimc::arch {
namespace {
// Whether `x` is a whole number that doubles add exactly (|x| < 2^53).
bool whole(double x) {
  return std::floor(x) == x && std::fabs(x) < 9007199254740992.0;
}
}  // namespace

bool TileArray::add_plain_counts(const ReadSums& s, ActionCounts* c) const {
  const TileSpec& spec = tile_spec_;
  const long long n = spec.integrations;
  // read_plain()'s terms, each a whole number, summed over the reads.
  const double sram = static_cast<double>(2 * s.rows * spec.dac_bits + 2 * s.cols * spec.out_bits);
  const double conversions = static_cast<double>(n * s.cols);
  const double drives = static_cast<double>(s.rows * n);
  const double cells = static_cast<double>(s.cells * n);
  const double posts = static_cast<double>(s.cols);
  auto fits = [](double x, double add) { return whole(x) && x >= 0 && whole(x + add); };
  if (!fits(c->sram_bits, sram) || !fits(c->adc_conversions, conversions) ||
      !fits(c->dac_drives, drives) || !fits(c->cell_reads, cells) ||
      !fits(c->tile_post_ops, posts) || (spec.shift_add && !fits(c->shift_adds, conversions)))
    return false;
  c->sram_bits += sram;
  c->adc_conversions += conversions;
  c->dac_drives += drives;
  c->cell_reads += cells;
  c->tile_post_ops += posts;
  if (spec.shift_add) c->shift_adds += conversions;
  return true;
}

void TileArray::capture_begin() {
  if (capturing_) throw std::logic_error("TileArray: capture_begin twice");
  capturing_ = true;
  take_snapshot(tiles_, &cap_tiles_);
  take_snapshot(banks_, &cap_banks_);
  capture_floor_ = horizon();
  horizon_ = kNoTime;
}

bool TileArray::capture_end(Ps t0, TileDelta* d) {
  if (!capturing_) throw std::logic_error("TileArray: capture_end without capture_begin");
  capturing_ = false;
  const Ps floor = capture_floor_, group = horizon_;
  horizon_ = std::max(horizon_, capture_floor_);
  capture_floor_ = kNoTime;
  *d = TileDelta{};
  // The entries gather in scratch shared by every array of the thread, then go to `d` at their
  // exact size: a record is kept for the run, and grown in place it would leave up to half its
  // room unused.
  static thread_local TileDelta scratch;
  scratch.tiles.clear();
  scratch.banks.clear();
  const bool ok =
      replayable() && floor <= t0 && diff_tiles(t0, &scratch) && diff_banks(t0, &scratch);
  release_snapshot(&cap_tiles_);
  release_snapshot(&cap_banks_);
  if (!ok) return false;
  d->tiles.assign(scratch.tiles.begin(), scratch.tiles.end());
  d->banks.assign(scratch.banks.begin(), scratch.banks.end());
  d->has_horizon = group != kNoTime;
  d->horizon = d->has_horizon ? group - t0 : 0;
  return true;
}

bool TileArray::diff_tiles(Ps t0, TileDelta* d) {
  bank_mark_.assign(banks_.size(), 0);
  const TileSpec& spec = tile_spec_;
  for (size_t i = 0; i < tiles_.size(); ++i) {
    const TileState& now = tiles_[i];
    const TileState& was = cap_tiles_[i];
    if (now.reads == was.reads && now.integrator_free == was.integrator_free &&
        now.slot_free[0] == was.slot_free[0] && now.slot_free[1] == was.slot_free[1] &&
        now.last_end == was.last_end && now.busy_ps == was.busy_ps &&
        now.next_slot == was.next_slot)
      continue;
    TileDelta::Tile e;
    e.tile = static_cast<int>(i);
    e.parity = was.next_slot;
    e.next_slot = now.next_slot;
    e.reads = now.reads - was.reads;
    e.busy_ps = now.busy_ps - was.busy_ps;
    // The slots written: every integration writes the slot of the parity it finds (all of the
    // first's when single-buffered), and one that differs was written.
    if (spec.analog && e.reads > 0) {
      const double integrations = e.reads * spec.integrations;
      e.slots = spec.double_buffered && integrations >= 2 ? 3 : 1 << was.next_slot;
    }
    for (int s = 0; s < 2; ++s)
      if (now.slot_free[s] != was.slot_free[s]) e.slots |= 1 << s;
    for (int s = 0; s < 2; ++s) {
      if (!(e.slots >> s & 1)) continue;
      if (now.slot_free[s] < t0) return false;
      e.slot_free[s] = now.slot_free[s] - t0;
    }
    if (now.integrator_free < t0 || now.last_end < t0) return false;
    e.integrator_free = now.integrator_free - t0;
    e.last_end = now.last_end - t0;
    for (double x : {now.reads, now.busy_ps, e.reads, e.busy_ps})
      if (!whole(x)) return false;
    d->tiles.push_back(e);
    // An analog read converts on its bank (even no columns: the group's free time moves).
    if (spec.analog) bank_mark_[bank_index(static_cast<int>(i))] = 1;
  }
  return true;
}

bool TileArray::diff_banks(Ps t0, TileDelta* d) {
  for (size_t b = 0; b < banks_.size(); ++b) {
    const AdcBankState& now = banks_[b];
    const AdcBankState& was = cap_banks_[b];
    if (!bank_mark_[b] && now.group_free == was.group_free && now.busy_ps == was.busy_ps &&
        now.conversions == was.conversions)
      continue;
    if (now.group_free < t0) return false;
    TileDelta::Bank e;
    e.bank = static_cast<int>(b);
    e.group_free = now.group_free - t0;
    e.busy_ps = now.busy_ps - was.busy_ps;
    e.conversions = now.conversions - was.conversions;
    for (double x : {now.busy_ps, now.conversions, e.busy_ps, e.conversions})
      if (!whole(x)) return false;
    d->banks.push_back(e);
  }
  return true;
}

void TileArray::apply(const TileDelta& d, Ps t) {
  if (horizon() > t)
    throw std::logic_error("TileArray: apply at " + std::to_string(t) +
                           " before the tiles are quiet (horizon " + std::to_string(horizon()) +
                           ")");
  if (capturing_) throw std::logic_error("TileArray: apply while capturing");
  if (!replayable()) throw std::logic_error("TileArray: apply to an array reads cannot replay");
  for (const TileDelta::Tile& e : d.tiles) {
    TileState& s = tiles_[e.tile];
    // The other parity: the group's slot s is this tile's slot s ^ 1.
    const int flip = s.next_slot ^ e.parity;
    for (int k = 0; k < 2; ++k)
      if (e.slots >> k & 1) s.slot_free[k ^ flip] = t + e.slot_free[k];
    s.next_slot = e.next_slot ^ flip;
    s.integrator_free = t + e.integrator_free;
    s.last_end = std::max(s.last_end, t + e.last_end);
    s.reads += e.reads;
    s.busy_ps += e.busy_ps;
  }
  for (const TileDelta::Bank& e : d.banks) {
    AdcBankState& b = banks_[e.bank];
    b.group_free = t + e.group_free;
    b.busy_ps += e.busy_ps;
    b.conversions += e.conversions;
  }
  if (d.has_horizon) horizon_ = std::max(horizon_, t + d.horizon);
}

}  // namespace aimc::arch

// The memo of layer parts (memo_parts): each part replica's first read simulated on a scratch
// copy of its chip, its replays, and with power gating the replays' use of the gated units.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "sim/chip/chip_specs.h"
#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

// The memo replays each part replica as a pipeline of its own, so it holds only when no other
// part replica reads its tiles (every plan without mapping.allow_tile_sharing). A part replica
// that shares a tile with another is read in full every time, as without the memo: their reads
// then queue at the tile as in the detailed run. Also finds whether any tile is read twice at all
// (tiles_read_once_: then the memos keep their tiles' gating state themselves).
void Controller::mark_shared_tiles() {
  std::vector<size_t> first(layout_.chips.size() + 1, 0);  // per chip, its first tile's slot
  for (size_t c = 0; c < layout_.chips.size(); ++c)
    first[c + 1] = first[c] + static_cast<size_t>(layout_.chips[c]->tile_count());
  std::vector<int> reader(first.back(), -1);  // per tile, the memo of the first replica reading it
  for (const Layer& l : layers_)
    for (const Part& p : l.parts)
      for (size_t r = 0; r < p.replicas.size(); ++r) {
        const int memo = p.memo + static_cast<int>(r);
        for (const RowGroup& g : p.replicas[r])
          for (int t : g.tiles) {
            int& seen = reader[first[p.chip] + static_cast<size_t>(t)];
            if (seen >= 0) tiles_read_once_ = false;
            if (seen >= 0 && seen != memo) {
              memos_[seen].shared_tiles = true;
              memos_[memo].shared_tiles = true;
            }
            if (seen < 0) seen = memo;
          }
      }
}

// memo_parts: a part's read is simulated once on a scratch copy of its chip, every resource
// idle (its unloaded latency to the last partial output, its counts, each component's busy
// time), and every read of the part replays it: a pipeline that accepts a read every steady
// tile interval. The busy time is credited to the real chip's components.
Ps Controller::replay_part(const Part& p, int replica, int src_node, Ps ready, int out_node,
                           arch::ActionCounts* c, Then then) {
  PartMemo& m = memos_[p.memo + replica];
  if (!m.valid) calibrate(p, replica, src_node, out_node, &m);
  // The mesh ports of the source (inputs leaving) and of the DPU (partial outputs arriving) are
  // shared with other layers: a read's stream through each waits for the one before. The
  // stream into the DPU is issued when its first output arrives there (first come, first
  // served in time order).
  // The inputs wait at the tiles while these are busy with earlier reads (as in the detailed
  // read): the input stream takes the port when it is ready, the read starts when the part's
  // pipeline accepts it.
  Ps& in_port = in_port_free_[p.chip][src_node];
  const Ps in_start = std::max(ready, in_port);
  in_port = in_start + m.in_span;
  const Ps start = std::max(in_start, m.free);
  m.free = start + m.interval;
  const Ps woken = m.units() == 0 ? 0 : m.replay_gating(start);
  *c += m.counts;
  ++m.pending;  // busy time credited in settle_memos()
  memo_reads_ += m.reads;
  // The port carries the stream's flits (out_occ), interleaved with other streams: the last
  // output arrives no earlier than the read alone would bring it, nor than the port can pass it.
  const int chip = p.chip;
  const Ps out_span = m.latency - m.first_out, occ = m.out_occ;
  return at(start + woken + m.first_out, [this, chip, out_node, out_span, occ, then](Ps first) {
    Ps& out_port = out_port_free_[chip][out_node];
    out_port = std::max(first, out_port) + occ;
    return then(std::max(first + out_span, out_port));
  });
}

// Power gating with memo_parts (an approximation): each gated unit the part's read uses (tile,
// ADC bank, router) is used from its offset in the calibrated read, so its off intervals and
// wake-ups follow the replays as they would follow the reads. The wake-ups delay the read by
// the cold read's extra latency times the share of its units found off (the units on the
// critical path are not singled out).
Ps PartMemo::replay_gating(Ps start) {
  // The units' state is scattered over memory: each is asked for a few uses ahead (cache hints
  // only), and the second pass finds it in the cache.
  constexpr size_t kAhead = 16;
  const size_t n = uses.size();
  const UnitUse* use = uses.data();
  for (size_t i = 0; i < std::min(n, kAhead); ++i)
    use[i].tile ? use[i].tile->prefetch_gating(false) : use[i].units->prefetch(use[i].unit);
  size_t asleep = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const UnitUse& a = use[i + kAhead];
      a.tile ? a.tile->prefetch_gating(false) : a.units->prefetch(a.unit);
    }
    const UnitUse& u = use[i];
    if (u.tile) {
      if (u.tile->asleep(start + u.begin)) {
        ++asleep;
        u.tile->prefetch_gating(true);
      }
    } else {
      asleep += u.units->asleep(u.unit, start + u.begin) ? 1 : 0;
    }
  }
  const size_t own = own_tiles.size();
  for (size_t i = 0; i < own; ++i) {
    if (start + own_begin[i] - own_last[i] > own_gate_after_ps) ++asleep;
  }
  const Ps delay =
      asleep == 0 ? 0
                  : static_cast<Ps>(static_cast<double>(cold_extra) * static_cast<double>(asleep) /
                                        static_cast<double>(n + own) +
                                    0.5);
  if (own > 0) {
    for (size_t i = 0; i < own; ++i)
      own_last[i] = std::max(own_last[i], start + own_end[i] + delay);
    replays.push_back({start, delay});
  }
  for (size_t i = 0; i < n; ++i) {
    const UnitUse& u = use[i];
    if (u.tile) {
      u.tile->replay_use(start + u.begin, start + u.end + delay);
    } else {
      u.units->wake(u.unit, start + u.begin);
      u.units->busy_until(u.unit, start + u.end + delay);
    }
  }
  return delay;
}

void PartMemo::settle_gating() {
  if (replays.empty()) return;
  for (size_t i = 0; i < own_tiles.size(); ++i)
    own_tiles[i]->replay_schedule(&replays, own_begin[i], own_end[i], own_last[i]);
}

void Controller::settle_gating() {
  for (PartMemo& m : memos_) m.settle_gating();
}

void Controller::record_uses(const Part& p, int replica, Chip& scratch, Ps at,
                             size_t routers_before, const std::vector<size_t>& banks_before,
                             PartMemo* m) {
  Chip& real = *layout_.chips[p.chip];
  const proto::PowerGatingConfig& g = real.config().power_gating();
  std::map<std::pair<const void*, int>, size_t> index;  // (group or tile, unit) -> uses
  auto use = [&](arch::ScTile* tile, arch::GatedUnits* units, int unit, Ps begin, Ps end) {
    const void* key = tile ? static_cast<const void*>(tile) : static_cast<const void*>(units);
    auto it = index.find({key, unit});
    if (it == index.end()) {
      index[{key, unit}] = m->uses.size();
      m->uses.push_back({tile, units, unit, begin - at, end - at});
      return;
    }
    UnitUse& u = m->uses[it->second];
    u.begin = std::min(u.begin, begin - at);
    u.end = std::max(u.end, end - at);
  };
  // Tiles: from each read's input to its partial outputs (read_part's record of the read).
  if (g.tile().enabled())
    for (const TileRead& r : ln().reads_) use(&real.tile(r.tile), nullptr, 0, r.in, r.out);
  // Tiles read by this part replica only (the usual mapping) keep their state in the memo.
  if (tiles_read_once_ && g.tile().enabled()) {
    std::vector<UnitUse> kept;
    for (const UnitUse& u : m->uses) {
      if (!u.tile || !u.tile->spec().gating) {
        kept.push_back(u);
        continue;
      }
      m->own_tiles.push_back(u.tile);
      m->own_begin.push_back(u.begin);
      m->own_end.push_back(u.end);
      m->own_last.push_back(u.tile->last_end());
      m->own_gate_after_ps = u.tile->spec().gate_after_ps;
    }
    m->uses = std::move(kept);
  }
  // ADC banks and routers: the first off interval recorded since the read began ends at a
  // unit's first use (the watch copy gates at once), its last use ends at last_end().
  if (g.adc_bank().enabled()) {
    size_t k = 0;
    for (const RowGroup& rg : p.replicas[replica])
      for (int t : rg.tiles) {
        arch::ScAdcBank* bank = scratch.tile(t).bank();
        const std::vector<arch::GatedInterval>& iv = bank->gated();
        if (banks_before[k] < iv.size())
          use(nullptr, &real.tile(t).bank()->gate(), 0, iv[banks_before[k]].end,
              bank->gate().last_end(0));
        ++k;
      }
  }
  if (g.router().enabled()) {
    arch::GatedUnits& routers = scratch.noc().routers();
    const std::vector<arch::GatedInterval>& iv = routers.intervals();
    for (size_t i = routers_before; i < iv.size(); ++i)
      use(nullptr, &real.noc().routers(), iv[i].unit, iv[i].end, routers.last_end(iv[i].unit));
  }
}

void Controller::settle_memos() {
  for (PartMemo& m : memos_) {
    if (m.pending == 0) continue;
    for (const PartMemo::Busy& b : m.busy)
      b.component->add_instance_busy(b.instance, b.ps * m.pending);
    m.pending = 0;
  }
}

void Controller::calibrate(const Part& p, int replica, int src_node, int out_node, PartMemo* m) {
  Chip& chip = *layout_.chips[p.chip];
  Calibration& cal = *calibration_of_[p.chip];
  const std::vector<arch::ScComponent*> real = chip.components();
  const std::vector<arch::ScComponent*> scratch = cal.chip->components();
  std::vector<double> before;
  for (const arch::ScComponent* c : scratch)
    for (int i = 0; i < c->instances(); ++i) before.push_back(c->instance_busy_ps(i));
  const double reads = cal.chip->tile_reads();
  // After everything the scratch chip did so far: every resource is idle.
  const Ps at = cal.clock;
  // Power gating: where each gated unit's first use in the read begins (kWatch copy).
  Calibration* cold = cold_of_[p.chip];
  size_t routers_before = 0;
  std::vector<size_t> banks_before;
  if (cold) {
    routers_before = cal.chip->noc().gated().size();
    for (const RowGroup& rg : p.replicas[replica])
      for (int t : rg.tiles) banks_before.push_back(cal.chip->tile(t).bank()->gated().size());
  }
  std::swap(layout_.chips[p.chip], cal.chip);
  ReadSpans spans;
  const Ps done = read_part(p, replica, src_node, at, out_node, &m->counts, &spans);
  std::swap(layout_.chips[p.chip], cal.chip);
  cal.clock = done + cal.gap;
  if (cold) {
    record_uses(p, replica, *cal.chip, at, routers_before, banks_before, m);
    // The same read with every gated unit off: its extra latency is what wake-ups can cost.
    arch::ActionCounts scratch_counts;
    std::swap(layout_.chips[p.chip], cold->chip);
    const Ps cold_done =
        read_part(p, replica, src_node, cold->clock, out_node, &scratch_counts, nullptr);
    std::swap(layout_.chips[p.chip], cold->chip);
    m->cold_extra = std::max<Ps>(0, (cold_done - cold->clock) - (done - at));
    cold->clock = cold_done + cold->gap;
  }
  m->valid = true;
  m->latency = done - at;
  m->in_span = spans.last_in - at;
  m->first_out = spans.first_out - at;
  m->reads = cal.chip->tile_reads() - reads;
  for (size_t k = 0, n = 0; k < scratch.size(); ++k) {
    for (int i = 0; i < scratch[k]->instances(); ++i, ++n) {
      const double busy = scratch[k]->instance_busy_ps(i);
      if (busy != before[n]) m->busy.push_back({real[k], i, busy - before[n]});
    }
  }
  const arch::TileSpec ts = tile_spec(chip.config());
  const arch::AdcBankSpec as = adc_bank_spec(chip.config());
  for (const RowGroup& g : p.replicas[replica])
    for (int cols : g.cols_phys)
      m->interval = std::max(m->interval, arch::ScTile::steady_interval(ts, as, cols));
  const arch::NocSpec& ns = chip.noc().spec();
  for (const RowGroup& g : p.replicas[replica])
    for (int outs : g.outs)
      m->out_occ += arch::cycles_to_ps(
          std::ceil(static_cast<double>(outs) * act_bits_ / ns.link_width_bits), ns.cycle_ps);
  // Outputs arriving over several links into the DPU's node pass in parallel: at most the span
  // the read alone took.
  m->out_occ = std::min(m->out_occ, m->latency - m->first_out);
  // The mesh links into the tiles and into the DPU carry one read's inputs and partial outputs
  // one after another: the next read cannot pass them faster than they arrived.
  m->interval = std::max(
      m->interval, std::max(spans.last_in - spans.first_in, spans.last_out - spans.first_out));
}

// The scratch copy of chip `chip` (one per distinct config, DPU placement and kind).
Controller::Calibration& Controller::calibration(int chip, Scratch kind) {
  Chip& real = *layout_.chips[chip];
  proto::ChipConfig config = real.config();
  Ps gap = 1000000;  // 1 us
  if (kind == Scratch::kWatch) {
    for (proto::GatingConfig* g : {config.mutable_power_gating()->mutable_tile(),
                                   config.mutable_power_gating()->mutable_adc_bank(),
                                   config.mutable_power_gating()->mutable_router()}) {
      g->set_idle_before_gating_ns(0);
      g->set_wake_up_latency_ns(0);
    }
  } else if (kind == Scratch::kCold) {
    const proto::PowerGatingConfig& g = config.power_gating();
    const double idle_ns =
        std::max({g.tile().enabled() ? g.tile().idle_before_gating_ns() : 0,
                  g.adc_bank().enabled() ? g.adc_bank().idle_before_gating_ns() : 0,
                  g.router().enabled() ? g.router().idle_before_gating_ns() : 0});
    gap += static_cast<Ps>(idle_ns * 1000.0 + 0.5);
  }
  std::string key = std::to_string(static_cast<int>(kind)) + ":" + config.SerializeAsString();
  for (int n : real.dpu_nodes()) key += "," + std::to_string(n);
  auto it = calibrations_.find(key);
  if (it == calibrations_.end()) {
    Calibration cal;
    cal.gap = gap;
    // Gated copies start after a gap: every unit is on at time 0.
    cal.clock = kind == Scratch::kPlain ? 0 : gap;
    // Never destroyed, like the chips (SystemC removes modules in quadratic time).
    const std::string name = "memo" + std::to_string(calibrations_.size());
    cal.chip = new Chip(name.c_str(), config, real.dpu_nodes());
    it = calibrations_.emplace(key, cal).first;
  }
  return it->second;
}
}  // namespace aimc::sim

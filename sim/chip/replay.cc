// Exact replay of part reads (docs/systems.md section 8). The reads of layer parts issued on a
// quiet chip at one time form a group (defer_read), closed before the run's next event
// (close_group). A group not seen before runs in full, as each read would have run when issued,
// and is recorded: what it did to the chip's mesh and tiles (ScNoc / TileArray capture, relative
// to its time), each member's counts, and where each member's last partial output fell in the
// queue. A group seen before is replayed: its counts are added, one placeholder per member sits
// where its last partial output would in the queue and does what that output's event does
// (`last` on the latest arrival, the join's part finished), and after the last placeholder the
// recorded changes are applied, shifted to the group's time. From a quiet start nothing but the
// group uses those resources until it ends, so the result is the same; when something else does
// (the chip's touch hooks, or a read of the chip), the group is first simulated in full as of
// its time, its outputs sent up to the current event and the others queued as bursts
// (materialize), and the exact run goes on. A chip whose tiles are free and which has no burst
// pending gathers its reads too when its mesh still holds other transfers' links: a group seen
// before is replayed if the links it writes are free by its time (ScNoc::held_by), else run in
// full unrecorded; while a group is replayed the mesh's hook fires only for operations that may
// meet its links (ScNoc::guard, the record's footprint), the others commute with it.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

#include "sim/chip/controller.h"
#include "sim/chip/take_slot.h"

namespace aimc::sim {

using arch::Ps;

namespace {

// Recordings of one group that may fail (something else used the chip meanwhile) before the
// group is no longer recorded.
constexpr int kMaxFailures = 4;

// Whether every count is a whole number that sums exactly in any order.
bool whole(const arch::ActionCounts& c) {
  bool ok = true;
  c.for_each([&](const std::string&, const std::string&, double v) {
    ok = ok && v >= 0 && v < 9.0e15 && std::floor(v) == v;
  });
  return ok;
}

}  // namespace

bool Controller::replay_allowed() const {
  if (!opt_.replay || opt_.memo_parts || traced_ || lanes_.size() > 1) return false;
  for (size_t chip = 0; chip < layout_.chips.size(); ++chip) {
    const proto::PowerGatingConfig& g = layout_.chips[chip]->config().power_gating();
    if (g.tile().enabled() || g.adc_bank().enabled() || g.router().enabled()) return false;
    if (reduction_[chip] != proto::REDUCE_AT_LAYER_DPU) return false;
  }
  return true;
}

void Controller::setup_replay() {
  const size_t n = layout_.chips.size();
  replay_chips_.resize(n);
  hook_contexts_.resize(n);
  for (size_t c = 0; c < n; ++c) {
    hook_contexts_[c] = HookContext{this, static_cast<int>(c)};
    layout_.chips[c]->noc().set_touch_hook(&Controller::touched, &hook_contexts_[c]);
    layout_.chips[c]->tile_array().set_touch_hook(&Controller::touched, &hook_contexts_[c]);
  }
}

bool Controller::gathers(int chip, Ps t) {
  if (replay_chips_[chip].state != ChipReplay::State::kNone) return false;
  Chip& c = *layout_.chips[chip];
  if (c.tile_array().horizon() > t) return false;
  if (c.noc().horizon() <= t) return true;
  return opt_.replay_footprint && ln().chip_bursts_[chip] == 0;
}

void Controller::arm_hooks(int chip, bool on) {
  if (!on) layout_.chips[chip]->noc().guard(nullptr);
  layout_.chips[chip]->noc().arm_touch_hook(on);
  layout_.chips[chip]->tile_array().arm_touch_hook(on);
}

// The read of `tiles` tiles of part `p` issued now (its input ready now) joins the group of its
// chip: it takes its sequence numbers (those read_part would take, one per tile in read order)
// and counts as a part of its step's join, as read_part's burst would; it returns what read_part
// returns when every partial output goes to the burst (run_group checks that they all did).
Ps Controller::defer_read(const Part& p, int replica, int src_node, int out_node,
                          arch::ActionCounts* c, long long tiles, Then last) {
  Lane& lane = ln();
  ReadGroup& g = lane.group_;
  if (lane.group_open_ && (g.chip != p.chip || g.t != lane.now_)) close_group();
  if (!lane.group_open_) {
    lane.group_open_ = true;
    g.chip = p.chip;
    g.t = lane.now_;
    g.members.clear();
  }
  GroupMember m;
  m.part = &p;
  m.replica = replica;
  m.src_node = src_node;
  m.out_node = out_node;
  m.join = lane.cur_join_;
  m.phase = lane.cur_phase_;
  m.seq = seqs_[lane.cur_chip_];
  m.tiles = tiles;
  m.counts = c;
  m.ledger = lane.cur_ledger_;
  m.last = std::move(last);
  g.members.push_back(std::move(m));
  seqs_[lane.cur_chip_] += tiles;
  ++lane.joins_[lane.cur_join_].pending;
  return lane.now_;
}

bool Controller::joins_group(const Pending& p) const {
  const Lane& lane = ln();
  if (p.burst >= 0 || p.job >= 0 || p.ready != lane.group_.t) return false;
  const Step& s = steps_of(p.token)[p.step];
  if (s.chip != lane.group_.chip) return false;
  // Such a step does nothing on the chip before its part's read (read_part closes the group
  // first when that read cannot join it).
  return s.kind == Kind::kPart || (s.kind == Kind::kLinear && layers_[s.layer].on_tiles);
}

std::vector<long long> Controller::signature_key(const ReadGroup& g) const {
  std::vector<long long> key;
  key.reserve(1 + 4 * g.members.size());
  key.push_back(g.chip);
  for (const GroupMember& m : g.members) {
    key.push_back(static_cast<long long>(reinterpret_cast<uintptr_t>(m.part)));
    key.push_back(m.replica);
    key.push_back(m.src_node);
    key.push_back(m.out_node);
  }
  return key;
}

// Replays the group when it was recorded under the mesh's present structure, else runs it
// (recording it unless its recordings failed too often).
void Controller::close_group() {
  Lane& lane = ln();
  lane.group_open_ = false;
  lane.replay_ = false;
  const Ps now = lane.now_;
  const int chip = lane.cur_chip_, join = lane.cur_join_, phase = lane.cur_phase_;
  arch::ActionCounts* ledger = lane.cur_ledger_;
  ReadGroup& g = lane.group_;
  ChipReplay& r = replay_chips_[g.chip];
  Signature& sig = signatures_[signature_key(g)];
  if (sig.memo >= 0 &&
      replay_memos_[sig.memo].noc.epoch != layout_.chips[g.chip]->noc().structure_epoch()) {
    // The mesh's flows or plans changed: record it again. No replay holds the memo (the chip
    // gathers only with no replayed group, and memos are per chip): its room goes back.
    replay_memos_[sig.memo] = ReplayMemo{};
    free_memos_.push_back(sig.memo);
    sig.memo = -1;
  }
  // A quiet chip replays or records; one whose mesh holds links of other transfers replays
  // when none of them is a link the group writes, else runs the group unrecorded.
  arch::ScNoc& noc = layout_.chips[g.chip]->noc();
  const bool quiet_noc = noc.horizon() <= g.t;
  if (sig.memo >= 0 && (quiet_noc || noc.held_by(replay_memos_[sig.memo].noc) <= g.t)) {
    r.memo = sig.memo;
    replay_group(&g, &r);
  } else {
    r.sig = quiet_noc && sig.failures < kMaxFailures ? &sig : nullptr;
    run_group(&g, &r);
  }
  g.members.clear();
  lane.now_ = now;
  lane.cur_chip_ = chip;
  lane.cur_join_ = join;
  lane.cur_phase_ = phase;
  lane.cur_ledger_ = ledger;
  lane.replay_ = true;
}

// Each member's read in the order they were issued, in the context it was issued in, with the
// sequence numbers it took. Recorded: its counts apart, its burst marked.
void Controller::run_group(ReadGroup* g, ChipReplay* r) {
  Lane& lane = ln();
  Chip& chip = *layout_.chips[g->chip];
  const bool capture = r->sig != nullptr;
  const size_t n = g->members.size();
  if (capture) {
    r->epoch = chip.noc().structure_epoch();
    chip.noc().capture_begin();
    chip.tile_array().capture_begin();
    r->t = g->t;
    r->left = static_cast<int>(n);
    r->counts.assign(n, arch::ActionCounts{});
    r->bursts.assign(n, -1);
    r->rec = ReplayMemo{};
    r->rec.members.resize(n);
  }
  for (size_t i = 0; i < n; ++i) {
    GroupMember& m = g->members[i];
    lane.now_ = g->t;
    lane.cur_chip_ = g->chip;
    lane.cur_join_ = m.join;
    lane.cur_phase_ = m.phase;
    lane.cur_ledger_ = m.ledger;
    const long long next = seqs_[g->chip];
    seqs_[g->chip] = m.seq;
    --lane.joins_[m.join].pending;  // the burst counts again
    Ps all_in = 0;
    const int b = start_burst(*m.part, m.replica, m.src_node, g->t, m.out_node,
                              capture ? &r->counts[i] : m.counts, static_cast<int>(m.tiles),
                              std::move(m.last), &all_in);
    if (b < 0 || all_in != g->t || seqs_[g->chip] != m.seq + m.tiles)
      throw std::logic_error("controller: a gathered part read did not run as when issued");
    seqs_[g->chip] = next;
    if (!capture) continue;
    Burst& burst = lane.bursts_[b];
    burst.capture = g->chip;
    burst.member = static_cast<int>(i);
    burst.sends = &r->counts[i];
    r->bursts[i] = b;
    for (const Burst::Item& it : burst.items) r->rec.outs.push_back(it.out - g->t);
  }
  if (!capture) return;
  std::sort(r->rec.outs.begin(), r->rec.outs.end());
  r->members = std::move(g->members);
  g->members.clear();
  r->state = ChipReplay::State::kCapture;
  arm_hooks(g->chip, true);
}

// A partial output of a group being recorded (send_partial's work; the chip's hooks watch for
// anything else meanwhile). The last of a member's records where it fell.
Ps Controller::send_captured(int b, int tile, double bits, Ps out) {
  const int chip = ln().bursts_[b].capture;
  arch::ScNoc& noc = layout_.chips[chip]->noc();
  noc.arm_touch_hook(false);
  const Ps arrived = noc.unicast(out, tile, ln().bursts_[b].out_node, bits, ln().bursts_[b].sends);
  noc.arm_touch_hook(true);
  Burst& burst = ln().bursts_[b];
  burst.all = std::max(burst.all, arrived);
  if (--burst.left > 0) return arrived;
  ChipReplay& r = replay_chips_[chip];
  if (burst.next != burst.items.size())
    throw std::logic_error("controller: a recorded burst ended out of the queue's order");
  const Burst::Item& item = burst.items.back();
  ReplayMemo::Member& mm = r.rec.members[burst.member];
  mm.last_out = item.out - r.t;
  mm.last_seq = item.seq - r.members[burst.member].seq;
  mm.all = burst.all - r.t;
  mm.done = burst.done - r.t;
  r.bursts[burst.member] = -1;
  burst.capture = -1;
  const Then last = std::move(burst.last);
  burst.last = nullptr;
  const Ps all = burst.all;
  if (--r.left == 0) end_capture(chip);
  return last(all);
}

// The group's last partial output was sent: the record is kept if the mesh and tiles accept it
// and its counts are whole numbers; the counts go to the ledgers.
bool Controller::close_capture(int chip) {
  ChipReplay& r = replay_chips_[chip];
  Chip& c = *layout_.chips[chip];
  arm_hooks(chip, false);
  r.state = ChipReplay::State::kNone;
  bool ok = c.noc().capture_end(r.t, &r.rec.noc);
  ok = c.tile_array().capture_end(r.t, &r.rec.tiles) && ok;
  for (size_t i = 0; i < r.members.size(); ++i) {
    *r.members[i].counts += r.counts[i];
    ok = ok && whole(r.counts[i]);
  }
  return ok;
}

void Controller::end_capture(int chip) {
  ChipReplay& r = replay_chips_[chip];
  const bool ok = close_capture(chip);
  if (ok) {
    for (size_t i = 0; i < r.members.size(); ++i) r.rec.members[i].counts = r.counts[i];
    r.sig->memo = take_slot(replay_memos_, free_memos_);
    replay_memos_[r.sig->memo] = std::move(r.rec);
  } else if (layout_.chips[chip]->noc().structure_epoch() == r.epoch) {
    ++r.sig->failures;  // (the mesh's structure still settling is no failure of the group)
  }
  r.members.clear();
}

// Something else uses the chip while its group is recorded: the record is dropped, the group
// goes on as it is (its counts to the ledgers from here on).
void Controller::abandon_capture(int chip) {
  ChipReplay& r = replay_chips_[chip];
  close_capture(chip);
  for (size_t i = 0; i < r.members.size(); ++i) {
    if (r.bursts[i] < 0) continue;
    Burst& burst = ln().bursts_[r.bursts[i]];
    burst.capture = -1;
    burst.sends = burst.ledger;
  }
  ++r.sig->failures;
  r.members.clear();
}

void Controller::check_replayed_counts() const {
  for (int phase = 0; phase < 2; ++phase) {
    bool ok = true;
    for (const arch::ActionCounts& c : ledgers_[phase]) ok = ok && whole(c);
    for (const auto& chip : chip_ledgers_[phase])
      for (const arch::ActionCounts& c : chip) ok = ok && whole(c);
    if (!ok)
      throw std::logic_error("controller: replayed counts summed with counts not whole numbers");
  }
}

void Controller::touched(void* ctx) {
  const HookContext& h = *static_cast<const HookContext*>(ctx);
  switch (h.ctl->replay_chips_[h.chip].state) {
    case ChipReplay::State::kCapture:
      h.ctl->abandon_capture(h.chip);
      break;
    case ChipReplay::State::kReplayed:
      h.ctl->materialize(h.chip);
      break;
    case ChipReplay::State::kNone:
      break;
  }
}

// The group's counts now; per member a placeholder where its last partial output falls in the
// queue; the chip's hooks watch for anything else until the last has run.
void Controller::replay_group(ReadGroup* g, ChipReplay* r) {
  Lane& lane = ln();
  ReplayMemo& memo = replay_memos_[r->memo];
  r->state = ChipReplay::State::kReplayed;
  r->t = g->t;
  const long long gen = ++r->gen;
  const int chip = g->chip;
  const size_t n = g->members.size();
  r->left = static_cast<int>(n);
  r->ran.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const GroupMember& m = g->members[i];
    const ReplayMemo::Member& mm = memo.members[i];
    *m.counts += mm.counts;
    const int k = take_slot(lane.jobs_, lane.free_jobs_);
    lane.jobs_[k].join = -1;
    lane.jobs_[k].chip = chip;
    lane.jobs_[k].cls = -1;
    lane.jobs_[k].msg = [this, chip, gen, i](Ps) { replay_last(chip, gen, static_cast<int>(i)); };
    lane.queue_.push(Pending{g->t + mm.last_out, m.seq + mm.last_seq, 0, 0, k});
  }
  replayed_part_reads_ += static_cast<long long>(n);
  r->members = std::move(g->members);
  g->members.clear();
  replaying_.push_back(chip);
  arm_hooks(chip, true);
  // Other transfers away from its links go on.
  arch::ScNoc& noc = layout_.chips[chip]->noc();
  if (memo.footprint.empty()) noc.footprint(memo.noc, &memo.footprint);
  noc.guard(memo.footprint.data());
}

// Member `member`'s last partial output: what run_burst does for it (`last` on the latest
// arrival, the join's part finished on the latest end); after the group's last, the recorded
// changes of the mesh and tiles.
void Controller::replay_last(int chip, long long gen, int member) {
  ChipReplay& r = replay_chips_[chip];
  if (r.state != ChipReplay::State::kReplayed || r.gen != gen) return;  // materialized
  if (opt_.replay_materialize_always) {
    materialize(chip);
    return;
  }
  Lane& lane = ln();
  GroupMember& m = r.members[member];
  const ReplayMemo& memo = replay_memos_[r.memo];
  const ReplayMemo::Member& mm = memo.members[member];
  lane.cur_join_ = m.join;
  lane.cur_phase_ = m.phase;
  lane.cur_ledger_ = m.ledger;
  r.ran[member] = 1;
  const Then last = std::move(m.last);
  m.last = nullptr;
  const int join = m.join;
  const Ps all = r.t + mm.all, before = r.t + mm.done;
  if (--r.left == 0) {
    arm_hooks(chip, false);
    r.state = ChipReplay::State::kNone;
    replaying_.erase(std::find(replaying_.begin(), replaying_.end(), chip));
    layout_.chips[chip]->noc().apply(memo.noc, r.t);
    layout_.chips[chip]->tile_array().apply(memo.tiles, r.t);
  }
  const Ps done = std::max(before, last(all));
  finish(join, done);
}

void Controller::materialize_all() {
  while (!replaying_.empty()) materialize(replaying_.back());
}

// Something else is about to use the chip (the current event, at (now, seq)) before its
// replayed group has ended: the group's multicasts and tile reads as of its time (member by
// member), then its partial outputs the exact run has sent by now in the queue's order, the
// others queued as bursts of the members whose placeholder has not run (it does nothing now).
// Counted once already: what runs here counts to a scratch ledger.
void Controller::materialize(int chip) {
  Lane& lane = ln();
  ChipReplay& r = replay_chips_[chip];
  arm_hooks(chip, false);
  r.state = ChipReplay::State::kNone;
  replaying_.erase(std::find(replaying_.begin(), replaying_.end(), chip));
  const Ps now = lane.now_;
  const long long seq_now = lane.cur_seq_;
  const int cur_chip = lane.cur_chip_, join = lane.cur_join_, phase = lane.cur_phase_;
  arch::ActionCounts* ledger = lane.cur_ledger_;
  std::vector<Ps> arrivals;
  arrivals.swap(lane.arrivals_);  // an operation may be under way with the lane's
  const size_t n = r.members.size();
  std::vector<std::vector<Burst::Item>> items(n);
  lane.now_ = r.t;
  lane.cur_chip_ = chip;
  for (size_t i = 0; i < n; ++i) {
    const GroupMember& m = r.members[i];
    read_items(*m.part, m.replica, m.src_node, r.t, m.seq, &items[i]);
    sort_burst(&items[i]);
  }
  materialize_sends(chip, &items, now, seq_now);
  arrivals.swap(lane.arrivals_);
  lane.now_ = now;
  lane.cur_chip_ = cur_chip;
  lane.cur_join_ = join;
  lane.cur_phase_ = phase;
  lane.cur_ledger_ = ledger;
}

// The partial outputs of a materialized group before (now, seq_now) sent, in the queue's order;
// the others as bursts.
void Controller::materialize_sends(int chip, std::vector<std::vector<Burst::Item>>* items, Ps now,
                                   long long seq_now) {
  Lane& lane = ln();
  ChipReplay& r = replay_chips_[chip];
  arch::ScNoc& noc = layout_.chips[chip]->noc();
  const size_t n = r.members.size();
  std::vector<int> bursts(n, -1);
  // (out, seq, member, index) of each output sent by now.
  std::vector<std::tuple<Ps, long long, int, int>> sent;
  for (size_t i = 0; i < n; ++i) {
    const std::vector<Burst::Item>& its = (*items)[i];
    // A member whose placeholder ran has sent all (the current event may be that placeholder).
    const bool ran = r.ran[i] != 0;
    size_t k = 0;
    while (k < its.size() &&
           (ran || its[k].out < now || (its[k].out == now && its[k].seq < seq_now))) {
      sent.emplace_back(its[k].out, its[k].seq, static_cast<int>(i), static_cast<int>(k));
      ++k;
    }
    if (ran) continue;
    if (k == its.size())
      throw std::logic_error("controller: a replayed group's member ended before its placeholder");
    GroupMember& m = r.members[i];
    const int b = open_burst(m.join, chip, m.out_node, r.t, static_cast<int>(its.size()),
                             std::move(m.last), m.phase, m.ledger);
    Burst& burst = lane.bursts_[b];
    burst.items.assign(its.begin() + static_cast<long>(k), its.end());
    burst.sends = &discard_;  // counted once already
    bursts[i] = b;
  }
  std::sort(sent.begin(), sent.end());
  for (const auto& [out, seq, i, k] : sent) {
    const Burst::Item& it = (*items)[i][k];
    if (bursts[i] < 0) {
      noc.unicast(out, it.tile, r.members[i].out_node, it.bits, &discard_);
      continue;
    }
    const Ps arrived = send_partial(bursts[i], it.tile, it.bits, out);
    Burst& burst = lane.bursts_[bursts[i]];
    burst.done = std::max(burst.done, arrived);
  }
  for (size_t i = 0; i < n; ++i) {
    if (bursts[i] < 0) continue;
    const Burst& burst = lane.bursts_[bursts[i]];
    const Join& j = lane.joins_[burst.join];
    lane.queue_.push(
        Pending{burst.items[0].out, burst.items[0].seq, j.token, j.step, -1, bursts[i]});
  }
  r.members.clear();
}

}  // namespace aimc::sim

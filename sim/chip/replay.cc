// Exact replay of part reads: the reads of layer parts issued on a chip at one time are gathered
// into a group that runs before the chip's next event, exactly as each read would have run when
// it was issued (docs/systems.md section 8).
#include <stdexcept>

#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

bool Controller::replay_allowed() const {
  if (!opt_.replay || opt_.memo_parts || traced_ || lanes_.size() > 1) return false;
  for (size_t chip = 0; chip < layout_.chips.size(); ++chip) {
    const proto::PowerGatingConfig& g = layout_.chips[chip]->config().power_gating();
    if (g.tile().enabled() || g.adc_bank().enabled() || g.router().enabled()) return false;
    if (reduction_[chip] != proto::REDUCE_AT_LAYER_DPU) return false;
  }
  return true;
}

// The read of `tiles` tiles of part `p` issued now (its input ready now) joins the group of its
// chip: it takes its sequence numbers (those read_part would take, one per tile in read order)
// and counts as a part of its step's join, as read_part's burst would; it returns what read_part
// returns when every partial output goes to the burst (close_group checks that they all did).
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

// Runs the group's reads in the order they were issued, each in the context it was issued in,
// with the sequence numbers it took.
void Controller::close_group() {
  Lane& lane = ln();
  lane.group_open_ = false;
  lane.replay_ = false;
  const Ps now = lane.now_;
  const int chip = lane.cur_chip_, join = lane.cur_join_, phase = lane.cur_phase_;
  arch::ActionCounts* ledger = lane.cur_ledger_;
  const ReadGroup& g = lane.group_;
  for (GroupMember& m : lane.group_.members) {
    lane.now_ = g.t;
    lane.cur_chip_ = g.chip;
    lane.cur_join_ = m.join;
    lane.cur_phase_ = m.phase;
    lane.cur_ledger_ = m.ledger;
    const long long next = seqs_[g.chip];
    seqs_[g.chip] = m.seq;
    --lane.joins_[m.join].pending;  // read_part counts its burst again
    const Ps r = read_part(*m.part, m.replica, m.src_node, g.t, m.out_node, m.counts, nullptr,
                           std::move(m.last));
    if (r != g.t || seqs_[g.chip] != m.seq + m.tiles)
      throw std::logic_error("controller: a gathered part read did not run as when issued");
    seqs_[g.chip] = next;
  }
  lane.group_.members.clear();
  lane.now_ = now;
  lane.cur_chip_ = chip;
  lane.cur_join_ = join;
  lane.cur_phase_ = phase;
  lane.cur_ledger_ = ledger;
  lane.replay_ = true;
}

}  // namespace aimc::sim

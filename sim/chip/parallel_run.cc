// A system's run on several threads: conservative parallel discrete-event simulation by chip.
// Each lane (one per thread) owns a set of chips and their events; every event touches only its
// own chip's state, and an effect on another chip is a message at least one link latency later
// (sim/chip/controller.cc, docs/systems.md section 8). A lane issues its events in queue order
// while they are earlier than every other lane's published lower bound plus that latency: no
// message can then arrive for an earlier time. The queue's order (time, chip of the event that
// queued it, that chip's count) does not depend on the lanes, so each chip sees its events in the
// same order on any number of threads and the results are the same, bit for bit.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>

#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

namespace {

constexpr Ps kNever = std::numeric_limits<Ps>::max();

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

void Controller::make_lanes() {
  const int n =
      multi_ ? std::max(1, std::min<int>(opt_.threads, static_cast<int>(seqs_.size()))) : 1;
  for (int i = 0; i < n; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->ends_.assign(tokens_.size(), 0);
  }
  lane_now_ = lanes_[0].get();
  lane_of_.assign(seqs_.size(), 0);  // until a parallel run splits the chips
}

// One thread, the reference, where sharing the chips is unsafe or not possible: request mode
// (admission at once on chip 0), power gating (routers folded from the queue's first event), a
// trace, a run with weights (numerics hooks), memo_parts, links without latency.
bool Controller::parallel_allowed() const {
  if (!multi_ || request_mode() || opt_.memo_parts || sink_ || on_embed || on_attention ||
      on_linear || layout_.links->latency_ps() <= 0)
    return false;
  for (const Chip* chip : layout_.chips) {
    const proto::PowerGatingConfig& g = chip->config().power_gating();
    if (g.tile().enabled() || g.adc_bank().enabled() || g.router().enabled()) return false;
  }
  return true;
}

// Chips to lanes: given (opt_.lane_of_chip), or consecutive chips balanced by the tiles they
// read (a pipeline's neighbours mostly on one lane).
void Controller::split_chips() {
  const int n = static_cast<int>(lanes_.size());
  if (!opt_.lane_of_chip.empty()) {
    for (size_t c = 0; c < lane_of_.size(); ++c)
      lane_of_[c] = opt_.lane_of_chip[c % opt_.lane_of_chip.size()] % n;
    return;
  }
  std::vector<double> weight(lane_of_.size(), 1);
  for (const Layer& l : layers_)
    for (const Part& p : l.parts)
      for (const RowGroup& g : p.replicas[0]) weight[p.chip] += static_cast<double>(g.tiles.size());
  double total = 0;
  for (double w : weight) total += w;
  double before = 0;
  for (size_t c = 0; c < lane_of_.size(); ++c) {
    lane_of_[c] = std::min(n - 1, static_cast<int>((before + weight[c] / 2) / total * n));
    before += weight[c];
  }
}

void Controller::run_parallel() {
  parallel_ = true;
  seen_epoch_.assign(lanes_.size(), 0);
  split_chips();
  // The seeded events (steps: the prompts' embeddings) go to their chips' lanes.
  Lane& first = *lanes_[0];
  std::vector<Pending> seeded;
  while (!first.queue_.empty()) {
    seeded.push_back(first.queue_.top());
    first.queue_.pop();
  }
  for (const Pending& p : seeded) {
    if (p.job >= 0 || p.burst >= 0)
      throw std::logic_error("controller: a parallel run starts from steps only");
    lanes_[lane_of_[steps_of(p.token)[p.step].chip]]->queue_.push(p);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < lanes_.size(); ++i)
    threads.emplace_back([this, i] { run_lane(static_cast<int>(i)); });
  run_lane(0);
  for (std::thread& t : threads) t.join();
  lane_now_ = lanes_[0].get();
  end_run();
}

void Controller::run_lane(int index) {
  lane_now_ = lanes_[index].get();
  Lane& lane = *lane_now_;
  std::vector<Ps> seen(lanes_.size(), -1);
  long long inbox_seen = -1, epoch_seen = -1;
  int idle = 0;
  for (;;) {
    Ps bound = 0;
    bool done = false;
    sync_lane(index, &bound, &done, &seen, &inbox_seen);
    epoch_seen = seen_epoch_[index];
    if (done) return;
    if (bound < 0) continue;  // it ran an event of every chip: sync again
    lane.stop_ = kNever;
    if (!lane.queue_.empty() && lane.queue_.top().ready < bound) {
      idle = 0;
      ++lane.activations_;
      while (!lane.queue_.empty() && lane.queue_.top().ready < std::min(bound, lane.stop_)) {
        issue(lane.queue_.top());
        ++lane.events_;
      }
      continue;
    }
    // Nothing to do until another lane moves on or sends something (a change from what the
    // bound was computed from): wait.
    for (;;) {
      bool changed = lane.inbox_count_.load() != inbox_seen;
      for (size_t o = 0; o < lanes_.size() && !changed; ++o)
        changed = static_cast<int>(o) != index && lanes_[o]->clock_.load() != seen[o];
      if (changed || global_waiting_.load() || all_done_.load() ||
          global_epoch_.load() != epoch_seen)
        break;
      if (++idle < 256) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
}

// Under the lock: takes the lane's inbox into its queue, publishes its next event's time, and
// returns how far it may go (every other lane's bound + the link latency, and no further than
// an event of every chip), whether every lane is done, and runs that event once every lane has
// reached it.
void Controller::sync_lane(int index, Ps* bound, bool* done, std::vector<Ps>* seen,
                           long long* inbox_seen) {
  Lane& lane = *lanes_[index];
  std::unique_lock<std::mutex> hold(sync_);
  absorb(lane);
  *inbox_seen = lane.inbox_count_.load();
  seen_epoch_[index] = global_epoch_.load();
  const Ps next = lane.queue_.empty() ? kNever : lane.queue_.top().ready;
  lane.clock_.store(next);
  const Ps latency = layout_.links->latency_ps();
  Ps b = kNever, others = kNever;
  for (size_t o = 0; o < lanes_.size(); ++o) {
    if (static_cast<int>(o) == index) continue;
    Ps oc = lanes_[o]->clock_.load();
    for (const Inbound& m : lanes_[o]->inbox_) oc = std::min(oc, m.p.ready);
    // What the bound is computed from: a wait ends when the other lane publishes anything else
    // (its events queued here but not yet taken count: its clock once it takes them may be the
    // same as before).
    (*seen)[o] = oc;
    others = std::min(others, oc);
    if (oc != kNever) b = std::min(b, oc + latency);
  }
  *done = (next == kNever && others == kNever && global_at_ < 0) || all_done_.load();
  if (*done) all_done_.store(true);  // the lanes waiting for a change see it
  if (global_at_ >= 0) {
    b = std::min(b, global_at_);
    global_waiting_.store(true);
    if (next >= global_at_ && others >= global_at_ && !global_running_) {
      global_running_ = true;
      // Every lane has issued every event before it: run it here, the others waiting.
      const Ps at = global_at_;
      Message fn = std::move(global_);
      hold.unlock();
      lane.now_ = at;
      lane.cur_chip_ = 0;
      fn(at);
      hold.lock();
      global_at_ = -1;
      global_epoch_.fetch_add(1);  // the lanes waiting on it sync again
      global_running_ = false;
      global_waiting_.store(false);
      absorb(lane);
      lane.clock_.store(lane.queue_.empty() ? kNever : lane.queue_.top().ready);
      *bound = -1;  // sync again
      *done = false;
      return;
    }
  }
  *bound = b;
}

// An event for lane `index` from another lane (a message, or a step when `msg` is empty).
void Controller::deliver(int index, const Pending& p, int chip, Message msg) {
  Lane& to = *lanes_[index];
  // The other lane may answer from this event's time on, one link latency later at the soonest:
  // this lane goes no further before it has heard from it.
  ln().stop_ = std::min(ln().stop_, p.ready + layout_.links->latency_ps());
  std::lock_guard<std::mutex> hold(sync_);
  to.inbox_.push_back(Inbound{p, chip, std::move(msg)});
  to.inbox_count_.fetch_add(1);
}

// Under the lock, by the lane's own thread.
void Controller::absorb(Lane& lane) {
  for (Inbound& m : lane.inbox_) {
    if (!m.msg) {
      lane.queue_.push(m.p);
      continue;
    }
    int k;
    if (lane.free_jobs_.empty()) {
      lane.jobs_.emplace_back();
      k = static_cast<int>(lane.jobs_.size()) - 1;
    } else {
      k = lane.free_jobs_.back();
      lane.free_jobs_.pop_back();
    }
    lane.jobs_[k].join = -1;
    lane.jobs_[k].chip = m.chip;
    lane.jobs_[k].msg = std::move(m.msg);
    lane.queue_.push(Pending{m.p.ready, m.p.seq, 0, 0, k});
  }
  lane.inbox_.clear();
}

}  // namespace aimc::sim

// A system's run on several threads: conservative parallel discrete-event simulation by chip.
// Each lane (one per thread) owns a set of chips and their events; every event touches only its
// own chip's state, and an effect on another chip is a message at least one link latency L later
// (sim/chip/controller.cc, docs/systems.md section 8). The queue's order (time, chip of the event
// that queued it, that chip's count) does not depend on the lanes, so each chip sees its events in
// the same order on any number of threads and the results are the same, bit for bit.
//
// Synchronization (Chandy-Misra-Bryant promises, published after every event): each lane tells
// each other lane how early its next message there can be, its promise, which it raises as it
// goes, and runs its events while they are earlier than every promise it has. With two lanes a
// promise counts the lane's own queue only (its next event + L): what the other lane's own
// messages cause comes back no earlier than each message + L, and that lane keeps to that itself
// until it sees the message taken (each lane publishes how many messages it has taken, after the
// promises that count them). With three lanes or more a promise also counts the promises the lane
// has from the others (so that it holds for messages relayed through it), as in the classic
// scheme. A pending event of every chip caps every promise and bound at its time; it runs when
// every lane has nothing before it and no message is in flight.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>

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

Ps plus(Ps t, Ps d) { return t >= kNever - d ? kNever : t + d; }

}  // namespace

void Controller::make_lanes() {
  const int n =
      multi_ ? std::max(1, std::min<int>(opt_.threads, static_cast<int>(seqs_.size()))) : 1;
  for (int i = 0; i < n; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->ends_.assign(tokens_.size(), 0);
    lanes_.back()->promise_.reset(new Lane::Shared[n]);
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
  split_chips();
  parked_.assign(lanes_.size(), 0);
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
  // Every promise starts at 0: no lane runs before the others have published theirs.
  std::vector<std::thread> threads;
  for (size_t i = 1; i < lanes_.size(); ++i)
    threads.emplace_back([this, i] { run_lane(static_cast<int>(i)); });
  run_lane(0);
  for (std::thread& t : threads) t.join();
  if (getenv("AIMC_LANE_STATS"))
    for (auto& l : lanes_) fprintf(stderr, "lane events %lld windows %lld waits %lld sleeps %lld\n", l->events_, l->activations_, l->waits_, l->sleeps_);
  lane_now_ = lanes_[0].get();
  end_run();
}

Ps Controller::lane_bound(int index, std::vector<Ps>* in, std::vector<long long>* seen) {
  Lane& lane = *lanes_[index];
  const int n = static_cast<int>(lanes_.size());
  Ps b = kNever;
  for (int o = 0; o < n; ++o) {
    if (o == index) continue;
    Lane& other = *lanes_[o];
    // What it has taken, then its promise: a promise published with that count or later.
    const long long taken = other.absorbed_.value.load(std::memory_order_acquire);
    (*seen)[o] = taken;
    (*in)[o] = other.promise_[index].value.load(std::memory_order_acquire);
    b = std::min(b, (*in)[o]);
    if (n == 2 && !lane.sent_.empty())
      lane.sent_.erase(std::remove_if(lane.sent_.begin(), lane.sent_.end(),
                                      [&](const Lane::Sent& s) {
                                        return s.lane == o && s.seq <= taken;
                                      }),
                       lane.sent_.end());
  }
  // With two lanes, what this lane's messages not yet taken may cause comes back one link
  // latency after each (with more, the promises count it).
  const Ps latency = layout_.links->latency_ps();
  if (n == 2)
    for (const Lane::Sent& s : lane.sent_) b = std::min(b, plus(s.ready, latency));
  const Ps g = global_at_.load();
  if (g >= 0) b = std::min(b, g);
  return b;
}

void Controller::publish(int index, const std::vector<Ps>& in) {
  Lane& lane = *lanes_[index];
  const int n = static_cast<int>(lanes_.size());
  Ps base = lane.queue_.empty() ? kNever : lane.queue_.top().ready;
  const Ps g = global_at_.load(std::memory_order_relaxed);
  if (g >= 0) base = std::min(base, g);  // the event of every chip may send from then on
  const Ps latency = layout_.links->latency_ps();
  for (int r = 0; r < n; ++r) {
    if (r == index) continue;
    Ps p = base;
    if (n > 2)
      for (int o = 0; o < n; ++o)
        if (o != index) p = std::min(p, in[o]);
    p = plus(p, latency);
    Lane::Shared& slot = lane.promise_[r];
    if (slot.value.load(std::memory_order_relaxed) == p) continue;
    slot.value.store(p);
    Lane& to = *lanes_[r];
    if (to.wake_.sleeping.load() && (n > 2 || p > to.wake_.at.load())) {
      to.wake_.seq.fetch_add(1);
      std::lock_guard<std::mutex> hold(to.wake_.m);
      to.wake_.cv.notify_one();
    }
  }
}

void Controller::wake_all() {
  for (auto& l : lanes_) {
    l->wake_.seq.fetch_add(1);
    std::lock_guard<std::mutex> hold(l->wake_.m);
    l->wake_.cv.notify_one();
  }
}

// Takes the inbox into the queue; the lane is running again if it was parked.
bool Controller::absorb(int index) {
  Lane& lane = *lanes_[index];
  if (lane.mail_.delivered.load() == lane.taken_) return false;
  std::vector<Inbound> got;
  {
    std::lock_guard<std::mutex> hold(sync_);
    got.swap(lane.mail_.inbox);
    messages_in_flight_ -= static_cast<long long>(got.size());
    parked_[index] = 0;
  }
  lane.taken_ += static_cast<long long>(got.size());
  for (Inbound& m : got) {
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
  return true;
}

bool Controller::park(int index, bool empty) {
  std::unique_lock<std::mutex> hold(sync_);
  if (lanes_[index]->mail_.delivered.load() != lanes_[index]->taken_) return false;
  const Ps g = global_at_.load();
  parked_[index] = empty ? 2 : 1;
  if (messages_in_flight_ != 0) return true;
  bool all = true, all_empty = true;
  for (int s : parked_) {
    all = all && s > 0;
    all_empty = all_empty && s == 2;
  }
  if (!all || global_running_.load()) return true;
  if (g < 0) {
    if (all_empty) {
      all_done_.store(true);
      hold.unlock();
      wake_all();
    }
    return true;
  }
  // Every lane has issued every event before it: run it here, the others waiting.
  global_running_.store(true);
  Message fn = std::move(global_);
  global_ = nullptr;
  hold.unlock();
  Lane& lane = *lanes_[index];
  lane.now_ = g;
  lane.cur_chip_ = 0;
  fn(g);
  hold.lock();
  global_at_.store(-1);
  std::fill(parked_.begin(), parked_.end(), 0);
  hold.unlock();
  // Its own promises count what it queued; the lanes it sent to take their messages first.
  publish(index, std::vector<Ps>(lanes_.size(), 0));
  global_running_.store(false);
  global_epoch_.fetch_add(1);
  wake_all();
  return false;
}

void Controller::run_lane(int index) {
  lane_now_ = lanes_[index].get();
  Lane& lane = *lane_now_;
  const int n = static_cast<int>(lanes_.size());
  std::vector<Ps> in(lanes_.size(), 0);
  std::vector<long long> taken(lanes_.size(), 0);
  long long epoch = global_epoch_.load();
  for (;;) {
    if (all_done_.load()) return;
    Ps bound = lane_bound(index, &in, &taken);
    if (absorb(index)) {
      publish(index, in);
      lane.absorbed_.value.store(lane.taken_, std::memory_order_release);
      // Someone waiting for its messages to be taken may go on.
      for (int o = 0; o < n; ++o)
        if (o != index && lanes_[o]->wake_.sleeping.load()) {
          lanes_[o]->wake_.seq.fetch_add(1);
          std::lock_guard<std::mutex> hold(lanes_[o]->wake_.m);
          lanes_[o]->wake_.cv.notify_one();
        }
    } else {
      publish(index, in);
    }
    lane.stop_ = kNever;
    if (!lane.queue_.empty() && lane.queue_.top().ready < bound) {
      ++lane.activations_;
      while (!lane.queue_.empty() && lane.queue_.top().ready < std::min(bound, lane.stop_)) {
        issue(lane.queue_.top());
        ++lane.events_;
        publish(index, in);
      }
      continue;
    }
    // Nothing to run before the bound: park if nothing is left before the event of every chip
    // (or at all), then wait for a change: a promise, a message, a message of its own taken, the
    // event of every chip run, the end.
    const Ps g = global_at_.load();
    const bool empty = lane.queue_.empty();
    if ((empty || (g >= 0 && lane.queue_.top().ready >= g)) && !park(index, empty)) continue;
    ++lane.waits_;
    const Ps next = empty ? kNever : lane.queue_.top().ready;
    auto changed = [&] {
      if (all_done_.load() || global_epoch_.load() != epoch) return true;
      if (global_running_.load()) return false;
      if (lane.mail_.delivered.load() != lane.taken_) return true;
      if (global_at_.load() != g) return true;
      for (int o = 0; o < n; ++o) {
        if (o == index) continue;
        const Ps p = lanes_[o]->promise_[index].value.load();
        if (n > 2 ? p != in[o] : p > next && p != in[o]) return true;
        if (!lane.sent_.empty() && lanes_[o]->absorbed_.value.load() != taken[o]) return true;
      }
      return false;
    };
    bool go = false;
    static const int kSpin = getenv("AIMC_SPIN") ? atoi(getenv("AIMC_SPIN")) : 2000;
    static const int kYield = getenv("AIMC_YIELD") ? atoi(getenv("AIMC_YIELD")) : 0;
    for (int spin = 0; spin < kSpin && !go; ++spin) {
      go = changed();
      if (!go) cpu_relax();
    }
    for (int y = 0; y < kYield && !go; ++y) {
      go = changed();
      if (!go) std::this_thread::yield();
    }
    if (!go) {
      ++lane.sleeps_;
      lane.wake_.at.store(next);
      lane.wake_.sleeping.store(true);
      const long long seq = lane.wake_.seq.load();
      if (!changed()) {
        std::unique_lock<std::mutex> hold(lane.wake_.m);
        if (!lane.wake_.cv.wait_for(hold, std::chrono::milliseconds(2000), [&] { return lane.wake_.seq.load() != seq; })) {
          fprintf(stderr, "STUCK lane %d next %lld g %lld parked %d sent %zu taken %lld delivered %lld inflight %lld running %d\n", index, (long long)next, (long long)global_at_.load(), parked_[index], lane.sent_.size(), lane.taken_, lane.mail_.delivered.load(), messages_in_flight_, (int)global_running_.load());
          for (int o = 0; o < n; ++o) fprintf(stderr, "  lane %d promise to me %lld in %lld absorbed %lld sleeping %d at %lld\n", o, (long long)lanes_[o]->promise_[index].value.load(), (long long)in[o], (long long)lanes_[o]->absorbed_.value.load(), (int)lanes_[o]->wake_.sleeping.load(), (long long)lanes_[o]->wake_.at.load());
          for (auto& s : lane.sent_) fprintf(stderr, "  sent lane %d seq %lld ready %lld\n", s.lane, s.seq, (long long)s.ready);
        }
      }
      lane.wake_.sleeping.store(false);
    }
    epoch = global_epoch_.load();
  }
}

// An event for lane `index` from another lane (a message, or a step when `msg` is empty).
void Controller::deliver(int index, const Pending& p, int chip, Message msg) {
  Lane& from = ln();
  const Ps latency = layout_.links->latency_ps();
  if (!global_running_.load() && p.ready < from.now_ + latency)
    throw std::logic_error("controller: a message to another chip sooner than one link latency");
  // The other lane may answer from this event's time on, one link latency later at the soonest:
  // this lane goes no further before it has heard from it.
  from.stop_ = std::min(from.stop_, plus(p.ready, latency));
  Lane& to = *lanes_[index];
  long long seq;
  {
    std::lock_guard<std::mutex> hold(sync_);
    to.mail_.inbox.push_back(Inbound{p, chip, std::move(msg)});
    ++messages_in_flight_;
    seq = to.mail_.delivered.load() + 1;
    to.mail_.delivered.store(seq);
  }
  if (lanes_.size() == 2) from.sent_.push_back(Lane::Sent{index, seq, p.ready});
  if (to.wake_.sleeping.load()) {
    to.wake_.seq.fetch_add(1);
    std::lock_guard<std::mutex> hold(to.wake_.m);
    to.wake_.cv.notify_one();
  }
}

}  // namespace aimc::sim

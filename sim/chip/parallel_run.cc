// A system's run on several threads: conservative parallel discrete-event simulation by chip.
// Each lane (one per thread) owns a set of chips and their events; every event touches only its
// own chip's state, and an effect on another chip is a message at least one link latency L later
// (sim/chip/controller.cc, docs/systems.md section 8). The queue's order (time, chip of the event
// that queued it, that chip's count) does not depend on the lanes, so each chip sees its events in
// the same order on any number of threads and the results are the same, bit for bit.
//
// Synchronization (Chandy-Misra-Bryant promises, published between events): each lane tells
// each other lane how early its next message there can be, its promise, and runs its events while
// they are earlier than every promise it has. An event's effect reaches another lane no sooner
// than its distance there x L: the fewest messages from it to an event of that lane, along the
// flights the run can make (plan_lookahead: the send steps and the generated ids, each hop of a
// route an event of the chip owning its link; a hop is a class of its own, not an event of its
// chip, whose own events may be much further away). With two lanes a promise is the least of
// (time + distance x L) over the lane's queue (a scan, when the other lane waits for more than
// the next event + L), and stays true as the lane runs: what an event queues is no nearer by more
// than it is later. What the other lane's own messages cause is that lane's to keep to: each
// comes back no sooner than its time + its distance back x L, until the lane sees it taken (each
// lane publishes how many messages it has taken, after the promises that count them). With three
// lanes or more a promise also counts the promises the lane has from the others, as in the
// classic scheme. A pending event of every chip caps every bound at its time; it runs when every
// lane has nothing before it and no message is in flight. A lane that receives a message earlier
// than an event it has issued reports it (a logic error): the lookahead was wrong.
// `lanes_in_turn` (tests) runs the lanes one after another on one thread, each as far as its
// bound allows.
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

Ps plus(Ps t, Ps d) {
  return t >= kNever - d ? kNever : t + d;
}

}  // namespace

void Controller::make_lanes() {
  const int n =
      multi_ ? std::max(1, std::min<int>(opt_.threads, static_cast<int>(seqs_.size()))) : 1;
  for (int i = 0; i < n; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->ends_.assign(tokens_.size(), 0);
    lanes_.back()->promise_.reset(new Lane::Shared[n]);
    lanes_.back()->index_ = i;
    lanes_.back()->chip_bursts_.assign(seqs_.size(), 0);
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

namespace {
constexpr int kFar = 1 << 30;  // no path
}  // namespace

// The flights the run can make: the send steps' (chip, peer), and the generated ids (lm_head's
// chip to the embedding's, through chip 0 with a host link); each route's hops after its first,
// each an event of the chip owning its link; the distances, to a fixed point.
void Controller::plan_lookahead() {
  const int chips = static_cast<int>(lane_of_.size()), n = static_cast<int>(lanes_.size());
  pair_of_.assign(static_cast<size_t>(chips) * chips, -1);
  std::vector<std::pair<int, int>> pairs;
  auto add = [&](int a, int b) {
    if (a == b) return;
    int& k = pair_of_[static_cast<size_t>(a) * chips + b];
    if (k >= 0) return;
    k = static_cast<int>(pairs.size());
    pairs.emplace_back(a, b);
  };
  for (const std::vector<Step>* st : {&with_head_, &without_head_})
    for (const Step& s : *st)
      if (s.kind == Kind::kSend) add(s.chip, s.peer);
  const int embed_chip = with_head_[embed_step_].chip;
  if (host_out_) {
    add(0, embed_chip);
    add(layout_.head_chip, 0);
  } else {
    add(layout_.head_chip, embed_chip);
  }
  const arch::ChipLinks& links = *layout_.links;
  std::vector<std::vector<int>> owners(pairs.size());  // of the hops after the first
  pair_class_.assign(pairs.size(), 0);
  int classes = chips;
  for (size_t p = 0; p < pairs.size(); ++p) {
    const std::vector<int> route = links.route(pairs[p].first, pairs[p].second);
    for (size_t k = 1; k < route.size(); ++k) owners[p].push_back(links.link_owner(route[k]));
    pair_class_[p] = classes;
    classes += static_cast<int>(owners[p].size());
  }
  dist_.assign(static_cast<size_t>(classes) * n, kFar);
  for (int c = 0; c < chips; ++c) dist_[static_cast<size_t>(c) * n + lane_of_[c]] = 0;
  auto step = [](int d) { return std::min(kFar, d + 1); };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t p = 0; p < pairs.size(); ++p) {
      const int a = pairs[p].first, b = pairs[p].second;
      for (int r = 0; r < n; ++r) {
        int d = lane_of_[b] == r ? 0 : dist_[static_cast<size_t>(b) * n + r];  // its arrival
        for (size_t k = owners[p].size(); k-- > 0;) {
          d = lane_of_[owners[p][k]] == r ? 0 : step(d);
          dist_[static_cast<size_t>(pair_class_[p] + k) * n + r] = d;
        }
        int& from = dist_[static_cast<size_t>(a) * n + r];
        if (lane_of_[a] != r && step(d) < from) {
          from = step(d);
          changed = true;
        }
      }
    }
  }
}

int Controller::event_class(const Pending& p) const {
  const Lane& lane = ln();
  if (p.burst >= 0) return lane.bursts_[p.burst].chip;
  if (p.job >= 0) {
    const Job& j = lane.jobs_[p.job];
    return j.join == -1 && j.cls >= 0 ? j.cls : j.chip;
  }
  return steps_of(p.token)[p.step].chip;
}

Ps Controller::scan_promise(int index, int r) const {
  const Lane& lane = *lanes_[index];
  const int n = static_cast<int>(lanes_.size());
  const Ps latency = layout_.links->latency_ps();
  Ps best = kNever;
  lane.queue_.for_each([&](const Pending& p) {
    best = std::min(best, p.ready + latency * dist_[static_cast<size_t>(event_class(p)) * n + r]);
  });
  return best;
}

void Controller::run_parallel() {
  parallel_ = true;
  split_chips();
  plan_lookahead();
  for (auto& l : lanes_) l->scanned_.assign(lanes_.size(), 0);
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
  if (opt_.lanes_in_turn) {
    run_lanes_in_turn();
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < lanes_.size(); ++i)
      threads.emplace_back([this, i] { run_lane(static_cast<int>(i)); });
    run_lane(0);
    for (std::thread& t : threads) t.join();
  }
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
      lane.sent_.erase(
          std::remove_if(lane.sent_.begin(), lane.sent_.end(),
                         [&](const Lane::Sent& s) { return s.lane == o && s.seq <= taken; }),
          lane.sent_.end());
  }
  // With two lanes, what this lane's messages not yet taken may cause comes back no sooner than
  // each one's distance back x the link latency (with more, the promises count it).
  if (n == 2)
    for (const Lane::Sent& s : lane.sent_) b = std::min(b, s.back);
  const Ps g = global_at_.load();
  if (g >= 0) b = std::min(b, g);
  return b;
}

void Controller::publish(int index, const std::vector<Ps>& in, bool force) {
  Lane& lane = *lanes_[index];
  const int n = static_cast<int>(lanes_.size());
  // Between events, with two lanes, only when the other waits or every 32 events (a promise
  // published later is still true: what the queue gains is no nearer).
  if (!force && n == 2 && !lanes_[1 - index]->wake_.waiting.load(std::memory_order_relaxed) &&
      ++lane.lazy_ < 32)
    return;
  lane.lazy_ = 0;
  Ps base = lane.queue_.empty() ? kNever : lane.queue_.top().ready;
  const Ps g = global_at_.load(std::memory_order_relaxed);
  if (g >= 0) base = std::min(base, g);  // the event of every chip may send from then on
  const Ps latency = layout_.links->latency_ps();
  for (int r = 0; r < n; ++r) {
    if (r == index) continue;
    Lane& to = *lanes_[r];
    Ps p = base;
    if (n > 2)
      for (int o = 0; o < n; ++o)
        if (o != index) p = std::min(p, in[o]);
    p = plus(p, latency);
    if (n == 2) {
      // When the other lane waits for more than this, the queue's distances may give it: every
      // event's time + its distance to that lane x the link latency, a bound that stays true as
      // the events run (what an event queues is no nearer by more than it is later).
      if (to.wake_.waiting.load(std::memory_order_relaxed) &&
          lane.since_scan_ >= (force ? 1 : 16) &&
          std::max(p, lane.scanned_[r]) <= to.wake_.at.load(std::memory_order_relaxed)) {
        lane.scanned_[r] = scan_promise(index, r);
        lane.since_scan_ = 0;
        ++lane.scans_;
      }
      p = std::max(p, lane.scanned_[r]);
      if (g >= 0) p = std::min(p, plus(g, latency));
    }
    Lane::Shared& slot = lane.promise_[r];
    if (slot.value.load(std::memory_order_relaxed) == p) continue;
    slot.value.store(p);
    ++lane.promises_;
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
  const int n = static_cast<int>(lanes_.size());
  const Ps latency = layout_.links->latency_ps();
  for (Inbound& m : got) {
    // Every event it has issued is earlier in the queue's order, or the lookahead was wrong.
    if (m.p.ready < lane.last_ready_ || (m.p.ready == lane.last_ready_ && m.p.seq < lane.last_seq_))
      throw std::logic_error("controller: a message in a lane's past (the lookahead was wrong)");
    // What the last scan promised holds for the events queued then; these come on top.
    const int cls = m.msg && m.cls >= 0 ? m.cls : m.chip;
    for (int r = 0; r < n; ++r)
      lane.scanned_[r] =
          std::min(lane.scanned_[r], m.p.ready + latency * dist_[static_cast<size_t>(cls) * n + r]);
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
    lane.jobs_[k].cls = m.cls;
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
  // It queued events of any class: its scans start again.
  std::fill(lane.scanned_.begin(), lane.scanned_.end(), 0);
  hold.lock();
  global_at_.store(-1);
  std::fill(parked_.begin(), parked_.end(), 0);
  hold.unlock();
  // Its own promises count what it queued; the lanes it sent to take their messages first.
  publish(index, std::vector<Ps>(lanes_.size(), 0), true);
  global_running_.store(false);
  global_epoch_.fetch_add(1);
  wake_all();
  return false;
}

bool Controller::lane_window(int index, std::vector<Ps>* in, std::vector<long long>* taken) {
  lane_now_ = lanes_[index].get();
  Lane& lane = *lane_now_;
  const int n = static_cast<int>(lanes_.size());
  const Ps bound = lane_bound(index, in, taken);
  if (absorb(index)) {
    publish(index, *in, true);
    lane.absorbed_.value.store(lane.taken_, std::memory_order_release);
    // Someone waiting for its messages to be taken may go on.
    for (int o = 0; o < n; ++o)
      if (o != index && lanes_[o]->wake_.sleeping.load()) {
        lanes_[o]->wake_.seq.fetch_add(1);
        std::lock_guard<std::mutex> hold(lanes_[o]->wake_.m);
        lanes_[o]->wake_.cv.notify_one();
      }
  } else {
    publish(index, *in, true);
  }
  lane.stop_ = kNever;
  if (lane.queue_.empty() || lane.queue_.top().ready >= bound) return false;
  ++lane.activations_;
  while (!lane.queue_.empty() && lane.queue_.top().ready < std::min(bound, lane.stop_)) {
    lane.last_ready_ = lane.queue_.top().ready;
    lane.last_seq_ = lane.queue_.top().seq;
    issue(lane.queue_.top(), -1);  // one event at a time (each published)
    ++lane.events_;
    ++lane.since_scan_;
    publish(index, *in, false);
  }
  return true;
}

// The lanes in turn on this thread, each running as far as its bound allows: every promise is
// published after every event with the queue's distances (as if every lane waited).
void Controller::run_lanes_in_turn() {
  const size_t n = lanes_.size();
  for (auto& l : lanes_) {
    l->wake_.at.store(kNever);
    l->wake_.waiting.store(true);
  }
  std::vector<std::vector<Ps>> in(n, std::vector<Ps>(n, 0));
  std::vector<std::vector<long long>> taken(n, std::vector<long long>(n, 0));
  auto promises = [&] {
    long long sum = 0;
    for (auto& l : lanes_) sum += l->promises_;
    return sum;
  };
  for (int idle = 0; !all_done_.load();) {
    bool ran = false;
    const long long before = promises();
    for (size_t i = 0; i < n; ++i) ran = lane_window(static_cast<int>(i), &in[i], &taken[i]) || ran;
    idle = ran || promises() != before ? 0 : idle + 1;
    if (idle < 2) continue;  // a round with every promise fresh
    // No lane can run: each parks at the event of every chip or with nothing left (the last
    // runs that event or ends the run).
    const long long epoch = global_epoch_.load();
    for (size_t i = 0; i < n && !all_done_.load() && global_epoch_.load() == epoch; ++i) {
      lane_now_ = lanes_[i].get();
      const Ps g = global_at_.load();
      const bool empty = lanes_[i]->queue_.empty();
      if (empty || (g >= 0 && lanes_[i]->queue_.top().ready >= g)) park(static_cast<int>(i), empty);
    }
    if (!all_done_.load() && global_epoch_.load() == epoch)
      throw std::logic_error("controller: no lane can run (lanes in turn)");
    idle = 0;
  }
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
    if (lane_window(index, &in, &taken)) continue;
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
    lane.wake_.at.store(next);
    lane.wake_.waiting.store(true);
    bool go = false;
    // Spin a little (the other lane is usually a few events from publishing), yield a few times,
    // then sleep until woken.
    constexpr int kSpin = 64, kYield = 4;
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
        lane.wake_.cv.wait(hold, [&] { return lane.wake_.seq.load() != seq; });
      }
      lane.wake_.sleeping.store(false);
    }
    lane.wake_.waiting.store(false);
    epoch = global_epoch_.load();
  }
}

// An event for lane `index` from another lane (a message, or a step when `msg` is empty).
void Controller::deliver(int index, const Pending& p, int chip, Message msg, int cls) {
  Lane& from = ln();
  const Ps latency = layout_.links->latency_ps();
  if (!global_running_.load() && p.ready < from.now_ + latency)
    throw std::logic_error("controller: a message to another chip sooner than one link latency");
  // What it causes there comes back no sooner than its distance back x the link latency: this
  // lane goes no further before it has heard from the other.
  const int n = static_cast<int>(lanes_.size());
  const Ps back = p.ready + latency * dist_[static_cast<size_t>(msg && cls >= 0 ? cls : chip) * n +
                                            static_cast<size_t>(from.index_)];
  from.stop_ = std::min(from.stop_, back);
  Lane& to = *lanes_[index];
  long long seq;
  {
    std::lock_guard<std::mutex> hold(sync_);
    to.mail_.inbox.push_back(Inbound{p, chip, cls, std::move(msg)});
    ++messages_in_flight_;
    seq = to.mail_.delivered.load() + 1;
    to.mail_.delivered.store(seq);
  }
  if (lanes_.size() == 2) from.sent_.push_back(Lane::Sent{index, seq, back});
  if (to.wake_.sleeping.load()) {
    to.wake_.seq.fetch_add(1);
    std::lock_guard<std::mutex> hold(to.wake_.m);
    to.wake_.cv.notify_one();
  }
}

}  // namespace aimc::sim

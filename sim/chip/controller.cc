// The controller: the ready-time queue, deferred jobs and their joins, and the execution of each
// step on the chip's components (tile reads, attention, moves over the mesh and the links).
// Construction and the step templates: controller_setup.cc; digital layers' weight passes:
// weight_passes.cc; the memo of layer parts: memo_replay.cc; reductions away from the layer's
// DPU: reduction.cc.
#include "sim/chip/controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "proto/user_error.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/radix_sort.h"
#include "sim/chip/take_slot.h"

namespace aimc::sim {
namespace {

using arch::Ps;

// Bursts of more partial outputs than this are sorted by radix sort, smaller ones by std::sort.
constexpr size_t kRadixFrom = 96;

}  // namespace

// By (out, seq): the order the queue takes them. The seq grows with the index, so the keys
// (out from the earliest, index) packed in 64 bits sort alike, faster (by radix sort from
// kRadixFrom keys on: measured about 4x faster than std::sort at the 475 outputs of a burst on
// average on the 8B preset); else by the pair.
void Controller::sort_burst(std::vector<Burst::Item>* items) {
  std::vector<Burst::Item>& it = *items;
  const size_t n = it.size();
  if (n < 2) return;
  Ps lo = it[0].out, hi = it[0].out;
  for (const Burst::Item& x : it) {
    lo = std::min(lo, x.out);
    hi = std::max(hi, x.out);
  }
  int bits = 1;
  while ((size_t{1} << bits) < n) ++bits;
  if (static_cast<unsigned long long>(hi - lo) >= (1ULL << (62 - bits))) {
    std::sort(it.begin(), it.end(), [](const Burst::Item& x, const Burst::Item& y) {
      return x.out != y.out ? x.out < y.out : x.seq < y.seq;
    });
    return;
  }
  ln().burst_keys_.resize(n);
  for (size_t i = 0; i < n; ++i)
    ln().burst_keys_[i] = (static_cast<uint64_t>(it[i].out - lo) << bits) | i;
  if (n > kRadixFrom) {
    // The indices below `bits` ascend already: only the times are sorted, stably.
    int range = 0;
    while (range < 62 - bits && (static_cast<uint64_t>(hi - lo) >> range) != 0) ++range;
    radix_sort(&ln().burst_keys_, bits, bits + range, &ln().burst_radix_);
  } else {
    std::sort(ln().burst_keys_.begin(), ln().burst_keys_.end());
  }
  ln().burst_sorted_.resize(n);
  const unsigned long long mask = (1ULL << bits) - 1;
  for (size_t i = 0; i < n; ++i) ln().burst_sorted_[i] = it[ln().burst_keys_[i] & mask];
  it.swap(ln().burst_sorted_);
}

thread_local Controller::Lane* Controller::lane_now_ = nullptr;

// Sums over the lanes (whole numbers: exact in any order), latest times.
double Controller::ops(int phase) const {
  double sum = 0;
  for (const auto& l : lanes_) sum += l->ops_[phase];
  return sum;
}

double Controller::link_bit_hops(int phase) const {
  double sum = 0;
  for (const auto& l : lanes_) sum += l->link_bit_hops_[phase];
  return sum;
}

Ps Controller::end_time() const {
  Ps end = 0;
  for (const auto& l : lanes_) end = std::max(end, l->end_time_);
  return end;
}

long long Controller::activations() const {
  long long sum = 0;
  for (const auto& l : lanes_) sum += l->activations_;
  return sum;
}

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

arch::ActionCounts Controller::chip_counts(int phase, int chip) const {
  if (multi_) return chip_counts_[phase][chip];
  arch::ActionCounts all;
  for (const arch::ActionCounts& c : ledgers_[phase]) all += c;
  return all;
}

void Controller::set_trace(arch::SpanSink* sink) {
  sink_ = sink;
  traced_ = sink != nullptr;
  trace_track_ = (sink && sink->wants(name())) ? sink->track(name()) : -1;
  if (trace_track_ < 0) sink_ = nullptr;
}

const std::vector<Controller::Step>& Controller::steps_of(int token) const {
  const bool head = tok_pos_[token] >= seq_prompt_[tok_seq_[token]] - 1;
  return head ? with_head_ : without_head_;
}

void Controller::admit(int seq, Ps when) {
  admitted_[seq] = when;
  ++in_flight_;
  ++next_admit_;
  start_heads(seq);
  const Ps in = prompt_in(seq, when);
  for (int p = 0; p < seq_prompt_[seq]; ++p) push(seq_first_[seq] + p, embed_step_, in);
}

void Controller::push(int token, int step, Ps ready) {
  const Pending p{ready, next_seq(ln().cur_chip_), token, step};
  const int lane = lane_of_[steps_of(token)[step].chip];
  // The lookahead of a parallel run counts on a step being released by an event of its chip.
  if (parallel_ && steps_of(token)[step].chip != ln().cur_chip_ && !global_running_.load())
    throw std::logic_error("controller: a step released from another chip");
  if (lanes_[lane].get() != lane_now_) {
    deliver(lane, p, steps_of(token)[step].chip, nullptr, -1);
    return;
  }
  ln().queue_.push(p);
}

void Controller::post(int chip, Ps when, Message fn, int cls) {
  if (lanes_[lane_of_[chip]].get() != lane_now_) {
    deliver(lane_of_[chip], Pending{when, next_seq(ln().cur_chip_), 0, 0}, chip, std::move(fn),
            cls);
    return;
  }
  const int k = take_slot(ln().jobs_, ln().free_jobs_);
  ln().jobs_[k].join = -1;
  ln().jobs_[k].chip = chip;
  ln().jobs_[k].cls = cls;
  ln().jobs_[k].msg = std::move(fn);
  ln().queue_.push(Pending{when, next_seq(ln().cur_chip_), 0, 0, k});
}

void Controller::post_global(Ps when, Message fn) {
  if (parallel_) {
    std::lock_guard<std::mutex> hold(sync_);
    if (global_at_.load() >= 0)
      throw std::logic_error("controller: two events of every chip at once");
    global_ = std::move(fn);
    global_at_.store(when);
    ln().stop_ = std::min(ln().stop_, when);  // this lane goes no further either
    wake_all();  // a lane waiting with nothing left before it parks there
    return;
  }
  const int k = take_slot(ln().jobs_, ln().free_jobs_);
  ln().jobs_[k].join = -2;
  ln().jobs_[k].chip = 0;
  ln().jobs_[k].msg = std::move(fn);
  ln().queue_.push(Pending{when, -1, 0, 0, k});
}

void Controller::wake() {
  if (!ran_) {
    ran_ = true;
    lane_now_ = lanes_[0].get();
    if (lanes_.size() > 1 && parallel_allowed()) {
      run_parallel();
      return;
    }
    lanes_[0]->replay_ = replay_allowed();
    if (lanes_[0]->replay_) setup_replay();
  }
  lane_now_ = lanes_[0].get();
  Lane& lane = ln();
  ++lane.activations_;
  // Every step and job still to come, the prefill's last ones included, is ready no earlier
  // than the first in the queue: the routers' off intervals that end by then are wholly before
  // the phase split.
  if (fold_routers_ && !lane.queue_.empty())
    for (Chip* chip : layout_.chips) chip->noc().routers().fold_until(lane.queue_.top().ready);
  const Ps now = static_cast<Ps>(sc_core::sc_time_stamp().value());  // resolution 1 ps
  const Ps horizon = now + static_cast<Ps>(opt_.quantum_ns * 1000.0);
  // The window ends with no group of reads open (close_group queues their outputs).
  do {
    while (!lane.queue_.empty() && lane.queue_.top().ready <= horizon)
      issue(lane.queue_.top(), horizon);
    if (lane.group_open_) close_group();
  } while (!lane.queue_.empty() && lane.queue_.top().ready <= horizon);
  if (!lane.queue_.empty()) {
    Ps next = std::max(lane.queue_.top().ready, now + 1);
    // The partial outputs of replayed groups are events of the exact run too.
    for (int chip : replaying_) {
      const ChipReplay& r = replay_chips_[chip];
      const std::vector<Ps>& outs = replay_memos_[r.memo].outs;
      const auto it = std::upper_bound(outs.begin(), outs.end(), horizon - r.t);
      if (it != outs.end()) next = std::min(next, std::max(r.t + *it, now + 1));
    }
    next_trigger(sc_core::sc_time(static_cast<double>(next - now), sc_core::SC_PS));
  } else {
    end_run();
  }
}

// Takes the first event `top` (the top of the calling lane's queue) off the queue and issues
// it; a burst's partial output is followed by the next events while they are bursts' outputs
// ready by `until` (what the caller's loop would issue next; until < 0: none).
void Controller::issue(const Pending& top, Ps until) {
  Lane& lane = ln();
  // A group of reads closes before any other event (the loop then reads the top again).
  if (lane.group_open_ && !joins_group(top)) {
    close_group();
    return;
  }
  if (top.burst >= 0) {
    send_outputs(top, until);
    return;
  }
  const Pending p = top;
  lane.queue_.pop();
  lane.now_ = p.ready;
  lane.cur_seq_ = p.seq;
  if (p.job >= 0) {
    run_job(p);
    return;
  }
  const std::vector<Step>& st = steps_of(p.token);
  lane.cur_chip_ = st[p.step].chip;
  if (st[p.step].kind == Kind::kSend) {
    send_step(p.token, p.step);
    return;
  }
  lane.cur_join_ = open_join(p.token, p.step);
  const int join = lane.cur_join_;
  const Ps done = execute(p.token, st[p.step], p.ready);
  flush_counts();
  finish(join, done);
}

// Sends a burst's next partial output (`p`, just taken from the queue).
inline void Controller::run_burst(const Pending& p) {
  Burst& b = ln().bursts_[p.burst];
  const Burst::Item& item = b.items[b.next];
  const int tile = item.tile, join = b.join;
  const double bits = item.bits;
  const bool last = ++b.next == b.items.size();
  ln().cur_join_ = join;
  ln().cur_phase_ = b.phase;
  ln().cur_ledger_ = b.ledger;
  const Ps done = send_partial(p.burst, tile, bits, p.ready);
  flush_counts();
  // The step's part ends with the burst's latest (finish() once: its join waits for the burst
  // as one part, and only the latest of their ends counts).
  Burst& after = ln().bursts_[p.burst];
  after.done = std::max(after.done, done);
  if (!last) return;
  close_burst(p.burst);
  finish(join, after.done);
}

// The partial output `top` of a burst, then the next events while the queue's top is a burst's
// output ready by `until` and no group of reads is open: issue() of each in turn, without the
// way back through the caller's loop.
void Controller::send_outputs(Pending p, Ps until) {
  Lane& lane = ln();
  for (;;) {
    // The burst's next output takes its place in the queue (one sift instead of two).
    const Burst& b = lane.bursts_[p.burst];
    Pending put = p;
    put.seq = -1;  // (no output of the burst)
    if (b.next + 1 < b.items.size()) {
      const Burst::Item& n = b.items[b.next + 1];
      put.ready = n.out;
      put.seq = n.seq;
      lane.queue_.replace_top(put);
    } else {
      lane.queue_.pop();
    }
    lane.now_ = p.ready;
    lane.cur_seq_ = p.seq;
    lane.cur_chip_ = b.chip;
    // The next event's partial output and route are fetched while this one is sent (cache
    // hints only), when it is a burst's.
    if (!lane.queue_.empty() && lane.queue_.top().burst >= 0) {
      const Burst& nb = lane.bursts_[lane.queue_.top().burst];
      const Burst::Item& n = nb.items[nb.next + (lane.queue_.top().burst == p.burst)];
      nb.noc->prefetch_route(n.tile, nb.out_node);
    }
    run_burst(p);
    if (lane.group_open_ || lane.queue_.empty()) return;
    const Pending& next = lane.queue_.top();
    if (next.burst < 0 || next.ready > until) return;
    // The output put in the queue above, still its top (most often): taken from here rather
    // than read back from the top, whose parts were just stored one by one (a read of the
    // whole would wait for them).
    p = next.seq == put.seq && next.burst == put.burst ? put : next;
  }
}

// The run has ended: the ledgers summed per chip, each token's end over the lanes.
void Controller::end_run() {
  if (replayed_part_reads_ > 0) check_replayed_counts();
  merge_ledgers();
  for (size_t t = 0; t < tokens_.size(); ++t) tokens_[t].end = token_end(static_cast<int>(t));
}

Ps Controller::token_end(int token) const {
  Ps end = 0;
  for (const auto& l : lanes_) end = std::max(end, l->ends_[token]);
  return end;
}

int Controller::open_join(int token, int step) {
  const int j = take_slot(ln().joins_, ln().free_joins_);
  ln().joins_[j] = Join{token, step, 1, 0};
  return j;
}

// One part of a step (its issue or a job it deferred) ended at `done`; the step completes with
// its last part.
void Controller::finish(int join, Ps done) {
  Join& j = ln().joins_[join];
  j.done = std::max(j.done, done);
  if (--j.pending > 0) return;
  const Join ended = j;
  ln().free_joins_.push_back(join);
  complete(ended.token, ended.step, ended.done);
}

void Controller::set_context(int token, int step) {
  ln().cur_phase_ = tokens_[token].decode ? 1 : 0;
  const int ledger = steps_of(token)[step].ledger;
  ln().cur_ledger_ = multi_ ? &chip_ledgers_[ln().cur_phase_][ln().cur_chip_][ledger]
                            : &ledgers_[ln().cur_phase_][ledger];
}

void Controller::enter(int chip, int phase, int ledger) {
  ln().cur_chip_ = chip;
  ln().cur_phase_ = phase;
  ln().cur_ledger_ = multi_ ? &chip_ledgers_[phase][chip][ledger] : &ledgers_[phase][ledger];
}

void Controller::merge_ledgers() {
  if (!multi_) return;
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<arch::ActionCounts>& sum = ledgers_[phase];
    sum.assign(ledger_names_.size(), arch::ActionCounts{});
    for (size_t chip = 0; chip < chip_ledgers_[phase].size(); ++chip) {
      for (size_t l = 0; l < sum.size(); ++l) sum[l] += chip_ledgers_[phase][chip][l];
      if (chip >= layout_.chips.size()) continue;
      arch::ActionCounts& total = chip_counts_[phase][chip];
      total = arch::ActionCounts{};
      for (const arch::ActionCounts& c : chip_ledgers_[phase][chip]) total += c;
    }
  }
}

void Controller::run_job(const Pending& p) {
  Job& slot = ln().jobs_[p.job];
  ln().cur_chip_ = slot.chip;
  if (slot.join < 0) {
    // A message (or an event of every chip): no step waits for it.
    const Message fn = std::move(slot.msg);
    slot.msg = nullptr;
    ln().free_jobs_.push_back(p.job);
    fn(p.ready);
    return;
  }
  const int join = slot.join;
  ln().cur_join_ = join;
  set_context(ln().joins_[join].token, ln().joins_[join].step);
  const Then fn = std::move(slot.fn);
  slot.fn = nullptr;
  ln().free_jobs_.push_back(p.job);
  const Ps done = fn(p.ready);
  flush_counts();
  finish(join, done);
}

Ps Controller::at(Ps when, Then fn) {
  if (when <= ln().now_) return fn(when);
  const int k = take_slot(ln().jobs_, ln().free_jobs_);
  ln().jobs_[k].join = ln().cur_join_;
  ln().jobs_[k].chip = ln().cur_chip_;
  ln().jobs_[k].fn = std::move(fn);
  ++ln().joins_[ln().cur_join_].pending;
  const Join& j = ln().joins_[ln().cur_join_];
  ln().queue_.push(Pending{when, next_seq(ln().cur_chip_), j.token, j.step, k});
  return ln().now_;
}

Ps Controller::send_partial(int b, int tile, double bits, Ps out) {
  Burst& burst = ln().bursts_[b];
  if (__builtin_expect(burst.capture >= 0, 0)) return send_captured(b, tile, bits, out);
  const Ps arrived = burst.noc->unicast(out, tile, burst.out_node, bits, burst.sends);
  // (Again: the mesh may have simulated a replayed group first, taking bursts.)
  Burst& after = ln().bursts_[b];
  after.all = std::max(after.all, arrived);
  if (--after.left > 0) return arrived;
  const Then last = std::move(after.last);
  after.last = nullptr;
  return last(after.all);
}

Ps Controller::dpu_at(int chip, int dpu, Ps ready, const arch::DpuWork& w, const char* what,
                      Then then) {
  return at(ready, [this, chip, dpu, w, what, then = std::move(then)](Ps t) {
    const Ps done = layout_.chips[chip]->dpu(dpu).run(t, w, counts(chip), what);
    return then ? then(done) : done;
  });
}

Controller::Then Controller::gather(const std::shared_ptr<Gather>& g) {
  return [g](Ps done) {
    g->all = std::max(g->all, done);
    return --g->left == 0 ? g->then(g->all) : done;
  };
}

void Controller::release(int t, int s, Ps when) {
  ready_at_[t][s] = std::max(ready_at_[t][s], when);
  if (--remaining_[t][s] == 0) push(t, s, ready_at_[t][s]);
}

void Controller::complete(int token, int step, Ps done) {
  const std::vector<Step>& st = steps_of(token);
  done_at_[token][step] = done;
  ln().end_time_ = std::max(ln().end_time_, done);
  Ps& end = ln().ends_[token];
  end = std::max(end, done);
  for (int s : st[step].succ) release(token, s, done);
  const int seq = tok_seq_[token], prompt = seq_prompt_[seq];
  const int next = tok_pos_[token] + 1;  // next position of the same sequence
  const bool head = step == head_step_ && &st == &with_head_;
  if (host_out_ && head) token_out(token, done);
  if (st[step].kind == Kind::kAttention && next < seq_len_[seq])
    release(token + 1, attention_step_[st[step].block], done);
  if (head && next < seq_len_[seq] && next >= prompt) {
    if (next > prompt || request_mode()) {
      // With the host link and lm_head off chip 0, the id goes on from chip 0 (at_chip0).
      if (!host_out_ || layout_.head_chip == 0) feedback(token, done);
    } else {
      // The first decode tokens of the batch start together, once every prefill is done; on a
      // system, from an event of every chip one link latency after this one (the earliest it
      // can reach another chip).
      prefill_end_ = std::max(prefill_end_, done);
      if (++prefills_done_ == opt_.batch) {
        if (multi_) {
          fold_routers_ = false;  // the split may come before the decode's start (phase_split)
          post_global(ln().now_ + layout_.links->latency_ps(), [this](Ps at) { start_decode(at); });
        } else {
          start_decode(0);
        }
      }
    }
  }
  token_step_ended(token);
  if (sink_ && step + 1 == static_cast<int>(st.size()))
    sink_->span(trace_track_, tokens_[token].decode ? "decode token" : "prefill token",
                tokens_[token].start, end);
}

// Request mode: a finished sequence (its last token's steps all ended, and its id at the host
// with a host link) frees its slot for the next request.
void Controller::token_step_ended(int token) {
  const int seq = tok_seq_[token];
  // (Counted in request mode only: it runs on one lane.)
  if (!request_mode() || --steps_left_[token] != 0 || tok_pos_[token] + 1 != seq_len_[seq]) return;
  finished_[seq] = ln().ends_[token];  // request mode runs on one lane
  --in_flight_;
  while (next_admit_ < sequences() && in_flight_ < opt_.max_batch)
    admit(next_admit_, std::max(opt_.requests[next_admit_].arrival, ln().ends_[token]));
}

// Every prefill of the static batch is done; on a system this is an event of every chip at
// `floor` (no first decode token starts before it).
void Controller::start_decode(Ps floor) {
  // The phase split needs every prefill's end: with the host link and lm_head off chip 0 the
  // last ids may still be on their way to the host (at_chip0 then splits).
  if (prefill_ids_left_ == 0) {
    phase_split();
  } else {
    split_deferred_ = true;
  }
  // The ids leave lm_head's chip as from the event that found every prefill done (one link
  // latency before `floor`): they reach another chip no earlier than `floor`.
  const Ps now = ln().now_;
  if (multi_) ln().now_ = floor - layout_.links->latency_ps();
  for (int q = 0; q < opt_.batch; ++q) {
    const int last = seq_first_[q] + opt_.prompt_tokens - 1;
    if (host_out_ && layout_.head_chip != 0 && at_chip0_[last] < 0) {
      barrier_[last] = 1;  // its id is still on its way to chip 0: at_chip0 goes on
      continue;
    }
    feedback(last, prefill_end_, floor);
  }
  ln().now_ = now;
}

void Controller::phase_split() {
  materialize_all();  // the busy values at the decode's start are read
  stream_gating();
  settle_memos();
  if (on_decode_start) on_decode_start(prefill_end_);
}

// The end of the prefill phase is known (the report's split of a static batch: the latest end of
// a last prompt token; 0 in request mode): the routers' off intervals are summed per phase from
// now on instead of kept, and the tiles keep only the length of those that begin after it.
void Controller::stream_gating() {
  Ps split = 0;
  if (!request_mode())
    for (int q = 0; q < opt_.batch; ++q)
      split = std::max(split, token_end(seq_first_[q] + opt_.prompt_tokens - 1));
  for (Chip* chip : layout_.chips) {
    arch::GatedUnits& routers = chip->noc().routers();
    if (routers.spec().enabled && !routers.streaming()) routers.stream_from(split);
    chip->tiles().stream_gating(split);
  }
  fold_routers_ = false;
}

// The generated token (its id, 32 bits) of `token` travels from lm_head's chip to the
// embedding's, and releases the next position there. With a host link it went to chip 0 when
// it was made (token_out), and goes on from there.
void Controller::feedback(int token, Ps ready, Ps floor) {
  const int embed_chip = with_head_[embed_step_].chip;
  const int head_dpu = with_head_[head_step_].dpu, embed_dpu = with_head_[embed_step_].dpu;
  const int ledger = with_head_[head_step_].ledger;
  Message arrive = [this, token, floor](Ps t) {
    release(token + 1, embed_step_, std::max(t, floor));
  };
  if (host_out_) {
    send_chips(std::max(ready, at_chip0_[token]), 0, embed_dpu, embed_chip, embed_dpu, 32, 1,
               ledger, false, std::move(arrive));
    return;
  }
  send_chips(ready, layout_.head_chip, head_dpu, embed_chip, embed_dpu, 32, 1, ledger,
             multi_ && layout_.links->spec().route_via_ports, std::move(arrive));
}

// Host link: sequence `seq`'s prompt ids (32 bits each) from the host to chip 0, sent at `ready`.
Ps Controller::prompt_in(int seq, Ps ready) {
  if (!host_in_) return ready;
  const double bits = 32.0 * seq_prompt_[seq];
  host_bits_[0] += bits;
  return host_in_->transfer(ready, bits);
}

// Host link: the id `token` generated (ready at lm_head's chip at `done`) crosses to chip 0, then
// to the host; the token ends when it arrives there.
void Controller::token_out(int token, Ps done) {
  if (at_chip0_.empty()) {
    at_chip0_.assign(tokens_.size(), -1);
    barrier_.assign(tokens_.size(), 0);
  }
  if (layout_.head_chip == 0) {
    host_out(token, done);
    return;
  }
  if (request_mode()) ++steps_left_[token];  // it ends when its id reaches the host
  const int phase = tokens_[token].decode ? 1 : 0;
  send_chips(done, layout_.head_chip, with_head_[head_step_].dpu, 0, with_head_[embed_step_].dpu,
             32, phase, with_head_[head_step_].ledger, layout_.links->spec().route_via_ports,
             [this, token, done](Ps t) { at_chip0(token, done, t); });
}

void Controller::host_out(int token, Ps at0) {
  at_chip0_[token] = at0;
  const int phase = tokens_[token].decode ? 1 : 0;
  const Ps out = host_out_->transfer(at0, 32);
  host_bits_[phase] += 32;
  ln().ends_[token] = std::max(ln().ends_[token], out);
  ln().end_time_ = std::max(ln().end_time_, out);
}

// lm_head off chip 0, host link: `token`'s id reached chip 0 at `at0`; it goes to the host, and
// to the embedding's chip for the next position (the static batch's first decode position once
// the decode phase has started).
void Controller::at_chip0(int token, Ps done, Ps at0) {
  host_out(token, at0);
  const int seq = tok_seq_[token], prompt = seq_prompt_[seq];
  const int next = tok_pos_[token] + 1;
  if (!request_mode() && next == prompt && next < seq_len_[seq] && --prefill_ids_left_ == 0 &&
      split_deferred_)
    post_global(ln().now_ + layout_.links->latency_ps(), [this](Ps) { phase_split(); });
  if (next < seq_len_[seq] && next >= prompt) {
    if (next > prompt || request_mode()) {
      feedback(token, done);
    } else if (barrier_[token]) {
      feedback(token, prefill_end_);
    }
  }
  token_step_ended(token);
}

int Controller::port_of(int chip, int direction) const {
  const proto::InterconnectConfig& noc = layout_.chips[chip]->config().noc();
  return arch::port_node(layout_.links->spec().topology, direction, static_cast<int>(noc.mesh_x()),
                         static_cast<int>(noc.mesh_y()));
}

void Controller::send_chips(Ps ready, int from, int from_dpu, int to, int to_dpu, double bits,
                            int phase, int ledger, bool ports, Message arrive) {
  if (from == to) {
    arrive(ready);
    return;
  }
  auto f = std::make_shared<Flight>();
  f->route = layout_.links->route(from, to);
  if (parallel_) {
    // The lookahead counts on every flight leaving from the chip of the event that sends it, on
    // a route it knows.
    f->pair = pair_of_[static_cast<size_t>(from) * lane_of_.size() + to];
    if (f->pair < 0 || (from != ln().cur_chip_ && !global_running_.load()))
      throw std::logic_error("controller: a flight between chips the lookahead does not know");
  }
  f->bits = bits;
  f->from_dpu = from_dpu;
  f->to = to;
  f->to_dpu = to_dpu;
  f->phase = phase;
  f->ledger = ledger;
  f->ports = ports;
  f->arrive = std::move(arrive);
  // The first link is booked now (it is this chip's); the event's counting context stays.
  const int saved_phase = ln().cur_phase_;
  arch::ActionCounts* saved_ledger = ln().cur_ledger_;
  hop(f, 0, std::max(ready, ln().now_));
  ln().cur_phase_ = saved_phase;
  ln().cur_ledger_ = saved_ledger;
}

// Link k of a flight's route, booked by the chip it leaves (a switch's downlink: the chip it
// reaches) when the data is there: cut-through (the next link is taken when the head arrives)
// but with `ports` on a ring, mesh or torus, where each chip on the way stores the data while
// crossing its mesh from port to port.
void Controller::hop(const std::shared_ptr<Flight>& f, size_t k, Ps ready) {
  arch::ChipLinks& links = *layout_.links;
  const int link = f->route[k];
  const int chip = links.link_owner(link);
  enter(chip, f->phase, f->ledger);
  const bool sw = links.spec().topology == arch::Topology::kSwitch;
  Ps t = ready;
  // A chip the plan leaves unused is not simulated: the data goes from port to port there.
  if (f->ports && !(sw && k > 0) && chip < static_cast<int>(layout_.chips.size())) {
    Chip& c = *layout_.chips[chip];
    const int src =
        k == 0 ? c.dpu_node(f->from_dpu) : port_of(chip, links.entry_direction(f->route[k - 1]));
    t = c.noc().unicast(t, src, port_of(chip, links.direction_of(link)), f->bits, counts(chip));
  }
  const Ps start = links.book_link(t, link, f->bits);
  ln().link_bit_hops_[f->phase] += f->bits;
  const Ps head = start + links.latency_ps();
  const Ps tail = head + links.occupancy_ps(f->bits);
  if (k + 1 < f->route.size()) {
    post(
        links.link_owner(f->route[k + 1]), f->ports && !sw ? tail : head,
        [this, f, k](Ps at) { hop(f, k + 1, at); },
        f->pair < 0 ? -1 : pair_class_[f->pair] + static_cast<int>(k));
    return;
  }
  post(f->to, tail, [this, f](Ps at) {
    enter(f->to, f->phase, f->ledger);
    if (f->ports) {
      Chip& b = *layout_.chips[f->to];
      const int entry = port_of(f->to, layout_.links->entry_direction(f->route.back()));
      at = b.noc().unicast(at, entry, b.dpu_node(f->to_dpu), f->bits, counts(f->to));
    }
    f->arrive(at);
  });
}

// A step carrying data to another chip: it ends where the data arrives.
void Controller::send_step(int token, int step) {
  const std::vector<Step>& st = steps_of(token);
  const Step& s = st[step];
  Ps in = ln().now_;
  for (int d : s.deps) in = std::max(in, done_at_[token][d]);
  // The data leaves from where its step left it (a send's data from the DPU it reached).
  const Step& from = st[s.deps[0]];
  const int from_dpu = from.kind == Kind::kSend ? from.peer_dpu : from.dpu;
  enter(s.chip, tokens_[token].decode ? 1 : 0, s.ledger);
  send_chips(in, s.chip, from_dpu, s.peer, s.peer_dpu, static_cast<double>(s.out_elems) * act_bits_,
             ln().cur_phase_, s.ledger, layout_.links->spec().route_via_ports,
             [this, token, step](Ps t) { complete(token, step, t); });
}

// Every event counts on its own chip only, to that chip's copy of its ledger (a system's), or
// to the ledger (one chip).
arch::ActionCounts* Controller::counts(int chip) {
  (void)chip;
  return ln().cur_ledger_;
}

void Controller::flush_counts() {}

Ps Controller::move(int from_chip, int from, int to_chip, int to, long long elems, Ps ready) {
  const double bits = static_cast<double>(elems) * act_bits_;
  if (from_chip != to_chip) throw std::logic_error("controller: a move across chips is a send");
  if (from == to) return ready;
  Chip& chip = *layout_.chips[from_chip];
  return chip.noc().unicast(ready, chip.dpu_node(from), chip.dpu_node(to), bits, counts(from_chip));
}

Ps Controller::execute(int token, const Step& s, Ps ready) {
  const int phase = tokens_[token].decode ? 1 : 0;
  enter(s.chip, phase, s.ledger);
  const std::vector<Step>& st = steps_of(token);
  // Inputs produced on other DPUs travel there first (linear layers take theirs straight to
  // the tiles).
  Ps t = ready;
  if (s.kind != Kind::kLinear && s.kind != Kind::kPart) {
    for (int d : s.deps) {
      const int from_chip = st[d].kind == Kind::kSend ? st[d].peer : st[d].chip;
      t = std::max(t,
                   move(from_chip, st[d].dpu, s.chip, s.dpu, st[d].out_elems, done_at_[token][d]));
    }
  }
  Chip& chip = *layout_.chips[s.chip];
  const bool layer_norm = model_.norm == workloads::NormKind::kLayerNorm;
  const long long H = model_.hidden_size;
  switch (s.kind) {
    case Kind::kEmbed: {
      if (on_embed) on_embed(token);
      tokens_[token].start = ready;
      if (tokens_[token].decode && decode_wall_start_s_ == 0) {
        decode_wall_start_s_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        decode_cpu_start_s_ = process_cpu_s();
      }
      return chip.dram().access(t, static_cast<double>(H) * act_bits_, counts(s.chip), "embedding");
    }
    case Kind::kNorm:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::norm(H, layer_norm), "norm");
    case Kind::kResidualNorm: {
      arch::DpuWork w = arch::DpuWork::residual(H);
      w += arch::DpuWork::norm(H, layer_norm);
      return dpu_at(s.chip, s.dpu, t, w, "residual+norm");
    }
    case Kind::kResidual:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::residual(H), "residual");
    case Kind::kFinal:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::norm(H, layer_norm), "final norm");
    case Kind::kActivation: {
      const long long I = model_.intermediate_size;
      arch::DpuWork w = arch::DpuWork::activation(I);
      if (model_.gated_mlp) w += arch::DpuWork::gating(I);
      return dpu_at(s.chip, s.dpu, t, w, "activation");
    }
    case Kind::kAttention:
      if (on_attention) on_attention(token, s.block);
      return run_attention(token, s, t);
    case Kind::kLinear: {
      const Layer& l = layers_[s.layer];
      if (on_linear) on_linear(token, s.layer);
      // The home chip's part reads its input where the step before left it (not the sends).
      int src = s.dpu;
      Ps in_ready = ready;
      bool first = true;
      for (int d : s.deps) {
        if (st[d].kind == Kind::kSend) continue;
        if (first) src = st[d].dpu, in_ready = done_at_[token][d], first = false;
        in_ready = std::max(in_ready, done_at_[token][d]);
      }
      const double macs = static_cast<double>(l.in) * l.out;
      ln().ops_[phase] += 2 * macs;
      return run_linear(token, l, src, in_ready);
    }
    case Kind::kPart:
    case Kind::kGather:
      return run_split(token, s, ready, t);
    case Kind::kSend:
      break;
  }
  return t;
}

// A split layer's part on another chip than its home (its input has arrived at its DPU), or its
// gather step on the home chip (`t`: every part's result there); by input, the home DPU adds the
// parts' partial sums.
Ps Controller::run_split(int token, const Step& s, Ps ready, Ps t) {
  const Layer& l = layers_[s.layer];
  if (s.kind == Kind::kPart) {
    Chip& chip = *layout_.chips[s.chip];
    Ps in = ready;
    for (int d : s.deps) in = std::max(in, done_at_[token][d]);
    return run_part(token, l.parts[s.part], chip.dpu_node(s.dpu), in, chip.dpu_node(s.dpu),
                    l.bias && !l.by_input);
  }
  if (!l.by_input) return t;
  const arch::DpuWork w =
      arch::DpuWork::reduce_partials(l.out, static_cast<int>(l.parts.size()), l.bias);
  return dpu_at(s.chip, s.dpu, t, w, "reduce");
}

// The tiles of one part: each row group's input multicast from `src_node`, every tile read,
// the partial outputs sent to `out_node` and reduced on the part's DPU.
Ps Controller::run_part(int token, const Part& p, int src_node, Ps ready, int out_node, bool bias,
                        Then then) {
  arch::ActionCounts* c = counts(p.chip);
  const int replica = static_cast<int>(token % p.replicas.size());
  if (reduction_[p.chip] != proto::REDUCE_AT_LAYER_DPU)
    return run_part_reduced(p, replica, src_node, ready, out_node, bias, std::move(then));
  const arch::DpuWork w =
      arch::DpuWork::reduce_partials(p.out, static_cast<int>(p.replicas[replica].size()), bias);
  if (opt_.memo_parts && !memos_[p.memo + replica].shared_tiles)
    return replay_part(p, replica, src_node, ready, out_node, c,
                       [this, chip = p.chip, dpu = p.dpu, w, then](Ps all_in) {
                         return dpu_at(chip, dpu, all_in, w, "reduce", then);
                       });
  // The partial outputs leave each tile when it has been read; the reduction starts when the
  // last has arrived.
  const int chip = p.chip, dpu = p.dpu;
  return read_part(p, replica, src_node, ready, out_node, c, nullptr,
                   [this, chip, dpu, w, then = std::move(then)](Ps all_in) {
                     return dpu_at(chip, dpu, all_in, w, "reduce", then);
                   });
}

const arch::McTree& Controller::tree_of(const RowGroup& g, int src_node, arch::ScNoc& noc) {
  for (const arch::McTree& t : g.trees)
    if (t.src == src_node && t.mesh_x == noc.spec().mesh_x && t.mesh_y == noc.spec().mesh_y)
      return t;
  g.trees.emplace_back();
  noc.build_tree(src_node, g.tiles.data(), static_cast<int>(g.tiles.size()), &g.trees.back());
  return g.trees.back();
}

void Controller::multicast_group(const RowGroup& g, int src_node, arch::ScNoc& noc, Ps ready,
                                 double bits, Ps* arrivals, arch::ActionCounts* c) {
  if (g.flow >= 0 && g.flow_src == src_node && g.flow_mesh == noc.serial() && noc.runs_flows()) {
    noc.multicast_flow(ready, g.flow, bits, arrivals, c);
    return;
  }
  const arch::McTree& t = tree_of(g, src_node, noc);
  noc.multicast(ready, t, bits, arrivals, c);
  // tree_of() returns this tree for (src_node, noc) from now on: its flow stands for it.
  if (t.owner == &noc && t.flow >= 0) {
    g.flow = t.flow;
    g.flow_src = src_node;
    g.flow_mesh = noc.serial();
  }
}

void Controller::prefetch_groups(const std::vector<RowGroup>& gs, int src_node,
                                 const arch::ScNoc& noc) {
  for (const RowGroup& g : gs)
    if (g.flow >= 0 && g.flow_src == src_node && g.flow_mesh == noc.serial())
      noc.prefetch_flow(g.flow);
}

// Every row group's input multicast from `src_node` and its tiles' reads; `out(ready, in, tile,
// bits)` takes each read's partial outputs (ready, input arrived, tile, bits) in read order.
template <typename Out>
void Controller::read_groups(const Part& p, int replica, int src_node, Ps ready,
                             arch::ActionCounts* c, Out&& out) {
  Chip& chip = *layout_.chips[p.chip];
  arch::ScNoc& noc = chip.noc();
  arch::TileArray& array = chip.tile_array();
  const bool direct = array.direct();
  const std::vector<RowGroup>& groups = p.replicas[replica];
  prefetch_groups(groups, src_node, noc);
  // Plain reads' counts are the same whole numbers for every read of the part: added once for
  // all (the same sums), the reads then count nothing.
  arch::ActionCounts* const rc = direct && c && array.plain() &&
                                         static_cast<size_t>(replica) < p.sums.size() &&
                                         array.add_plain_counts(p.sums[replica], c)
                                     ? nullptr
                                     : c;
  for (size_t k = 0; k < groups.size(); ++k) {
    const RowGroup& g = groups[k];
    if (k + 1 < groups.size()) {
      // The next row group's tiles (cache hints only).
      const RowGroup& next = groups[k + 1];
      __builtin_prefetch(next.tiles.data());
      __builtin_prefetch(next.cols_phys.data());
      __builtin_prefetch(next.outs.data());
    }
    const int n = static_cast<int>(g.tiles.size());
    if (static_cast<int>(ln().arrivals_.size()) < n) ln().arrivals_.resize(n);
    Ps* const arrivals = ln().arrivals_.data();
    // The tiles' and ADC banks' state is fetched while the input travels (cache hints only).
    // With gated tiles, each tile's record of off intervals too (fetched while the row group
    // before was read, but for the first), and then where the next interval goes.
    if (direct) {
      for (int i = 0; i < n; ++i) array.prefetch(g.tiles[i]);
      for (int i = 0; i < n; ++i) array.prefetch_gating(g.tiles[i], k > 0);
    } else {
      for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(false);
    }
    multicast_group(g, src_node, noc, ready, static_cast<double>(g.rows) * dac_bits_, arrivals, c);
    if (direct) {
      if (k == 0)
        for (int i = 0; i < n; ++i) array.prefetch_gating(g.tiles[i], true);
      if (k + 1 < groups.size())
        for (int t : groups[k + 1].tiles) array.prefetch_gating(t, false);
    } else {
      for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(true);
    }
    for (int i = 0; i < n; ++i) {
      const Ps done = direct ? array.read(g.tiles[i], arrivals[i], g.rows, g.cols_phys[i], rc)
                             : chip.tile(g.tiles[i]).read(arrivals[i], g.rows, g.cols_phys[i], rc);
      out(done, arrivals[i], g.tiles[i], static_cast<double>(g.outs[i]) * act_bits_);
    }
  }
}

void Controller::read_items(const Part& p, int replica, int src_node, Ps ready, long long seq,
                            std::vector<Burst::Item>* items) {
  read_groups(p, replica, src_node, ready, &discard_, [&](Ps out, Ps, int tile, double bits) {
    items->push_back({out, seq++, tile, bits});
  });
}

// Every row group's input multicast from `src_node`, its tiles' reads and their partial outputs
// sent to `out_node`; returns when the last has arrived.
Ps Controller::read_part(const Part& p, int replica, int src_node, Ps ready, int out_node,
                         arch::ActionCounts* c, ReadSpans* spans, Then last) {
  // Each partial output leaves its tile when the tile has been read: in the queue's time order
  // in a run, in the order the tiles end in a calibration (one read alone).
  if (!last) {
    ln().reads_.clear();
    read_groups(p, replica, src_node, ready, c, [&](Ps out, Ps in, int tile, double bits) {
      ln().reads_.push_back({out, in, tile, bits});
      if (spans) {
        spans->first_in = std::min(spans->first_in, in);
        spans->last_in = std::max(spans->last_in, in);
      }
    });
    std::stable_sort(ln().reads_.begin(), ln().reads_.end(),
                     [](const TileRead& a, const TileRead& b) { return a.out < b.out; });
    arch::ScNoc& noc = layout_.chips[p.chip]->noc();
    Ps all_in = ready;
    for (const TileRead& r : ln().reads_) {
      const Ps back = noc.unicast(r.out, r.tile, out_node, r.bits, c);
      all_in = std::max(all_in, back);
      if (spans) {
        spans->first_out = std::min(spans->first_out, back);
        spans->last_out = std::max(spans->last_out, back);
      }
    }
    return all_in;
  }
  size_t tiles = 0;
  for (const RowGroup& g : p.replicas[replica]) tiles += g.tiles.size();
  if (tiles == 0) return ready;
  if (ln().replay_) {
    if (ready == ln().now_ && ln().cur_chip_ == p.chip && gathers(p.chip, ready))
      return defer_read(p, replica, src_node, out_node, c, static_cast<long long>(tiles),
                        std::move(last));
    if (ln().group_open_) close_group();
    // The chip's replayed or recorded group first (not from inside this read's operations).
    if (replay_chips_[p.chip].state != ChipReplay::State::kNone) touched(&hook_contexts_[p.chip]);
  }
  Ps all_in = ready;
  start_burst(p, replica, src_node, ready, out_node, c, static_cast<int>(tiles), std::move(last),
              &all_in);
  return all_in;
}

// A burst all of whose outputs were sent: its slot back, its chip's count of live bursts less one.
void Controller::close_burst(int b) {
  --ln().chip_bursts_[ln().bursts_[b].chip];
  ln().free_bursts_.push_back(b);
}

int Controller::open_burst(int join, int chip, int out_node, Ps all, int left, Then last, int phase,
                           arch::ActionCounts* ledger) {
  const int b = take_slot(ln().bursts_, ln().free_bursts_);
  ++ln().chip_bursts_[chip];
  Burst& burst = ln().bursts_[b];
  burst.items.clear();
  burst.join = join;
  burst.chip = chip;
  burst.out_node = out_node;
  burst.noc = &layout_.chips[chip]->noc();
  burst.next = 0;
  burst.all = all;
  burst.left = left;
  burst.last = std::move(last);
  burst.done = 0;
  burst.capture = -1;
  burst.phase = phase;
  burst.ledger = ledger;
  burst.sends = ledger;
  return b;
}

int Controller::start_burst(const Part& p, int replica, int src_node, Ps ready, int out_node,
                            arch::ActionCounts* c, int tiles, Then last, Ps* all_in) {
  // Those read already go now (once every tile has been read), the others as one burst in the
  // queue; sequence numbers are taken in read order, as one job each would. Its outputs are sent
  // in the context of its step (set_context).
  const int join = ln().cur_join_;
  const Join& step = ln().joins_[join];
  const int phase = tokens_[step.token].decode ? 1 : 0;
  const int ledger = steps_of(step.token)[step.step].ledger;
  const int b =
      open_burst(join, p.chip, out_node, ready, tiles, std::move(last), phase,
                 multi_ ? &chip_ledgers_[phase][p.chip][ledger] : &ledgers_[phase][ledger]);
  Lane& lane = ln();
  lane.sent_now_.clear();
  std::vector<Burst::Item>& items = lane.bursts_[b].items;
  const Ps now = lane.now_;
  long long& seq = seqs_[lane.cur_chip_];  // next_seq()
  read_groups(p, replica, src_node, ready, c, [&](Ps out, Ps in, int tile, double bits) {
    if (out <= now) {
      lane.sent_now_.push_back({out, in, tile, bits});
    } else {
      // Field by field (no whole item through the stack).
      Burst::Item& it = items.emplace_back();
      it.out = out;
      it.seq = seq++;
      it.tile = tile;
      it.bits = bits;
    }
  });
  Ps all = ready;
  for (const TileRead& r : ln().sent_now_)
    all = std::max(all, send_partial(b, r.tile, r.bits, r.out));
  Burst& burst = ln().bursts_[b];
  if (burst.items.empty()) {
    close_burst(b);
    *all_in = all;
    return -1;
  }
  *all_in = std::max(all, ln().now_);
  sort_burst(&burst.items);
  // The burst is one part of its step: it finishes with its last output (run_burst).
  ++ln().joins_[join].pending;
  const Join& j = ln().joins_[join];
  ln().queue_.push(Pending{burst.items[0].out, burst.items[0].seq, j.token, j.step, -1, b});
  return b;
}

Ps Controller::run_linear(int token, const Layer& l, int src_dpu, Ps ready) {
  if (!l.on_tiles) return run_digital(token, l, src_dpu, ready);
  Chip& home = *layout_.chips[l.home];
  // Its part on the home chip: its tiles' outputs go to the part's DPU, reduced there (a split
  // layer's other parts are steps of their own, joined by a gather step).
  const bool part_bias = l.bias && !l.by_input;
  for (const Part& p : l.parts)
    if (p.chip == l.home)
      return run_part(token, p, home.dpu_node(src_dpu), ready, home.dpu_node(p.dpu), part_bias);
  return ready;
}

Ps Controller::run_attention(int token, const Step& s, Ps ready) {
  Chip& chip = *layout_.chips[s.chip];
  arch::ActionCounts* c = counts(s.chip);
  const long long heads = model_.num_heads, kvh = model_.num_kv_heads, hd = model_.head_dim;
  const int pos = tok_pos_[token];
  const long long ctx = pos + 1;  // keys and values of this and every earlier position
  const int phase = tokens_[token].decode ? 1 : 0;
  // Append this token's K and V (after RoPE, approximated as ready + the RoPE of one group):
  // its sequence's share of the SRAM while it has room, then DRAM.
  const long long sram_tokens = kv_sram_tokens_per_sequence(s.chip);
  const bool in_sram = pos < sram_tokens;
  const double block_bits = static_cast<double>(kv_bits_per_token_block_);
  // Read the K and V of the earlier positions from where they live; SRAM and DRAM in parallel.
  const long long earlier = pos;
  const long long from_sram = std::min<long long>(earlier, sram_tokens);
  const long long from_dram = earlier - from_sram;
  const Ps rs = chip.kv_sram().access(ready, block_bits * from_sram, c, "kv read");
  const Ps rd = chip.dram().access(ready, block_bits * from_dram, c, "kv read");
  // The kv-head groups are spread over up to `dpu_count` DPUs starting at the block's DPU: each
  // receives its query heads, key and value, applies RoPE, computes QK^T, softmax and
  // softmax(.)V over the context, and returns its slice of the output to the block's DPU.
  // Each group's work is issued when its inputs reach its DPU; the K and V of this position are
  // written once every group has applied RoPE.
  const int groups = static_cast<int>(
      std::max<long long>(1, std::min<long long>(kvh > 0 ? kvh : 1, chip.dpu_count())));
  const int chip_idx = s.chip, home_dpu = s.dpu;
  const bool rotary = model_.positions == workloads::PositionKind::kRotary;
  auto rope = std::make_shared<Gather>();
  rope->left = groups;
  rope->all = ready;
  rope->then = [this, chip_idx, in_sram, block_bits](Ps rope_done) {
    Chip& chip = *layout_.chips[chip_idx];
    return (in_sram ? chip.kv_sram() : chip.dram())
        .access(rope_done, block_bits, counts(chip_idx), "kv write");
  };
  Ps done = std::max(rs, rd);
  for (int g = 0; g < groups; ++g) {
    const long long kv_g = kvh / groups + (g < kvh % groups ? 1 : 0);
    const long long q_g = kvh > 0 ? heads * kv_g / kvh : heads;
    const int d = (s.dpu + g) % chip.dpu_count();
    const Ps t = move(s.chip, s.dpu, s.chip, d, (q_g + 2 * kv_g) * hd, ready);
    const Ps kv_read = std::max(rs, rd);
    done = std::max(done, at(t, [=](Ps t) {
                      arch::ScDpu& dpu = layout_.chips[chip_idx]->dpu(d);
                      arch::ActionCounts* c = counts(chip_idx);
                      if (rotary) t = dpu.run(t, arch::DpuWork::rope((q_g + kv_g) * hd), c, "rope");
                      arch::DpuWork w = arch::DpuWork::macs(static_cast<double>(q_g * ctx * hd));
                      w += arch::DpuWork::softmax(q_g * ctx, q_g);
                      w += arch::DpuWork::macs(static_cast<double>(q_g * ctx * hd));
                      const Ps comp = std::max(dpu.run(t, w, c, "attention"), kv_read);
                      const Ps back =
                          at(comp, [this, chip_idx, d, home_dpu, elems = q_g * hd](Ps comp) {
                            return move(chip_idx, d, chip_idx, home_dpu, elems, comp);
                          });
                      return std::max(back, gather(rope)(t));
                    }));
  }
  ln().ops_[phase] += 4.0 * heads * ctx * hd;
  return done;
}

}  // namespace aimc::sim

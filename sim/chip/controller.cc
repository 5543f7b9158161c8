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

namespace aimc::sim {
namespace {

// A slot of a pool (joins, jobs, fans): the last one freed, or a new one at the end.
template <typename Pool>
int take_slot(Pool& pool, std::vector<int>& free) {
  if (free.empty()) {
    pool.emplace_back();
    return static_cast<int>(pool.size()) - 1;
  }
  const int k = free.back();
  free.pop_back();
  return k;
}

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
  burst_keys_.resize(n);
  for (size_t i = 0; i < n; ++i)
    burst_keys_[i] = (static_cast<uint64_t>(it[i].out - lo) << bits) | i;
  if (n > kRadixFrom) {
    // The indices below `bits` ascend already: only the times are sorted, stably.
    int range = 0;
    while (range < 62 - bits && (static_cast<uint64_t>(hi - lo) >> range) != 0) ++range;
    radix_sort(&burst_keys_, bits, bits + range, &burst_radix_);
  } else {
    std::sort(burst_keys_.begin(), burst_keys_.end());
  }
  burst_sorted_.resize(n);
  const unsigned long long mask = (1ULL << bits) - 1;
  for (size_t i = 0; i < n; ++i) burst_sorted_[i] = it[burst_keys_[i] & mask];
  it.swap(burst_sorted_);
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
  queue_.push(Pending{ready, seq_++, token, step});
}

void Controller::wake() {
  ++activations_;
  // Every step and job still to come, the prefill's last ones included, is ready no earlier
  // than the first in the queue: the routers' off intervals that end by then are wholly before
  // the phase split.
  if (fold_routers_ && !queue_.empty())
    for (Chip* chip : layout_.chips) chip->noc().routers().fold_until(queue_.top().ready);
  const Ps now = static_cast<Ps>(sc_core::sc_time_stamp().value());  // resolution 1 ps
  const Ps horizon = now + static_cast<Ps>(opt_.quantum_ns * 1000.0);
  while (!queue_.empty() && queue_.top().ready <= horizon) {
    const Pending p = queue_.top();
    if (p.burst >= 0) {
      // The burst's next output takes its place in the queue (one sift instead of two).
      const Burst& b = bursts_[p.burst];
      if (b.next + 1 < b.items.size()) {
        const Burst::Item& n = b.items[b.next + 1];
        queue_.replace_top(Pending{n.out, n.seq, p.token, p.step, -1, p.burst});
      } else {
        queue_.pop();
      }
      now_ = p.ready;
      run_burst(p);
      continue;
    }
    queue_.pop();
    now_ = p.ready;
    if (p.job >= 0) {
      run_job(p);
      continue;
    }
    const std::vector<Step>& st = steps_of(p.token);
    cur_join_ = open_join(p.token, p.step);
    const int join = cur_join_;
    const Ps done = execute(p.token, st[p.step], p.ready);
    flush_counts();
    finish(join, done);
  }
  if (!queue_.empty()) {
    const Ps next = std::max(queue_.top().ready, now + 1);
    next_trigger(sc_core::sc_time(static_cast<double>(next - now), sc_core::SC_PS));
  }
}

int Controller::open_join(int token, int step) {
  const int j = take_slot(joins_, free_joins_);
  joins_[j] = Join{token, step, 1, 0};
  return j;
}

// One part of a step (its issue or a job it deferred) ended at `done`; the step completes with
// its last part.
void Controller::finish(int join, Ps done) {
  Join& j = joins_[join];
  j.done = std::max(j.done, done);
  if (--j.pending > 0) return;
  const Join ended = j;
  free_joins_.push_back(join);
  complete(ended.token, ended.step, ended.done);
}

void Controller::set_context(int token, int step) {
  cur_phase_ = tokens_[token].decode ? 1 : 0;
  cur_ledger_ = &ledgers_[cur_phase_][steps_of(token)[step].ledger];
}

void Controller::run_job(const Pending& p) {
  Job& slot = jobs_[p.job];
  const int join = slot.join;
  cur_join_ = join;
  set_context(joins_[join].token, joins_[join].step);
  const Then fn = std::move(slot.fn);
  slot.fn = nullptr;
  free_jobs_.push_back(p.job);
  const Ps done = fn(p.ready);
  flush_counts();
  finish(join, done);
}

void Controller::run_burst(const Pending& p) {
  Burst& b = bursts_[p.burst];
  const Burst::Item& item = b.items[b.next];
  const int tile = item.tile, join = b.join;
  const double bits = item.bits;
  const bool last = ++b.next == b.items.size();
  // The next output's route is read at a later pop: fetched while this one is sent.
  if (!last) layout_.chips[b.chip]->noc().prefetch_route(b.items[b.next].tile, b.out_node);
  cur_join_ = join;
  cur_phase_ = b.phase;
  cur_ledger_ = b.ledger;
  const Ps done = send_partial(p.burst, tile, bits, p.ready);
  flush_counts();
  // The step's part ends with the burst's latest (finish() once: its join waits for the burst
  // as one part, and only the latest of their ends counts).
  Burst& after = bursts_[p.burst];
  after.done = std::max(after.done, done);
  if (!last) return;
  free_bursts_.push_back(p.burst);
  finish(join, after.done);
}

Ps Controller::at(Ps when, Then fn) {
  if (when <= now_) return fn(when);
  const int k = take_slot(jobs_, free_jobs_);
  jobs_[k].join = cur_join_;
  jobs_[k].fn = std::move(fn);
  ++joins_[cur_join_].pending;
  const Join& j = joins_[cur_join_];
  queue_.push(Pending{when, seq_++, j.token, j.step, k});
  return now_;
}

Ps Controller::send_partial(int b, int tile, double bits, Ps out) {
  Burst& burst = bursts_[b];
  const int chip = burst.chip;
  arch::ScNoc& noc = layout_.chips[chip]->noc();
  if (multi_ && burst.left > 1 && touched_.empty()) {
    // Not the last, and nothing counted yet since the last flush (a job of its own): only the
    // bit-hops are counted, straight into the step's ledger and the chip's totals, as
    // flush_counts() would add them (every other field adds 0).
    const Ps arrived = noc.unicast(out, tile, burst.out_node, bits, nullptr);
    if (tile != burst.out_node && bits > 0) {
      const double bit_hops = bits * noc.hops(tile, burst.out_node);
      cur_ledger_->noc_bit_hops += bit_hops;
      chip_counts_[cur_phase_][chip].noc_bit_hops += bit_hops;
    }
    burst.all = std::max(burst.all, arrived);
    --burst.left;
    return arrived;
  }
  const Ps arrived = noc.unicast(out, tile, burst.out_node, bits, counts(chip));
  burst.all = std::max(burst.all, arrived);
  if (--burst.left > 0) return arrived;
  const Then last = std::move(burst.last);
  burst.last = nullptr;
  return last(burst.all);
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

void Controller::complete(int token, int step, Ps done) {
  const std::vector<Step>& st = steps_of(token);
  done_at_[token][step] = done;
  end_time_ = std::max(end_time_, done);
  TokenRecord& rec = tokens_[token];
  rec.end = std::max(rec.end, done);
  auto release = [&](int t, int s, Ps when) {
    ready_at_[t][s] = std::max(ready_at_[t][s], when);
    if (--remaining_[t][s] == 0) push(t, s, ready_at_[t][s]);
  };
  for (int s : st[step].succ) release(token, s, done);
  const int seq = tok_seq_[token], prompt = seq_prompt_[seq];
  const int next = tok_pos_[token] + 1;  // next position of the same sequence
  if (host_out_ && step == head_step_ && &st == &with_head_) token_out(token, done);
  if (st[step].kind == Kind::kAttention && next < seq_len_[seq])
    release(token + 1, attention_step_[st[step].block], done);
  if (step == head_step_ && &st == &with_head_ && next < seq_len_[seq] && next >= prompt) {
    if (next > prompt || request_mode()) {
      release(token + 1, embed_step_, feedback(token, done));
    } else {
      // The first decode tokens of the batch start together, once every prefill is done.
      prefill_end_ = std::max(prefill_end_, done);
      if (++prefills_done_ == opt_.batch) {
        stream_gating();
        settle_memos();
        if (on_decode_start) on_decode_start(prefill_end_);
        for (int q = 0; q < opt_.batch; ++q)
          release(seq_first_[q] + opt_.prompt_tokens, embed_step_,
                  feedback(seq_first_[q] + opt_.prompt_tokens - 1, prefill_end_));
      }
    }
  }
  // Request mode: a finished sequence frees its slot for the next request.
  if (--steps_left_[token] == 0 && request_mode() && next == seq_len_[seq]) {
    finished_[seq] = rec.end;
    --in_flight_;
    while (next_admit_ < sequences() && in_flight_ < opt_.max_batch)
      admit(next_admit_, std::max(opt_.requests[next_admit_].arrival, rec.end));
  }
  if (sink_ && step + 1 == static_cast<int>(st.size()))
    sink_->span(trace_track_, tokens_[token].decode ? "decode token" : "prefill token", rec.start,
                rec.end);
}

// The end of the prefill phase is known (the report's split of a static batch: the latest end of
// a last prompt token; 0 in request mode): the routers' off intervals are summed per phase from
// now on instead of kept, and the tiles keep only the length of those that begin after it.
void Controller::stream_gating() {
  Ps split = 0;
  if (!request_mode())
    for (int q = 0; q < opt_.batch; ++q)
      split = std::max(split, tokens_[seq_first_[q] + opt_.prompt_tokens - 1].end);
  for (Chip* chip : layout_.chips) {
    arch::GatedUnits& routers = chip->noc().routers();
    if (routers.spec().enabled && !routers.streaming()) routers.stream_from(split);
    for (int t = 0; t < chip->tile_count(); ++t) chip->tile(t).stream_gating(split);
  }
  fold_routers_ = false;
}

// The generated token (its id, 32 bits) of `token` travels from lm_head's chip to the
// embedding's. With a host link it went to chip 0 when it was made (token_out).
Ps Controller::feedback(int token, Ps ready) {
  cur_phase_ = 1;
  const int embed_chip = with_head_[embed_step_].chip;
  if (host_out_) return link(std::max(ready, at_chip0_[token]), 0, embed_chip, 32);
  return between_chips(ready, layout_.head_chip, with_head_[head_step_].dpu, embed_chip,
                       with_head_[embed_step_].dpu, 32);
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
  if (at_chip0_.empty()) at_chip0_.assign(tokens_.size(), 0);
  cur_phase_ = tokens_[token].decode ? 1 : 0;
  const Ps at0 = between_chips(done, layout_.head_chip, with_head_[head_step_].dpu, 0,
                               with_head_[embed_step_].dpu, 32);
  at_chip0_[token] = at0;
  const Ps out = host_out_->transfer(at0, 32);
  host_bits_[cur_phase_] += 32;
  tokens_[token].end = std::max(tokens_[token].end, out);
  end_time_ = std::max(end_time_, out);
}

Ps Controller::between_chips(Ps ready, int from_chip, int from_dpu, int to_chip, int to_dpu,
                             double bits) {
  if (from_chip == to_chip || !layout_.links->spec().route_via_ports)
    return link(ready, from_chip, to_chip, bits);
  const arch::ChipLinks& links = *layout_.links;
  const std::vector<int> route = links.route(from_chip, to_chip);
  auto port = [&](int chip, int direction) {
    const proto::InterconnectConfig& noc = layout_.chips[chip]->config().noc();
    return arch::port_node(links.spec().topology, direction, static_cast<int>(noc.mesh_x()),
                           static_cast<int>(noc.mesh_y()));
  };
  Chip& a = *layout_.chips[from_chip];
  Chip& b = *layout_.chips[to_chip];
  Ps t = a.noc().unicast(ready, a.dpu_node(from_dpu), port(from_chip, links.direction_of(route[0])),
                         bits, counts(from_chip));
  if (route.size() == 1 || links.spec().topology == arch::Topology::kSwitch) {
    t = link(t, from_chip, to_chip, bits);
  } else {
    // Through a chip on the way: link by link, each chip between crossed on its mesh from the
    // port the data enters by to the port it leaves by (a chip the plan leaves unused is not
    // simulated: the data goes from port to port there).
    link_bit_hops_[cur_phase_] += bits * static_cast<double>(route.size());
    for (size_t k = 0; k < route.size(); ++k) {
      t = layout_.links->transfer_link(t, route[k], bits);
      const int via = k + 1 < route.size() ? links.link_end(route[k]) : -1;
      if (via < 0 || via >= static_cast<int>(layout_.chips.size())) continue;
      t = layout_.chips[via]->noc().unicast(t, port(via, links.entry_direction(route[k])),
                                            port(via, links.direction_of(route[k + 1])), bits,
                                            counts(via));
    }
  }
  return b.noc().unicast(t, port(to_chip, links.entry_direction(route.back())), b.dpu_node(to_dpu),
                         bits, counts(to_chip));
}

Ps Controller::link(Ps ready, int from_chip, int to_chip, double bits) {
  if (from_chip == to_chip) return ready;
  link_bit_hops_[cur_phase_] += bits * layout_.links->hops(from_chip, to_chip);
  return layout_.links->transfer(ready, from_chip, to_chip, bits);
}

arch::ActionCounts* Controller::counts(int chip) {
  if (!multi_) return cur_ledger_;
  if (std::find(touched_.begin(), touched_.end(), chip) == touched_.end()) touched_.push_back(chip);
  return &scratch_[chip];
}

// A system's step counted into per-chip scratch ledgers: add them to the step's ledger and to
// each chip's totals.
void Controller::flush_counts() {
  for (int chip : touched_) {
    *cur_ledger_ += scratch_[chip];
    chip_counts_[cur_phase_][chip] += scratch_[chip];
    scratch_[chip] = arch::ActionCounts{};
  }
  touched_.clear();
}

Ps Controller::move(int from_chip, int from, int to_chip, int to, long long elems, Ps ready) {
  const double bits = static_cast<double>(elems) * act_bits_;
  if (from_chip != to_chip) return between_chips(ready, from_chip, from, to_chip, to, bits);
  if (from == to) return ready;
  Chip& chip = *layout_.chips[from_chip];
  return chip.noc().unicast(ready, chip.dpu_node(from), chip.dpu_node(to), bits, counts(from_chip));
}

Ps Controller::execute(int token, const Step& s, Ps ready) {
  const int phase = tokens_[token].decode ? 1 : 0;
  cur_phase_ = phase;
  cur_ledger_ = &ledgers_[phase][s.ledger];
  const std::vector<Step>& st = steps_of(token);
  if (s.kind == Kind::kSend) {
    Ps in = ready;
    for (int d : s.deps) in = std::max(in, done_at_[token][d]);
    // The data leaves from where its step left it (a send's data from the DPU it reached).
    const Step& from = st[s.deps[0]];
    const int from_dpu = from.kind == Kind::kSend ? from.peer_dpu : from.dpu;
    return between_chips(in, s.chip, from_dpu, s.peer, s.peer_dpu,
                         static_cast<double>(s.out_elems) * act_bits_);
  }
  // Inputs produced on other DPUs travel there first (linear layers take theirs straight to
  // the tiles).
  Ps t = ready;
  if (s.kind != Kind::kLinear) {
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
      ops_[phase] += 2 * macs;
      return run_linear(token, l, src, in_ready);
    }
    case Kind::kSend:
      break;
  }
  return t;
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
    if (static_cast<int>(arrivals_.size()) < n) arrivals_.resize(n);
    // The tiles' and ADC banks' state is fetched while the input travels (cache hints only).
    // With gated tiles, each tile's record of off intervals too (fetched while the row group
    // before was read, but for the first), and then where the next interval goes.
    if (direct) {
      for (int i = 0; i < n; ++i) array.prefetch(g.tiles[i]);
      for (int i = 0; i < n; ++i) array.prefetch_gating(g.tiles[i], k > 0);
    } else {
      for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(false);
    }
    multicast_group(g, src_node, noc, ready, static_cast<double>(g.rows) * dac_bits_,
                    arrivals_.data(), c);
    if (direct) {
      if (k == 0)
        for (int i = 0; i < n; ++i) array.prefetch_gating(g.tiles[i], true);
      if (k + 1 < groups.size())
        for (int t : groups[k + 1].tiles) array.prefetch_gating(t, false);
    } else {
      for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(true);
    }
    for (int i = 0; i < n; ++i) {
      const Ps done = direct ? array.read(g.tiles[i], arrivals_[i], g.rows, g.cols_phys[i], c)
                             : chip.tile(g.tiles[i]).read(arrivals_[i], g.rows, g.cols_phys[i], c);
      out(done, arrivals_[i], g.tiles[i], static_cast<double>(g.outs[i]) * act_bits_);
    }
  }
}

// Every row group's input multicast from `src_node`, its tiles' reads and their partial outputs
// sent to `out_node`; returns when the last has arrived.
Ps Controller::read_part(const Part& p, int replica, int src_node, Ps ready, int out_node,
                         arch::ActionCounts* c, ReadSpans* spans, Then last) {
  // Each partial output leaves its tile when the tile has been read: in the queue's time order
  // in a run, in the order the tiles end in a calibration (one read alone).
  if (!last) {
    reads_.clear();
    read_groups(p, replica, src_node, ready, c, [&](Ps out, Ps in, int tile, double bits) {
      reads_.push_back({out, in, tile, bits});
      if (spans) {
        spans->first_in = std::min(spans->first_in, in);
        spans->last_in = std::max(spans->last_in, in);
      }
    });
    std::stable_sort(reads_.begin(), reads_.end(),
                     [](const TileRead& a, const TileRead& b) { return a.out < b.out; });
    arch::ScNoc& noc = layout_.chips[p.chip]->noc();
    Ps all_in = ready;
    for (const TileRead& r : reads_) {
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
  // Those read already go now (once every tile has been read), the others as one burst in the
  // queue; sequence numbers are taken in read order, as one job each would.
  const int join = cur_join_;
  const int b = take_slot(bursts_, free_bursts_);
  {
    Burst& burst = bursts_[b];
    burst.items.clear();
    burst.join = join;
    burst.chip = p.chip;
    burst.out_node = out_node;
    burst.next = 0;
    burst.all = ready;
    burst.left = static_cast<int>(tiles);
    burst.last = std::move(last);
    burst.done = 0;
    // The context each of its outputs is sent in (set_context of its step).
    const Join& j = joins_[join];
    burst.phase = tokens_[j.token].decode ? 1 : 0;
    burst.ledger = &ledgers_[burst.phase][steps_of(j.token)[j.step].ledger];
  }
  sent_now_.clear();
  std::vector<Burst::Item>& items = bursts_[b].items;
  read_groups(p, replica, src_node, ready, c, [&](Ps out, Ps in, int tile, double bits) {
    if (out <= now_) {
      sent_now_.push_back({out, in, tile, bits});
    } else {
      items.push_back({out, seq_++, tile, bits});
    }
  });
  Ps all_in = ready;
  for (const TileRead& r : sent_now_)
    all_in = std::max(all_in, send_partial(b, r.tile, r.bits, r.out));
  Burst& burst = bursts_[b];
  if (burst.items.empty()) {
    free_bursts_.push_back(b);
    return all_in;
  }
  all_in = std::max(all_in, now_);
  sort_burst(&burst.items);
  // The burst is one part of its step: it finishes with its last output (run_burst).
  ++joins_[join].pending;
  const Join& j = joins_[join];
  queue_.push(Pending{burst.items[0].out, burst.items[0].seq, j.token, j.step, -1, b});
  return all_in;
}

Ps Controller::run_linear(int token, const Layer& l, int src_dpu, Ps ready) {
  if (!l.on_tiles) return run_digital(token, l, src_dpu, ready);
  Chip& home = *layout_.chips[l.home];
  // One part on the home chip: its tiles' outputs go to the layer's DPU, reduced there.
  if (l.parts.size() == 1 && l.parts[0].chip == l.home)
    return run_part(token, l.parts[0], home.dpu_node(src_dpu), ready, home.dpu_node(l.dpu), l.bias);
  // Split over chips: each part reduces its row groups on its own chip; an output slice or a
  // partial sum comes back to the home chip; partial sums are added there.
  const bool part_bias = l.bias && !l.by_input;
  Then sum;  // by input: the home DPU adds the parts' partial sums once all have arrived
  if (l.by_input) {
    auto g = std::make_shared<Gather>();
    g->left = static_cast<int>(l.parts.size());
    g->all = ready;
    const int home_chip = l.home, dpu = l.dpu;
    const arch::DpuWork w =
        arch::DpuWork::reduce_partials(l.out, static_cast<int>(l.parts.size()), l.bias);
    g->then = [this, home_chip, dpu, w](Ps all) {
      return dpu_at(home_chip, dpu, all, w, "reduce");
    };
    sum = gather(g);
  }
  Ps all = ready;
  for (const Part& p : l.parts) {
    if (p.chip == l.home) {
      all = std::max(all, run_part(token, p, home.dpu_node(src_dpu), ready, home.dpu_node(p.dpu),
                                   part_bias, sum));
      continue;
    }
    Chip& chip = *layout_.chips[p.chip];
    const Ps in = done_at_[token][p.send];
    const int from = p.chip, from_dpu = p.dpu, to = l.home, to_dpu = l.dpu;
    const long long elems = p.out;
    Then back = [this, from, from_dpu, to, to_dpu, elems, sum](Ps done) {
      const Ps arrived = move(from, from_dpu, to, to_dpu, elems, done);
      return sum ? sum(arrived) : arrived;
    };
    all = std::max(all, run_part(token, p, chip.dpu_node(p.dpu), in, chip.dpu_node(p.dpu),
                                 part_bias, std::move(back)));
  }
  return all;
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
  ops_[phase] += 4.0 * heads * ctx * hd;
  return done;
}

}  // namespace aimc::sim

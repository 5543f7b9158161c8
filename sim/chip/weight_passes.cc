// Digital layers (not on tiles, e.g. a streamed lm_head): their weights stream from DRAM in
// passes that serve every token waiting for them.
#include <algorithm>
#include <cmath>

#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

// Sequence `seq` starts: its lm_head steps (its last prompt token's and each decode token's).
void Controller::start_heads(int seq) {
  if (heads_left_.empty()) {
    heads_left_.assign(sequences(), 0);
    last_head_token_.assign(sequences(), -1);
  }
  heads_left_[seq] = seq_len_[seq] - seq_prompt_[seq] + 1;
}

// Token `token` of sequence `seq` reached a digital lm_head's pass logic: one lm_head token
// fewer to come for its sequence (counted once, by the first of its DPU slices to arrive).
void Controller::head_arrived(int token, int seq) {
  if (last_head_token_[seq] == token) return;
  last_head_token_[seq] = token;
  --heads_left_[seq];
}

// The other sequences a pass opened at `when` by a token of `seq` waits for: those in flight
// (static batch: all; request mode: admitted by `when`) with an lm_head token still to reach it.
int Controller::sequences_to_wait_for(int seq, Ps when) const {
  int n = 0;
  for (int q = 0; q < static_cast<int>(heads_left_.size()); ++q)
    n += q != seq && heads_left_[q] > 0 && (!request_mode() || admitted_[q] <= when);
  return n;
}

// Digital layer: every DPU of the home chip computes a slice of the outputs, streaming its
// weights from that chip's DRAM. A pass streams the whole layer once, every DPU's slice at the
// same time (the DRAM's bandwidth shared by the slices), and serves every token whose input
// reached the DPUs before it began streaming (a batched matrix-vector product); a token arriving
// later starts the next pass, which (dpu.weight_pass_wait_fraction) first waits, bounded, for the
// next lm_head token of every other sequence in flight, whichever step it is at (iteration-level
// batching, docs/timing-energy.md). A token's products on a DPU are computed from when
// its input is there and its pass has begun streaming, so a token waiting for a later pass does not
// hold the DPU while its weights are not coming in.
Ps Controller::run_digital(int token, const Layer& l, int src_dpu, Ps ready) {
  Chip& chip = *layout_.chips[l.home];
  const int src_node = chip.dpu_node(src_dpu);
  const int n = chip.dpu_count();
  const bool head = l.role == "lm_head";
  const Ps wait =
      static_cast<Ps>(std::floor(chip.config().dpu().weight_pass_wait_fraction() *
                                 static_cast<double>(chip.dram().transfer_ps(
                                     static_cast<double>(l.in) * l.out * weight_bits_))));
  Ps done = ready;
  for (int d = 0; d < n; ++d) {
    const long long outs = l.out / n + (d < l.out % n ? 1 : 0);
    if (outs == 0) continue;
    const Ps in = chip.noc().unicast(ready, src_node, chip.dpu_node(d),
                                     static_cast<double>(l.in) * act_bits_, counts(l.home));
    const int home = l.home, ledger = l.ledger;
    const double bits = static_cast<double>(l.in) * l.out * weight_bits_;
    const double macs = static_cast<double>(outs) * l.in;
    done = std::max(
        done, at(in, [this, token, home, ledger, d, bits, macs, wait, head](Ps in) {
          const int seq = tok_seq_[token];
          if (head) head_arrived(token, seq);
          WeightPass& pass = weight_passes_[ledger];
          auto wait_for_pass = [&] {
            pass.waiters.push_back({ln().cur_join_, d, in, macs});
            ++ln().joins_[ln().cur_join_].pending;
            if (std::find(pass.arrived.begin(), pass.arrived.end(), token) == pass.arrived.end())
              pass.arrived.push_back(token);
            if (static_cast<int>(pass.arrived.size()) >= pass.need)
              launch_pass(ledger, home, bits, in);
            return in;
          };
          if (pass.open) return wait_for_pass();
          // The token's input reached this DPU after the pass began, and the pass does
          // not serve it (its input reached another DPU in time): the next pass.
          if (pass.begin < in &&
              std::find(pass.arrived.begin(), pass.arrived.end(), token) == pass.arrived.end()) {
            const int others = sequences_to_wait_for(seq, in);
            if (wait > 0 && others > 0) {
              // Other sequences have a token coming: assemble the pass, launched
              // when each has arrived or `wait` after this one.
              pass.open = true;
              pass.need = 1 + others;
              pass.arrived.clear();
              const long long gen = ++pass.generation;
              at(in + wait, [this, ledger, home, bits, gen, in](Ps t) {
                WeightPass& p = weight_passes_[ledger];
                if (p.open && p.generation == gen) launch_pass(ledger, home, bits, t);
                return in;
              });
              return wait_for_pass();
            }
            arch::ScMemory& dram = layout_.chips[home]->dram();
            pass.end = dram.access(in, bits, counts(home), "weights");
            pass.begin = pass.end - dram.spec().latency_ps - dram.transfer_ps(bits);
            pass.arrived.assign(1, token);
          }
          return matvec(home, d, in, macs, pass);
        }));
  }
  return done;
}

// A token's products on DPU `dpu`: from when its input is there and its pass streams; the token
// has them when both the products and the pass's last weights are in.
Ps Controller::matvec(int home, int dpu, Ps in, double macs, const WeightPass& pass) {
  const Ps w = pass.end;
  return dpu_at(home, dpu, std::max(in, pass.begin), arch::DpuWork::macs(macs), "matvec",
                [w](Ps comp) { return std::max(w, comp); });
}

void Controller::launch_pass(int layer, int home, double bits, Ps at) {
  WeightPass& pass = weight_passes_[layer];
  arch::ScMemory& dram = layout_.chips[home]->dram();
  pass.end = dram.access(at, bits, counts(home), "weights");
  pass.begin = pass.end - dram.spec().latency_ps - dram.transfer_ps(bits);
  pass.open = false;  // `arrived` stays: the tokens it serves
  flush_counts();     // the stream is counted to the step that launches it
  const int join = ln().cur_join_;
  const Join here = ln().joins_[join];
  std::vector<PassWaiter> waiters;
  waiters.swap(pass.waiters);
  for (const PassWaiter& w : waiters) {
    ln().cur_join_ = w.join;
    set_context(ln().joins_[w.join].token, ln().joins_[w.join].step);
    const Ps done = matvec(home, w.dpu, w.in, w.macs, pass);
    flush_counts();
    finish(w.join, done);
  }
  ln().cur_join_ = join;
  set_context(here.token, here.step);
}
}  // namespace aimc::sim

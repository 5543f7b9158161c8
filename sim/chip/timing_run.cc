// The timed simulation: elaboration of chip and controller, one sc_start, the report; the
// peak workload; fork isolation of the SystemC kernel.
#include "sim/chip/timing_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <systemc>

#include "arch/energy_model.h"
#include "mapping/mapper.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "proto/wire.pb.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/controller.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/trace.h"

namespace aimc::sim {
namespace {

using arch::Ps;

// Set once this process has elaborated SystemC modules; a second in-process run is refused.
bool g_kernel_used = false;

void claim_kernel() {
  if (g_kernel_used)
    throw std::logic_error(
        "the SystemC kernel of this process has already been used; run with isolate = true");
  g_kernel_used = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

void add_phase(proto::PhaseEnergy* pe, const std::vector<std::string>& names,
               const std::vector<arch::ActionCounts>& ledger, const arch::EnergySpec& es,
               const arch::LeakageSpec& ls, double time_ps, int tokens, double ops,
               const arch::GatingUse& gating) {
  arch::ActionCounts total;
  for (const arch::ActionCounts& c : ledger) total += c;
  const double time_s = time_ps * 1e-12;
  const arch::EnergyBreakdown b = arch::price(total, es, ls, time_s, gating);
  const double per = tokens > 0 ? 1.0 / tokens : 0;
  pe->set_tokens(tokens);
  pe->set_time_ns(time_ps * 1e-3);
  pe->set_total_nj_per_token(b.total_pj() * 1e-3 * per);
  for (const arch::EnergyItem& i : b.items) {
    proto::EnergyEntry* e = pe->add_by_component();
    e->set_name(i.name);
    e->set_nj_per_token(i.pj * 1e-3 * per);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    proto::EnergyEntry* e = pe->add_by_layer();
    e->set_name(names[i]);
    e->set_nj_per_token(arch::dynamic_energy_pj(ledger[i], es) * 1e-3 * per);
  }
  pe->set_ops_per_token(ops * per);
  pe->set_tops(time_s > 0 ? ops / time_s * 1e-12 : 0);
  pe->set_tops_per_w(b.total_pj() > 0 ? ops / (b.total_pj() * 1e-12) * 1e-12 : 0);
}

// Nearest-rank percentile (p in 0..100) of `v`; 0 when empty.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

// Weights kept in DRAM: the embedding table, and lm_head when it runs on the DPUs (streamed).
double dram_weight_bytes(const proto::ChipConfig& config, const workloads::ModelConfig& model) {
  const double table = static_cast<double>(model.vocab_size) * model.hidden_size;
  double bytes = table * config.noc().activation_bits() / 8.0;
  if (!config.mapping().lm_head_on_tiles() && !model.tie_word_embeddings)
    bytes += table * config.dpu().weight_bits() / 8.0;
  return bytes;
}

// Each kind's utilization into the Utilization field its registry line names.
void set_utilization(const std::vector<std::pair<std::string, double>>& values,
                     proto::Utilization* out) {
  const google::protobuf::Descriptor* d = out->GetDescriptor();
  for (const auto& [field, value] : values) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(field);
    if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_DOUBLE)
      throw std::logic_error("component registry: Utilization has no double field '" + field + "'");
    out->GetReflection()->SetDouble(out, f, value);
  }
}

// What one simulation elaborated and measured; the report is built from it.
struct Run {
  const workloads::ModelConfig* model = nullptr;
  const SimOptions* options = nullptr;
  std::vector<Chip*> chips;
  std::vector<const proto::MappingPlan*> plans;  // per chip
  const proto::MappingPlan* layers = nullptr;    // every layer (one chip: its plan)
  std::unique_ptr<arch::ChipLinks> links;        // systems of more than one chip
  const proto::SystemConfig* system = nullptr;
  const proto::SystemPlan* system_plan = nullptr;
  const mapping::SystemChipPlans* chip_plans = nullptr;
  Controller* ctl = nullptr;
  std::unique_ptr<TraceWriter> trace;
  std::vector<std::unique_ptr<RunNumerics>> numerics;
  // Busy time of every component (per chip) and link when the batch's decode phase starts.
  std::vector<std::vector<double>> chip_busy_at_decode;
  std::vector<double> link_busy_at_decode;
  double wall_s = 0, decode_wall_s = 0, cpu_end_s = 0;

  bool multi() const { return chips.size() > 1; }
  const proto::ChipConfig& config(int chip = 0) const { return chips[chip]->config(); }
  bool request_mode() const { return !options->requests.empty(); }
};

// Token counts and phase borders of a finished run.
struct Phases {
  int P = 0, D = 0, B = 1, N = 0;  // sequence 0's prompt and decode tokens; batch; positions
  Ps ttft = 0, total = 0, prefill_end = 0;
  // The window the bottleneck is named over: the decode phase of a batch, else the run.
  Ps window_start = 0;
};

ControllerOptions controller_options(const SimOptions& options) {
  ControllerOptions co;
  co.prompt_tokens = options.prompt_tokens;
  co.decode_tokens = options.decode_tokens;
  co.quantum_ns = options.quantum_ns;
  co.batch = options.batch;
  co.max_batch = options.max_batch;
  co.memo_parts = options.memo_parts;
  for (const SimOptions::Request& q : options.requests)
    co.requests.push_back(
        {q.prompt_tokens, q.decode_tokens, static_cast<Ps>(std::llround(q.arrival_ns * 1000.0))});
  return co;
}

// Numbers: with weights the executor of each sequence runs each (position, block) at its
// attention step. Every sequence has its own executor (same chip instance) and KV cache, so
// it computes exactly what it computes alone. Every chip of a system has the same numerics.
void attach_numerics(Run* run) {
  const SimOptions& options = *run->options;
  if (!options.weights) return;
  const int N = options.prompt_tokens + options.decode_tokens;
  const workloads::LayerInputRanges none;
  for (int seq = 0; seq < options.batch; ++seq) {
    std::vector<int32_t> prompt =
        !options.prompts.empty() ? options.prompts[seq]
        : options.prompt.empty()
            ? default_prompt({}, options.prompt_tokens, options.weights->config.vocab_size)
            : options.prompt;
    run->numerics.push_back(std::make_unique<RunNumerics>(
        run->config(), *options.weights, options.input_ranges ? *options.input_ranges : none,
        options.chip_seed, std::move(prompt), options.decode_tokens, options.record_logits));
  }
  std::vector<RunNumerics*> n;
  for (const auto& x : run->numerics) n.push_back(x.get());
  run->ctl->on_embed = [n, N](int token) { n[token / N]->embed(token % N); };
  run->ctl->on_attention = [n, N](int token, int block) { n[token / N]->block(token % N, block); };
}

void attach_trace(Run* run) {
  const SimOptions& options = *run->options;
  if (options.trace_path.empty()) return;
  TraceOptions to;
  to.path = options.trace_path;
  to.start_us = options.trace_start_us;
  to.end_us = options.trace_end_us;
  to.filter = options.trace_filter;
  run->trace = std::make_unique<TraceWriter>(to);
  for (Chip* chip : run->chips) chip->set_trace(run->trace.get());
  run->ctl->set_trace(run->trace.get());
}

// Elaborates the controller over the run's chips, attaches numbers, trace and the decode-start
// snapshot, and runs the kernel until the controller has no more work.
void elaborate_and_run(Run* run) {
  const SimOptions& options = *run->options;
  const ControllerOptions co = controller_options(options);
  if (!run->multi()) {
    run->ctl = new Controller("controller", run->chips[0], *run->model, *run->plans[0], co);
  } else {
    SystemLayout layout;
    layout.chips = run->chips;
    layout.plans = run->plans;
    layout.links = run->links.get();
    layout.block_chip = run->chip_plans->block_chip;
    layout.head_chip = run->chip_plans->head_chip;
    run->ctl = new Controller("controller", layout, *run->model, *run->layers, co);
  }
  attach_numerics(run);
  if (options.batch > 1)
    run->ctl->on_decode_start = [run](Ps) {
      for (const Chip* chip : run->chips) run->chip_busy_at_decode.push_back(chip->busy_values());
      if (run->links)
        for (int l = 0; l < run->links->link_count(); ++l)
          run->link_busy_at_decode.push_back(run->links->link_busy_ps(l));
    };
  attach_trace(run);
  const auto w0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  const auto w1 = std::chrono::steady_clock::now();
  run->ctl->settle_memos();
  run->cpu_end_s = process_cpu_s();
  run->wall_s = std::chrono::duration<double>(w1 - w0).count();
  run->decode_wall_s = run->ctl->decode_wall_start_s() > 0
                           ? std::chrono::duration<double>(w1.time_since_epoch()).count() -
                                 run->ctl->decode_wall_start_s()
                           : 0;
  if (run->trace) run->trace->write();
}

// "stage 3 (chip 3): " on a system, "" on one chip.
std::string chip_label(const Run& run, int chip) {
  if (!run.multi()) return "";
  const int stage = run.system_plan && chip < run.system_plan->chips_size()
                        ? static_cast<int>(run.system_plan->chips(chip).stage())
                        : chip;
  return "stage " + std::to_string(stage) + " (chip " + std::to_string(chip) + "): ";
}

// The component or link whose busy time grew most since the decode phase started (batch) or
// since the start, over `window_ps`; its busy fraction.
std::pair<std::string, double> busiest(const Run& run, double window_ps, bool since_decode) {
  std::pair<std::string, double> top{"none", 0};
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const bool have = since_decode && c < run.chip_busy_at_decode.size();
    const auto b =
        run.chips[c]->busiest(window_ps, have ? run.chip_busy_at_decode[c] : std::vector<double>{});
    if (b.second > top.second) top = {chip_label(run, static_cast<int>(c)) + b.first, b.second};
  }
  if (run.links && window_ps > 0) {
    for (int l = 0; l < run.links->link_count(); ++l) {
      const double before = since_decode && l < static_cast<int>(run.link_busy_at_decode.size())
                                ? run.link_busy_at_decode[l]
                                : 0;
      const double u = (run.links->link_busy_ps(l) - before) / window_ps;
      if (u > top.second) top = {"link " + run.links->link_name(l), u};
    }
  }
  return top;
}

Phases report_tokens(const Run& run, proto::SimReport* r) {
  const SimOptions& options = *run.options;
  const Controller& ctl = *run.ctl;
  Phases ph;
  // Request mode: these fields describe request 0.
  ph.P = run.request_mode() ? options.requests[0].prompt_tokens : options.prompt_tokens;
  ph.D = run.request_mode() ? options.requests[0].decode_tokens : options.decode_tokens;
  ph.B = options.batch;
  ph.N = options.prompt_tokens + options.decode_tokens;
  r->set_prompt_tokens(ph.P);
  r->set_decode_tokens(ph.D);
  const std::vector<TokenRecord>& tok = ctl.tokens();
  ph.ttft = tok[ph.P - 1].end;  // of sequence 0
  ph.total = ctl.end_time();
  // The prefill phase ends with the batch's last prefill (= ttft for one sequence).
  ph.prefill_end = ph.ttft;
  for (int seq = 1; seq < ph.B; ++seq)
    ph.prefill_end = std::max(ph.prefill_end, tok[seq * ph.N + ph.P - 1].end);
  if (run.request_mode()) ph.prefill_end = 0;  // phases interleave: all leakage goes to decode
  ph.window_start = ph.B > 1 ? ph.prefill_end : 0;
  r->set_ttft_ns(ph.ttft * 1e-3);
  r->set_total_time_ns(ph.total * 1e-3);
  Ps prev = ph.ttft;
  double sum = 0;
  for (int k = 0; k < ph.D; ++k) {
    const double lat = (tok[ph.P + k].end - prev) * 1e-3;
    r->add_decode_token_latency_ns(lat);
    sum += lat;
    prev = tok[ph.P + k].end;
  }
  if (ph.D > 0) {
    r->set_decode_latency_ns(sum / ph.D);
    r->set_decode_tokens_per_s(1e9 / (sum / ph.D));
  }
  for (size_t t = 0, seq = 0; t < tok.size(); ++t) {
    while (seq + 1 < static_cast<size_t>(ctl.sequences()) &&
           static_cast<int>(t) >= ctl.sequence_first_token(static_cast<int>(seq) + 1))
      ++seq;
    proto::TokenTiming* tt = r->add_tokens();
    tt->set_position(static_cast<uint32_t>(t - ctl.sequence_first_token(static_cast<int>(seq))));
    if (ctl.sequences() > 1) tt->set_sequence(static_cast<uint32_t>(seq));
    tt->set_phase(tok[t].decode ? "decode" : "prefill");
    tt->set_start_ns(tok[t].start * 1e-3);
    tt->set_end_ns(tok[t].end * 1e-3);
  }
  return ph;
}

// Power gating of one chip (tiles, ADC banks, routers): off intervals split at the end of
// prefill; a wake-up belongs to the phase in which its interval ends.
void chip_gating(Chip* chip, const Phases& ph, arch::GatingUse gated[2]) {
  chip->close_gating(ph.total, ph.prefill_end, gated);
}

arch::LeakageSpec chip_leakage(const Run& run, int chip) {
  const proto::MappingPlan& plan = *run.plans[chip];
  return leakage_spec(run.config(chip), plan.has_summary()
                                            ? static_cast<long long>(plan.summary().tiles_used())
                                            : (run.multi() ? 0 : -1));
}

// Tokens of each phase over all sequences (request mode: summed over the requests).
std::pair<int, int> phase_tokens(const Run& run, const Phases& ph) {
  if (!run.request_mode()) return {ph.B * ph.P, ph.B * ph.D};
  int prefill = 0, decode = 0;
  for (const auto& q : run.options->requests) {
    decode += q.decode_tokens;
    prefill += q.prompt_tokens;
  }
  return {prefill, decode};
}

// A system's phase energy: each chip's counts priced with its own energies and leakage, the
// items summed by name, plus the chip-to-chip links (bits x hops x e_pj_per_bit) and their
// ports' static power; by layer, each ledger priced with its home chip's energies.
void add_system_phase(const Run& run, int phase, double time_ps, int tokens,
                      const std::vector<std::array<arch::GatingUse, 2>>& gating,
                      proto::PhaseEnergy* pe) {
  const double time_s = time_ps * 1e-12;
  std::vector<arch::EnergyItem> items;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    const arch::EnergyBreakdown b =
        arch::price(run.ctl->chip_counts(phase, chip), energy_spec(run.config(chip)),
                    chip_leakage(run, chip), time_s, gating[c][phase]);
    for (const arch::EnergyItem& i : b.items) {
      auto it = std::find_if(items.begin(), items.end(),
                             [&](const arch::EnergyItem& x) { return x.name == i.name; });
      if (it == items.end())
        items.push_back(i);
      else
        it->pj += i.pj;
    }
  }
  const proto::ChipLinkConfig& lc = run.system->links();
  items.push_back({"chip_links", run.ctl->link_bit_hops(phase) * lc.e_pj_per_bit()});
  items.push_back({"chip_link_ports", lc.p_port_static_mw() * 1e-3 *
                                          static_cast<double>(run.chips.size()) * time_s * 1e12});
  double total = 0;
  for (const arch::EnergyItem& i : items) total += i.pj;
  const double per = tokens > 0 ? 1.0 / tokens : 0;
  const double ops = run.ctl->ops(phase);
  pe->set_tokens(tokens);
  pe->set_time_ns(time_ps * 1e-3);
  pe->set_total_nj_per_token(total * 1e-3 * per);
  for (const arch::EnergyItem& i : items) {
    proto::EnergyEntry* e = pe->add_by_component();
    e->set_name(i.name);
    e->set_nj_per_token(i.pj * 1e-3 * per);
  }
  const std::vector<arch::ActionCounts>& ledger = run.ctl->ledger(phase);
  for (size_t i = 0; i < ledger.size(); ++i) {
    proto::EnergyEntry* e = pe->add_by_layer();
    e->set_name(run.ctl->ledger_names()[i]);
    const arch::EnergySpec es = energy_spec(run.config(run.ctl->ledger_chip(static_cast<int>(i))));
    e->set_nj_per_token(arch::dynamic_energy_pj(ledger[i], es) * 1e-3 * per);
  }
  pe->set_ops_per_token(ops * per);
  pe->set_tops(time_s > 0 ? ops / time_s * 1e-12 : 0);
  pe->set_tops_per_w(total > 0 ? ops / (total * 1e-12) * 1e-12 : 0);
}

void report_energy(const Run& run, const Phases& ph, proto::SimReport* r) {
  const Controller& ctl = *run.ctl;
  std::vector<std::array<arch::GatingUse, 2>> gating(run.chips.size());
  for (size_t c = 0; c < run.chips.size(); ++c) chip_gating(run.chips[c], ph, gating[c].data());
  const auto [prefill_tokens, decode_tokens] = phase_tokens(run, ph);
  // Request mode gives the prefill phase no time (no leakage): phases interleave.
  const double prefill_ps = run.request_mode() ? 0 : static_cast<double>(ph.prefill_end);
  const double decode_ps = static_cast<double>(ph.total - ph.prefill_end);
  if (run.multi()) {
    add_system_phase(run, 0, prefill_ps, prefill_tokens, gating, r->mutable_prefill());
    add_system_phase(run, 1, decode_ps, decode_tokens, gating, r->mutable_decode());
  } else {
    const arch::EnergySpec es = energy_spec(run.config());
    const arch::LeakageSpec ls = chip_leakage(run, 0);
    add_phase(r->mutable_prefill(), ctl.ledger_names(), ctl.ledger(0), es, ls, prefill_ps,
              prefill_tokens, ctl.ops(0), gating[0][0]);
    add_phase(r->mutable_decode(), ctl.ledger_names(), ctl.ledger(1), es, ls, decode_ps,
              decode_tokens, ctl.ops(1), gating[0][1]);
  }
  if (!run.multi()) {
    set_utilization(run.chips[0]->utilization(static_cast<double>(ph.total)),
                    r->mutable_utilization());
    return;
  }
  // A system's utilization of each kind: busy time over time x units of all chips.
  std::vector<std::pair<std::string, double>> busy, units;
  for (const Chip* chip : run.chips) {
    const auto b = chip->busy_and_units();
    if (busy.empty()) {
      for (const auto& [field, bu] : b) {
        busy.push_back({field, 0});
        units.push_back({field, 0});
      }
    }
    for (size_t k = 0; k < b.size(); ++k) {
      busy[k].second += b[k].second.first;
      units[k].second += b[k].second.second;
    }
  }
  for (size_t k = 0; k < busy.size(); ++k)
    busy[k].second = ph.total > 0 && units[k].second > 0
                         ? busy[k].second / (static_cast<double>(ph.total) * units[k].second)
                         : 0;
  set_utilization(busy, r->mutable_utilization());
}

// The most sequences of `positions` positions whose KV caches every chip holds (each chip the
// KV of its own blocks, beside the weights its DRAM streams); 0 = unbounded.
long long run_max_batch(const Run& run, int positions, std::string* limit) {
  const workloads::ModelConfig& model = *run.model;
  if (!run.multi())
    return max_batch(run.config(), model, positions, run.options->dram_capacity_bytes,
                     dram_weight_bytes(run.config(), model), limit);
  return system_max_batch(*run.system, *run.chip_plans, model, positions, limit);
}

void report_kv_and_batch(const Run& run, const Phases& ph, proto::SimReport* r) {
  const Controller& ctl = *run.ctl;
  proto::KvPlacement* kv = r->mutable_kv_cache();
  const long long positions = ph.P + ph.D;
  kv->set_bytes_per_token(ctl.kv_bytes_per_token());
  const long long sram_positions = ctl.kv_sram_tokens_per_sequence();
  kv->set_sram_capacity_tokens(sram_positions);
  kv->set_first_dram_token(positions > sram_positions ? sram_positions : -1);
  kv->set_tokens_in_sram(std::min(positions, sram_positions));
  kv->set_tokens_in_dram(std::max(0LL, positions - sram_positions));
  if (ph.B <= 1) return;
  const std::vector<TokenRecord>& tok = ctl.tokens();
  const int B = ph.B, N = ph.N, P = ph.P, D = ph.D;
  proto::BatchReport* br = r->mutable_batch();
  br->set_batch(static_cast<uint32_t>(B));
  const double decode_s = static_cast<double>(ph.total - ph.prefill_end) * 1e-12;
  br->set_decode_tokens_per_s(decode_s > 0 ? B * D / decode_s : 0);
  std::vector<double> ttfts, tpots;
  for (int seq = 0; seq < B; ++seq) {
    Ps last = tok[seq * N + P - 1].end;
    ttfts.push_back(last * 1e-3);
    for (int k = 0; k < D; ++k) {
      const Ps end = tok[seq * N + P + k].end;
      tpots.push_back((end - last) * 1e-3);
      last = end;
    }
  }
  br->set_ttft_p50_ns(percentile(ttfts, 50));
  br->set_ttft_p90_ns(percentile(ttfts, 90));
  br->set_ttft_p99_ns(percentile(ttfts, 99));
  br->set_tpot_p50_ns(percentile(tpots, 50));
  br->set_tpot_p90_ns(percentile(tpots, 90));
  br->set_tpot_p99_ns(percentile(tpots, 99));
  double sum_tpot = 0;
  for (double v : tpots) sum_tpot += v;
  br->set_tpot_mean_ns(tpots.empty() ? 0 : sum_tpot / tpots.size());
  br->set_kv_bytes_per_sequence(static_cast<double>(ctl.kv_bytes_per_token()) * N);
  std::string limit;
  br->set_max_batch(static_cast<uint64_t>(run_max_batch(run, N, &limit)));
  br->set_batch_limit(limit);
  br->set_kv_sram_positions_per_sequence(static_cast<uint64_t>(sram_positions));
  const auto top = busiest(run, static_cast<double>(ph.total - ph.prefill_end), true);
  br->set_bottleneck(top.first);
  br->set_bottleneck_utilization(top.second);
}

// Energy of the whole run (every phase's dynamic energy and all leakage), in pJ.
double run_energy_pj(const Run& run, const Phases& ph) {
  double pj = 0;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    arch::ActionCounts all = run.ctl->chip_counts(0, chip);
    all += run.ctl->chip_counts(1, chip);
    pj += arch::price(all, energy_spec(run.config(chip)), chip_leakage(run, chip), ph.total * 1e-12)
              .total_pj();
  }
  if (run.multi()) {
    const proto::ChipLinkConfig& lc = run.system->links();
    pj += (run.ctl->link_bit_hops(0) + run.ctl->link_bit_hops(1)) * lc.e_pj_per_bit() +
          lc.p_port_static_mw() * 1e-3 * static_cast<double>(run.chips.size()) *
              (ph.total * 1e-12) * 1e12;
  }
  return pj;
}

void report_requests(const Run& run, const Phases& ph, proto::SimReport* r) {
  const SimOptions& options = *run.options;
  const Controller& ctl = *run.ctl;
  const std::vector<TokenRecord>& tok = ctl.tokens();
  proto::RequestReport* rr = r->mutable_requests();
  const int n = ctl.sequences();
  rr->set_requests(static_cast<uint32_t>(n));
  rr->set_max_batch(static_cast<uint32_t>(options.max_batch));
  rr->set_policy(
      "continuous batching, first come first served admission, prefill and decode "
      "tokens interleaved as their steps become ready");
  const double first_arrival = options.requests.front().arrival_ns;
  double last = 0, latency = 0, wait = 0, outputs = 0;
  std::vector<double> ttfts, tpots;
  std::vector<std::pair<double, int>> events;  // (time, +1 arrival / -1 departure)
  for (int q = 0; q < n; ++q) {
    const SimOptions::Request& req = options.requests[q];
    const double first_token =
        tok[ctl.sequence_first_token(q) + ctl.sequence_prompt(q) - 1].end * 1e-3;
    const double done = ctl.finished()[q] * 1e-3;
    proto::RequestTiming* t = rr->add_timings();
    t->set_arrival_ns(req.arrival_ns);
    t->set_admitted_ns(ctl.admitted()[q] * 1e-3);
    t->set_first_token_ns(first_token);
    t->set_finished_ns(done);
    t->set_prompt_tokens(static_cast<uint32_t>(req.prompt_tokens));
    t->set_decode_tokens(static_cast<uint32_t>(req.decode_tokens));
    ttfts.push_back(first_token - req.arrival_ns);
    if (req.decode_tokens > 0) tpots.push_back((done - first_token) / req.decode_tokens);
    latency += done - req.arrival_ns;
    wait += std::max(0.0, ctl.admitted()[q] * 1e-3 - req.arrival_ns);  // ps rounding
    outputs += req.decode_tokens + 1;
    last = std::max(last, done);
    events.push_back({req.arrival_ns, +1});
    events.push_back({done, -1});
  }
  const double makespan = last - first_arrival;
  rr->set_makespan_ns(makespan);
  rr->set_output_tokens_per_s(makespan > 0 ? outputs / (makespan * 1e-9) : 0);
  rr->set_ttft_p50_ns(percentile(ttfts, 50));
  rr->set_ttft_p90_ns(percentile(ttfts, 90));
  rr->set_ttft_p99_ns(percentile(ttfts, 99));
  rr->set_tpot_p50_ns(percentile(tpots, 50));
  rr->set_tpot_p90_ns(percentile(tpots, 90));
  rr->set_tpot_p99_ns(percentile(tpots, 99));
  rr->set_latency_mean_ns(latency / n);
  rr->set_wait_mean_ns(wait / n);
  // Time average of the requests in the system, from the arrival and departure events.
  std::sort(events.begin(), events.end());
  double area = 0, at = first_arrival;
  int in_system = 0;
  for (const auto& [time, delta] : events) {
    area += in_system * (time - at);
    at = time;
    in_system += delta;
  }
  rr->set_mean_in_system(makespan > 0 ? area / makespan : 0);
  rr->set_arrival_rate_per_s(makespan > 0 ? n / (makespan * 1e-9) : 0);
  rr->set_nj_per_output_token(outputs > 0 ? run_energy_pj(run, ph) * 1e-3 / outputs : 0);
  const auto top = busiest(run, static_cast<double>(ph.total), false);
  rr->set_bottleneck(top.first);
  rr->set_bottleneck_utilization(top.second);
}

// Programming: every block's cells, the tiles of every chip in parallel, row by row.
void report_programming(const Run& run, proto::SimReport* r) {
  double cells = 0, time_s = 0, energy_pj = 0;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const proto::ChipConfig& config = run.config(static_cast<int>(c));
    double chip_cells = 0;
    std::vector<double> rows(config.tile().count(), 0);
    for (const proto::BlockPlacement& b : run.plans[c]->blocks()) {
      const double nr = b.row_end() - b.row_begin(), nc = b.col_end() - b.col_begin();
      chip_cells += nr * nc * config.tile().cells_per_weight();
      if (b.tile() < rows.size()) rows[b.tile()] += nr;
    }
    const double max_rows = rows.empty() ? 0 : *std::max_element(rows.begin(), rows.end());
    arch::ActionCounts pc;
    pc.cells_programmed = chip_cells;
    cells += chip_cells;
    time_s = std::max(time_s, max_rows * config.tile().t_program_row_us() * 1e-6);
    energy_pj += arch::dynamic_energy_pj(pc, energy_spec(config));
  }
  proto::ProgrammingCost* p = r->mutable_programming();
  p->set_cells(cells);
  p->set_time_s(time_s);
  p->set_energy_uj(energy_pj * 1e-6);
}

void report_actions(const Run& run, proto::SimReport* r) {
  arch::ActionCounts pre, dec;
  for (const auto& c : run.ctl->ledger(0)) pre += c;
  for (const auto& c : run.ctl->ledger(1)) dec += c;
  std::vector<std::pair<std::string, std::string>> names;
  std::vector<double> pv, dv;
  pre.for_each([&](const std::string& n, const std::string& u, double v) {
    names.push_back({n, u});
    pv.push_back(v);
  });
  dec.for_each([&](const std::string&, const std::string&, double v) { dv.push_back(v); });
  for (size_t i = 0; i < names.size(); ++i) {
    proto::ActionTotal* a = r->add_actions();
    a->set_name(names[i].first);
    a->set_unit(names[i].second);
    a->set_prefill(pv[i]);
    a->set_decode(dv[i]);
  }
}

void add_statistic(const std::string& name, const std::string& unit, double value,
                   proto::SimReport* r) {
  proto::Statistic* st = r->add_statistics();
  st->set_name(name);
  st->set_unit(unit);
  st->set_value(value);
}

void report_statistics(const Run& run, const Phases& ph, proto::SimReport* r) {
  for (const Chip* chip : run.chips)
    for (const Stat& s : chip->statistics(static_cast<double>(ph.total)))
      add_statistic(s.name, s.unit, s.value, r);
  if (run.trace) {
    add_statistic("trace.spans_written", "count", static_cast<double>(run.trace->spans()), r);
    add_statistic("trace.spans_dropped", "count", static_cast<double>(run.trace->dropped()), r);
  }
  add_statistic("controller.activations", "count", static_cast<double>(run.ctl->activations()), r);
}

void report_mapping_and_speed(const Run& run, const Phases& ph, proto::SimReport* r) {
  *r->mutable_resolved_config() = run.config();
  proto::MappingSummary* ms = r->mutable_mapping();
  ms->set_strategy(run.layers->strategy());
  if (!run.multi()) {
    *ms->mutable_summary() = run.plans[0]->summary();
  } else {
    proto::PlanSummary* sum = ms->mutable_summary();
    for (const proto::MappingPlan* p : run.plans) {
      sum->set_tiles_used(sum->tiles_used() + p->summary().tiles_used());
      sum->set_tiles_available(sum->tiles_available() + p->summary().tiles_available());
      sum->set_blocks(sum->blocks() + p->summary().blocks());
      sum->set_tiles_needed(sum->tiles_needed() + p->summary().tiles_needed());
      sum->set_weights_on_tiles(sum->weights_on_tiles() + p->summary().weights_on_tiles());
    }
    sum->set_stages(run.system_plan->summary().stages());
  }
  for (const proto::LayerPlacement& l : run.layers->layers())
    l.on_tiles() ? ms->set_layers_on_tiles(ms->layers_on_tiles() + 1)
                 : ms->set_layers_on_dpus(ms->layers_on_dpus() + 1);
  double reads = run.ctl->memo_reads();
  for (const Chip* chip : run.chips) reads += chip->tile_reads();
  const int D = ph.D;
  r->set_tile_reads(reads);
  r->set_wall_s(run.wall_s);
  r->set_wall_s_per_decode_token(D > 0 ? run.decode_wall_s / D : 0);
  r->set_cpu_s_per_decode_token(D > 0 && run.ctl->decode_cpu_start_s() > 0
                                    ? (run.cpu_end_s - run.ctl->decode_cpu_start_s()) / D
                                    : 0);
  r->set_tile_reads_per_wall_s(run.wall_s > 0 ? reads / run.wall_s : 0);
}

// Per chip and per link figures of a system run, and its bottleneck.
void report_system(const Run& run, const Phases& ph, proto::SimReport* r) {
  proto::SystemReport* sr = r->mutable_system();
  sr->set_system(run.system->name());
  sr->set_chips(static_cast<uint32_t>(run.chips.size()));
  sr->set_stages(run.system_plan->summary().stages());
  const double total = static_cast<double>(ph.total);
  const bool since_decode = ph.B > 1;
  const double window = static_cast<double>(ph.total - ph.window_start);
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    proto::ChipUsage* u = sr->add_chip_usage();
    u->set_chip(static_cast<uint32_t>(chip));
    u->set_name(run.config(chip).name());
    u->set_stage(run.system_plan->chips(chip).stage());
    u->set_tiles_used(run.plans[c]->summary().tiles_used());
    set_utilization(run.chips[c]->utilization(total), u->mutable_utilization());
    arch::ActionCounts all = run.ctl->chip_counts(0, chip);
    all += run.ctl->chip_counts(1, chip);
    const arch::EnergySpec es = energy_spec(run.config(chip));
    const double dynamic = arch::dynamic_energy_pj(all, es);
    const double whole = arch::price(all, es, chip_leakage(run, chip), total * 1e-12).total_pj();
    u->set_dynamic_nj(dynamic * 1e-3);
    u->set_leakage_nj((whole - dynamic) * 1e-3);
    const auto b = run.chips[c]->busiest(window, since_decode && c < run.chip_busy_at_decode.size()
                                                     ? run.chip_busy_at_decode[c]
                                                     : std::vector<double>{});
    u->set_busiest(b.first);
    u->set_busiest_utilization(b.second);
  }
  const proto::ChipLinkConfig& lc = run.system->links();
  for (int l = 0; l < run.links->link_count(); ++l) {
    if (run.links->link_bits(l) <= 0) continue;
    proto::LinkUsage* lu = sr->add_links();
    lu->set_name(run.links->link_name(l));
    lu->set_bytes(run.links->link_bits(l) / 8);
    lu->set_utilization(total > 0 ? run.links->link_busy_ps(l) / total : 0);
    lu->set_energy_nj(run.links->link_bits(l) * lc.e_pj_per_bit() * 1e-3);
  }
  sr->set_prefill_link_bit_hops(run.ctl->link_bit_hops(0));
  sr->set_decode_link_bit_hops(run.ctl->link_bit_hops(1));
  sr->set_link_energy_nj((run.ctl->link_bit_hops(0) + run.ctl->link_bit_hops(1)) *
                         lc.e_pj_per_bit() * 1e-3);
  sr->set_link_port_energy_nj(lc.p_port_static_mw() * 1e-3 * static_cast<double>(run.chips.size()) *
                              total * 1e-12 * 1e9);
  const auto top = busiest(run, window, since_decode);
  sr->set_bottleneck(top.first);
  sr->set_bottleneck_utilization(top.second);
}

proto::SimReport make_report(Run& run) {
  proto::SimReport r;
  r.set_model(run.model->name);
  r.set_chip(run.multi() ? run.system->name() : run.config().name());
  const Phases ph = report_tokens(run, &r);
  report_energy(run, ph, &r);
  report_kv_and_batch(run, ph, &r);
  if (run.request_mode()) report_requests(run, ph, &r);
  report_programming(run, &r);
  report_actions(run, &r);
  report_statistics(run, ph, &r);
  for (size_t seq = 0; seq < run.numerics.size(); ++seq)
    run.numerics[seq]->write(seq == 0 ? r.mutable_generation() : r.add_batch_generations());
  report_mapping_and_speed(run, ph, &r);
  if (run.multi()) report_system(run, ph, &r);
  return r;
}

proto::SimReport simulate_here(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                               const proto::MappingPlan& plan, const SimOptions& options) {
  claim_kernel();
  std::vector<int> nodes;
  if (plan.dpu_nodes_size() == static_cast<int>(config.dpu().count()))
    for (uint32_t n : plan.dpu_nodes()) nodes.push_back(static_cast<int>(n));
  // Chips and controller are deliberately never destroyed: the kernel cannot be used again in
  // this process anyway, and SystemC's module registry removes modules in quadratic time
  // (seconds for a chip of 16k tiles).
  Run run;
  run.model = &model;
  run.options = &options;
  run.chips = {new Chip("chip", config, nodes)};
  run.plans = {&plan};
  run.layers = &plan;
  elaborate_and_run(&run);
  return make_report(run);
}

proto::SimReport simulate_system_here(const proto::SystemConfig& system,
                                      const workloads::ModelConfig& model,
                                      const proto::SystemPlan& plan,
                                      const mapping::SystemChipPlans& chip_plans,
                                      const SimOptions& options) {
  claim_kernel();
  Run run;
  run.model = &model;
  run.options = &options;
  run.system = &system;
  run.system_plan = &plan;
  run.chip_plans = &chip_plans;
  run.layers = &chip_plans.layers;
  for (size_t c = 0; c < chip_plans.chips.size(); ++c) {
    const proto::ChipConfig& config = proto::chip_config(system, static_cast<int>(c));
    const proto::MappingPlan& p = chip_plans.chips[c];
    std::vector<int> nodes;
    if (p.dpu_nodes_size() == static_cast<int>(config.dpu().count()))
      for (uint32_t n : p.dpu_nodes()) nodes.push_back(static_cast<int>(n));
    run.chips.push_back(new Chip(("chip" + std::to_string(c)).c_str(), config, nodes));
    run.plans.push_back(&p);
  }
  run.links = std::make_unique<arch::ChipLinks>(mapping::link_spec(system));
  elaborate_and_run(&run);
  return make_report(run);
}

PeakResult peak_here(const proto::ChipConfig& config, int reads) {
  claim_kernel();
  Chip& chip = *new Chip("chip", config);  // never destroyed, see simulate_here()
  const int rows = static_cast<int>(config.tile().rows());
  const int cols = static_cast<int>(config.tile().cols());
  const int wcols = cols / static_cast<int>(config.tile().cells_per_weight());
  arch::ActionCounts counts;
  Ps end = 0;
  for (int r = 0; r < reads; ++r)
    for (int t = 0; t < chip.tile_count(); ++t)
      end = std::max(end, chip.tile(t).read(0, rows, cols, &counts));
  PeakResult p;
  p.time_ns = end * 1e-3;
  p.ops = 2.0 * rows * wcols * reads * chip.tile_count();
  const arch::EnergyBreakdown b =
      arch::price(counts, energy_spec(config), leakage_spec(config), end * 1e-12);
  p.energy_pj = b.total_pj();
  p.counts = counts;
  p.tops = p.ops / (end * 1e-12) * 1e-12;
  p.tops_per_w = p.ops / (p.energy_pj * 1e-12) * 1e-12;
  p.read_latency_ns =
      arch::ScTile::unloaded_latency(tile_spec(config), adc_bank_spec(config), cols) * 1e-3;
  p.read_interval_ns =
      arch::ScTile::steady_interval(tile_spec(config), adc_bank_spec(config), cols) * 1e-3;
  return p;
}

}  // namespace

std::string run_isolated(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    int code = 0;
    proto::ChildOutcome outcome;
    try {
      outcome.set_value(fn());
    } catch (const UserError& e) {
      outcome.set_user_error(e.what());
      code = 2;
    } catch (const std::exception& e) {
      outcome.set_internal_error(e.what());
      code = 1;
    }
    const std::string out = outcome.SerializeAsString();
    write_all(fds[1], out);
    ::close(fds[1]);
    std::fflush(nullptr);
    _exit(code);
  }
  ::close(fds[1]);
  std::string data;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  proto::ChildOutcome outcome;
  if (!outcome.ParseFromString(data) ||
      outcome.outcome_case() == proto::ChildOutcome::OUTCOME_NOT_SET)
    throw std::runtime_error("simulation child process died (status " + std::to_string(status) +
                             ")");
  if (outcome.has_user_error()) throw UserError(outcome.user_error());
  if (outcome.has_internal_error()) throw std::runtime_error(outcome.internal_error());
  return outcome.value();
}

long long max_batch(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                    int positions, double dram_capacity_bytes, double dram_weight_bytes,
                    std::string* limit) {
  const double per_sequence = 2.0 * model.num_kv_heads * model.head_dim *
                              static_cast<double>(config.memory().kv_bits()) / 8.0 *
                              model.num_layers * positions;
  const double sram = static_cast<double>(config.memory().kv_sram_bytes());
  const long long in_sram = per_sequence > 0 ? static_cast<long long>(sram / per_sequence) : 0;
  char text[256];
  if (dram_capacity_bytes <= 0) {
    std::snprintf(text, sizeof text,
                  "none: the KV-cache SRAM holds %lld sequences of %d positions (%.4g bytes "
                  "each), the rest spills to DRAM of unbounded capacity",
                  in_sram, positions, per_sequence);
    *limit = text;
    return 0;
  }
  const double room = sram + std::max(0.0, dram_capacity_bytes - dram_weight_bytes);
  const long long n = per_sequence > 0 ? static_cast<long long>(room / per_sequence) : 0;
  std::snprintf(text, sizeof text,
                "KV-cache capacity: SRAM %.4g bytes + DRAM %.4g bytes (%.4g less %.4g of weights) "
                "hold %lld sequences of %d positions (%.4g bytes each)",
                sram, std::max(0.0, dram_capacity_bytes - dram_weight_bytes), dram_capacity_bytes,
                dram_weight_bytes, n, positions, per_sequence);
  *limit = text;
  return n;
}

namespace {

// Prompts of a batch and weights of the run agree with the options and the model.
void check_prompts_and_weights(const workloads::ModelConfig& model, const SimOptions& options) {
  if (!options.prompts.empty() && static_cast<int>(options.prompts.size()) != options.batch)
    throw UserError("timed run: " + std::to_string(options.prompts.size()) +
                    " prompts for a batch of " + std::to_string(options.batch));
  for (const auto& p : options.prompts)
    if (static_cast<int>(p.size()) != options.prompt_tokens)
      throw UserError("timed run: a prompt of the batch has " + std::to_string(p.size()) +
                      " tokens, prompt tokens is " + std::to_string(options.prompt_tokens));
  if (options.decode_tokens < 0) throw UserError("decode tokens: must not be negative");
  if (options.weights) {
    const workloads::ModelConfig& w = options.weights->config;
    if (w.num_layers != model.num_layers || w.hidden_size != model.hidden_size ||
        w.vocab_size != model.vocab_size || w.intermediate_size != model.intermediate_size)
      throw UserError("timed run: the weights are of model '" + w.name +
                      "', which differs from the simulated model '" + model.name + "'");
    if (!options.prompt.empty() && static_cast<int>(options.prompt.size()) != options.prompt_tokens)
      throw UserError("timed run: the prompt has " + std::to_string(options.prompt.size()) +
                      " tokens, prompt tokens is " + std::to_string(options.prompt_tokens));
  }
}

// The most sequences of `positions` positions the memories hold (limit: what bounds it), or -1
// when the DRAM is unbounded.
using BatchLimit = std::function<long long(int positions, std::string* limit)>;

// Options of a timed run checked before anything is elaborated (UserError naming the option).
void check_sim_options(const workloads::ModelConfig& model, const SimOptions& options,
                       const BatchLimit& most) {
  if (options.prompt_tokens < 1) throw UserError("prompt tokens: must be at least 1");
  if (options.batch < 1)
    throw UserError("batch: must be at least 1, got " + std::to_string(options.batch));
  {
    std::string limit;
    const long long n = most(options.prompt_tokens + options.decode_tokens, &limit);
    if (n >= 0 && options.batch > n)
      throw UserError("batch " + std::to_string(options.batch) + " does not fit: " + limit);
  }
  if (!options.requests.empty()) {
    if (options.weights)
      throw UserError("request mode computes time and energy only: run it without weights");
    if (options.max_batch < 1)
      throw UserError("max batch: must be at least 1, got " + std::to_string(options.max_batch));
    // The KV caches of max_batch sequences of the longest request must fit.
    int longest = 0;
    for (const SimOptions::Request& q : options.requests)
      longest = std::max(longest, q.prompt_tokens + q.decode_tokens);
    std::string limit;
    const long long n = most(longest, &limit);
    if (n >= 0 && options.max_batch > n)
      throw UserError("max batch " + std::to_string(options.max_batch) + " does not fit: " + limit);
    double prev = 0;
    for (size_t i = 0; i < options.requests.size(); ++i) {
      const SimOptions::Request& q = options.requests[i];
      if (q.prompt_tokens < 1 || q.decode_tokens < 0 || !(q.arrival_ns >= prev))
        throw UserError("request " + std::to_string(i) +
                        ": needs >= 1 prompt tokens, >= 0 decode tokens and an arrival no "
                        "earlier than the request before");
      prev = q.arrival_ns;
    }
  }
  check_prompts_and_weights(model, options);
}

proto::SimReport parse_report(const std::string& bytes) {
  proto::SimReport r;
  if (!r.ParseFromString(bytes)) throw std::runtime_error("bad report from simulation child");
  return r;
}

}  // namespace

// memo_parts replays reads without the components' gating state: refused with power gating.
void check_memo(const proto::ChipConfig& config, const SimOptions& options) {
  const proto::PowerGatingConfig& g = config.power_gating();
  if (options.memo_parts && (g.tile().enabled() || g.adc_bank().enabled() || g.router().enabled()))
    throw UserError("chip '" + config.name() +
                    "': power_gating is on; the memo of layer parts (--memo-parts) replays reads "
                    "without the gated units' state: run without one of them");
}

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const proto::MappingPlan& plan, const SimOptions& options) {
  check_memo(config, options);
  check_sim_options(model, options, [&](int positions, std::string* limit) {
    const long long n = max_batch(config, model, positions, options.dram_capacity_bytes,
                                  dram_weight_bytes(config, model), limit);
    return options.dram_capacity_bytes > 0 ? n : -1;
  });
  if (!options.isolate) return simulate_here(config, model, plan, options);
  return parse_report(run_isolated(
      [&] { return simulate_here(config, model, plan, options).SerializeAsString(); }));
}

long long system_max_batch(const proto::SystemConfig& system,
                           const mapping::SystemChipPlans& chip_plans,
                           const workloads::ModelConfig& model, int positions, std::string* limit) {
  const int chips = static_cast<int>(chip_plans.chips.size());
  std::vector<int> blocks(chips, 0);
  for (int c : chip_plans.block_chip) ++blocks[c];
  long long least = -1;
  std::string why;
  for (int c = 0; c < chips; ++c) {
    const proto::ChipConfig& config = proto::chip_config(system, c);
    const double capacity = static_cast<double>(proto::chip_dram(system, c).capacity_bytes());
    if (blocks[c] == 0 || capacity <= 0) continue;
    workloads::ModelConfig part = model;
    part.num_layers = blocks[c];
    const double table = static_cast<double>(model.vocab_size) * model.hidden_size;
    double weights = 0;
    if (!chip_plans.block_chip.empty() && c == chip_plans.block_chip[0])
      weights += table * config.noc().activation_bits() / 8.0;
    const bool streamed = chip_plans.layers.layers_size() > 0 &&
                          !chip_plans.layers.layers(chip_plans.layers.layers_size() - 1).on_tiles();
    if (c == chip_plans.head_chip && streamed && !model.tie_word_embeddings)
      weights += table * config.dpu().weight_bits() / 8.0;
    std::string text;
    const long long n = max_batch(config, part, positions, capacity, weights, &text);
    if (least < 0 || n < least) {
      least = n;
      why = "chip " + std::to_string(c) + " (" + std::to_string(blocks[c]) + " blocks): " + text;
    }
  }
  *limit = least < 0 ? "none: every chip's DRAM is unbounded" : why;
  return std::max(0LL, least);
}

proto::SimReport simulate(const proto::SystemConfig& system, const workloads::ModelConfig& model,
                          const proto::SystemPlan& plan, const mapping::SystemChipPlans& chip_plans,
                          const SimOptions& options) {
  if (chip_plans.chips.size() == 1) {
    SimOptions one = options;
    one.dram_capacity_bytes = static_cast<double>(proto::chip_dram(system, 0).capacity_bytes());
    return simulate(proto::chip_config(system, 0), model, chip_plans.chips[0], one);
  }
  for (size_t c = 0; c < chip_plans.chips.size(); ++c)
    check_memo(proto::chip_config(system, static_cast<int>(c)), options);
  check_sim_options(model, options, [&](int positions, std::string* limit) {
    const long long n = system_max_batch(system, chip_plans, model, positions, limit);
    return limit->rfind("none", 0) == 0 ? -1 : n;
  });
  if (!options.isolate) return simulate_system_here(system, model, plan, chip_plans, options);
  return parse_report(run_isolated([&] {
    return simulate_system_here(system, model, plan, chip_plans, options).SerializeAsString();
  }));
}

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const std::string& strategy, const SimOptions& options) {
  return simulate(config, model, mapping::make_plan(model, config, strategy), options);
}

PeakResult run_peak_workload(const proto::ChipConfig& config, int reads_per_tile, bool isolate) {
  if (!isolate) return peak_here(config, reads_per_tile);
  const std::string s = run_isolated([&] {
    const PeakResult p = peak_here(config, reads_per_tile);
    proto::PeakFigures f;
    f.set_time_ns(p.time_ns);
    f.set_ops(p.ops);
    f.set_energy_pj(p.energy_pj);
    f.set_tops(p.tops);
    f.set_tops_per_w(p.tops_per_w);
    f.set_read_latency_ns(p.read_latency_ns);
    f.set_read_interval_ns(p.read_interval_ns);
    p.counts.for_each([&](const std::string& name, const std::string&, double v) {
      proto::NamedCount* c = f.add_counts();
      c->set_name(name);
      c->set_value(v);
    });
    return f.SerializeAsString();
  });
  proto::PeakFigures f;
  if (!f.ParseFromString(s)) throw std::runtime_error("bad peak result from child");
  PeakResult p;
  p.time_ns = f.time_ns();
  p.ops = f.ops();
  p.energy_pj = f.energy_pj();
  p.tops = f.tops();
  p.tops_per_w = f.tops_per_w();
  p.read_latency_ns = f.read_latency_ns();
  p.read_interval_ns = f.read_interval_ns();
  for (const proto::NamedCount& c : f.counts()) {
    if (!p.counts.set(c.name(), c.value()))
      throw std::runtime_error("bad peak result from child: unknown count " + c.name());
  }
  return p;
}

}  // namespace aimc::sim

// libsystemc's own main() calls sc_main; aimcsim has its own main() and starts the kernel with
// sc_start() from simulate(), so this definition only satisfies the linker and is never called.
int sc_main(int, char*[]) {
  return 1;
}

// The timed simulation: elaboration of chip and controller, one sc_start, the report; the
// peak workload; fork isolation of the SystemC kernel.
#include "sim/chip/timing_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <systemc>

#include "arch/energy_model.h"
#include "mapping/mapper.h"
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

proto::SimReport simulate_here(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                               const proto::MappingPlan& plan, const SimOptions& options) {
  claim_kernel();
  std::vector<int> nodes;
  if (plan.dpu_nodes_size() == static_cast<int>(config.dpu().count()))
    for (uint32_t n : plan.dpu_nodes()) nodes.push_back(static_cast<int>(n));
  // Chip and controller are deliberately never destroyed: the kernel cannot be used again in
  // this process anyway, and SystemC's module registry removes modules in quadratic time
  // (seconds for a chip of 16k tiles).
  Chip& chip = *new Chip("chip", config, nodes);
  ControllerOptions co;
  co.prompt_tokens = options.prompt_tokens;
  co.decode_tokens = options.decode_tokens;
  co.quantum_ns = options.quantum_ns;
  co.batch = options.batch;
  co.max_batch = options.max_batch;
  for (const SimOptions::Request& q : options.requests)
    co.requests.push_back(
        {q.prompt_tokens, q.decode_tokens, static_cast<Ps>(std::llround(q.arrival_ns * 1000.0))});
  const bool request_mode = !options.requests.empty();
  Controller& ctl = *new Controller("controller", &chip, model, plan, co);
  const int B = options.batch;
  const int N = options.prompt_tokens + options.decode_tokens;  // positions per sequence
  // Numbers: with weights the executor of each sequence runs each (position, block) at its
  // attention step. Every sequence has its own executor (same chip instance) and KV cache, so
  // it computes exactly what it computes alone.
  std::vector<std::unique_ptr<RunNumerics>> numerics;
  if (options.weights) {
    const workloads::LayerInputRanges none;
    for (int seq = 0; seq < B; ++seq) {
      std::vector<int32_t> prompt =
          !options.prompts.empty() ? options.prompts[seq]
          : options.prompt.empty()
              ? default_prompt({}, options.prompt_tokens, options.weights->config.vocab_size)
              : options.prompt;
      numerics.push_back(std::make_unique<RunNumerics>(
          config, *options.weights, options.input_ranges ? *options.input_ranges : none,
          options.chip_seed, std::move(prompt), options.decode_tokens, options.record_logits));
    }
    std::vector<RunNumerics*> n;
    for (const auto& x : numerics) n.push_back(x.get());
    ctl.on_embed = [n, N](int token) { n[token / N]->embed(token % N); };
    ctl.on_attention = [n, N](int token, int block) { n[token / N]->block(token % N, block); };
  }
  // Busy time of every component when the batch's decode phase starts (the bottleneck is
  // named over the decode phase).
  std::vector<std::pair<std::string, double>> busy_at_decode;
  if (options.batch > 1)
    ctl.on_decode_start = [&chip, &busy_at_decode](Ps) {
      busy_at_decode = chip.busy_by_component();
    };
  std::unique_ptr<TraceWriter> trace;
  if (!options.trace_path.empty()) {
    TraceOptions to;
    to.path = options.trace_path;
    to.start_us = options.trace_start_us;
    to.end_us = options.trace_end_us;
    to.filter = options.trace_filter;
    trace = std::make_unique<TraceWriter>(to);
    chip.set_trace(trace.get());
    ctl.set_trace(trace.get());
  }

  const auto w0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  const auto w1 = std::chrono::steady_clock::now();
  const double cpu_end_s = process_cpu_s();
  const double wall_s = std::chrono::duration<double>(w1 - w0).count();
  const double decode_wall_s =
      ctl.decode_wall_start_s() > 0
          ? std::chrono::duration<double>(w1.time_since_epoch()).count() - ctl.decode_wall_start_s()
          : 0;
  if (trace) trace->write();

  // ---- Report ------------------------------------------------------------------------------
  proto::SimReport r;
  r.set_model(model.name);
  r.set_chip(config.name());
  // Request mode: these fields describe request 0.
  const int P = request_mode ? options.requests[0].prompt_tokens : options.prompt_tokens;
  const int D = request_mode ? options.requests[0].decode_tokens : options.decode_tokens;
  r.set_prompt_tokens(P);
  r.set_decode_tokens(D);
  const std::vector<TokenRecord>& tok = ctl.tokens();
  const Ps ttft = tok[P - 1].end;  // of sequence 0
  const Ps total = ctl.end_time();
  // The prefill phase ends with the batch's last prefill (= ttft for one sequence).
  Ps prefill_end = ttft;
  for (int seq = 1; seq < B; ++seq) prefill_end = std::max(prefill_end, tok[seq * N + P - 1].end);
  if (request_mode) prefill_end = 0;  // phases interleave: all leakage goes to decode
  r.set_ttft_ns(ttft * 1e-3);
  r.set_total_time_ns(total * 1e-3);
  Ps prev = ttft;
  double sum = 0;
  for (int k = 0; k < D; ++k) {
    const double lat = (tok[P + k].end - prev) * 1e-3;
    r.add_decode_token_latency_ns(lat);
    sum += lat;
    prev = tok[P + k].end;
  }
  if (D > 0) {
    r.set_decode_latency_ns(sum / D);
    r.set_decode_tokens_per_s(1e9 / (sum / D));
  }
  for (size_t t = 0, seq = 0; t < tok.size(); ++t) {
    while (seq + 1 < static_cast<size_t>(ctl.sequences()) &&
           static_cast<int>(t) >= ctl.sequence_first_token(static_cast<int>(seq) + 1))
      ++seq;
    proto::TokenTiming* tt = r.add_tokens();
    tt->set_position(static_cast<uint32_t>(t - ctl.sequence_first_token(static_cast<int>(seq))));
    if (ctl.sequences() > 1) tt->set_sequence(static_cast<uint32_t>(seq));
    tt->set_phase(tok[t].decode ? "decode" : "prefill");
    tt->set_start_ns(tok[t].start * 1e-3);
    tt->set_end_ns(tok[t].end * 1e-3);
  }
  // Power gating: each tile's off intervals, split at the end of prefill; a wake-up belongs to
  // the phase in which its interval ends.
  arch::GatingUse gated[2];
  chip.close_gating(total, prefill_end, gated);
  const arch::EnergySpec es = energy_spec(config);
  const arch::LeakageSpec ls = leakage_spec(
      config, plan.has_summary() ? static_cast<long long>(plan.summary().tiles_used()) : -1);
  add_phase(r.mutable_prefill(), ctl.ledger_names(), ctl.ledger(0), es, ls,
            static_cast<double>(prefill_end), B * P, ctl.ops(0), gated[0]);
  int decode_tokens_all = B * D, prefill_tokens_all = B * P;
  if (request_mode) {
    decode_tokens_all = prefill_tokens_all = 0;
    for (const auto& q : options.requests) {
      decode_tokens_all += q.decode_tokens;
      prefill_tokens_all += q.prompt_tokens;
    }
    r.mutable_prefill()->Clear();
    add_phase(r.mutable_prefill(), ctl.ledger_names(), ctl.ledger(0), es, ls, 0, prefill_tokens_all,
              ctl.ops(0), gated[0]);
  }
  add_phase(r.mutable_decode(), ctl.ledger_names(), ctl.ledger(1), es, ls,
            static_cast<double>(total - prefill_end), decode_tokens_all, ctl.ops(1), gated[1]);

  set_utilization(chip.utilization(static_cast<double>(total)), r.mutable_utilization());

  proto::KvPlacement* kv = r.mutable_kv_cache();
  const long long positions = P + D;
  kv->set_bytes_per_token(ctl.kv_bytes_per_token());
  const long long sram_positions = ctl.kv_sram_tokens_per_sequence();
  kv->set_sram_capacity_tokens(sram_positions);
  kv->set_first_dram_token(positions > sram_positions ? sram_positions : -1);
  kv->set_tokens_in_sram(std::min(positions, sram_positions));
  kv->set_tokens_in_dram(std::max(0LL, positions - sram_positions));

  if (B > 1) {
    proto::BatchReport* br = r.mutable_batch();
    br->set_batch(static_cast<uint32_t>(B));
    const double decode_s = static_cast<double>(total - prefill_end) * 1e-12;
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
    br->set_max_batch(static_cast<uint64_t>(max_batch(config, model, N, options.dram_capacity_bytes,
                                                      dram_weight_bytes(config, model), &limit)));
    br->set_batch_limit(limit);
    br->set_kv_sram_positions_per_sequence(static_cast<uint64_t>(sram_positions));
    const auto top = chip.busiest(static_cast<double>(total - prefill_end), busy_at_decode);
    br->set_bottleneck(top.first);
    br->set_bottleneck_utilization(top.second);
  }

  if (request_mode) {
    proto::RequestReport* rr = r.mutable_requests();
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
    arch::ActionCounts all;
    for (int phase = 0; phase < 2; ++phase)
      for (const arch::ActionCounts& c : ctl.ledger(phase)) all += c;
    const arch::EnergyBreakdown b = arch::price(all, es, ls, total * 1e-12);
    rr->set_nj_per_output_token(outputs > 0 ? b.total_pj() * 1e-3 / outputs : 0);
    const auto top = chip.busiest(static_cast<double>(total));
    rr->set_bottleneck(top.first);
    rr->set_bottleneck_utilization(top.second);
  }

  // Programming: every block's cells, tiles in parallel, row by row.
  {
    double cells = 0;
    std::vector<double> rows(config.tile().count(), 0);
    for (const proto::BlockPlacement& b : plan.blocks()) {
      const double nr = b.row_end() - b.row_begin(), nc = b.col_end() - b.col_begin();
      cells += nr * nc * config.tile().cells_per_weight();
      if (b.tile() < rows.size()) rows[b.tile()] += nr;
    }
    const double max_rows = rows.empty() ? 0 : *std::max_element(rows.begin(), rows.end());
    arch::ActionCounts pc;
    pc.cells_programmed = cells;
    proto::ProgrammingCost* p = r.mutable_programming();
    p->set_cells(cells);
    p->set_time_s(max_rows * config.tile().t_program_row_us() * 1e-6);
    p->set_energy_uj(arch::dynamic_energy_pj(pc, es) * 1e-6);
  }

  {
    arch::ActionCounts pre, dec;
    for (const auto& c : ctl.ledger(0)) pre += c;
    for (const auto& c : ctl.ledger(1)) dec += c;
    std::vector<std::pair<std::string, std::string>> names;
    std::vector<double> pv, dv;
    pre.for_each([&](const std::string& n, const std::string& u, double v) {
      names.push_back({n, u});
      pv.push_back(v);
    });
    dec.for_each([&](const std::string&, const std::string&, double v) { dv.push_back(v); });
    for (size_t i = 0; i < names.size(); ++i) {
      proto::ActionTotal* a = r.add_actions();
      a->set_name(names[i].first);
      a->set_unit(names[i].second);
      a->set_prefill(pv[i]);
      a->set_decode(dv[i]);
    }
  }
  for (const Stat& s : chip.statistics(static_cast<double>(total))) {
    proto::Statistic* st = r.add_statistics();
    st->set_name(s.name);
    st->set_unit(s.unit);
    st->set_value(s.value);
  }
  if (trace) {
    proto::Statistic* ts = r.add_statistics();
    ts->set_name("trace.spans_written");
    ts->set_unit("count");
    ts->set_value(static_cast<double>(trace->spans()));
    ts = r.add_statistics();
    ts->set_name("trace.spans_dropped");
    ts->set_unit("count");
    ts->set_value(static_cast<double>(trace->dropped()));
  }
  proto::Statistic* st = r.add_statistics();
  st->set_name("controller.activations");
  st->set_unit("count");
  st->set_value(static_cast<double>(ctl.activations()));

  for (size_t seq = 0; seq < numerics.size(); ++seq)
    numerics[seq]->write(seq == 0 ? r.mutable_generation() : r.add_batch_generations());

  *r.mutable_resolved_config() = config;
  proto::MappingSummary* ms = r.mutable_mapping();
  ms->set_strategy(plan.strategy());
  *ms->mutable_summary() = plan.summary();
  for (const proto::LayerPlacement& l : plan.layers())
    l.on_tiles() ? ms->set_layers_on_tiles(ms->layers_on_tiles() + 1)
                 : ms->set_layers_on_dpus(ms->layers_on_dpus() + 1);

  const double reads = chip.tile_reads();
  r.set_tile_reads(reads);
  r.set_wall_s(wall_s);
  r.set_wall_s_per_decode_token(D > 0 ? decode_wall_s / D : 0);
  r.set_cpu_s_per_decode_token(
      D > 0 && ctl.decode_cpu_start_s() > 0 ? (cpu_end_s - ctl.decode_cpu_start_s()) / D : 0);
  r.set_tile_reads_per_wall_s(wall_s > 0 ? reads / wall_s : 0);
  return r;
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

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const proto::MappingPlan& plan, const SimOptions& options) {
  if (options.prompt_tokens < 1) throw UserError("prompt tokens: must be at least 1");
  if (options.batch < 1)
    throw UserError("batch: must be at least 1, got " + std::to_string(options.batch));
  {
    std::string limit;
    const long long most =
        max_batch(config, model, options.prompt_tokens + options.decode_tokens,
                  options.dram_capacity_bytes, dram_weight_bytes(config, model), &limit);
    if (options.dram_capacity_bytes > 0 && options.batch > most)
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
    const long long most = max_batch(config, model, longest, options.dram_capacity_bytes,
                                     dram_weight_bytes(config, model), &limit);
    if (options.dram_capacity_bytes > 0 && options.max_batch > most)
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
  if (!options.isolate) return simulate_here(config, model, plan, options);
  proto::SimReport r;
  const std::string bytes =
      run_isolated([&] { return simulate_here(config, model, plan, options).SerializeAsString(); });
  if (!r.ParseFromString(bytes)) throw std::runtime_error("bad report from simulation child");
  return r;
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

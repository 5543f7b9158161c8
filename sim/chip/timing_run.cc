// The timed simulation: elaboration of chip and controller, one sc_start, the report; the
// peak workload; fork isolation of the SystemC kernel.
#include "sim/chip/timing_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <systemc>

#include "arch/energy_model.h"
#include "mapping/mapper.h"
#include "proto/user_error.h"
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
               const arch::LeakageSpec& ls, double time_ps, int tokens, double ops) {
  arch::ActionCounts total;
  for (const arch::ActionCounts& c : ledger) total += c;
  const double time_s = time_ps * 1e-12;
  const arch::EnergyBreakdown b = arch::price(total, es, ls, time_s);
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
  Controller& ctl = *new Controller("controller", &chip, model, plan, co);
  // Numbers: with weights the executor runs each (token, block) at its attention step.
  std::unique_ptr<RunNumerics> numerics;
  if (options.weights) {
    const workloads::LayerInputRanges none;
    numerics = std::make_unique<RunNumerics>(
        config, *options.weights, options.input_ranges ? *options.input_ranges : none,
        options.chip_seed,
        options.prompt.empty()
            ? default_prompt({}, options.prompt_tokens, options.weights->config.vocab_size)
            : options.prompt,
        options.decode_tokens, options.record_logits);
    RunNumerics* n = numerics.get();
    ctl.on_embed = [n](int token) { n->embed(token); };
    ctl.on_attention = [n](int token, int block) { n->block(token, block); };
  }
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
  r.set_prompt_tokens(options.prompt_tokens);
  r.set_decode_tokens(options.decode_tokens);
  const std::vector<TokenRecord>& tok = ctl.tokens();
  const int P = options.prompt_tokens, D = options.decode_tokens;
  const Ps ttft = tok[P - 1].end;
  const Ps total = ctl.end_time();
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
  for (size_t t = 0; t < tok.size(); ++t) {
    proto::TokenTiming* tt = r.add_tokens();
    tt->set_position(static_cast<uint32_t>(t));
    tt->set_phase(tok[t].decode ? "decode" : "prefill");
    tt->set_start_ns(tok[t].start * 1e-3);
    tt->set_end_ns(tok[t].end * 1e-3);
  }
  const arch::EnergySpec es = energy_spec(config);
  const arch::LeakageSpec ls = leakage_spec(
      config, plan.has_summary() ? static_cast<long long>(plan.summary().tiles_used()) : -1);
  add_phase(r.mutable_prefill(), ctl.ledger_names(), ctl.ledger(0), es, ls,
            static_cast<double>(ttft), P, ctl.ops(0));
  add_phase(r.mutable_decode(), ctl.ledger_names(), ctl.ledger(1), es, ls,
            static_cast<double>(total - ttft), D, ctl.ops(1));

  const std::vector<double> u = chip.utilization(static_cast<double>(total));
  proto::Utilization* ut = r.mutable_utilization();
  ut->set_tiles(u[0]);
  ut->set_adcs(u[1]);
  ut->set_dpus(u[2]);
  ut->set_links(u[3]);
  if (total > 0) {
    ut->set_kv_sram(chip.kv_sram().busy_ps() / total);
    ut->set_dram(chip.dram().busy_ps() / total);
  }

  proto::KvPlacement* kv = r.mutable_kv_cache();
  const long long positions = P + D;
  kv->set_bytes_per_token(ctl.kv_bytes_per_token());
  kv->set_sram_capacity_tokens(ctl.kv_capacity_tokens());
  kv->set_first_dram_token(positions > ctl.kv_capacity_tokens() ? ctl.kv_capacity_tokens() : -1);
  kv->set_tokens_in_sram(std::min(positions, ctl.kv_capacity_tokens()));
  kv->set_tokens_in_dram(std::max(0LL, positions - ctl.kv_capacity_tokens()));

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

  if (numerics) numerics->write(r.mutable_generation());

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
    std::string out;
    try {
      out = "O" + fn();
    } catch (const UserError& e) {
      out = std::string("U") + e.what();
      code = 2;
    } catch (const std::exception& e) {
      out = std::string("E") + e.what();
      code = 1;
    }
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
  if (data.empty())
    throw std::runtime_error("simulation child process died (status " + std::to_string(status) +
                             ")");
  if (data[0] == 'U') throw UserError(data.substr(1));
  if (data[0] != 'O') throw std::runtime_error(data.substr(1));
  return data.substr(1);
}

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const proto::MappingPlan& plan, const SimOptions& options) {
  if (options.prompt_tokens < 1) throw UserError("prompt tokens: must be at least 1");
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
    return std::string(reinterpret_cast<const char*>(&p), sizeof p);
  });
  PeakResult p;
  if (s.size() != sizeof p) throw std::runtime_error("bad peak result from child");
  std::memcpy(&p, s.data(), sizeof p);
  return p;
}

}  // namespace aimc::sim

// libsystemc's own main() calls sc_main; aimcsim has its own main() and starts the kernel with
// sc_start() from simulate(), so this definition only satisfies the linker and is never called.
int sc_main(int, char*[]) {
  return 1;
}

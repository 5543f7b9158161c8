// Elaboration of a timed run: chips, links and controller, numbers and trace attached, one
// sc_start until the controller has no more work; the peak workload.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <systemc>

#include "arch/energy_model.h"
#include "mapping/system_mapper.h"
#include "proto/system_config_io.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/timed_run.h"

namespace aimc::sim::detail {
namespace {

// Set once this process has elaborated SystemC modules; a second in-process run is refused.
bool g_kernel_used = false;

void claim_kernel() {
  if (g_kernel_used)
    throw std::logic_error(
        "the SystemC kernel of this process has already been used; run with isolate = true");
  g_kernel_used = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
}

ControllerOptions controller_options(const SimOptions& options) {
  ControllerOptions co;
  co.prompt_tokens = options.prompt_tokens;
  co.decode_tokens = options.decode_tokens;
  co.quantum_ns = options.quantum_ns;
  co.batch = options.batch;
  co.max_batch = options.max_batch;
  co.memo_parts = options.memo_parts;
  co.replay = options.replay;
  co.replay_materialize_always = options.replay_materialize_always;
  co.replay_footprint = options.replay_footprint;
  co.threads = std::max(1, options.threads);
  co.lane_of_chip = options.lane_of_chip;
  co.lanes_in_turn = options.lanes_in_turn;
  co.host.enabled = options.host.enabled;
  co.host.bandwidth_gbps = options.host.bandwidth_gbps;
  co.host.latency_ns = options.host.latency_ns;
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
      if (run->ctl->host_in()) {
        run->host_busy_at_decode[0] = run->ctl->host_in()->busy_ps();
        run->host_busy_at_decode[1] = run->ctl->host_out()->busy_ps();
      }
    };
  attach_trace(run);
  const auto w0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  run->ctl->settle_gating();
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

}  // namespace

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

}  // namespace aimc::sim::detail

// Internal to the timed run (not part of its API): what one simulation elaborated and measured,
// shared by its elaboration (timed_run_elaboration.cc), its report (timed_run_report.cc and
// timed_run_statistics.cc) and its entry points (timing_run.cc).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arch/chip_links.h"
#include "proto/chip_config.pb.h"
#include "proto/mapping_plan.pb.h"
#include "proto/sim_report.pb.h"
#include "proto/system_config.pb.h"
#include "proto/system_plan.pb.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/controller.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "sim/chip/trace.h"

namespace aimc::sim::detail {

using arch::Ps;

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
  // Busy time of the host link's directions (in, out) when the batch's decode phase starts.
  double host_busy_at_decode[2] = {0, 0};
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

// ---- Elaboration (timed_run_elaboration.cc); each claims this process's SystemC kernel ----------

/// Elaborates one chip running `plan` and simulates it in this process.
proto::SimReport simulate_here(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                               const proto::MappingPlan& plan, const SimOptions& options);
/// Elaborates every chip of a system and its links and simulates them in this process.
proto::SimReport simulate_system_here(const proto::SystemConfig& system,
                                      const workloads::ModelConfig& model,
                                      const proto::SystemPlan& plan,
                                      const mapping::SystemChipPlans& chip_plans,
                                      const SimOptions& options);
/// The peak workload of `config` in this process.
PeakResult peak_here(const proto::ChipConfig& config, int reads);

// ---- Report (timed_run_report.cc) ------------------------------------------------------------

/// The report of a finished run.
proto::SimReport make_report(Run& run);
/// The component, chip link or host link direction whose busy time grew most since the decode
/// phase started (batch) or since the start, over `window_ps`; its busy fraction.
std::pair<std::string, double> busiest(const Run& run, double window_ps, bool since_decode);
/// Leakage of one chip of the run (its unused tiles gated).
arch::LeakageSpec chip_leakage(const Run& run, int chip);

// ---- Batch and request statistics (timed_run_statistics.cc) ------------------------------------

/// The KV-cache placement, and with a batch its latency percentiles, capacity and bottleneck.
void report_kv_and_batch(const Run& run, const Phases& ph, proto::SimReport* r);
/// Request mode: each request's timing and the serving figures.
void report_requests(const Run& run, const Phases& ph, proto::SimReport* r);

// ---- Entry points (timing_run.cc) ------------------------------------------------------------

// Weights kept in DRAM: the embedding table, and lm_head when it runs on the DPUs (streamed).
double dram_weight_bytes(const proto::ChipConfig& config, const workloads::ModelConfig& model);

}  // namespace aimc::sim::detail

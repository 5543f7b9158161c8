// The timed simulation's public API: run a mapped model (or the peak workload of the HERMES
// validation) on a chip and get a SimReport.
//
// One kernel per process: SystemC 2.3 elaborates modules once per process and cannot be
// restarted after sc_stop. So every simulation runs in a forked child process by default (the
// parent never touches the kernel): the child elaborates a fresh chip, runs sc_start() until the
// controller has no more work, and returns the serialized report through a pipe. A caller that
// runs exactly one simulation (the CLI) may set `isolate = false` to run it in its own process.
//
// With weights (SimOptions::weights) the run also computes numbers: the tiles' outputs through
// the functional executor's crossbar numerics, so the report holds real generated tokens and,
// optionally, every position's logits (sim/run_numerics.h). A shape card gives time and energy
// only, and the numerics cost nothing then.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arch/action_counts.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config.pb.h"
#include "proto/mapping_plan.pb.h"
#include "proto/sim_report.pb.h"
#include "proto/system_config.pb.h"
#include "proto/system_plan.pb.h"
#include "workloads/executor.h"
#include "workloads/model_config.h"
#include "workloads/transformer_weights.h"

namespace aimc::sim {

/// What to simulate and what to record.
struct SimOptions {
  int prompt_tokens = 16;     ///< prefill length P (>= 1)
  int decode_tokens = 16;     ///< generated tokens D (>= 0)
  std::string trace_path;     ///< Chrome/Perfetto trace JSON; empty = no trace
  double trace_start_us = 0;  ///< trace window, in simulated microseconds
  double trace_end_us = 1e300;
  std::string trace_filter;  ///< comma-separated component-name substrings; empty = all
  double quantum_ns = 1000;  ///< temporal-decoupling quantum of the controller
  bool isolate = true;       ///< run in a forked child (see the file comment)

  // ---- Numbers (runs with weights) -----------------------------------------------------------
  /// The model's weights (its config must match the simulated model); null = a shape card: time
  /// and energy only. Read in place by the forked child, never copied; must outlive simulate().
  const workloads::TransformerWeights* weights = nullptr;
  /// Static input ranges of the layers on the chip's backend (chip_input_ranges() in
  /// sim/run_numerics.h); may be null only for DIGITAL_FP tiles. Must outlive simulate().
  const workloads::LayerInputRanges* input_ranges = nullptr;
  /// Chip instance (noise seed) whose numbers are computed, as ExecutorOptions::chip_seed.
  uint64_t chip_seed = 0;
  /// Prompt token ids, prompt_tokens of them; empty = default_prompt({}, P, vocab) (token 10,
  /// '\n' of a byte-level model, repeated). Decode tokens are chosen greedily.
  std::vector<int32_t> prompt;
  /// Store every position's logits in the report (SimReport.generation.logits).
  bool record_logits = false;

  // ---- Batch ---------------------------------------------------------------------------------
  /// Sequences decoding together (static batching: all prefills, then B x D decode tokens);
  /// each has its own KV cache. 1 = today's single-sequence run, unchanged.
  int batch = 1;
  /// Prompt of each sequence with weights (batch of them, prompt_tokens each); empty = every
  /// sequence gets `prompt`. Sequence s computes exactly what a run of prompts[s] alone does.
  std::vector<std::vector<int32_t>> prompts;
  /// DRAM beside the chip, in bytes (0 = unbounded): with the KV-cache SRAM it bounds the batch.
  double dram_capacity_bytes = 0;

  // ---- Requests ------------------------------------------------------------------------------
  /// One request of a serving run: when it arrives, its prompt and its generated tokens.
  struct Request {
    double arrival_ns = 0;
    int prompt_tokens = 1;
    int decode_tokens = 0;
  };
  /// Request mode when not empty (in arrival order): continuous batching, at most `max_batch`
  /// sequences in flight, admitted first come first served; prefill and decode tokens of the
  /// admitted sequences interleave as their steps become ready. prompt_tokens, decode_tokens,
  /// batch, prompts and weights are unused (time and energy only); SimReport.requests reports.
  std::vector<Request> requests;
  int max_batch = 8;

  // ---- Speed -------------------------------------------------------------------------------
  /// Approximate, for large systems: a layer part's first read is simulated in full and its
  /// later reads replay it (the same latency from input to the last partial output at its DPU,
  /// the same action counts and busy time; the part accepts a read every steady tile interval).
  /// Contention between layers on the mesh and the variation of multicast and return paths with
  /// load are not modelled; DPUs, memories and links are simulated as always. Power gating: each
  /// replay's use of the gated units (tiles, ADC banks, routers) feeds their gating state, and
  /// its wake-ups delay it by the share found off of the cold read's extra latency. Off: every
  /// read is simulated (the default; the golden numbers). A part replica sharing a tile with
  /// another (mapping.allow_tile_sharing) is read in full every time.
  bool memo_parts = false;
  /// Exact replay of part reads (docs/systems.md section 8): the same report as without it.
  /// Off (`run --no-replay`): for comparisons and debugging.
  bool replay = true;
  /// For tests (sim::ControllerOptions::replay_materialize_always, replay_footprint).
  bool replay_materialize_always = false;
  bool replay_footprint = true;
  /// Threads of a system's timed run (>= 1; sim::ControllerOptions::threads): the same results
  /// on any number.
  int threads = 1;
  /// Lane of each chip (sim::ControllerOptions::lane_of_chip; tests).
  std::vector<int> lane_of_chip;
  /// The lanes in turn on one thread (sim::ControllerOptions::lanes_in_turn; tests).
  bool lanes_in_turn = false;

  // ---- Host link -------------------------------------------------------------------------------
  /// The link between the host and chip 0 (proto::HostLinkConfig): each prompt's token ids
  /// (32 bits each) cross it before the prefill starts (a request's when it is admitted), each
  /// generated token's id after it has reached chip 0; each direction serializes its transfers.
  /// A token ends when its id has reached the host. Off (the default, a chip alone): prompts
  /// start on chip 0 at time 0 and tokens are read for free.
  struct HostLink {
    bool enabled = false;
    double bandwidth_gbps = 16;
    double latency_ns = 1000;
    double e_pj_per_bit = 10;
  };
  HostLink host;
};

/// The host link of `system` (SystemConfig.host; off when host.enabled is false).
SimOptions::HostLink host_link(const proto::SystemConfig& system);

/// The most sequences of `positions` positions whose KV caches the chip holds: its KV-cache
/// SRAM plus `dram_capacity_bytes` of DRAM (0 = unbounded: returns 0), less the DRAM that
/// streamed weights take (`dram_weight_bytes`). `limit` receives what bounds the batch.
long long max_batch(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                    int positions, double dram_capacity_bytes, double dram_weight_bytes,
                    std::string* limit);

/// Simulates `plan` of `model` on `config` (validated, defaults resolved): prefill of
/// prompt_tokens, then decode_tokens, and returns the report. Throws UserError for bad options.
proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const proto::MappingPlan& plan, const SimOptions& options = {});

/// Simulates `model` on a system of chips: `plan` (mapping::make_system_plan) with each chip's
/// parts placed by `chip_plans` (mapping::make_chip_plans). One Chip is elaborated per chip
/// used, one controller drives them all, and the chip-to-chip links carry the hidden states,
/// the inputs and outputs of split layers and the generated tokens (sim/chip/controller.h).
/// The report gains `system` (per chip, per link, bottleneck); energies include the links.
/// A system of one chip is simulated as that chip alone (the same report as simulate() on it).
/// SimOptions::dram_capacity_bytes is unused: each chip's DRAM is the system's.
proto::SimReport simulate(const proto::SystemConfig& system, const workloads::ModelConfig& model,
                          const proto::SystemPlan& plan, const mapping::SystemChipPlans& chip_plans,
                          const SimOptions& options = {});

/// The most sequences of `positions` positions whose KV caches every chip of a system holds
/// (each chip the KV of its own blocks in its SRAM and DRAM, beside the weights its DRAM
/// streams: the embedding table on block 0's chip, a streamed lm_head on its chip); 0 when
/// every DRAM is unbounded. `limit` says which chip bounds it.
long long system_max_batch(const proto::SystemConfig& system,
                           const mapping::SystemChipPlans& chip_plans,
                           const workloads::ModelConfig& model, int positions, std::string* limit);

/// Maps `model` onto `config` with mapping::make_plan(model, config, strategy) ("dense",
/// "locality", "pipeline", "replicate") and simulates the plan. Throws UserError when the model
/// does not fit or the strategy is unknown.
proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const std::string& strategy, const SimOptions& options = {});

/// Result of the peak workload: every tile doing back-to-back full reads with its inputs
/// already in its buffer (the figure of merit chips are published with).
struct PeakResult {
  double time_ns = 0;    ///< simulated time until the last read's outputs are ready
  double ops = 0;        ///< 2 x rows x weight columns x reads
  double energy_pj = 0;  ///< dynamic + leakage of the whole chip over time_ns
  double tops = 0;
  double tops_per_w = 0;
  double read_latency_ns = 0;   ///< one read on an idle tile (closed form)
  double read_interval_ns = 0;  ///< steady-state interval of back-to-back reads
  arch::ActionCounts counts;    ///< what the chip did (priced into energy_pj)
};

/// Runs `reads_per_tile` back-to-back full reads on every tile of `config`.
PeakResult run_peak_workload(const proto::ChipConfig& config, int reads_per_tile = 1000,
                             bool isolate = true);

/// Runs `fn` in a forked child process and returns the string it produced; rethrows the
/// child's exception message as std::runtime_error (or UserError when it was one).
std::string run_isolated(const std::function<std::string()>& fn);

}  // namespace aimc::sim

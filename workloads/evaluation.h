// Evaluation of a model on a token dataset for one or more backends: perplexity, bits per
// byte, top-1 accuracy and KL divergence from the FP32 model, averaged over chip instances
// (noise seeds) run in parallel. Results are bit-identical whatever the thread count: every
// run is independent, and sums are reduced in window order and runs in seed order.
//
// The `aimcsim eval` command calls evaluate_table() and prints format_eval_table() (its --json
// is the report's AccuracyReport, sim/app/eval_job.h); evaluate() is the building block for one
// backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "arch/tile_numerics.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"
#include "workloads/executor.h"
#include "workloads/metrics.h"
#include "workloads/transformer_weights.h"

namespace aimc::workloads {

/// Mean and sample standard deviation (n - 1 denominator; 0 for a single run) over runs.
struct MetricStats {
  double mean = 0;
  double std = 0;
};

/// Options of an evaluation.
struct EvalOptions {
  int window_length = 128;  ///< window size (WindowSpec::size: disjoint inputs, hf tokens)
  int max_windows = 0;      ///< evaluate at most this many windows (0 = every full window)
  Windowing windowing = Windowing::kDisjoint;  ///< how the data is cut (dataset.h)
  int stride = 0;                              ///< hf windows: tokens between starts (0 = size)
  /// Logit export: positions within each window (negative: from the window's end, -1 = its
  /// last input position); empty = no export. Every run of a row then keeps the logits of these
  /// positions in EvalRow::exported.
  std::vector<int> export_positions;
  int seeds = 10;               ///< analog chip instances (runs); FP32 and W4A8 run once
  uint64_t base_seed = 0;       ///< chip instance i has seed arch::derive_seed(base_seed, i)
  int threads = 1;              ///< worker threads (0 = usable_cores())
  bool lm_head_analog = false;  ///< lm_head on the chip's tiles (its backend) instead of FP32
  /// Called after each finished run with one line ("analog seed 3/10: ppl 4.21"), from worker
  /// threads but never concurrently. May be empty.
  std::function<void(const std::string&)> progress;
  /// Where the chip instances of the analog row run. Empty: on this process's thread pool. Set
  /// (the MPI evaluation of sim/app/eval_job.cc): called with the number of runs and a thread-safe
  /// function computing run r's metrics; must return every run's metrics in run order. Each
  /// run's metrics depend only on its seed, so the row is the same wherever the runs ran.
  std::function<std::vector<Metrics>(int runs, const std::function<Metrics(int run)>& one)>
      distribute_runs;
};

/// The logits of every window ((length x vocab) each), in window order; the FP32 reference of
/// the KL term.
using WindowLogits = std::vector<arch::Matrix>;

/// One backend's results: a row of the evaluation table.
struct EvalRow {
  std::string label;  ///< "FP32", "W4A8" or "analog"
  arch::Backend backend = arch::Backend::kFp32;
  std::vector<uint64_t> chip_seeds;  ///< seed of each run
  std::vector<Metrics> runs;         ///< metrics of each run, in seed order
  MetricStats mean_nll, perplexity, bits_per_byte, top1, kl;  ///< over runs
  long long tokens_per_run = 0;  ///< predicted tokens of one run (scored predictions)
  /// With EvalOptions::export_positions: per run, (windows x positions) x vocab logits, row
  /// w * positions + k for window w and position k.
  std::vector<arch::Matrix> exported;
  double wall_s = 0;        ///< wall time of the row (programming + inference, all runs)
  double tokens_per_s = 0;  ///< tokens_per_run x runs / wall_s
  /// CPU time of this process during the row, all threads (programming + inference): a
  /// machine's other load does not count, so tokens_per_run x runs / cpu_s is tokens/s per core.
  double cpu_s = 0;
};

/// Evaluates `backend` over `windows`. kAnalog runs options.seeds chip instances on a pool of
/// options.threads threads (one Executor per run); kFp32 and kW4A8 are deterministic and run
/// once, their windows split over the threads. `ranges` must cover every layer on a
/// non-FP32 backend (see resolve_input_ranges). `reference` (the FP32 logits of the same
/// windows) enables the KL term; without it KL is 0. When `logits_out` is non-null and the row
/// has a single run, every window's logits are stored there (to serve as a reference).
EvalRow evaluate(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                 arch::Backend backend, const LayerInputRanges& ranges,
                 const std::vector<TokenWindow>& windows, const EvalOptions& options,
                 const WindowLogits* reference = nullptr, WindowLogits* logits_out = nullptr);

/// Options of evaluate_table(): the evaluation, the calibration data size, and which rows.
struct EvalTableOptions {
  EvalOptions eval;
  CalibrationOptions calibration;
  /// Rows in this order; FP32 is always evaluated (it is the KL reference) and listed first.
  std::vector<arch::Backend> backends = {arch::Backend::kFp32, arch::Backend::kW4A8,
                                         arch::Backend::kAnalog};
  /// How messages name the evaluation and calibration tokens (their files, when known).
  std::string data_name = "evaluation data";
  std::string calibration_name = "calibration data";
};

/// Everything `aimcsim eval` reports.
struct EvalTable {
  std::string model;  ///< ModelConfig::name
  int vocab_size = 0;
  bool byte_level = false;  ///< vocab 256: bits per byte are defined
  int window_length = 0;
  int windows = 0;                       ///< windows evaluated
  long long tokens = 0;                  ///< predicted tokens per run
  std::string windowing;                 ///< "disjoint" or "hf"
  int stride = 0;                        ///< hf: tokens between window starts
  WindowStats window_stats;              ///< tokens read, predictions, unused tokens
  std::vector<TokenWindow> window_list;  ///< the windows (start, length; for the export index)
  std::vector<int> export_positions;     ///< as given (EvalOptions)
  int seeds = 0;                         ///< analog runs
  uint64_t base_seed = 0;
  int threads = 0;    ///< worker threads used (per process)
  int processes = 1;  ///< processes the analog runs were spread over (MPI ranks)
  /// Numerics kernels of this process (arch::simd_level_name; the bits do not depend on it).
  std::string simd_level;
  bool lm_head_analog = false;
  InputRangeReport input_ranges;  ///< where the static input ranges came from
  std::string input_range_summary;
  std::vector<EvalRow> rows;  ///< FP32 first, then the requested backends
};

/// Evaluates a loaded model on a chip: checks the tokens against the vocabulary, cuts
/// `eval_tokens` into windows, resolves the input ranges (calibrating on `calibration_tokens`
/// when the policy needs it; they may be empty otherwise), then evaluates FP32, W4A8 and the
/// analog chip (options.eval.seeds instances). Throws UserError for bad tokens, too little data,
/// a window longer than learned positions allow, or checkpoint ranges that do not fit the tiles.
EvalTable evaluate_table(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                         const TokenIds& eval_tokens, const TokenIds& calibration_tokens,
                         const EvalTableOptions& options);

/// One line: the windowing, windows, tokens read, predictions and unused tokens.
std::string window_summary(const EvalTable& table);

/// The table for people: one aligned line per backend with mean +- std of every metric.
std::string format_eval_table(const EvalTable& table);

/// The windows of an evaluation (make_windows with the options' spec).
std::vector<TokenWindow> eval_windows(const TokenIds& tokens, const EvalOptions& options,
                                      const std::string& source);

/// Position `p` of EvalOptions::export_positions in a window of `length` input positions
/// (negative counts from the end); throws UserError when it falls outside the window.
int resolve_position(int p, int length);

/// Writes the exported logits of a table into `dir` (created): one float32 .npy per backend
/// and chip instance (fp32.npy, w4a8.npy, analog_<run>.npy) of shape (windows, positions,
/// vocab), and index.json with the windows (start, predicted tokens), the resolved positions,
/// targets and chip seeds. Every file is written to a temp name, then renamed.
void write_exported_logits(const EvalTable& table, const TokenIds& eval_tokens,
                           const std::string& dir);

/// "FP32", "W4A8" or "analog".
std::string backend_label(arch::Backend backend);

}  // namespace aimc::workloads

// Evaluation driver: a small job pool over std::thread. A job is one Executor (one chip
// instance) running a contiguous range of windows in order; per-window sums land in slots
// indexed by (run, window), and the reduction afterwards walks those slots in a fixed order,
// which is what makes the results independent of the thread count and of scheduling.
#include "workloads/evaluation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "arch/rng.h"
#include "proto/chip_config_io.h"
#include "proto/limits.h"
#include "proto/user_error.h"
#include "workloads/job_pool.h"
#include "workloads/npy.h"

namespace aimc::workloads {
namespace {

struct Job {
  int run;
  int first_window;
  int end_window;
};

MetricStats stats_of(const std::vector<Metrics>& runs, double Metrics::*field) {
  MetricStats s;
  const size_t n = runs.size();
  if (n == 0) return s;
  double sum = 0;
  for (const Metrics& m : runs) sum += m.*field;
  s.mean = sum / static_cast<double>(n);
  if (n > 1) {
    double sq = 0;
    for (const Metrics& m : runs) sq += (m.*field - s.mean) * (m.*field - s.mean);
    s.std = std::sqrt(sq / static_cast<double>(n - 1));
  }
  return s;
}

}  // namespace

std::string backend_label(arch::Backend backend) {
  switch (backend) {
    case arch::Backend::kFp32:
      return "FP32";
    case arch::Backend::kW4A8:
      return "W4A8";
    case arch::Backend::kAnalog:
      return "analog";
  }
  return "?";
}

namespace {

/// CPU seconds this process has used, all threads.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The jobs of an evaluation: one per chip instance (its windows in order on one Executor, since
// its reads draw noise from per-layer streams), or for FP32 and W4A8 (the same for every seed)
// the windows cut into one chunk per thread.
std::vector<Job> eval_jobs(bool per_seed, int runs, int threads, int n_windows) {
  std::vector<Job> jobs;
  if (per_seed) {
    for (int r = 0; r < runs; ++r) jobs.push_back(Job{r, 0, n_windows});
  } else {
    const int chunks = std::max(1, std::min(threads, n_windows));
    for (int c = 0; c < chunks; ++c) {
      jobs.push_back(Job{0, static_cast<int>(static_cast<long long>(n_windows) * c / chunks),
                         static_cast<int>(static_cast<long long>(n_windows) * (c + 1) / chunks)});
    }
  }
  return jobs;
}

// A backend's row before its runs: its label, its chip instances' seeds, and room for the logits
// it exports (options.export_positions of every window, per run).
EvalRow start_row(arch::Backend backend, const EvalOptions& options, int runs, int n_windows,
                  int vocab_size) {
  EvalRow row;
  row.label = backend_label(backend);
  row.backend = backend;
  for (int r = 0; r < runs; ++r) row.chip_seeds.push_back(arch::derive_seed(options.base_seed, r));
  const int n_positions = static_cast<int>(options.export_positions.size());
  if (n_positions > 0) {
    if (backend == arch::Backend::kAnalog && options.distribute_runs) {
      throw UserError("logit export is not available when chip instances run in several processes");
    }
    row.exported.assign(
        runs, arch::Matrix(static_cast<Eigen::Index>(n_windows) * n_positions, vocab_size));
  }
  return row;
}

using RunJob = std::function<void(const Job&, std::vector<MetricSums>*)>;
using TotalOf = std::function<Metrics(const std::vector<MetricSums>&)>;

// The jobs on `threads` threads of this process; each run's metrics from its windows' sums in
// window order. With `progress`, a line per finished chip instance.
std::vector<Metrics> run_here(const std::vector<Job>& jobs, int runs, int n_windows, int threads,
                              const RunJob& run_job, const TotalOf& total_of,
                              const std::string& label,
                              const std::function<void(const std::string&)>& progress) {
  std::vector<std::vector<MetricSums>> sums(runs, std::vector<MetricSums>(n_windows));
  std::mutex progress_mutex;
  int runs_done = 0;
  run_jobs(static_cast<int>(jobs.size()), threads, [&](int j) {
    const Job& job = jobs[j];
    run_job(job, &sums[job.run]);
    if (progress) {
      const Metrics m = total_of(sums[job.run]);
      std::lock_guard<std::mutex> lock(progress_mutex);
      char line[160];
      std::snprintf(line, sizeof line, "%s seed %d (%d/%d done): ppl %.4f", label.c_str(), job.run,
                    ++runs_done, runs, m.perplexity);
      progress(line);
    }
  });
  std::vector<Metrics> metrics;
  for (int r = 0; r < runs; ++r) metrics.push_back(total_of(sums[r]));
  return metrics;
}

// The row's statistics over its runs, and its speed since `t0` and `cpu0`.
void finish_row(std::chrono::steady_clock::time_point t0, double cpu0, int runs, EvalRow* row) {
  row->mean_nll = stats_of(row->runs, &Metrics::mean_nll);
  row->perplexity = stats_of(row->runs, &Metrics::perplexity);
  row->bits_per_byte = stats_of(row->runs, &Metrics::bits_per_byte);
  row->top1 = stats_of(row->runs, &Metrics::top1);
  row->kl = stats_of(row->runs, &Metrics::kl);
  row->tokens_per_run = row->runs.empty() ? 0 : row->runs[0].tokens;
  row->wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  row->cpu_s = process_cpu_s() - cpu0;
  row->tokens_per_s =
      row->wall_s > 0 ? static_cast<double>(row->tokens_per_run) * runs / row->wall_s : 0.0;
}

}  // namespace

EvalRow evaluate(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                 arch::Backend backend, const LayerInputRanges& ranges,
                 const std::vector<TokenWindow>& windows, const EvalOptions& options,
                 const WindowLogits* reference, WindowLogits* logits_out) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_s();
  const int threads = resolve_threads(options.threads);
  const int n_windows = static_cast<int>(windows.size());
  if (reference && static_cast<int>(reference->size()) != n_windows) {
    throw std::logic_error("evaluate: reference logits for a different number of windows");
  }
  // Only analog chips differ between seeds; FP32 and W4A8 are the same for every seed.
  const bool per_seed = backend == arch::Backend::kAnalog;
  const int runs = per_seed ? std::max(1, options.seeds) : 1;

  EvalRow row = start_row(backend, options, runs, n_windows, weights.config.vocab_size);
  const std::vector<Job> jobs = eval_jobs(per_seed, runs, threads, n_windows);
  if (logits_out) {
    if (runs != 1) throw std::logic_error("evaluate: logits_out needs a single run");
    logits_out->assign(n_windows, arch::Matrix());
  }
  const int n_positions = static_cast<int>(options.export_positions.size());

  // One job's windows on a fresh Executor (one chip instance), sums per window. The row's
  // digital layers (all of FP32 and W4A8, an FP32 lm_head of the analog row) are built once and
  // shared by the jobs and threads: they are the same for every chip instance.
  const auto shared = std::make_shared<SharedLayers>();
  auto run_job = [&](const Job& job, std::vector<MetricSums>* sums) {
    ExecutorOptions eo;
    eo.backend = backend;
    eo.lm_head_on_backend = options.lm_head_analog;
    eo.chip_seed = row.chip_seeds[job.run];
    eo.shared_layers = shared;
    Executor executor(weights, numerics, ranges, eo);
    for (int w = job.first_window; w < job.end_window; ++w) {
      const TokenWindow& window = windows[w];
      arch::Matrix logits = executor.prefill(window.tokens.data(), window.length());
      accumulate_window(logits, window.tokens.data() + 1, reference ? &(*reference)[w] : nullptr,
                        &(*sums)[w], window.scored_from);
      for (int k = 0; k < n_positions; ++k) {
        row.exported[job.run].row(static_cast<Eigen::Index>(w) * n_positions + k) =
            logits.row(resolve_position(options.export_positions[k], window.length()));
      }
      if (logits_out) (*logits_out)[w] = std::move(logits);
    }
  };
  auto total_of = [&](const std::vector<MetricSums>& window_sums) {
    MetricSums total;
    for (const MetricSums& s : window_sums) total.add(s);  // window order
    return finalize_metrics(total, weights.config.vocab_size);
  };

  if (per_seed && options.distribute_runs) {
    // Elsewhere (other processes): each run computed whole, the same sums in the same order.
    row.runs = options.distribute_runs(runs, [&](int r) {
      std::vector<MetricSums> sums(n_windows);
      run_job(Job{r, 0, n_windows}, &sums);
      return total_of(sums);
    });
    if (static_cast<int>(row.runs.size()) != runs) {
      throw std::logic_error("evaluate: distribute_runs returned the wrong number of runs");
    }
  } else {
    row.runs = run_here(jobs, runs, n_windows, threads, run_job, total_of, row.label,
                        per_seed ? options.progress : nullptr);
  }
  finish_row(t0, cpu0, runs, &row);
  if (!per_seed && options.progress) {
    char line[160];
    std::snprintf(line, sizeof line, "%s: ppl %.4f (%.1f s)", row.label.c_str(),
                  row.perplexity.mean, row.wall_s);
    options.progress(line);
  }
  return row;
}

std::vector<TokenWindow> eval_windows(const TokenIds& tokens, const EvalOptions& options,
                                      const std::string& source) {
  WindowSpec spec;
  spec.kind = options.windowing;
  spec.size = options.window_length;
  spec.stride = options.stride;
  spec.max_windows = options.max_windows;
  return make_windows(tokens, spec, source);
}

int resolve_position(int p, int length) {
  const int r = p < 0 ? length + p : p;
  if (r < 0 || r >= length) {
    throw UserError("--logits-positions: position " + std::to_string(p) +
                    " is outside a window of " + std::to_string(length) + " input positions");
  }
  return r;
}

void write_exported_logits(const EvalTable& table, const TokenIds& eval_tokens,
                           const std::string& dir) {
  using nlohmann::json;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw UserError("--logits-out: cannot create directory " + dir + ": " + ec.message());
  const size_t positions = table.export_positions.size();
  const size_t windows = table.window_list.size();
  json files = json::array();
  for (const EvalRow& r : table.rows) {
    for (size_t run = 0; run < r.exported.size(); ++run) {
      std::string name = r.label == "FP32" ? "fp32" : r.label == "W4A8" ? "w4a8" : "analog";
      if (r.backend == arch::Backend::kAnalog) name += "_" + std::to_string(run);
      name += ".npy";
      // Row-major (window, position, vocab) from the column-major (window*position x vocab).
      const arch::Matrix& m = r.exported[run];
      std::vector<float> data(static_cast<size_t>(m.size()));
      for (Eigen::Index i = 0; i < m.rows(); ++i) {
        for (Eigen::Index v = 0; v < m.cols(); ++v) data[i * m.cols() + v] = m(i, v);
      }
      proto::write_file_atomic(
          dir + "/" + name,
          npy_bytes({windows, positions, static_cast<size_t>(m.cols())}, data.data()));
      json entry = {{"file", name}, {"backend", r.label}, {"run", run}};
      if (r.backend == arch::Backend::kAnalog) entry["chip_seed"] = r.chip_seeds[run];
      files.push_back(entry);
    }
  }
  json wins = json::array();
  for (const TokenWindow& w : table.window_list) {
    json pos = json::array(), targets = json::array(), ids = json::array();
    for (int p : table.export_positions) {
      const int q = resolve_position(p, w.length());
      pos.push_back(q);
      ids.push_back(w.start + q);
      targets.push_back(eval_tokens.at(w.start + q + 1));
    }
    wins.push_back({{"start", w.start},
                    {"tokens", w.tokens.size()},
                    {"scored_from", w.scored_from},
                    {"positions", pos},
                    {"input_token_index", ids},
                    {"targets", targets}});
  }
  json index = {{"layout",
                 "float32 array (windows, positions, vocab): logits of input position "
                 "positions[k] of window w (the prediction of token targets[k])"},
                {"windowing", table.windowing},
                {"window_length", table.window_length},
                {"positions_requested", table.export_positions},
                {"vocab_size", table.vocab_size},
                {"files", files},
                {"windows", wins}};
  proto::write_file_atomic(dir + "/index.json", index.dump(2) + "\n");
}

EvalTable evaluate_table(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                         const TokenIds& eval_tokens, const TokenIds& calibration_tokens,
                         const EvalTableOptions& options) {
  const ModelConfig& c = weights.config;
  const EvalOptions& eo = options.eval;
  check_token_ids(eval_tokens, c.vocab_size, options.data_name);
  if (c.positions == PositionKind::kLearned && eo.window_length > c.max_positions) {
    throw UserError("window length " + std::to_string(eo.window_length) + " exceeds the " +
                    std::to_string(c.max_positions) + " learned positions of model " + c.name);
  }
  if (c.max_positions > 0 && eo.window_length > c.max_positions) {
    throw UserError("window length " + std::to_string(eo.window_length) +
                    " exceeds max_position_embeddings (" + std::to_string(c.max_positions) +
                    ") of model " + c.name);
  }
  const std::vector<TokenWindow> windows = eval_windows(eval_tokens, eo, options.data_name);
  for (const TokenWindow& w : windows) {
    for (int p : eo.export_positions) resolve_position(p, w.length());
  }
  // Per chip instance: its seed, its metrics, and the sums of every window (jobs and sums).
  proto::check_memory_estimate(
      static_cast<double>(eo.seeds) * (256.0 + 96.0 * static_cast<double>(windows.size())),
      std::to_string(eo.seeds) + " chip instances (--seeds) over " +
          std::to_string(windows.size()) + " windows");

  EvalTable table;
  table.model = c.name;
  table.vocab_size = c.vocab_size;
  table.byte_level = c.vocab_size == 256;
  table.window_length = eo.window_length;
  table.windows = static_cast<int>(windows.size());
  table.window_stats = window_stats(windows, eval_tokens.size());
  table.tokens = table.window_stats.predictions;
  table.windowing = windowing_name(eo.windowing);
  table.stride = eo.windowing == Windowing::kHf && eo.stride > 0 ? eo.stride : eo.window_length;
  table.window_list = windows;
  table.export_positions = eo.export_positions;
  table.seeds = std::max(1, eo.seeds);
  table.base_seed = eo.base_seed;
  table.threads = resolve_threads(eo.threads);
  table.simd_level = arch::simd_level_name(arch::simd_level());
  table.lm_head_analog = eo.lm_head_analog;

  const bool needs_ranges = std::any_of(options.backends.begin(), options.backends.end(),
                                        [](arch::Backend b) { return b != arch::Backend::kFp32; });
  LayerInputRanges ranges;
  if (needs_ranges) {
    if (!calibration_tokens.empty()) {
      check_token_ids(calibration_tokens, c.vocab_size, options.calibration_name);
    }
    ranges = resolve_input_ranges(weights, numerics, calibration_tokens, options.calibration,
                                  eo.lm_head_analog, &table.input_ranges);
    table.input_range_summary = table.input_ranges.summary(numerics.kappa);
  } else {
    table.input_range_summary = "not needed (FP32 only)";
  }

  WindowLogits reference;
  table.rows.push_back(
      evaluate(weights, numerics, arch::Backend::kFp32, ranges, windows, eo, nullptr, &reference));
  for (arch::Backend b : options.backends) {
    if (b == arch::Backend::kFp32) continue;
    table.rows.push_back(evaluate(weights, numerics, b, ranges, windows, eo, &reference));
  }
  return table;
}

namespace {

std::string stat_cell(const MetricStats& s, int decimals) {
  if (std::isnan(s.mean)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f +- %.*f", decimals, s.mean, decimals, s.std);
  return buf;
}

}  // namespace

std::string window_summary(const EvalTable& t) {
  std::ostringstream out;
  const WindowStats& w = t.window_stats;
  out << "windows: " << t.windowing << ", " << w.windows << " windows of ";
  if (t.windowing == "hf") {
    out << t.window_length << " tokens (stride " << t.stride << ", each scoring the targets after "
        << "the previous window)";
  } else {
    out << t.window_length + 1 << " tokens (" << t.window_length << " predictions each)";
  }
  out << ": " << w.tokens_read << " tokens read, " << w.predictions << " predictions";
  if (w.unused > 0) out << ", " << w.unused << " tokens of the data unused";
  return out.str();
}

std::string format_eval_table(const EvalTable& t) {
  std::ostringstream out;
  out << window_summary(t) << "\n";
  out << "model " << t.model << "; analog: " << t.seeds << " chip instances (base seed "
      << t.base_seed << "); lm_head " << (t.lm_head_analog ? "on tiles" : "FP32") << "; ";
  if (t.processes > 1) out << t.processes << " processes x ";
  out << t.threads << " threads; kernels " << t.simd_level << "\n";
  out << "input ranges: " << t.input_range_summary << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-8s %5s  %-22s %-20s %-20s %-24s %9s %10s %9s\n", "backend",
                "runs", "perplexity", "bits/byte", "top-1 accuracy", "KL(FP32||b) nats/token",
                "wall s", "tokens/s", "CPU s");
  out << line;
  for (const EvalRow& r : t.rows) {
    std::snprintf(line, sizeof line, "%-8s %5zu  %-22s %-20s %-20s %-24s %9.2f %10.0f %9.2f\n",
                  r.label.c_str(), r.runs.size(), stat_cell(r.perplexity, 4).c_str(),
                  stat_cell(r.bits_per_byte, 4).c_str(), stat_cell(r.top1, 4).c_str(),
                  stat_cell(r.kl, 5).c_str(), r.wall_s, r.tokens_per_s, r.cpu_s);
    out << line;
  }
  return out.str();
}

}  // namespace aimc::workloads

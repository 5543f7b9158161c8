// Running an accuracy evaluation for the CLI: load, pick rows by tile kind, report progress.
#include "sim/app/eval_job.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>

#include "arch/rng.h"
#include "arch/tile_numerics.h"
#include "proto/user_error.h"
#include "sim/app/bundle.h"
#include "sim/common/progress_line.h"
#include "sim/sweep/mpi.h"
#include "sim/sweep/task_farm.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"
#include "workloads/job_pool.h"
#include "workloads/shape_cards.h"
#include "workloads/transformer_weights.h"

namespace aimc::sim {
namespace {

proto::MeanStd mean_std(const workloads::MetricStats& s) {
  proto::MeanStd m;
  m.set_mean(s.mean);
  m.set_std(s.std);
  return m;
}

proto::RunMetrics run_metrics(const workloads::Metrics& m, uint64_t chip_seed, bool byte_level) {
  proto::RunMetrics r;
  r.set_chip_seed(chip_seed);
  r.set_mean_nll(m.mean_nll);
  r.set_perplexity(m.perplexity);
  if (byte_level) r.set_bits_per_byte(m.bits_per_byte);
  r.set_top1(m.top1);
  r.set_kl(m.kl);
  r.set_tokens(m.tokens);
  return r;
}

// A run's metrics between ranks: every field as computed (bits per byte may be NaN).
std::string pack(const workloads::Metrics& m) {
  proto::RunMetrics r = run_metrics(m, 0, true);
  return r.SerializeAsString();
}

workloads::Metrics unpack(const std::string& bytes) {
  proto::RunMetrics r;
  if (!r.ParseFromString(bytes)) throw std::runtime_error("eval: a run's metrics do not parse");
  workloads::Metrics m;
  m.mean_nll = r.mean_nll();
  m.perplexity = r.perplexity();
  m.bits_per_byte = r.bits_per_byte();
  m.top1 = r.top1();
  m.kl = r.kl();
  m.tokens = r.tokens();
  return m;
}

// Every run's metrics, in run order, on every rank.
std::vector<workloads::Metrics> distribute_runs_mpi(
    const mpi::Comm& comm, int threads, int runs,
    const std::function<workloads::Metrics(int)>& one) {
  std::vector<workloads::Metrics> metrics;
  for (const std::string& bytes :
       gather_runs(comm, threads, runs, [&one](int r) { return pack(one(r)); })) {
    metrics.push_back(unpack(bytes));
  }
  return metrics;
}

}  // namespace

proto::AccuracyReport accuracy_report(const workloads::EvalTable& table, const std::string& data) {
  proto::AccuracyReport a;
  a.set_data(data);
  a.set_window_length(table.window_length);
  a.set_windows(table.windows);
  a.set_tokens(table.tokens);
  a.set_input_ranges(table.input_range_summary);
  for (const workloads::EvalRow& row : table.rows) {
    proto::AccuracyRow* r = a.add_rows();
    r->set_backend(row.label);
    r->set_runs(static_cast<uint32_t>(row.runs.size()));
    for (uint64_t seed : row.chip_seeds) r->add_seeds(seed);
    *r->mutable_perplexity() = mean_std(row.perplexity);
    if (table.byte_level) *r->mutable_bits_per_byte() = mean_std(row.bits_per_byte);
    *r->mutable_top1() = mean_std(row.top1);
    *r->mutable_kl() = mean_std(row.kl);
    for (const workloads::Metrics& m : row.runs) r->add_run_perplexity(m.perplexity);
    r->set_wall_s(row.wall_s);
    *r->mutable_mean_nll() = mean_std(row.mean_nll);
    for (size_t i = 0; i < row.runs.size(); ++i)
      *r->add_run_metrics() = run_metrics(row.runs[i], row.chip_seeds[i], table.byte_level);
    r->set_tokens_per_run(static_cast<uint64_t>(row.tokens_per_run));
    r->set_tokens_per_s(row.tokens_per_s);
    r->set_cpu_s(row.cpu_s);
  }
  a.set_model(table.model);
  a.set_vocab_size(static_cast<uint32_t>(table.vocab_size));
  a.set_byte_level(table.byte_level);
  a.set_seeds(static_cast<uint32_t>(table.seeds));
  a.set_base_seed(table.base_seed);
  a.set_threads(static_cast<uint32_t>(table.threads));
  a.set_processes(static_cast<uint32_t>(table.processes));
  a.set_simd_level(table.simd_level);
  a.set_lm_head_analog(table.lm_head_analog);
  proto::InputRangeCounts* c = a.mutable_input_range_counts();
  c->set_from_checkpoint(static_cast<uint32_t>(table.input_ranges.from_checkpoint));
  c->set_calibrated(static_cast<uint32_t>(table.input_ranges.calibrated));
  c->set_fixed(static_cast<uint32_t>(table.input_ranges.fixed));
  c->set_calibration_batches(static_cast<uint32_t>(table.input_ranges.calibration_batches));
  c->set_calibration_tokens(static_cast<uint32_t>(table.input_ranges.calibration_tokens));
  c->set_dynamic(static_cast<uint32_t>(table.input_ranges.dynamic));
  a.set_windowing(table.windowing);
  a.set_stride(static_cast<uint32_t>(table.stride));
  a.set_tokens_read(static_cast<uint64_t>(table.window_stats.tokens_read));
  a.set_predictions(static_cast<uint64_t>(table.window_stats.predictions));
  a.set_tokens_unused(static_cast<uint64_t>(table.window_stats.unused));
  return a;
}

void add_eval_flags(po::options_description* options) {
  options->add_options()(
      "data", po::value<std::string>(),
      "evaluation tokens: text (bytes), .bin/.u32 (uint32) or .npy (default: the bundled "
      "held-out text for the bundled model)")(
      "calib", po::value<std::string>(),
      "calibration tokens, disjoint from --data (default: the bundled calibration text for the "
      "bundled model, else the first calibration windows of --data, which are then not "
      "evaluated)")("seeds", po::value<int>()->default_value(10),
                    "analog chip instances (programming-noise seeds)")(
      "seed", po::value<uint64_t>()->default_value(0), "base seed of the chip instances")(
      "window", po::value<int>()->default_value(128),
      "window size W: disjoint windows hold W + 1 tokens (W predictions), hf windows W tokens")(
      "windowing", po::value<std::string>()->default_value("disjoint"),
      "disjoint: non-overlapping windows of W + 1 tokens, W predictions each, tail dropped; hf: "
      "Hugging Face's recipe, windows of W tokens every --stride tokens, each scoring the targets "
      "after the previous window (stride W: W - 1 predictions per window)")(
      "stride", po::value<int>()->default_value(0), "hf windows: tokens between starts (0 = W)")(
      "logits-out", po::value<std::string>(),
      "write the logits of --logits-positions of every window, per backend and chip instance, "
      "as .npy files with index.json into this directory")(
      "logits-positions", po::value<std::string>()->default_value("-1"),
      "comma-separated input positions within each window for --logits-out (negative: from "
      "the end; -1 = last)")("max-windows", po::value<int>()->default_value(32),
                             "windows to evaluate (0 = all)")(
      "threads", po::value<int>()->default_value(0), "worker threads (0 = all cores)")(
      "synthetic-weights", po::value<uint64_t>(),
      "seeded synthetic weights (and, without --data, random tokens) for any model, shape cards "
      "included: speed and memory at full scale; the accuracy figures are meaningless");
}

EvalJob eval_job_from_flags(const po::variables_map& vm, const proto::ChipConfig& chip) {
  EvalJob job;
  job.model = model_from_flags(vm);
  if (vm.count("synthetic-weights")) {
    job.synthetic = true;
    job.synthetic_seed = vm["synthetic-weights"].as<uint64_t>();
  }
  job.data = vm.count("data") ? vm["data"].as<std::string>() : "";
  job.calib = vm.count("calib") ? vm["calib"].as<std::string>() : "";
  if (is_bundled_model(job.model)) {
    if (job.data.empty()) job.data = bundled_eval_text_path();
    if (job.calib.empty() && !vm.count("data")) job.calib = bundled_calib_text_path();
  }
  if (vm["seeds"].as<int>() < 1) throw UserError("--seeds must be at least 1");
  if (vm["window"].as<int>() < 1) throw UserError("--window must be at least 1");
  if (vm["max-windows"].as<int>() < 0) throw UserError("--max-windows must not be negative");
  job.options.eval.seeds = vm["seeds"].as<int>();
  job.options.eval.base_seed = vm["seed"].as<uint64_t>();
  job.options.eval.window_length = vm["window"].as<int>();
  job.options.eval.windowing = workloads::parse_windowing(vm["windowing"].as<std::string>());
  job.options.eval.stride = vm["stride"].as<int>();
  if (job.options.eval.stride < 0) throw UserError("--stride must not be negative");
  if (job.options.eval.stride > 0 && job.options.eval.windowing != workloads::Windowing::kHf) {
    throw UserError("--stride applies to --windowing hf only");
  }
  if (vm.count("logits-out")) {
    job.logits_out = vm["logits-out"].as<std::string>();
    std::stringstream list(vm["logits-positions"].as<std::string>());
    std::string item;
    while (std::getline(list, item, ',')) {
      try {
        size_t used = 0;
        job.options.eval.export_positions.push_back(std::stoi(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw UserError("--logits-positions: '" + item + "' is not an integer");
      }
    }
    if (job.options.eval.export_positions.empty()) {
      throw UserError("--logits-positions: give at least one position");
    }
  }
  job.options.eval.max_windows = vm["max-windows"].as<int>();
  job.options.eval.threads = vm["threads"].as<int>();
  job.options.eval.lm_head_analog = chip.mapping().lm_head_on_tiles();
  job.options.calibration.window =
      static_cast<int>(chip.numerics().input_range().calibration_window());
  job.options.calibration.batches =
      static_cast<int>(chip.numerics().input_range().calibration_batches());
  if (!job.data.empty()) job.options.data_name = job.data;
  if (!job.calib.empty()) {
    job.options.calibration_name = job.calib;
  } else if (!job.data.empty()) {
    job.options.calibration_name = job.data + " (its first calibration windows)";
  }
  return job;
}

LoadedJob load_job(const EvalJob& job, const proto::ChipConfig& chip) {
  if (job.synthetic) {
    LoadedJob loaded;
    loaded.weights =
        workloads::synthetic_transformer(workloads::resolve_model(job.model), job.synthetic_seed);
    const int vocab = loaded.weights.config.vocab_size;
    if (!job.data.empty()) {
      loaded.eval_tokens = workloads::load_tokens(job.data, vocab);
      if (!job.calib.empty()) loaded.calib_tokens = workloads::load_tokens(job.calib, vocab);
    }
    // Seeded random tokens for whatever is missing: the windows to evaluate and the
    // calibration batches (disjoint streams).
    auto random_tokens = [&](size_t n, uint64_t stream) {
      arch::Rng rng(arch::derive_seed(job.synthetic_seed, 0x746f6b /* "tok" */, stream));
      workloads::TokenIds t(n);
      for (auto& id : t) id = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(vocab));
      return t;
    };
    const auto& eo = job.options.eval;
    if (loaded.eval_tokens.empty()) {
      const size_t windows = eo.max_windows > 0 ? eo.max_windows : 32;
      loaded.eval_tokens = random_tokens(windows * (eo.window_length + 1), 0);
    }
    if (loaded.calib_tokens.empty()) {
      const auto& co = job.options.calibration;
      loaded.calib_tokens =
          random_tokens(static_cast<size_t>(co.window + 1) * std::max(1, co.batches), 1);
    }
    return loaded;
  }
  if (!std::filesystem::is_directory(job.model)) {
    workloads::resolve_model(job.model);  // unknown names fail here with the list of cards
    throw UserError("model '" + job.model +
                    "' is a shape card without weights: accuracy needs a model folder "
                    "(--model PATH)");
  }
  LoadedJob loaded;
  loaded.weights = workloads::load_transformer(job.model);
  if (job.data.empty()) return loaded;
  const int vocab = loaded.weights.config.vocab_size;
  workloads::TokenIds& eval_tokens = loaded.eval_tokens;
  eval_tokens = workloads::load_tokens(job.data, vocab);
  const bool needed = workloads::calibration_needed(
      loaded.weights, arch::tile_numerics_from_config(chip), chip.mapping().lm_head_on_tiles());
  if (!job.calib.empty()) {
    if (needed) loaded.calib_tokens = workloads::load_tokens(job.calib, vocab);
  } else if (needed) {
    // Calibration must not see the evaluated text: take it off the front.
    const size_t n = static_cast<size_t>(job.options.calibration.window + 1) *
                     static_cast<size_t>(job.options.calibration.batches);
    if (eval_tokens.size() <= n) {
      throw UserError(job.data + ": too short to carve " + std::to_string(n) +
                      " calibration tokens off the front; give --calib FILE");
    }
    loaded.calib_tokens.assign(eval_tokens.begin(), eval_tokens.begin() + static_cast<long>(n));
    eval_tokens.erase(eval_tokens.begin(), eval_tokens.begin() + static_cast<long>(n));
  }
  return loaded;
}

workloads::EvalTable run_eval_job(const EvalJob& job, const proto::ChipConfig& chip) {
  if (!job.synthetic && std::filesystem::is_directory(job.model) && job.data.empty()) {
    throw UserError("--data is required for a model other than the bundled one");
  }
  return run_eval_job(job, chip, load_job(job, chip));
}

workloads::EvalTable run_eval_job(const EvalJob& job, const proto::ChipConfig& chip,
                                  const LoadedJob& loaded) {
  if (job.data.empty() && !job.synthetic) {
    throw UserError("--data is required for a model other than the bundled one");
  }
  const workloads::TransformerWeights& weights = loaded.weights;
  const workloads::TokenIds& eval_tokens = loaded.eval_tokens;
  const workloads::TokenIds& calib_tokens = loaded.calib_tokens;

  workloads::EvalTableOptions options = job.options;
  switch (chip.tile().kind()) {
    case proto::ANALOG:
      options.backends = {arch::Backend::kFp32, arch::Backend::kW4A8, arch::Backend::kAnalog};
      break;
    case proto::DIGITAL_W4A8:
    case proto::DIGITAL_FP:
      options.backends = {arch::Backend::kFp32, arch::Backend::kW4A8};
      break;
    default:
      break;
  }
  options.eval.progress = tty_progress();
  const mpi::Comm* comm = mpi::world();
  if (comm != nullptr) {
    // The chip instances go to the ranks, a free thread taking the next seed (sim/task_farm.h);
    // each rank's threads share its machine's cores with the other ranks there.
    options.eval.threads = threads_per_rank(*comm, options.eval.threads);
    options.eval.progress = nullptr;
    const int threads = options.eval.threads;
    options.eval.distribute_runs =
        [comm, threads](int runs, const std::function<workloads::Metrics(int)>& one) {
          return distribute_runs_mpi(*comm, threads, runs, one);
        };
  }
  const arch::TileNumerics numerics = arch::tile_numerics_from_config(chip);
  workloads::EvalTable table =
      workloads::evaluate_table(weights, numerics, eval_tokens, calib_tokens, options);
  if (comm != nullptr) table.processes = comm->size();
  if (!job.logits_out.empty() && (comm == nullptr || comm->root())) {
    workloads::write_exported_logits(table, eval_tokens, job.logits_out);
  }
  if (options.eval.progress) clear_progress_line();
  return table;
}

}  // namespace aimc::sim

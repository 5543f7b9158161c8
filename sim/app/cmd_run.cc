// `aimcsim run`: the main job. Maps the model onto the chip, evaluates its accuracy (FP32, W4A8
// and the chip over N chip instances, when the model has weights), simulates prefill and decode
// in SystemC for time and energy, prints a summary and optionally writes the report files.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <sstream>
#include <thread>

#include "arch/chip_costs.h"
#include "mapping/mapper.h"
#include "mapping/plan_io.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/limits.h"
#include "proto/safe_output.h"
#include "proto/system_config_io.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/app/eval_job.h"
#include "sim/chip/datasheet.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "sim/chip/trace.h"
#include "sim/report/report_html.h"
#include "sim/report/sim_report.h"
#include "sim/report/summary.h"
#include "sim/serving/arrivals.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {
namespace {

// Refuses, before any work, a run whose token counts or chip instances would exhaust memory:
// the timed run keeps per token a state for each step of each layer, the numbers of the run a
// KV cache and a row of logits.
void check_run_limits(const workloads::ModelConfig& model, int prompt, int decode, int batch,
                      bool has_weights) {
  const double tokens = static_cast<double>(prompt) + decode;
  if (model.max_positions > 0 && tokens > model.max_positions) {
    throw UserError("--prompt-tokens " + std::to_string(prompt) + " + --decode-tokens " +
                    std::to_string(decode) + " exceed the " + std::to_string(model.max_positions) +
                    " positions of model " + model.name + " (max_position_embeddings)");
  }
  const double layers = model.num_layers + 2.0;
  // Measured: about 250 bytes per layer and token for the scheduler (a 16-layer shape card,
  // 100 vs 2000 prompt tokens); 1 kB is allowed.
  double per_token = layers * 1024;
  if (has_weights) {
    per_token += 2.0 * model.num_layers * model.num_kv_heads * model.head_dim * 4 +  // KV cache
                 4.0 * model.vocab_size;                                             // logits
  }
  const std::string flags = "--prompt-tokens " + std::to_string(prompt) + " --decode-tokens " +
                            std::to_string(decode) +
                            (batch > 1 ? " --batch " + std::to_string(batch) : "");
  if (tokens * batch > 2147483647.0) {
    throw UserError(flags + ": (prompt + decode tokens) x batch must not exceed 2147483647");
  }
  proto::check_memory_estimate(tokens * batch * per_token, flags);
}

// Refuses, before the timed run, a --trace whose file would exceed the output limit. Upper
// bound of the spans per token and sequence: each placed block (or used tile) is read once (read,
// conversion, reduction, and transfers of at most mesh_x + mesh_y hops each way), each layer of the
// plan adds at most 16 DPU and memory spans, the token itself 4. Measured on the default chip and
// tinyllama-bytes, 32 + 32 tokens: 425 spans per token against a bound of 1919. The writer keeps at
// most TraceOptions::max_spans spans and names only tracks holding one; about 90 bytes per event
// were measured, 128 are assumed. The window and the filter only drop spans.
void check_trace_limit(const proto::MappingPlan& plan, double tokens, const std::string& flags) {
  const double hops = static_cast<double>(plan.mesh_x()) + plan.mesh_y();
  const double per_token =
      std::max(plan.summary().tiles_used(), plan.summary().blocks()) * (3 + 2 * hops) +
      16.0 * (plan.layers_size() + 1) + 4;
  const double spans = std::min(static_cast<double>(TraceOptions{}.max_spans), tokens * per_token);
  const double tracks = 8.0 * plan.mesh_x() * plan.mesh_y() + 64;
  proto::check_output_estimate(128 * (spans + std::min(spans, tracks)),
                               "--trace of " + flags + " (up to " +
                                   std::to_string(static_cast<long long>(spans)) + " spans)");
}

// Request mode: the arrivals (seeded poisson or a CSV trace), served by continuous batching.
void add_requests(const po::variables_map& vm, const proto::MappingPlan& plan, int prompt,
                  int decode, int batch, SimOptions* sim_options, std::ostream& out) {
  const std::string arrivals = vm["arrivals"].as<std::string>();
  sim_options->requests = arrivals == "poisson"
                              ? poisson_arrivals(vm["rate"].as<double>(), vm["requests"].as<int>(),
                                                 prompt, decode, vm["arrival-seed"].as<uint64_t>())
                              : read_request_trace(arrivals);
  sim_options->max_batch = vm["max-batch"].as<int>();
  if (sim_options->max_batch < 1)
    throw UserError("--max-batch must be at least 1, got " +
                    std::to_string(sim_options->max_batch));
  if (batch > 1) throw UserError("--batch and --arrivals exclude each other (use --max-batch)");
  out << "request mode: " << sim_options->requests.size() << " requests, continuous batching up to "
      << sim_options->max_batch << " sequences; time and energy only\n";
  if (vm.count("trace")) {
    double tokens = 0;
    for (const auto& r : sim_options->requests)
      tokens += static_cast<double>(r.prompt_tokens) + r.decode_tokens;
    check_trace_limit(plan, tokens,
                      std::to_string(sim_options->requests.size()) + " requests of " +
                          std::to_string(static_cast<long long>(tokens)) + " tokens");
  }
}

// The flags of `aimcsim run`.
po::options_description run_flags() {
  po::options_description options("run flags");
  add_chip_model_flags(&options, true, true);
  add_eval_flags(&options);
  options.add_options()("prompt-tokens", po::value<int>()->default_value(32),
                        "prompt tokens (prefill) of the timed run")(
      "decode-tokens", po::value<int>()->default_value(32),
      "generated tokens (decode) of the timed run")(
      "out", po::value<std::string>(),
      "write report.json, report.html, config.resolved.pbtxt, mapping.pbtxt here")(
      "trace", po::value<std::string>(), "write a Chrome/Perfetto trace (JSON) of the timed run")(
      "trace-window-us", po::value<std::vector<double>>()->multitoken(),
      "trace only this simulated time window: START END (microseconds)")(
      "trace-filter", po::value<std::string>()->default_value(""),
      "trace only components whose names contain one of these comma-separated words")(
      "no-accuracy", po::bool_switch(), "skip the accuracy evaluation")(
      "chip-seed", po::value<uint64_t>()->default_value(0),
      "chip instance (noise seed) whose numbers the timed run computes (models with weights)")(
      "batch", po::value<int>()->default_value(1),
      "sequences decoding together, each with its own KV cache (static batching); with weights "
      "sequence s's prompt starts at token s x P of the evaluation text")(
      "arrivals", po::value<std::string>(),
      "request mode: 'poisson' (seeded, --rate, --requests; each of --prompt-tokens and "
      "--decode-tokens) or a CSV trace arrival_s,prompt_tokens,decode_tokens; continuous "
      "batching up to --max-batch; time and energy only")(
      "rate", po::value<double>()->default_value(1000), "poisson arrivals: requests per second")(
      "requests", po::value<int>()->default_value(64), "poisson arrivals: number of requests")(
      "arrival-seed", po::value<uint64_t>()->default_value(0), "poisson arrivals: seed")(
      "max-batch", po::value<int>()->default_value(8),
      "request mode: sequences in flight at most (continuous batching)")(
      "batch-curve", po::value<std::string>(),
      "also run the timed simulation (time and energy only) at each of these comma-separated "
      "batches, e.g. 1,2,4,8,16,32: report.html draws throughput against time per output token "
      "and energy per token against the batch")(
      "chips", po::value<std::string>(),
      "run on several chips: N = a system of N chips like --chip (with a system config: at most "
      "N of its chips), auto = the fewest that hold the model (as `map --chips`)")(
      "split", po::value<std::string>()->default_value("auto"),
      "a system: how a layer of a block larger than a chip is cut (auto, output, input)")(
      "lm-head", po::value<std::string>()->default_value("chip"),
      "a system: where lm_head runs (chip = chip 0's mapping.lm_head_on_tiles, tiles, dram)")(
      "memo-parts", po::bool_switch(),
      "approximate and faster on large systems: replay each layer part's first read (latency, "
      "counts, busy time) instead of simulating every tile read; mesh contention between layers "
      "is not modelled (docs/performance.md)")(
      "no-replay", po::bool_switch(),
      "simulate every part read as it is issued instead of gathering and replaying them (the "
      "same report, slower; for comparisons and debugging; docs/systems.md section 8)");
  return options;
}

// What a run is asked to do, read from the flags and checked before any work.
struct RunRequest {
  proto::SystemConfig system;
  proto::ChipConfig chip;
  std::string model_arg;
  workloads::ModelConfig model;
  int prompt = 0;
  int decode = 0;
  int batch = 1;
  bool has_weights = false;
  /// The system mapper's options (--split, --lm-head, --chips).
  mapping::SystemMapOptions map_options;
};

RunRequest read_run_request(const po::variables_map& vm) {
  RunRequest r;
  r.system = system_from_flags(vm);
  r.chip = proto::chip_config(r.system, 0);
  r.batch = vm["batch"].as<int>();
  if (r.batch < 1) throw UserError("--batch must be at least 1, got " + std::to_string(r.batch));
  r.model_arg = model_from_flags(vm);
  r.model = workloads::resolve_model(r.model_arg);
  r.map_options.split = mapping::parse_split_kind(vm["split"].as<std::string>());
  r.map_options.lm_head = mapping::parse_lm_head_placement(vm["lm-head"].as<std::string>());
  if (vm.count("chips")) {
    apply_chips_flag(vm["chips"].as<std::string>(), r.model, &r.system, &r.map_options);
    r.chip = proto::chip_config(r.system, 0);
  }
  r.prompt = vm["prompt-tokens"].as<int>();
  r.decode = vm["decode-tokens"].as<int>();
  if (r.prompt < 1) throw UserError("--prompt-tokens must be at least 1");
  if (r.decode < 0) throw UserError("--decode-tokens must not be negative");
  r.has_weights = std::filesystem::is_directory(r.model_arg) || vm.count("synthetic-weights") > 0;
  // Flags that only make sense with others are refused rather than silently ignored.
  if (!vm.count("trace")) {
    if (vm.count("trace-window-us")) throw UserError("--trace-window-us needs --trace FILE");
    if (!vm["trace-filter"].as<std::string>().empty()) {
      throw UserError("--trace-filter needs --trace FILE");
    }
  }
  if (!r.has_weights) {
    for (const char* flag : {"data", "calib"}) {
      if (vm.count(flag)) {
        throw UserError(std::string("--") + flag + " needs a model with weights, but '" +
                        r.model_arg + "' is a shape card");
      }
    }
  }
  check_run_limits(r.model, r.prompt, r.decode, r.batch, r.has_weights);
  return r;
}

// What `run` simulates: one chip's plan, or a system plan with each chip's placement.
struct RunPlan {
  bool system = false;
  proto::SystemPlan system_plan;
  mapping::SystemChipPlans chip_plans;
  /// The chip's plan; on a system, chip 0's (report.html draws its mesh).
  proto::MappingPlan plan;
  /// Chips simulated.
  int chips = 1;
};

// Maps the model (across the chips of a system) and prints the plan's summary.
RunPlan plan_run(const po::variables_map& vm, const RunRequest& r, std::ostream& out) {
  RunPlan rp;
  const std::string strategy = vm["mapping"].as<std::string>();
  if (proto::is_single_chip(r.system)) {
    if (!vm["split"].defaulted() || !vm["lm-head"].defaulted())
      throw UserError("--split and --lm-head map across the chips of a system; --chip " +
                      vm["chip"].as<std::string>() + " is one chip" +
                      (vm.count("chips")
                           ? " (and --chips " + vm["chips"].as<std::string>() + " makes one)"
                           : ""));
    rp.plan = mapping::make_plan(r.model, r.chip, strategy);
    out << format_chip_summary(r.chip, arch::adc_conversion_time_ns(r.chip))
        << format_plan_summary(rp.plan) << "\n";
    return rp;
  }
  rp.system = true;
  rp.system_plan = mapping::make_system_plan(r.model, r.system, r.map_options);
  rp.chip_plans = mapping::make_chip_plans(r.model, r.system, rp.system_plan, strategy);
  rp.plan = rp.chip_plans.chips[0];
  rp.chips = static_cast<int>(rp.chip_plans.chips.size());
  out << mapping::format_system_plan_summary(rp.system_plan) << "\n";
  return rp;
}

// The timed run of the plan: on the system's chips, or on the one chip.
proto::SimReport simulate_run(const RunRequest& r, const RunPlan& rp, const SimOptions& o) {
  if (rp.system) return simulate(r.system, r.model, rp.system_plan, rp.chip_plans, o);
  SimOptions one = o;
  one.host = host_link(r.system);  // a one-chip system file may have a host link
  return simulate(r.chip, r.model, rp.plan, one);
}

// Output paths are checked before the work, and a run's files appear together or not at all:
// the --trace file is checked here, the --out folder opened (written on commit).
std::unique_ptr<proto::OutputFolder> open_outputs(const po::variables_map& vm,
                                                  const proto::ChipConfig& chip) {
  if (vm.count("trace")) proto::check_output_file(vm["trace"].as<std::string>(), "--trace");
  if (!vm.count("out")) return nullptr;
  auto folder = std::make_unique<proto::OutputFolder>(vm["out"].as<std::string>(), "--out");
  // report.html draws every mesh node (about 130 bytes each) besides its charts.
  const double nodes = static_cast<double>(chip.noc().mesh_x()) * chip.noc().mesh_y();
  proto::check_output_estimate(2e6 + 130 * nodes, "--out with a " +
                                                      std::to_string(chip.noc().mesh_x()) + " x " +
                                                      std::to_string(chip.noc().mesh_y()) +
                                                      " mesh (report.html draws every node)");
  return folder;
}

// Accuracy (FP32, W4A8 and the chip instances) when the model has weights and --no-accuracy is
// not given; prints the table, or why there is none. `loaded` holds the weights, loaded once.
proto::AccuracyReport run_accuracy(const po::variables_map& vm, const RunRequest& r,
                                   const LoadedJob* loaded, const EvalJob& job, std::ostream& out) {
  proto::AccuracyReport accuracy;
  if (r.has_weights && !vm["no-accuracy"].as<bool>()) {
    const workloads::EvalTable table = run_eval_job(job, r.chip, *loaded);
    out << "accuracy on "
        << (job.data.empty() ? "seeded random tokens (synthetic weights)" : job.data) << "\n"
        << workloads::format_eval_table(table) << "\n";
    accuracy = accuracy_report(table, job.data);
  } else if (!r.has_weights) {
    out << "accuracy: none (" << r.model_arg << " is a shape card without weights)\n\n";
  }
  return accuracy;
}

// The timed run's token counts, memory and trace options.
SimOptions sim_options_from_flags(const po::variables_map& vm, const RunRequest& r) {
  SimOptions sim_options;
  sim_options.prompt_tokens = r.prompt;
  sim_options.decode_tokens = r.decode;
  sim_options.batch = r.batch;
  sim_options.memo_parts = vm["memo-parts"].as<bool>();
  sim_options.replay = !vm["no-replay"].as<bool>();
  // A system's timed run on --threads threads when given (0 = all cores; same results on any
  // number; docs/systems.md section 8), else on one: two gain no time yet on the presets
  // (docs/performance.md, "Systems of chips").
  const int threads =
      vm.count("threads") && !vm["threads"].defaulted() ? vm["threads"].as<int>() : 1;
  sim_options.threads =
      threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  sim_options.dram_capacity_bytes =
      static_cast<double>(proto::chip_dram(r.system, 0).capacity_bytes());
  if (vm.count("trace")) sim_options.trace_path = vm["trace"].as<std::string>();
  if (vm.count("trace-window-us")) {
    const auto w = vm["trace-window-us"].as<std::vector<double>>();
    if (w.size() != 2 || !(w[0] < w[1])) {
      throw UserError("--trace-window-us takes two numbers START END with START < END");
    }
    sim_options.trace_start_us = w[0];
    sim_options.trace_end_us = w[1];
  }
  sim_options.trace_filter = vm["trace-filter"].as<std::string>();
  return sim_options;
}

// The numbers of the timed run (batch mode with weights): the prompt is the start of the
// evaluation text (token 10, '\n', without data); sequence s of a batch reads it from token
// s x P on. Without them (e.g. no calibration range) the run gives time and energy only.
void add_numbers(const po::variables_map& vm, const RunRequest& r, const LoadedJob& loaded,
                 workloads::LayerInputRanges* ranges, SimOptions* sim_options, std::ostream& out) {
  try {
    *ranges = chip_input_ranges(r.chip, loaded.weights, loaded.calib_tokens);
    sim_options->weights = &loaded.weights;
    sim_options->input_ranges = ranges;
    sim_options->chip_seed = vm["chip-seed"].as<uint64_t>();
    const int vocab = loaded.weights.config.vocab_size;
    sim_options->prompt = default_prompt(loaded.eval_tokens, r.prompt, vocab);
    for (int seq = 0; r.batch > 1 && seq < r.batch; ++seq) {
      const size_t from = std::min(loaded.eval_tokens.size(), static_cast<size_t>(seq) * r.prompt);
      const workloads::TokenIds text(loaded.eval_tokens.begin() + from, loaded.eval_tokens.end());
      sim_options->prompts.push_back(default_prompt(text, r.prompt, vocab));
    }
  } catch (const UserError& e) {
    out << "numbers of the timed run: none (" << e.what() << ")\n";
  }
}

// The summary of the run, and the generated text when the run computed numbers.
// The batches of --batch-curve, checked before any work: integers >= 1, each within the run's
// limits; not with request mode.
std::vector<int> batch_curve_flag(const po::variables_map& vm, const RunRequest& r) {
  std::vector<int> batches;
  if (!vm.count("batch-curve")) return batches;
  if (vm.count("arrivals")) throw UserError("--batch-curve and --arrivals exclude each other");
  std::stringstream list(vm["batch-curve"].as<std::string>());
  for (std::string item; std::getline(list, item, ',');) {
    char* end = nullptr;
    const long b = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || b < 1 || b > 65536)
      throw UserError("--batch-curve: expected comma-separated batches in 1..65536, got '" + item +
                      "'");
    check_run_limits(r.model, r.prompt, r.decode, static_cast<int>(b), false);
    batches.push_back(static_cast<int>(b));
  }
  if (batches.empty()) throw UserError("--batch-curve: expected at least one batch");
  return batches;
}

// The run again at each batch of the curve, time and energy only (values do not change time).
void add_batch_curve(const std::vector<int>& batches, const RunRequest& r, const RunPlan& rp,
                     const SimOptions& sim_options, proto::SimReport* report) {
  for (int b : batches) {
    SimOptions o = sim_options;
    o.batch = b;
    o.weights = nullptr;
    o.input_ranges = nullptr;
    o.prompt.clear();
    o.prompts.clear();
    o.record_logits = false;
    o.trace_path.clear();
    *report->add_batch_curve() = batch_curve_point(simulate_run(r, rp, o));
  }
}

void print_run_summary(const proto::SimReport& report, std::ostream& out) {
  out << format_summary(report) << format_batch_curve(report);
  if (report.generation().has_generated_text()) {
    out << "generated text (" << report.generation().backend() << ", chip seed "
        << report.generation().chip_seed() << "): \"" << report.generation().prompt_text()
        << "\" -> \"" << report.generation().generated_text() << "\"\n";
  }
}

// The --out folder's files, all at once; report.json last: a sweep takes it as the mark of a
// complete point.
void write_run_files(proto::OutputFolder* folder, const proto::SimReport& report, const RunPlan& rp,
                     const proto::ChipConfig& chip, std::ostream& out) {
  const std::string html = render_report_html(report, rp.plan);
  folder->write("config.resolved.pbtxt", proto::to_text(chip));
  folder->write("mapping.pbtxt",
                rp.system ? proto::to_text(rp.system_plan) : mapping::plan_to_text(rp.plan));
  folder->write("report.html", html);
  folder->write("report.json", report_to_json(report));
  folder->commit();
  out << "\nreport written to " << folder->dir() << "/ (report.json, report.html, "
      << "config.resolved.pbtxt, mapping.pbtxt)\n";
}

}  // namespace

int cmd_run(const std::vector<std::string>& args, std::ostream& out) {
  const po::options_description options = run_flags();
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("run",
                   "[--chip CONFIG] [--model NAME|PATH] [--mapping NAME] [--data FILE] "
                   "[--seeds N] [--prompt-tokens P] [--decode-tokens D] [--out DIR] "
                   "[--trace FILE] [--batch B] [--arrivals poisson|TRACE.csv --rate R "
                   "--requests N --max-batch M] [--batch-curve B1,B2,...] [--split KIND] "
                   "[--lm-head WHERE] [--chips N|auto] [--memo-parts] [--no-replay]",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  const RunRequest r = read_run_request(vm);
  const std::unique_ptr<proto::OutputFolder> out_folder = open_outputs(vm, r.chip);

  // A system's plans hold a block placement per tile (a million on the 70B preset): left to the
  // process's end, which frees them at once, rather than destroyed one by one after the run
  // (about a second). Held by a static pointer, so that they stay reachable (no leak for the
  // sanitizers) and a later command in the same process frees the earlier plans.
  static RunPlan* kept_plan = nullptr;
  delete kept_plan;
  kept_plan = nullptr;
  kept_plan = new RunPlan(plan_run(vm, r, out));
  const RunPlan& run_plan = *kept_plan;
  const proto::MappingPlan& plan = run_plan.plan;
  if (vm.count("trace") && !vm.count("arrivals")) {
    // A system's chips are bounded like chip 0, each.
    check_trace_limit(plan, (static_cast<double>(r.prompt) + r.decode) * r.batch * run_plan.chips,
                      std::to_string(r.prompt) + " + " + std::to_string(r.decode) + " tokens" +
                          (r.batch > 1 ? " x " + std::to_string(r.batch) + " sequences" : ""));
  }

  // Accuracy and the timed run's numbers need weights (loaded once); a shape card gives time
  // and energy only.
  EvalJob job;
  std::unique_ptr<LoadedJob> loaded;
  if (r.has_weights) {
    job = eval_job_from_flags(vm, r.chip);
    loaded = std::make_unique<LoadedJob>(load_job(job, r.chip));
  }
  const proto::AccuracyReport accuracy = run_accuracy(vm, r, loaded.get(), job, out);

  SimOptions sim_options = sim_options_from_flags(vm, r);
  if (vm.count("arrivals")) add_requests(vm, plan, r.prompt, r.decode, r.batch, &sim_options, out);
  workloads::LayerInputRanges ranges;
  if (loaded && sim_options.requests.empty()) {
    add_numbers(vm, r, *loaded, &ranges, &sim_options, out);
  }
  const std::vector<int> curve = batch_curve_flag(vm, r);
  proto::SimReport report = simulate_run(r, run_plan, sim_options);
  add_batch_curve(curve, r, run_plan, sim_options, &report);
  *report.mutable_datasheet() = chip_datasheet(r.chip);
  if (accuracy.rows_size() > 0) *report.mutable_accuracy() = accuracy;
  print_run_summary(report, out);

  if (out_folder) write_run_files(out_folder.get(), report, run_plan, r.chip, out);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "wall time " << std::round(wall * 10) / 10 << " s\n";
  return 0;
}

}  // namespace aimc::sim

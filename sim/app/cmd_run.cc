// `aimcsim run`: the main job. Maps the model onto the chip, evaluates its accuracy (FP32, W4A8
// and the chip over N chip instances, when the model has weights), simulates prefill and decode
// in SystemC for time and energy, prints a summary and optionally writes the report files.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <ostream>

#include "arch/chip_costs.h"
#include "mapping/mapper.h"
#include "mapping/plan_io.h"
#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/app/eval_job.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "sim/report/report_html.h"
#include "sim/report/sim_report.h"
#include "sim/report/summary.h"
#include "sim/serving/arrivals.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {

int cmd_run(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("run flags");
  add_chip_model_flags(&options, true);
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
      "request mode: sequences in flight at most (continuous batching)");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("run",
                   "[--chip CONFIG] [--model NAME|PATH] [--mapping NAME] [--data FILE] "
                   "[--seeds N] [--prompt-tokens P] [--decode-tokens D] [--out DIR] "
                   "[--trace FILE] [--batch B] [--arrivals poisson|TRACE.csv --rate R "
                   "--requests N --max-batch M]",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  const proto::SystemConfig system = system_from_flags(vm);
  if (!proto::is_single_chip(system)) {
    throw UserError("--chip " + vm["chip"].as<std::string>() + ": a system of " +
                    std::to_string(proto::chip_count(system)) +
                    " chips; `aimcsim map` maps a model across it, the timed run simulates one "
                    "chip (docs/systems.md)");
  }
  const proto::ChipConfig chip = proto::chip_config(system, 0);
  const int batch = vm["batch"].as<int>();
  if (batch < 1) throw UserError("--batch must be at least 1, got " + std::to_string(batch));
  const std::string model_arg = model_from_flags(vm);
  const workloads::ModelConfig model = workloads::resolve_model(model_arg);
  const int prompt = vm["prompt-tokens"].as<int>();
  const int decode = vm["decode-tokens"].as<int>();
  if (prompt < 1) throw UserError("--prompt-tokens must be at least 1");
  if (decode < 0) throw UserError("--decode-tokens must not be negative");
  if (vm.count("out")) {
    std::error_code ec;
    std::filesystem::create_directories(vm["out"].as<std::string>(), ec);
    if (ec) throw UserError("cannot create --out folder '" + vm["out"].as<std::string>() + "'");
  }

  const proto::MappingPlan plan = mapping::make_plan(model, chip, vm["mapping"].as<std::string>());
  out << format_chip_summary(chip, arch::adc_conversion_time_ns(chip)) << format_plan_summary(plan)
      << "\n";

  // Accuracy and the timed run's numbers need weights (loaded once); a shape card gives time
  // and energy only.
  proto::AccuracyReport accuracy;
  const bool has_weights =
      std::filesystem::is_directory(model_arg) || vm.count("synthetic-weights") > 0;
  EvalJob job;
  if (has_weights) job = eval_job_from_flags(vm, chip);
  std::unique_ptr<LoadedJob> loaded;
  if (has_weights) loaded = std::make_unique<LoadedJob>(load_job(job));
  if (has_weights && !vm["no-accuracy"].as<bool>()) {
    const workloads::EvalTable table = run_eval_job(job, chip, *loaded);
    out << "accuracy on "
        << (job.data.empty() ? "seeded random tokens (synthetic weights)" : job.data) << "\n"
        << workloads::format_eval_table(table) << "\n";
    accuracy = accuracy_report(table, job.data);
  } else if (!has_weights) {
    out << "accuracy: none (" << model_arg << " is a shape card without weights)\n\n";
  }

  SimOptions sim_options;
  sim_options.prompt_tokens = prompt;
  sim_options.decode_tokens = decode;
  sim_options.batch = batch;
  sim_options.dram_capacity_bytes =
      static_cast<double>(proto::chip_dram(system, 0).capacity_bytes());
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
  if (vm.count("arrivals")) {
    const std::string arrivals = vm["arrivals"].as<std::string>();
    sim_options.requests = arrivals == "poisson"
                               ? poisson_arrivals(vm["rate"].as<double>(), vm["requests"].as<int>(),
                                                  prompt, decode, vm["arrival-seed"].as<uint64_t>())
                               : read_request_trace(arrivals);
    sim_options.max_batch = vm["max-batch"].as<int>();
    if (sim_options.max_batch < 1)
      throw UserError("--max-batch must be at least 1, got " +
                      std::to_string(sim_options.max_batch));
    if (batch > 1) throw UserError("--batch and --arrivals exclude each other (use --max-batch)");
    out << "request mode: " << sim_options.requests.size()
        << " requests, continuous batching up to " << sim_options.max_batch
        << " sequences; time and energy only\n";
  }
  // Numbers: the prompt is the start of the evaluation text (token 10, '\n', without data).
  workloads::LayerInputRanges ranges;
  if (loaded && sim_options.requests.empty()) {
    try {
      ranges = chip_input_ranges(chip, loaded->weights, loaded->calib_tokens);
      sim_options.weights = &loaded->weights;
      sim_options.input_ranges = &ranges;
      sim_options.chip_seed = vm["chip-seed"].as<uint64_t>();
      sim_options.prompt =
          default_prompt(loaded->eval_tokens, prompt, loaded->weights.config.vocab_size);
      // A batch: sequence s reads the text from token s x P on.
      for (int seq = 0; batch > 1 && seq < batch; ++seq) {
        const size_t from = std::min(loaded->eval_tokens.size(), static_cast<size_t>(seq) * prompt);
        const workloads::TokenIds text(loaded->eval_tokens.begin() + from,
                                       loaded->eval_tokens.end());
        sim_options.prompts.push_back(
            default_prompt(text, prompt, loaded->weights.config.vocab_size));
      }
    } catch (const UserError& e) {
      out << "numbers of the timed run: none (" << e.what() << ")\n";
    }
  }
  proto::SimReport report = simulate(chip, model, plan, sim_options);
  if (accuracy.rows_size() > 0) *report.mutable_accuracy() = accuracy;
  out << format_summary(report);
  if (report.generation().has_generated_text()) {
    out << "generated text (" << report.generation().backend() << ", chip seed "
        << report.generation().chip_seed() << "): \"" << report.generation().prompt_text()
        << "\" -> \"" << report.generation().generated_text() << "\"\n";
  }

  if (vm.count("out")) {
    const std::filesystem::path dir = vm["out"].as<std::string>();
    proto::write_file_atomic((dir / "config.resolved.pbtxt").string(), proto::to_text(chip));
    mapping::write_plan(plan, (dir / "mapping.pbtxt").string());
    proto::write_file_atomic((dir / "report.json").string(), report_to_json(report));
    proto::write_file_atomic((dir / "report.html").string(), render_report_html(report, plan));
    out << "\nreport written to " << dir.string() << "/ (report.json, report.html, "
        << "config.resolved.pbtxt, mapping.pbtxt)\n";
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "wall time " << std::round(wall * 10) / 10 << " s\n";
  return 0;
}

}  // namespace aimc::sim

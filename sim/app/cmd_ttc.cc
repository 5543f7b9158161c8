// `aimcsim ttc`: test-time compute on an analog chip. Samples K answers per problem on several
// chip instances and reports the exact-match accuracy of the majority vote over the first N
// samples (N = 1, 2, 4, 8, 16) beside the energy per answer from the timed simulation: the
// accuracy-energy curve of test-time scaling (docs/analog-training.md).
//
// Energy per answer (printed in uJ) = P x E_prefill + N x A x E_decode(N), where E_prefill is the
// timed simulation's total (dynamic + leakage) energy per prefill token of one sequence and
// E_decode(N) per decode token of a batch of N sequences decoding together, P the mean prompt
// length and A the mean reference answer length in tokens. The prompt is prefilled once and its KV
// cache shared by the N samples; the N samples then decode A tokens each, together, as hardware
// would run them (the first answer token comes from the prefill's logits, each further token and
// the stop token from one decode step of the previous token).
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "arch/tile_numerics.h"
#include "mapping/mapper.h"
#include "proto/user_error.h"
#include "proto/wire.pb.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/chip/run_numerics.h"
#include "sim/chip/timing_run.h"
#include "sim/common/bundled.h"
#include "sim/common/progress_line.h"
#include "sim/sweep/mpi.h"
#include "sim/sweep/task_farm.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"
#include "workloads/generation.h"
#include "workloads/transformer_weights.h"

namespace aimc::sim {
namespace {

// One chip instance's answers between MPI ranks (all fields, nothing rounded).
std::string pack_answers(const workloads::ChipAnswers& c) {
  proto::ChipAnswers m;
  m.set_chip_seed(c.chip_seed);
  m.set_generated_tokens(c.generated_tokens);
  for (double a : c.accuracy) m.add_accuracy(a);
  for (const std::vector<std::string>& prompt : c.answers) {
    proto::PromptAnswers* p = m.add_answers();
    for (const std::string& a : prompt) p->add_answer(a);
  }
  return m.SerializeAsString();
}

workloads::ChipAnswers unpack_answers(const std::string& bytes) {
  proto::ChipAnswers m;
  if (!m.ParseFromString(bytes))
    throw std::runtime_error("ttc: an answers message that does not parse");
  workloads::ChipAnswers c;
  c.chip_seed = m.chip_seed();
  c.generated_tokens = m.generated_tokens();
  c.accuracy.assign(m.accuracy().begin(), m.accuracy().end());
  for (const proto::PromptAnswers& p : m.answers())
    c.answers.emplace_back(p.answer().begin(), p.answer().end());
  return c;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Generation settings from the flags, checked.
workloads::GenerationOptions generation_options(const po::variables_map& vm,
                                                const proto::ChipConfig& chip) {
  workloads::GenerationOptions gen;
  gen.samples = vm["samples"].as<int>();
  gen.temperature = vm["temperature"].as<double>();
  gen.seeds = vm["seeds"].as<int>();
  gen.base_seed = vm["seed"].as<uint64_t>();
  gen.threads = vm["threads"].as<int>();
  gen.max_new_tokens = vm["max-new-tokens"].as<int>();
  gen.lm_head_on_backend = chip.mapping().lm_head_on_tiles();
  if (gen.samples < 1) throw UserError("--samples must be at least 1");
  if (gen.seeds < 1) throw UserError("--seeds must be at least 1");
  if (vm["max-prompts"].as<int>() < 0) throw UserError("--max-prompts must not be negative");
  if (gen.max_new_tokens < 1) throw UserError("--max-new-tokens must be at least 1");
  if (!(gen.temperature >= 0) || !std::isfinite(gen.temperature)) {
    throw UserError("--temperature must be finite and >= 0");
  }
  gen.votes.clear();
  for (int n = 1; n <= gen.samples; n *= 2) gen.votes.push_back(n);
  return gen;
}

// Energies per token from the timed simulation, the inputs of the energy per answer.
struct TtcEnergy {
  SimOptions sim_options;                     // prompt and decode tokens of the simulated run
  double e_prefill = 0, leak_prefill = 0;     // nJ per prefill token, its leakage share
  std::vector<double> e_decode, leak_decode;  // nJ per decode token at each N of the votes
};

TtcEnergy answer_energy(const proto::ChipConfig& chip, const workloads::ModelConfig& model,
                        double prompt_mean, double answer_mean, const std::vector<int>& votes) {
  // The prompt is prefilled once (one sequence); the N samples then decode together as a batch
  // of N, so the decode energy per token is that of a batched run of N sequences (leakage shared
  // by the N tokens of a step).
  TtcEnergy e;
  SimOptions& sim_options = e.sim_options;
  sim_options.prompt_tokens = std::max(1, static_cast<int>(std::lround(prompt_mean)));
  sim_options.decode_tokens = std::max(1, static_cast<int>(std::lround(answer_mean)));
  const proto::MappingPlan plan = mapping::make_plan(model, chip, "dense");
  auto leakage = [](const proto::PhaseEnergy& phase) {
    double nj = 0;  // leakage share (tiles idle while waiting count)
    for (const proto::EnergyEntry& entry : phase.by_component())
      if (entry.name().find("leakage") != std::string::npos) nj += entry.nj_per_token();
    return nj;
  };
  const proto::SimReport report = simulate(chip, model, plan, sim_options);
  e.e_prefill = report.prefill().total_nj_per_token();
  e.leak_prefill = leakage(report.prefill());
  for (int n : votes) {
    SimOptions batched = sim_options;
    batched.batch = n;
    const proto::SimReport r = n == 1 ? report : simulate(chip, model, plan, batched);
    e.e_decode.push_back(r.decode().total_nj_per_token());
    e.leak_decode.push_back(leakage(r.decode()));
  }
  return e;
}

// Input ranges: learned ones from the checkpoint, or calibrated on the calibration text.
workloads::LayerInputRanges input_ranges(const proto::ChipConfig& chip,
                                         const workloads::TransformerWeights& weights,
                                         const arch::TileNumerics& numerics,
                                         const std::string& calib, bool lm_head_on_backend,
                                         workloads::InputRangeReport* range_report) {
  workloads::CalibrationOptions calibration;
  calibration.window = static_cast<int>(chip.numerics().input_range().calibration_window());
  calibration.batches = static_cast<int>(chip.numerics().input_range().calibration_batches());
  workloads::TokenIds calib_tokens;
  workloads::LayerInputRanges ranges;
  if (tile_backend(chip) != arch::Backend::kFp32) {
    if (std::filesystem::exists(calib)) {
      calib_tokens = workloads::load_tokens(calib, weights.config.vocab_size);
    }
    ranges = workloads::resolve_input_ranges(weights, numerics, calib_tokens, calibration,
                                             lm_head_on_backend, range_report);
  }
  return ranges;
}

// The flags of `aimcsim ttc`.
po::options_description ttc_flags() {
  const std::string root = data_root();
  po::options_description options("ttc flags");
  options.add_options()("chip", po::value<std::string>()->default_value(bundled_chip_path()),
                        "chip config (.pbtxt)")(
      "model",
      po::value<std::string>()->default_value(root + "/workloads/models/addition-bytes-analog"),
      "Hugging Face model folder")(
      "data", po::value<std::string>()->default_value(root + "/workloads/data/addition-eval.txt"),
      "problems, one QUESTION=ANSWER a line; the prompt is '\\n' QUESTION '='")(
      "calib", po::value<std::string>()->default_value(root + "/workloads/data/addition-calib.txt"),
      "calibration text for layers without learned input ranges")(
      "seeds", po::value<int>()->default_value(10), "chip instances (programming-noise seeds)")(
      "seed", po::value<uint64_t>()->default_value(0), "base seed of the chip instances")(
      "samples", po::value<int>()->default_value(16), "answers sampled per prompt (K)")(
      "temperature", po::value<double>()->default_value(1.0), "sampling temperature (0 = greedy)")(
      "max-prompts", po::value<int>()->default_value(0), "problems to use (0 = all)")(
      "max-new-tokens", po::value<int>()->default_value(8), "tokens generated per answer at most")(
      "threads", po::value<int>()->default_value(0), "worker threads (0 = all cores)");
  return options;
}

// The mean prompt and reference answer lengths of the problems (P and A), in tokens; checks
// every prompt's tokens against the model's vocabulary.
struct MeanLengths {
  double prompt = 0, answer = 0;
};

MeanLengths mean_lengths(const std::vector<workloads::Problem>& problems, int vocab_size,
                         const std::string& data) {
  MeanLengths m;
  for (const workloads::Problem& p : problems) {
    workloads::check_token_ids(p.prompt, vocab_size, data);
    m.prompt += static_cast<double>(p.prompt.size());
    m.answer += static_cast<double>(p.answer.size());
  }
  m.prompt /= static_cast<double>(problems.size());
  m.answer /= static_cast<double>(problems.size());
  return m;
}

// Under mpirun/srun the chip instances are spread over the processes: each rank's answers
// travel to every rank as proto::ChipAnswers.
void distribute_over_ranks(const mpi::Comm& comm, workloads::GenerationOptions* gen) {
  const int threads = threads_per_rank(comm, gen->threads);
  const mpi::Comm* c = &comm;
  gen->distribute_runs = [c, threads](int runs,
                                      const std::function<workloads::ChipAnswers(int)>& one) {
    std::vector<workloads::ChipAnswers> chips;
    for (const std::string& bytes :
         gather_runs(*c, threads, runs, [&one](int r) { return pack_answers(one(r)); })) {
      chips.push_back(unpack_answers(bytes));
    }
    return chips;
  };
}

// What `ttc` ran and measured: the FP32 references and the chip instances' answers.
struct TtcResults {
  workloads::GenerationResult fp32_greedy, fp32, chip;
};

// FP32 references, greedy (one answer) and the same sampling (one run: no chip noise), then the
// chip instances on the chip's backend.
TtcResults run_ttc(const workloads::TransformerWeights& weights, const arch::TileNumerics& numerics,
                   arch::Backend backend, const workloads::LayerInputRanges& ranges,
                   const std::vector<workloads::Problem>& problems,
                   const workloads::GenerationOptions& gen) {
  workloads::GenerationOptions greedy = gen;
  greedy.temperature = 0;
  greedy.samples = 1;
  greedy.votes = {1};
  greedy.progress = nullptr;
  TtcResults r;
  r.fp32_greedy =
      workloads::run_generation(weights, numerics, arch::Backend::kFp32, ranges, problems, greedy);
  r.fp32 =
      workloads::run_generation(weights, numerics, arch::Backend::kFp32, ranges, problems, gen);
  r.chip = workloads::run_generation(weights, numerics, backend, ranges, problems, gen);
  return r;
}

// The energy lines above the table: what was simulated and how an answer's energy is formed.
void print_energy_basis(const TtcEnergy& energy, const MeanLengths& len, std::ostream& out) {
  out << "energy (timed simulation, dense plan, " << energy.sim_options.prompt_tokens
      << " prompt + " << energy.sim_options.decode_tokens << " decode tokens): prefill "
      << fixed(energy.e_prefill, 1) << " nJ/token (leakage " << fixed(energy.leak_prefill, 1)
      << "), decode at N = 1 " << fixed(energy.e_decode[0], 1) << " nJ/token (leakage "
      << fixed(energy.leak_decode[0], 1) << ")\n"
      << "energy per answer = P x prefill + N x A x decode(N), P = " << fixed(len.prompt, 3)
      << " prompt tokens, A = " << fixed(len.answer, 3) << " answer tokens (KV of the prompt "
      << "shared by the N samples, which decode together as a batch of N)\n\n";
}

// The accuracy-energy table (one line per vote size N), then each chip instance's accuracies.
void print_ttc_table(const TtcResults& r, const TtcEnergy& energy, const MeanLengths& len,
                     const std::vector<int>& votes, std::ostream& out) {
  const std::string chip_label = r.chip.label + " acc";
  char line[200];
  std::snprintf(line, sizeof line, "%4s  %10s  %8s  %10s  %16s  %12s\n", "N", chip_label.c_str(),
                "+- sd", "FP32 acc", "energy/answer uJ", "dynamic uJ");
  out << line;
  for (size_t k = 0; k < votes.size(); ++k) {
    const int n = votes[k];
    const double energy_uj =
        (len.prompt * energy.e_prefill + n * len.answer * energy.e_decode[k]) * 1e-3;
    const double dynamic_uj = (len.prompt * (energy.e_prefill - energy.leak_prefill) +
                               n * len.answer * (energy.e_decode[k] - energy.leak_decode[k])) *
                              1e-3;
    std::snprintf(line, sizeof line, "%4d  %10.4f  +- %5.4f  %10.4f  %16.4f  %12.4f\n", n,
                  r.chip.accuracy[k].mean, r.chip.accuracy[k].std, r.fp32.accuracy[k].mean,
                  energy_uj, dynamic_uj);
    out << line;
  }
  out << "\nper chip instance (N = 1 .. " << votes.back() << "):\n";
  for (size_t c = 0; c < r.chip.chips.size(); ++c) {
    out << "  seed " << c << ":";
    for (double a : r.chip.chips[c].accuracy) out << " " << fixed(a, 4);
    out << "\n";
  }
}

}  // namespace

int cmd_ttc(const std::vector<std::string>& args, std::ostream& out) {
  const po::options_description options = ttc_flags();
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("ttc",
                   "[--chip C] [--model PATH] [--data FILE] [--seeds N] [--samples K] "
                   "[--temperature T] [--max-prompts M]",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  const proto::ChipConfig chip = chip_from_flags(vm);
  const std::string model = vm["model"].as<std::string>();
  if (!std::filesystem::is_directory(model)) {
    throw UserError("--model " + model + ": not a model folder (ttc needs weights)");
  }
  workloads::GenerationOptions gen = generation_options(vm, chip);

  const workloads::TransformerWeights weights = workloads::load_transformer(model);
  const std::string data = vm["data"].as<std::string>();
  const std::vector<workloads::Problem> problems =
      workloads::read_problems(data, vm["max-prompts"].as<int>());
  const MeanLengths len = mean_lengths(problems, weights.config.vocab_size, data);

  // Energy first: the timed simulations run in forked children, before any worker thread exists.
  const TtcEnergy energy = answer_energy(chip, weights.config, len.prompt, len.answer, gen.votes);

  // After the timed run: its fork must not happen in a process with MPI's threads. Rank 0 prints.
  const mpi::MaybeSession session("ttc");
  const mpi::Comm* comm = mpi::world();
  if (comm != nullptr) distribute_over_ranks(*comm, &gen);

  const arch::TileNumerics numerics = arch::tile_numerics_from_config(chip);
  const arch::Backend backend = tile_backend(chip);
  workloads::InputRangeReport range_report;
  const workloads::LayerInputRanges ranges =
      input_ranges(chip, weights, numerics, vm["calib"].as<std::string>(), gen.lm_head_on_backend,
                   &range_report);

  if (comm == nullptr) gen.progress = tty_progress();
  const TtcResults r = run_ttc(weights, numerics, backend, ranges, problems, gen);
  if (gen.progress) clear_progress_line();
  if (comm != nullptr && !comm->root()) return 0;

  out << "ttc: model " << weights.config.name << " (" << model << ") on chip " << chip.name()
      << " (" << vm["chip"].as<std::string>() << ")\n"
      << problems.size() << " problems (" << data << "), " << gen.samples
      << " samples per prompt at temperature " << gen.temperature << ", " << r.chip.chips.size()
      << " chip instances (base seed " << gen.base_seed << "), lm_head "
      << (gen.lm_head_on_backend ? "on tiles" : "FP32") << "\n";
  if (backend != arch::Backend::kFp32) {
    out << "input ranges: " << range_report.summary(numerics.kappa) << "\n";
  }
  out << "FP32 greedy accuracy: " << fixed(r.fp32_greedy.accuracy[0].mean, 4) << "\n";
  print_energy_basis(energy, len, out);
  print_ttc_table(r, energy, len, gen.votes, out);
  out << "wall: FP32 " << fixed(r.fp32.wall_s + r.fp32_greedy.wall_s, 1) << " s, " << r.chip.label
      << " " << fixed(r.chip.wall_s, 1) << " s\n";
  return 0;
}

}  // namespace aimc::sim

// Test-time compute on a chip: sample several answers per prompt with the KV cache and take the
// majority vote. For each chip instance (one Executor, programmed once), every prompt is
// prefilled once; each of K samples then continues from a copy of the prompt's KV cache, drawing
// tokens from softmax(logits / T) until the stop token or a length limit. Sampling uses one
// seeded stream per (chip seed, prompt index, sample index), so an answer does not depend on how
// many prompts or samples run, and results are bit-identical whatever the thread count (chip
// instances run in parallel; each one's prompts run in order on its own Executor, because analog
// reads draw noise from per-layer streams).
//
// `aimcsim ttc` drives this on the addition task (workloads/data/addition-eval.txt).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "arch/rng.h"
#include "arch/tile_numerics.h"
#include "workloads/evaluation.h"
#include "workloads/executor.h"
#include "workloads/transformer_weights.h"

namespace aimc::workloads {

/// One problem with a checkable answer.
struct Problem {
  std::vector<int32_t> prompt;  ///< token ids fed to the model (prefilled once)
  std::string answer;           ///< expected answer text (the generation up to the stop token)
};

/// Reads problems from a text file, one `QUESTION=ANSWER` a line (e.g. `123+456=579`), split at
/// the last '='. The prompt is '\n' + QUESTION + '=' as bytes: the models are trained on streams
/// of lines, so a problem starts after a newline. Blank lines are skipped; at most `max_problems`
/// are read (0 = all). Throws UserError for an unreadable file, a line without '=', or no
/// problems.
std::vector<Problem> read_problems(const std::string& path, int max_problems = 0);

/// The answers of one chip instance and their vote accuracies.
struct ChipAnswers {
  uint64_t chip_seed = 0;
  std::vector<std::vector<std::string>> answers;  ///< [prompt][sample]
  std::vector<double> accuracy;                   ///< exact match per entry of options.votes
  long long generated_tokens = 0;  ///< tokens sampled over all prompts and samples (stops too)
};

/// How answers are generated and voted on.
struct GenerationOptions {
  int samples = 16;                           ///< K answers sampled per prompt
  std::vector<int> votes = {1, 2, 4, 8, 16};  ///< N: majority over the first N samples, N <= K
  /// Sampling temperature: tokens are drawn from softmax(logits / T). T = 1 samples the model's
  /// own distribution (the default: no tuning knob between FP32 and analog runs); T = 0 is
  /// greedy (argmax, ties to the lowest token id), where all samples agree.
  double temperature = 1.0;
  int max_new_tokens = 8;  ///< generated tokens per answer at most (stop token included)
  int32_t stop_token = '\n';
  int seeds = 10;                   ///< chip instances (for kFp32/kW4A8 one run is made: no noise)
  uint64_t base_seed = 0;           ///< chip instance i has seed arch::derive_seed(base_seed, i)
  int threads = 1;                  ///< worker threads (0 = hardware concurrency)
  bool lm_head_on_backend = false;  ///< lm_head on the backend (the chip's tiles) too
  /// Called after each finished chip instance with one line, never concurrently. May be empty.
  std::function<void(const std::string&)> progress;
  /// Where the chip instances of a multi-instance run go. Empty: this process's thread pool.
  /// Set (`aimcsim ttc` under MPI): called with the number of instances and a thread-safe
  /// function computing instance r; must return every instance's answers in order.
  std::function<std::vector<ChipAnswers>(int runs, const std::function<ChipAnswers(int run)>& one)>
      distribute_runs;
};

/// Every chip instance's answers and the accuracy statistics per N.
struct GenerationResult {
  std::string label;  ///< backend_label() of the backend
  std::vector<int> votes;
  std::vector<ChipAnswers> chips;     ///< in seed order
  std::vector<MetricStats> accuracy;  ///< per entry of votes: mean and sd over chips
  double wall_s = 0;
};

/// Draws one token from softmax(logits / temperature) with `rng` (one uniform draw), computed in
/// double: p_i proportional to exp((l_i - max) / T), the first i whose cumulative sum exceeds
/// u * total. temperature <= 0: argmax, ties to the lowest id (no draw).
int32_t sample_token(const arch::Vector& logits, double temperature, arch::Rng* rng);

/// Majority over answers[0 .. n): the answer given most often; among equally frequent answers,
/// the one that appears first. Throws std::invalid_argument for n < 1 or n > answers.size().
std::string majority_vote(const std::vector<std::string>& answers, int n);

/// Seed of the sampling stream of (chip instance, prompt, sample): derived from the chip seed
/// through a sampling purpose tag, so it never coincides with a layer's programming seed.
uint64_t sampling_seed(uint64_t chip_seed, int prompt, int sample);

/// Generates options.samples answers for every problem on one Executor (in problem order) and
/// scores the votes. Uses executor.options().chip_seed for the sampling streams.
ChipAnswers generate_answers(Executor* executor, const std::vector<Problem>& problems,
                             const GenerationOptions& options);

/// Runs generate_answers on `backend` for options.seeds chip instances (one for kFp32 and kW4A8)
/// on options.threads threads. `ranges` must cover every layer on a non-FP32 backend. Throws
/// UserError for bad options (votes above samples, no problems, prompts longer than the model's
/// positions allow).
GenerationResult run_generation(const TransformerWeights& weights,
                                const arch::TileNumerics& numerics, arch::Backend backend,
                                const LayerInputRanges& ranges,
                                const std::vector<Problem>& problems,
                                const GenerationOptions& options);

}  // namespace aimc::workloads

// Sampling answers with the KV cache and majority votes over them (see generation.h).
#include "workloads/generation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "proto/user_error.h"
#include "workloads/job_pool.h"
#include "workloads/kv_cache.h"

namespace aimc::workloads {
namespace {

// Purpose tag of the sampling streams ("sample" in ASCII): keeps them apart from the layers'
// programming seeds derive_seed(chip_seed, ordinal, 0).
constexpr uint64_t kSamplingPurpose = 0x73616d706c65ULL;

MetricStats stats_of(const std::vector<double>& values) {
  MetricStats s;
  const size_t n = values.size();
  if (n == 0) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(n);
  if (n > 1) {
    double sq = 0;
    for (double v : values) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / static_cast<double>(n - 1));
  }
  return s;
}

void check_options(const GenerationOptions& options) {
  if (options.samples < 1) throw UserError("samples must be at least 1");
  if (options.max_new_tokens < 1) throw UserError("max new tokens must be at least 1");
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature)) {
    throw UserError("temperature must be finite and >= 0");
  }
  if (options.votes.empty()) throw UserError("no vote sizes given");
  for (int n : options.votes) {
    if (n < 1 || n > options.samples) {
      throw UserError("vote size " + std::to_string(n) + " must be in 1.." +
                      std::to_string(options.samples) + " (the samples per prompt)");
    }
  }
}

}  // namespace

std::vector<Problem> read_problems(const std::string& path, int max_problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open problem file");
  std::vector<Problem> problems;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t eq = line.rfind('=');
    if (eq == std::string::npos) {
      throw UserError(path + ":" + std::to_string(line_no) + ": expected QUESTION=ANSWER, got '" +
                      line + "'");
    }
    Problem p;
    p.prompt.push_back('\n');
    for (size_t i = 0; i <= eq; ++i) p.prompt.push_back(static_cast<unsigned char>(line[i]));
    p.answer = line.substr(eq + 1);
    problems.push_back(std::move(p));
    if (max_problems > 0 && static_cast<int>(problems.size()) >= max_problems) break;
  }
  if (problems.empty()) throw UserError(path + ": no problems");
  return problems;
}

int32_t sample_token(const arch::Vector& logits, double temperature, arch::Rng* rng) {
  const int v = static_cast<int>(logits.size());
  if (v == 0) throw std::invalid_argument("sample_token: empty logits");
  int best = 0;
  for (int i = 1; i < v; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  if (temperature <= 0) return best;
  const double max = logits[best];
  std::vector<double> p(v);
  double total = 0;
  for (int i = 0; i < v; ++i) {
    p[i] = std::exp((static_cast<double>(logits[i]) - max) / temperature);
    total += p[i];
  }
  const double u = rng->uniform() * total;
  double cumulative = 0;
  for (int i = 0; i < v; ++i) {
    cumulative += p[i];
    if (u < cumulative) return i;
  }
  // u * total rounds to at most total; only rounding in the running sum lands here. Return the
  // last token with non-zero probability.
  for (int i = v - 1; i >= 0; --i) {
    if (p[i] > 0) return i;
  }
  return best;
}

std::string majority_vote(const std::vector<std::string>& answers, int n) {
  if (n < 1 || n > static_cast<int>(answers.size())) {
    throw std::invalid_argument("majority_vote: n out of range");
  }
  std::unordered_map<std::string, int> counts;
  int best_count = 0;
  for (int i = 0; i < n; ++i) best_count = std::max(best_count, ++counts[answers[i]]);
  // Ties go to the answer whose first occurrence is earliest.
  for (int i = 0; i < n; ++i) {
    if (counts[answers[i]] == best_count) return answers[i];
  }
  return answers[0];  // not reached
}

uint64_t sampling_seed(uint64_t chip_seed, int prompt, int sample) {
  return arch::derive_seed(arch::derive_seed(chip_seed, kSamplingPurpose),
                           static_cast<uint64_t>(prompt), static_cast<uint64_t>(sample));
}

ChipAnswers generate_answers(Executor* executor, const std::vector<Problem>& problems,
                             const GenerationOptions& options) {
  check_options(options);
  ChipAnswers out;
  out.chip_seed = executor->options().chip_seed;
  out.answers.resize(problems.size());
  std::vector<int> correct(options.votes.size(), 0);
  for (size_t p = 0; p < problems.size(); ++p) {
    const Problem& problem = problems[p];
    if (problem.prompt.empty()) throw UserError("problem " + std::to_string(p) + ": empty prompt");
    const int prompt_len = static_cast<int>(problem.prompt.size());
    // Prefill once; every sample continues from a copy of this cache.
    KvCache prompt_cache = executor->make_cache(prompt_len + options.max_new_tokens);
    const arch::Matrix prefill =
        executor->forward(problem.prompt.data(), prompt_len, &prompt_cache);
    const arch::Vector first_logits = prefill.row(prompt_len - 1).transpose();
    std::vector<std::string>& answers = out.answers[p];
    answers.reserve(options.samples);
    for (int s = 0; s < options.samples; ++s) {
      arch::Rng rng(sampling_seed(out.chip_seed, static_cast<int>(p), s));
      KvCache cache = prompt_cache;
      arch::Vector logits = first_logits;
      std::string answer;
      for (int t = 0; t < options.max_new_tokens; ++t) {
        const int32_t token = sample_token(logits, options.temperature, &rng);
        ++out.generated_tokens;
        if (token == options.stop_token) break;
        answer.push_back(static_cast<char>(token));
        if (t + 1 < options.max_new_tokens) logits = executor->decode(token, &cache);
      }
      answers.push_back(std::move(answer));
    }
    for (size_t k = 0; k < options.votes.size(); ++k) {
      if (majority_vote(answers, options.votes[k]) == problem.answer) ++correct[k];
    }
  }
  for (int c : correct) {
    out.accuracy.push_back(static_cast<double>(c) / static_cast<double>(problems.size()));
  }
  return out;
}

GenerationResult run_generation(const TransformerWeights& weights,
                                const arch::TileNumerics& numerics, arch::Backend backend,
                                const LayerInputRanges& ranges,
                                const std::vector<Problem>& problems,
                                const GenerationOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  check_options(options);
  if (problems.empty()) throw UserError("no problems to generate answers for");
  const int max_positions = weights.config.max_positions;
  for (size_t p = 0; p < problems.size(); ++p) {
    const long long need =
        static_cast<long long>(problems[p].prompt.size()) + options.max_new_tokens;
    if (max_positions > 0 && need > max_positions) {
      throw UserError("problem " + std::to_string(p) + ": prompt of " +
                      std::to_string(problems[p].prompt.size()) + " tokens + " +
                      std::to_string(options.max_new_tokens) + " new tokens exceeds the model's " +
                      std::to_string(max_positions) + " positions");
    }
  }
  if (options.seeds < 1) throw UserError("seeds must be at least 1");
  const int runs = backend == arch::Backend::kAnalog ? options.seeds : 1;

  GenerationResult result;
  result.label = backend_label(backend);
  result.votes = options.votes;
  result.chips.resize(runs);
  std::mutex progress_mutex;
  int done = 0;
  auto one = [&](int r) {
    ExecutorOptions eo;
    eo.backend = backend;
    eo.lm_head_on_backend = options.lm_head_on_backend;
    eo.chip_seed = arch::derive_seed(options.base_seed, static_cast<uint64_t>(r));
    Executor executor(weights, numerics, ranges, eo);
    return generate_answers(&executor, problems, options);
  };
  if (runs > 1 && options.distribute_runs) {
    result.chips = options.distribute_runs(runs, one);
    if (static_cast<int>(result.chips.size()) != runs) {
      throw std::logic_error("run_generation: distribute_runs returned the wrong number of runs");
    }
  } else {
    run_jobs(runs, resolve_threads(options.threads), [&](int r) {
      result.chips[r] = one(r);
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        char line[160];
        std::snprintf(line, sizeof line, "%s seed %d (%d/%d done): N=1 accuracy %.4f",
                      result.label.c_str(), r, ++done, runs, result.chips[r].accuracy[0]);
        options.progress(line);
      }
    });
  }
  for (size_t k = 0; k < options.votes.size(); ++k) {
    std::vector<double> values;
    for (const ChipAnswers& c : result.chips) values.push_back(c.accuracy[k]);
    result.accuracy.push_back(stats_of(values));
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace aimc::workloads

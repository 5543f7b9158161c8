// Metrics from logits, in double precision so that the per-token sums of long evaluations do
// not lose digits and perplexities compare exactly between runs with equal logits.
#include "workloads/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aimc::workloads {

void log_softmax(const float* logits, int vocab, std::vector<double>* out) {
  out->resize(vocab);
  double max = -std::numeric_limits<double>::infinity();
  for (int v = 0; v < vocab; ++v) max = std::max(max, static_cast<double>(logits[v]));
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  const double log_z = max + std::log(sum);
  for (int v = 0; v < vocab; ++v) (*out)[v] = static_cast<double>(logits[v]) - log_z;
}

double token_nll(const float* logits, int vocab, int target) {
  double max = -std::numeric_limits<double>::infinity();
  for (int v = 0; v < vocab; ++v) max = std::max(max, static_cast<double>(logits[v]));
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  return max + std::log(sum) - static_cast<double>(logits[target]);
}

int argmax_lowest(const float* logits, int vocab) {
  int best = 0;
  for (int v = 1; v < vocab; ++v) {
    // Strictly greater keeps the lowest index on ties; a NaN compares false and never wins
    // (unless it sits at index 0 and everything else is NaN too).
    if (logits[v] > logits[best] || std::isnan(logits[best])) best = v;
  }
  return best;
}

double kl_divergence(const float* reference_logits, const float* logits, int vocab) {
  std::vector<double> ref, other;
  log_softmax(reference_logits, vocab, &ref);
  log_softmax(logits, vocab, &other);
  double kl = 0;
  for (int v = 0; v < vocab; ++v) {
    const double p = std::exp(ref[v]);
    // p == 0 contributes 0 (the limit of p log p), also when the other side is -inf.
    if (p > 0) kl += p * (ref[v] - other[v]);
  }
  return kl;
}

void MetricSums::add(const MetricSums& other) {
  nll += other.nll;
  kl += other.kl;
  correct += other.correct;
  tokens += other.tokens;
  nan_tokens += other.nan_tokens;
}

void accumulate_window(const arch::Matrix& logits, const int32_t* targets,
                       const arch::Matrix* reference, MetricSums* sums, int first) {
  const int tokens = static_cast<int>(logits.rows());
  const int vocab = static_cast<int>(logits.cols());
  // The matrices are column-major (token x vocab); one contiguous row per token is copied out.
  std::vector<float> row(vocab), ref_row(reference ? vocab : 0);
  for (int t = std::max(first, 0); t < tokens; ++t) {
    bool nan = false;
    for (int v = 0; v < vocab; ++v) {
      row[v] = logits(t, v);
      nan = nan || std::isnan(row[v]);
    }
    sums->nll += token_nll(row.data(), vocab, targets[t]);
    if (argmax_lowest(row.data(), vocab) == targets[t]) ++sums->correct;
    if (reference) {
      for (int v = 0; v < vocab; ++v) {
        ref_row[v] = (*reference)(t, v);
        nan = nan || std::isnan(ref_row[v]);
      }
      sums->kl += kl_divergence(ref_row.data(), row.data(), vocab);
    }
    ++sums->tokens;
    if (nan) ++sums->nan_tokens;
  }
}

Metrics finalize_metrics(const MetricSums& sums, int vocab_size) {
  Metrics m;
  m.tokens = sums.tokens;
  // Logits with a NaN have no meaningful argmax or divergence: every metric is NaN, never a
  // number that looks valid.
  if (sums.tokens == 0 || sums.nan_tokens > 0) {
    m.mean_nll = m.perplexity = m.bits_per_byte = m.top1 = m.kl =
        std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  const double n = static_cast<double>(sums.tokens);
  m.mean_nll = sums.nll / n;
  m.perplexity = std::exp(m.mean_nll);
  m.bits_per_byte =
      vocab_size == 256 ? m.mean_nll / std::log(2.0) : std::numeric_limits<double>::quiet_NaN();
  m.top1 = static_cast<double>(sums.correct) / n;
  m.kl = sums.kl / n;
  return m;
}

}  // namespace aimc::workloads

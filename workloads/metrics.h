// Language-model metrics computed from logits: per-token negative log-likelihood, perplexity,
// bits per byte, next-token top-1 accuracy, and the KL divergence from a reference (FP32)
// distribution. All log-softmax arithmetic is in double precision.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/linear_layer.h"

namespace aimc::workloads {

/// log softmax of `vocab` logits, in double: out[v] = l[v] - max - log(sum exp(l - max)).
void log_softmax(const float* logits, int vocab, std::vector<double>* out);

/// Negative log-likelihood of `target` under softmax(logits), in nats.
double token_nll(const float* logits, int vocab, int target);

/// Index of the largest logit; ties go to the lowest index (NaNs never win).
int argmax_lowest(const float* logits, int vocab);

/// KL(reference || other) = sum_v p_ref(v) (log p_ref(v) - log p_other(v)), in nats, both
/// distributions being the softmax of their logits. Exactly 0 when the logits are equal.
double kl_divergence(const float* reference_logits, const float* logits, int vocab);

/// Token-level sums of one run (a backend and a chip instance) over some windows. Sums are
/// merged in a fixed order (window order) so results do not depend on scheduling.
struct MetricSums {
  double nll = 0;            ///< sum of per-token NLL, nats
  double kl = 0;             ///< sum of per-token KL(reference || run), nats
  long long correct = 0;     ///< tokens whose argmax equals the target
  long long tokens = 0;      ///< predicted tokens
  long long nan_tokens = 0;  ///< tokens whose logits (or reference logits) hold a NaN
  void add(const MetricSums& other);
};

/// Adds positions first..T-1 of one window. `logits` is (T x V), row t predicting
/// `targets[t]`; `reference` (same shape) is the FP32 model's logits for the KL term, or null
/// (KL += 0).
void accumulate_window(const arch::Matrix& logits, const int32_t* targets,
                       const arch::Matrix* reference, MetricSums* sums, int first = 0);

/// The metrics of one run.
struct Metrics {
  double mean_nll = 0;       ///< nats per token
  double perplexity = 0;     ///< exp(mean_nll)
  double bits_per_byte = 0;  ///< mean_nll / ln 2 for byte-level models (vocab 256), else NaN
  double top1 = 0;           ///< fraction of tokens predicted exactly (argmax, lowest index)
  double kl = 0;             ///< mean KL(reference || run) per token, nats
  long long tokens = 0;      ///< predicted tokens the means are over
};

/// Means from sums; `vocab_size` decides whether bits per byte is defined (== 256).
Metrics finalize_metrics(const MetricSums& sums, int vocab_size);

}  // namespace aimc::workloads

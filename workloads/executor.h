// The transformer executor: runs a TransformerWeights model with the linear layers of the
// decoder blocks (and optionally lm_head) on one arch::Backend and everything else in FP32.
//
// The forward pass is exposed as separate steps (embed, attention, mlp, final_logits) that a
// caller can drive one by one, so a timing model (the SystemC controller in sim/) can run the
// same numerics layer by layer and observe every linear layer's input through a hook. Two
// drivers are provided: batched prefill of a whole window and incremental decode with a KV
// cache; both run the same steps and agree to float rounding.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "arch/linear_layer.h"
#include "arch/tile_numerics.h"
#include "workloads/kv_cache.h"
#include "workloads/transformer_weights.h"

namespace aimc::workloads {

/// Static input ranges (one float per input tile of `numerics.rows` inputs, balanced split) of
/// every linear layer, indexed like the weights: blocks[b][i] belongs to
/// TransformerWeights::blocks[b].linears[i]. Empty vectors are allowed for layers that run on
/// kFp32 (which ignores ranges).
struct LayerInputRanges {
  std::vector<std::vector<std::vector<float>>> blocks;
  std::vector<float> lm_head;
};

/// Identifies one linear layer of the model.
struct LinearSite {
  int block = -1;   ///< decoder block, -1 for lm_head
  int index = 0;    ///< index in BlockWeights::linears (0 for lm_head)
  int ordinal = 0;  ///< position in linear_layers() order (lm_head last); seeds derive from it
  const LinearWeights* weights = nullptr;  ///< the layer's weights and shape
};

/// Called with each linear layer's input (tokens x in_features) just before the layer runs.
using LinearInputHook = std::function<void(const LinearSite& site, const arch::Matrix& input)>;

/// Layers that several Executors of one job may use together, also from several threads: the
/// digital ones (FP32 and W4A8, whose forward() changes no state, LinearLayer::shareable()),
/// built by the first Executor that needs them. Analog layers are never shared: each chip
/// instance has its own programming noise and output-noise streams. All Executors using one
/// SharedLayers must have the same weights, tile numerics and input ranges (e.g. the runs of
/// one evaluation row); then the shared layers compute what each would have built itself.
class SharedLayers {
 public:
  /// The layer of `backend` with ordinal `ordinal`, built by `build` the first time.
  std::shared_ptr<arch::LinearLayer> get(
      arch::Backend backend, int ordinal,
      const std::function<std::unique_ptr<arch::LinearLayer>()>& build);

 private:
  std::mutex mutex_;
  std::map<std::pair<int, int>, std::shared_ptr<arch::LinearLayer>> layers_;
};

/// How an Executor computes.
struct ExecutorOptions {
  arch::Backend backend = arch::Backend::kFp32;  ///< backend of the decoder blocks' layers
  bool lm_head_on_backend = false;               ///< lm_head on `backend` too (else always FP32)
  /// Chip instance: the layer with ordinal k is built with seed arch::derive_seed(chip_seed, k, 0),
  /// so its programming noise does not depend on which other layers exist or run.
  uint64_t chip_seed = 0;
  /// When set, the digital layers (those of an FP32 or W4A8 backend, and an FP32 lm_head) come
  /// from here instead of being built for this Executor alone (less memory for many Executors).
  std::shared_ptr<SharedLayers> shared_layers;
};

/// Runs one model on one backend and chip instance. Builds (programs) every linear layer at
/// construction. Not thread-safe (analog reads draw noise from each layer's own stream): use one
/// Executor per thread. `weights` must outlive the Executor.
class Executor {
 public:
  /// Throws UserError when a W4A8/analog layer lacks input ranges of the right tile count, or a
  /// block lacks a linear layer its config requires.
  Executor(const TransformerWeights& weights, const arch::TileNumerics& numerics,
           const LayerInputRanges& ranges, const ExecutorOptions& options);
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const ModelConfig& config() const { return weights_->config; }
  const TransformerWeights& weights() const { return *weights_; }
  const ExecutorOptions& options() const { return options_; }

  // ---- Drivers ------------------------------------------------------------------------------

  /// Batched prefill: all `count` tokens at positions 0..count-1 at once (one GEMM per linear
  /// layer over a (count x features) activation). Returns (count x vocab) logits; row t
  /// predicts token t+1. Keeps no cache.
  arch::Matrix prefill(const int32_t* tokens, int count);
  arch::Matrix prefill(const std::vector<int32_t>& tokens) {
    return prefill(tokens.data(), static_cast<int>(tokens.size()));
  }

  /// Processes `count` new tokens at positions cache->length() .. + count - 1, attending to the
  /// cached positions and to each other causally; appends their keys/values to the cache.
  /// Returns (count x vocab) logits.
  arch::Matrix forward(const int32_t* tokens, int count, KvCache* cache);

  /// Incremental decode of one token (forward with count = 1): the next-token logits (vocab).
  arch::Vector decode(int32_t token, KvCache* cache);

  /// An empty cache shaped for this model with room for `capacity` tokens (grows on demand).
  KvCache make_cache(int capacity) const;

  // ---- Steps (what a driver or a timing model calls, in this order) --------------------------

  /// Hidden states (count x hidden) of tokens at positions start .. start + count - 1: token
  /// embedding, plus the learned position embedding for GPT-2. Throws UserError for an id
  /// outside the vocabulary or a position beyond max_positions (learned positions).
  arch::Matrix embed(const int32_t* tokens, int count, int start) const;

  /// Attention sub-block of `block` on `hidden` (count x hidden, positions cache->length() ..),
  /// in place: hidden += o_proj(attention(norm(hidden))). Writes the new keys/values into rows
  /// cache->length() .. of the block's cache (not committed).
  void attention(int block, arch::Matrix* hidden, KvCache* cache);

  /// MLP sub-block of `block`, in place: hidden += down(act(gate(n)) * up(n)) (gated) or
  /// hidden += down(act(up(n))), n = norm(hidden).
  void mlp(int block, arch::Matrix* hidden);

  /// Final norm and lm_head: (count x vocab) logits.
  arch::Matrix final_logits(const arch::Matrix& hidden);

  /// Runs one linear layer (calls the hook first). `block` -1 is lm_head.
  void run_linear(int block, int index, const arch::Matrix& x, arch::Matrix* y);

  /// Installs (or, with an empty function, removes) the observer of linear-layer inputs.
  void set_linear_input_hook(LinearInputHook hook) { hook_ = std::move(hook); }

  /// The layer object of a linear layer (block -1: lm_head).
  arch::LinearLayer& linear(int block, int index);

 private:
  struct BlockPlan;  // which linear index plays which role in a block
  const TransformerWeights* weights_;
  ExecutorOptions options_;
  std::vector<std::vector<std::shared_ptr<arch::LinearLayer>>> layers_;
  std::vector<std::vector<LinearSite>> sites_;
  std::shared_ptr<arch::LinearLayer> lm_head_;
  LinearSite lm_head_site_;
  std::vector<BlockPlan> plans_;
  std::vector<float> inv_freq_;  ///< rotary inverse frequencies (head_dim / 2), float32 as HF
  LinearInputHook hook_;
};

// ---- Digital kernels (FP32), shared by the executor and tests ---------------------------------

/// Row-wise RMSNorm: y = x / sqrt(mean(x^2) + eps) * w (mean accumulated in double).
arch::Matrix rms_norm(const arch::Matrix& x, const arch::Vector& weight, double eps);

/// Row-wise LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b, population variance.
arch::Matrix layer_norm(const arch::Matrix& x, const arch::Vector& weight, const arch::Vector& bias,
                        double eps);

/// Rotary inverse frequencies theta^(-2i/d), i = 0 .. d/2 - 1, computed in float32 as Hugging
/// Face does (1 / theta^(float(2i)/d)).
std::vector<float> rotary_inv_freq(int head_dim, double theta);

/// Applies a checkpoint's rope_scaling to rotary inverse frequencies in place (no-op for none).
void scale_rotary_inv_freq(std::vector<float>* inv_freq, const RopeScaling& scaling);

/// Applies rotary embeddings in place to `x` (tokens x heads*head_dim) for positions
/// start .. start + tokens - 1, rotate_half convention: element i pairs with i + d/2.
void apply_rotary(arch::Matrix* x, int heads, int head_dim, const std::vector<float>& inv_freq,
                  int start);

/// Elementwise activation in place.
void activate(arch::Matrix* x, Activation activation);

/// Causal grouped-query attention of `q` (T x heads*d, positions start .. start+T-1) over
/// `keys` / `values` (rows 0 .. start+T-1 valid, kv_heads*d columns); kv head of query head h
/// is h / (heads / kv_heads); scores scaled by 1/sqrt(d). Returns (T x heads*d).
arch::Matrix causal_attention(const arch::Matrix& q, const arch::Matrix& keys,
                              const arch::Matrix& values, int heads, int kv_heads, int head_dim,
                              int start);

}  // namespace aimc::workloads

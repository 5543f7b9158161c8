// The weights of a decoder-only transformer in float32, laid out for execution, whatever the
// checkpoint's dtype, sharding or tensor naming (GPT-2 Conv1D weights are transposed on load).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "workloads/model_config.h"

namespace aimc::workloads {

/// One linear layer: W (out x in), optional bias, optional learned per-input-tile ranges.
struct LinearWeights {
  LinearShape shape;
  arch::Matrix weight;             ///< (out x in)
  arch::Vector bias;               ///< size out, or empty
  std::vector<float> input_range;  ///< `<layer>.input_range` from the checkpoint, or empty
};

/// One decoder block. norm*_bias are empty for RMSNorm.
struct BlockWeights {
  arch::Vector attn_norm_weight, attn_norm_bias;
  arch::Vector mlp_norm_weight, mlp_norm_bias;
  /// The block's linear layers, in the order linear_layers() lists them for this block.
  std::vector<LinearWeights> linears;
};

struct TransformerWeights {
  ModelConfig config;
  /// (vocab x hidden); empty when the lm_head is tied (config.tie_word_embeddings): the one copy
  /// is then lm_head.weight. Read the embedding with embedding().
  arch::Matrix token_embedding;
  arch::Matrix position_embedding;  ///< (max_positions x hidden) for learned positions, else empty
  std::vector<BlockWeights> blocks;
  arch::Vector final_norm_weight, final_norm_bias;
  LinearWeights lm_head;  ///< when tied, its weight is the token embedding (the only copy)

  /// The token embedding (vocab x hidden): lm_head.weight when tied, else token_embedding.
  const arch::Matrix& embedding() const {
    return config.tie_word_embeddings ? lm_head.weight : token_embedding;
  }
};

/// Loads a Hugging Face model folder (config.json + model.safetensors, or shards listed in
/// model.safetensors.index.json). Throws UserError naming the file and tensor on bad input.
TransformerWeights load_transformer(const std::string& folder);

/// Seeded synthetic weights of the right shapes for any config (e.g. a shape card), so that the
/// speed and memory of the numerics at full scale can be measured without a download: linear
/// weights N(0, 1 / in), embeddings N(0, 1 / hidden), learned positions and biases N(0, 0.02^2),
/// norm weights 1 and LayerNorm biases 0; a tied lm_head is the embedding. Tensor k
/// (in a fixed order) draws from arch::derive_seed(seed, k): the same seed gives the same bits.
/// Their accuracy means nothing: the tokens such a model predicts are noise.
TransformerWeights synthetic_transformer(const ModelConfig& config, uint64_t seed);

}  // namespace aimc::workloads

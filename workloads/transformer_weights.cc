// load_transformer: config.json + checkpoint -> TransformerWeights. Knows each family's tensor
// names; checks every tensor against the shape config.json implies before reading it.
#include "workloads/transformer_weights.h"

#include <cmath>

#include "arch/rng.h"
#include "proto/user_error.h"
#include "workloads/checkpoint.h"
#include "workloads/hf_config.h"

namespace aimc::workloads {
namespace {

constexpr const char* kImplied = "config.json implies";

/// Reads one model folder's tensors under its family's naming.
class Loader {
 public:
  Loader(const std::string& folder, const ModelConfig& config)
      : folder_(folder), config_(config), ckpt_(folder) {
    // GPT2LMHeadModel saves its body under "transformer."; GPT2Model (and the published
    // openai-community/gpt2 file) without it.
    if (config.family == Family::kGpt2 && ckpt_.has("transformer.wte.weight")) {
      prefix_ = "transformer.";
    }
  }

  const std::string& prefix() const { return prefix_; }

  void require(const std::string& name) const {
    if (!ckpt_.has(name)) {
      throw UserError(folder_ + ": tensor " + name + " is missing from the checkpoint");
    }
  }

  arch::Matrix matrix(const std::string& name, int64_t rows, int64_t cols) const {
    require(name);
    return ckpt_.to_matrix(name, {rows, cols}, kImplied);
  }

  arch::Vector vector(const std::string& name, int64_t size) const {
    require(name);
    return ckpt_.to_vector(name, size, kImplied);
  }

  /// One linear layer: weight, bias and optional input ranges, under `prefix_ + shape.name`.
  LinearWeights linear(const LinearShape& shape) const {
    LinearWeights w;
    w.shape = shape;
    const std::string base = (shape.role == LinearRole::kLmHead ? "" : prefix_) + shape.name;
    if (config_.family == Family::kGpt2 && shape.role != LinearRole::kLmHead) {
      // GPT-2's Conv1D stores W as (in x out); the executor wants (out x in).
      w.weight = matrix(base + ".weight", shape.in, shape.out).transpose();
    } else {
      w.weight = matrix(base + ".weight", shape.out, shape.in);
    }
    if (shape.bias) w.bias = vector(base + ".bias", shape.out);
    w.input_range = input_range(base + ".input_range");
    return w;
  }

  /// `<layer>.input_range` when present: 1-D, one finite positive entry per input tile. Its
  /// length depends on the chip's tile size, so only the executor can check it.
  std::vector<float> input_range(const std::string& name) const {
    if (!ckpt_.has(name)) return {};
    const std::vector<int64_t>& shape = ckpt_.shape(name);
    if (shape.size() != 1 || shape[0] == 0) {
      throw UserError(ckpt_.file_of(name) + ": tensor " + name + " has shape " +
                      shape_to_string(shape) +
                      ", but input ranges are 1-D with one entry per "
                      "input tile");
    }
    std::vector<float> range = ckpt_.read(name);
    for (size_t i = 0; i < range.size(); ++i) {
      if (!std::isfinite(range[i]) || range[i] <= 0) {
        throw UserError(ckpt_.file_of(name) + ": tensor " + name + " entry " + std::to_string(i) +
                        " is " + std::to_string(range[i]) +
                        "; input ranges must be finite and positive");
      }
    }
    return range;
  }

  /// Shape check only, for a tensor that is present but not used (lm_head.weight when tied).
  void check_if_present(const std::string& name, int64_t rows, int64_t cols) const {
    if (ckpt_.has(name)) ckpt_.check_shape(name, {rows, cols}, kImplied);
  }

 private:
  std::string folder_;
  const ModelConfig& config_;
  Checkpoint ckpt_;
  std::string prefix_;
};

std::string join(const std::string& folder, const std::string& file) {
  return !folder.empty() && folder.back() == '/' ? folder + file : folder + "/" + file;
}

}  // namespace

TransformerWeights load_transformer(const std::string& folder) {
  TransformerWeights w;
  w.config = read_hf_config(join(folder, "config.json"));
  w.config.name = folder;
  const ModelConfig& c = w.config;
  Loader load(folder, c);
  const bool gpt2 = c.family == Family::kGpt2;
  const std::string& p = load.prefix();

  w.token_embedding = load.matrix(gpt2 ? p + "wte.weight" : "model.embed_tokens.weight",
                                  c.vocab_size, c.hidden_size);
  if (c.positions == PositionKind::kLearned) {
    w.position_embedding = load.matrix(p + "wpe.weight", c.max_positions, c.hidden_size);
  }

  // Norm weights (and LayerNorm biases) under the family's names.
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  auto norm = [&](const std::string& stem, arch::Vector* weight, arch::Vector* bias) {
    *weight = load.vector(stem + ".weight", c.hidden_size);
    if (layer_norm) *bias = load.vector(stem + ".bias", c.hidden_size);
  };

  const std::vector<LinearShape> layers = linear_layers(c);
  w.blocks.resize(c.num_layers);
  for (int b = 0; b < c.num_layers; ++b) {
    BlockWeights& block = w.blocks[b];
    const std::string i = std::to_string(b);
    if (gpt2) {
      norm(p + "h." + i + ".ln_1", &block.attn_norm_weight, &block.attn_norm_bias);
      norm(p + "h." + i + ".ln_2", &block.mlp_norm_weight, &block.mlp_norm_bias);
    } else {
      norm("model.layers." + i + ".input_layernorm", &block.attn_norm_weight,
           &block.attn_norm_bias);
      norm("model.layers." + i + ".post_attention_layernorm", &block.mlp_norm_weight,
           &block.mlp_norm_bias);
    }
  }
  for (const LinearShape& shape : layers) {
    if (shape.role == LinearRole::kLmHead) continue;
    w.blocks[shape.block].linears.push_back(load.linear(shape));
  }
  norm(gpt2 ? p + "ln_f" : "model.norm", &w.final_norm_weight, &w.final_norm_bias);

  const LinearShape& head = layers.back();
  if (c.tie_word_embeddings) {
    // Tied: the head is the embedding, whatever a stored lm_head.weight says (as in HF).
    load.check_if_present("lm_head.weight", c.vocab_size, c.hidden_size);
    // One matrix for both (1 GB at the vocabulary and width of 1 B-class models): the
    // embedding moves into the head and is read through embedding().
    w.lm_head.shape = head;
    w.lm_head.weight.swap(w.token_embedding);
    w.lm_head.input_range = load.input_range("lm_head.input_range");
  } else {
    w.lm_head = load.linear(head);
  }
  return w;
}

namespace {

/// Fills m with N(0, std^2) draws from its own stream.
void fill_normal(arch::Matrix* m, uint64_t seed, uint64_t tensor, double std_dev) {
  arch::Rng rng(arch::derive_seed(seed, tensor));
  rng.fill_normal(m->data(), static_cast<size_t>(m->size()));
  *m *= static_cast<float>(std_dev);
}

}  // namespace

TransformerWeights synthetic_transformer(const ModelConfig& config, uint64_t seed) {
  TransformerWeights w;
  w.config = config;
  const ModelConfig& c = w.config;
  uint64_t tensor = 0;
  const double hidden_std = 1.0 / std::sqrt(static_cast<double>(c.hidden_size));
  w.token_embedding.resize(c.vocab_size, c.hidden_size);
  fill_normal(&w.token_embedding, seed, tensor++, hidden_std);
  if (c.positions == PositionKind::kLearned) {
    w.position_embedding.resize(c.max_positions, c.hidden_size);
    fill_normal(&w.position_embedding, seed, tensor++, 0.02);
  }
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  auto norm = [&](arch::Vector* weight, arch::Vector* bias) {
    *weight = arch::Vector::Ones(c.hidden_size);
    if (layer_norm) *bias = arch::Vector::Zero(c.hidden_size);
  };
  w.blocks.resize(c.num_layers);
  for (BlockWeights& block : w.blocks) {
    norm(&block.attn_norm_weight, &block.attn_norm_bias);
    norm(&block.mlp_norm_weight, &block.mlp_norm_bias);
  }
  norm(&w.final_norm_weight, &w.final_norm_bias);
  auto linear = [&](const LinearShape& shape) {
    LinearWeights l;
    l.shape = shape;
    l.weight.resize(shape.out, shape.in);
    fill_normal(&l.weight, seed, tensor++, 1.0 / std::sqrt(static_cast<double>(shape.in)));
    if (shape.bias) {
      arch::Matrix b(shape.out, 1);
      fill_normal(&b, seed, tensor++, 0.02);
      l.bias = b.col(0);
    }
    return l;
  };
  const std::vector<LinearShape> layers = linear_layers(c);
  for (const LinearShape& shape : layers) {
    if (shape.role == LinearRole::kLmHead) continue;
    w.blocks[shape.block].linears.push_back(linear(shape));
  }
  const LinearShape& head = layers.back();
  if (c.tie_word_embeddings) {
    w.lm_head.shape = head;
    w.lm_head.weight.swap(w.token_embedding);  // one matrix for both, as load_transformer
  } else {
    w.lm_head = linear(head);
  }
  return w;
}

}  // namespace aimc::workloads

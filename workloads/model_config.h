// One description of a decoder-only transformer, covering the Llama family (Llama 2/3,
// TinyLlama, Mistral), Qwen2, Phi-3 and GPT-2: read from a checkpoint's config.json or taken
// from a built-in shape card.
#pragma once

#include <string>
#include <vector>

namespace aimc::workloads {

enum class Family { kLlama, kQwen2, kPhi3, kGpt2 };
enum class NormKind { kRmsNorm, kLayerNorm };
/// kSilu: x*sigmoid(x); kGeluTanh: GPT-2's "gelu_new" (tanh approximation); kGelu: exact erf.
enum class Activation { kSilu, kGeluTanh, kGelu };
enum class PositionKind { kRotary, kLearned };

/// Rotary frequency scaling of long-context checkpoints (config.json `rope_scaling`).
/// kLlama3: Llama 3.1/3.2's rule: wavelengths longer than original_max_positions /
/// low_freq_factor are slowed by `factor`, shorter than original_max_positions /
/// high_freq_factor are kept, and the band between is interpolated smoothly.
struct RopeScaling {
  enum class Kind { kNone, kLlama3 } kind = Kind::kNone;
  double factor = 1;
  double low_freq_factor = 1;
  double high_freq_factor = 4;
  int original_max_positions = 8192;
};

/// Hyper-parameters of a decoder-only transformer (Hugging Face config.json semantics).
struct ModelConfig {
  std::string name;  ///< card name or checkpoint folder
  Family family = Family::kLlama;
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;  ///< MLP inner width (GPT-2: n_inner or 4 * n_embd)
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;   ///< grouped-query attention; == num_heads for plain MHA
  int head_dim = 0;       ///< hidden_size / num_heads unless config.json says otherwise
  int max_positions = 0;  ///< max_position_embeddings / n_positions
  NormKind norm = NormKind::kRmsNorm;
  double norm_eps = 1e-5;
  Activation activation = Activation::kSilu;
  bool gated_mlp = true;  ///< SwiGLU: down(act(gate(x)) * up(x)); else down(act(up(x)))
  PositionKind positions = PositionKind::kRotary;
  double rope_theta = 10000;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;       ///< Qwen2 and GPT-2
  bool o_bias = false;         ///< GPT-2
  bool mlp_bias = false;       ///< GPT-2
  bool fused_qkv = false;      ///< Phi-3 qkv_proj, GPT-2 c_attn
  bool fused_gate_up = false;  ///< Phi-3 gate_up_proj
};

/// The role of a linear layer in a decoder block.
enum class LinearRole { kQ, kK, kV, kQkv, kO, kGate, kUp, kGateUp, kDown, kLmHead };

/// One linear (matrix) layer of a model: y = x W^T + b, W of shape (out x in).
struct LinearShape {
  std::string name;  ///< checkpoint tensor prefix, e.g. "model.layers.0.self_attn.q_proj"
  int block = -1;    ///< decoder block index; -1 for lm_head
  LinearRole role = LinearRole::kQ;
  int in = 0;
  int out = 0;
  bool bias = false;
};

/// Every linear layer of the model in execution order (per block: attention projections, then
/// MLP), lm_head last. Fused layers (Phi-3, GPT-2) appear fused, as stored.
std::vector<LinearShape> linear_layers(const ModelConfig& config);

/// Total parameters (embeddings, norms, linear layers, lm_head unless tied).
long long parameter_count(const ModelConfig& config);

}  // namespace aimc::workloads

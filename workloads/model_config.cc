// Linear-layer listing and parameter count of a ModelConfig. The layer names are the tensor
// prefixes of the family's Hugging Face checkpoints, so the loader, the mapper and the reports
// all speak about the same layers.
#include "workloads/model_config.h"

namespace aimc::workloads {
namespace {

/// Tensor-name stems of one family's decoder block.
struct BlockNames {
  std::string prefix;  ///< "model.layers.{i}." or "h.{i}."
  std::string q, k, v, qkv, o, gate, up, gate_up, down;
};

BlockNames block_names(const ModelConfig& config, int block) {
  BlockNames n;
  if (config.family == Family::kGpt2) {
    n.prefix = "h." + std::to_string(block) + ".";
    n.qkv = "attn.c_attn";
    n.o = "attn.c_proj";
    n.up = "mlp.c_fc";
    n.down = "mlp.c_proj";
    return n;
  }
  n.prefix = "model.layers." + std::to_string(block) + ".";
  n.q = "self_attn.q_proj";
  n.k = "self_attn.k_proj";
  n.v = "self_attn.v_proj";
  n.qkv = "self_attn.qkv_proj";
  n.o = "self_attn.o_proj";
  n.gate = "mlp.gate_proj";
  n.up = "mlp.up_proj";
  n.gate_up = "mlp.gate_up_proj";
  n.down = "mlp.down_proj";
  return n;
}

}  // namespace

std::vector<LinearShape> linear_layers(const ModelConfig& c) {
  std::vector<LinearShape> layers;
  const int q_width = c.num_heads * c.head_dim;
  const int kv_width = c.num_kv_heads * c.head_dim;
  auto add = [&](const std::string& name, int block, LinearRole role, int in, int out, bool bias) {
    layers.push_back(LinearShape{name, block, role, in, out, bias});
  };
  for (int b = 0; b < c.num_layers; ++b) {
    const BlockNames n = block_names(c, b);
    if (c.fused_qkv) {
      // Fused rows: all query heads, then key heads, then value heads.
      add(n.prefix + n.qkv, b, LinearRole::kQkv, c.hidden_size, q_width + 2 * kv_width, c.qkv_bias);
    } else {
      add(n.prefix + n.q, b, LinearRole::kQ, c.hidden_size, q_width, c.qkv_bias);
      add(n.prefix + n.k, b, LinearRole::kK, c.hidden_size, kv_width, c.qkv_bias);
      add(n.prefix + n.v, b, LinearRole::kV, c.hidden_size, kv_width, c.qkv_bias);
    }
    add(n.prefix + n.o, b, LinearRole::kO, q_width, c.hidden_size, c.o_bias);
    if (c.gated_mlp && c.fused_gate_up) {
      // Fused rows: gate, then up.
      add(n.prefix + n.gate_up, b, LinearRole::kGateUp, c.hidden_size, 2 * c.intermediate_size,
          c.mlp_bias);
    } else if (c.gated_mlp) {
      add(n.prefix + n.gate, b, LinearRole::kGate, c.hidden_size, c.intermediate_size, c.mlp_bias);
      add(n.prefix + n.up, b, LinearRole::kUp, c.hidden_size, c.intermediate_size, c.mlp_bias);
    } else {
      add(n.prefix + n.up, b, LinearRole::kUp, c.hidden_size, c.intermediate_size, c.mlp_bias);
    }
    add(n.prefix + n.down, b, LinearRole::kDown, c.intermediate_size, c.hidden_size, c.mlp_bias);
  }
  add("lm_head", -1, LinearRole::kLmHead, c.hidden_size, c.vocab_size, false);
  return layers;
}

long long parameter_count(const ModelConfig& c) {
  const long long hidden = c.hidden_size;
  // LayerNorm has a bias beside its weight; RMSNorm only the weight.
  const long long norm = c.norm == NormKind::kLayerNorm ? 2 * hidden : hidden;
  long long total = static_cast<long long>(c.vocab_size) * hidden;
  if (c.positions == PositionKind::kLearned)
    total += static_cast<long long>(c.max_positions) * hidden;
  total += static_cast<long long>(c.num_layers) * 2 * norm + norm;  // two per block, one final
  for (const LinearShape& l : linear_layers(c)) {
    if (l.role == LinearRole::kLmHead && c.tie_word_embeddings) continue;
    total += static_cast<long long>(l.in) * l.out + (l.bias ? l.out : 0);
  }
  return total;
}

}  // namespace aimc::workloads

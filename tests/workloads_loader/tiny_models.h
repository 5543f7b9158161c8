// Generator of tiny model folders (config.json + safetensors) in the tensor layout of each
// family's Hugging Face checkpoints, written from the published layouts rather than from the
// loader, so that the loader's naming is checked against an independent statement of it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/workloads_loader/test_support.h"

namespace aimc::workloads::testing {

/// Stored tensor: shape as in the file, float values in row-major order.
struct StoredTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct TinyModel {
  std::string config_json;
  std::map<std::string, StoredTensor> tensors;
};

/// Deterministic values that are multiples of 1/16 in [-0.5, 0.5], exact in F16 and BF16.
inline StoredTensor make_tensor(std::vector<int64_t> shape, int salt) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  StoredTensor t{std::move(shape), {}};
  for (int64_t i = 0; i < n; ++i) {
    t.values.push_back(static_cast<float>((i * 37 + salt * 11) % 17 - 8) / 16.0f);
  }
  return t;
}

/// Dimensions of every tiny model: vocab 16, hidden 8, MLP 12, 2 blocks, 2 query heads
/// (head_dim 4), 1 key/value head for llama and qwen2, 8 positions.
constexpr int kV = 16, kH = 8, kI = 12, kL = 2, kHeads = 2, kP = 8;

/// family: "llama", "qwen2", "phi3", "gpt2", or "gpt2-prefixed" (names under "transformer.").
inline TinyModel tiny_model(const std::string& family) {
  TinyModel m;
  int salt = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    m.tensors[name] = make_tensor(std::move(shape), ++salt);
  };
  if (family == "gpt2" || family == "gpt2-prefixed") {
    m.config_json = R"({"model_type": "gpt2", "vocab_size": 16, "n_embd": 8, "n_layer": 2,
        "n_head": 2, "n_positions": 8, "n_inner": 12, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5})";
    const std::string p = family == "gpt2" ? "" : "transformer.";
    add(p + "wte.weight", {kV, kH});
    add(p + "wpe.weight", {kP, kH});
    for (int b = 0; b < kL; ++b) {
      const std::string h = p + "h." + std::to_string(b) + ".";
      add(h + "ln_1.weight", {kH});
      add(h + "ln_1.bias", {kH});
      add(h + "attn.c_attn.weight", {kH, 3 * kH});  // Conv1D: (in, out)
      add(h + "attn.c_attn.bias", {3 * kH});
      add(h + "attn.c_proj.weight", {kH, kH});
      add(h + "attn.c_proj.bias", {kH});
      add(h + "ln_2.weight", {kH});
      add(h + "ln_2.bias", {kH});
      add(h + "mlp.c_fc.weight", {kH, kI});
      add(h + "mlp.c_fc.bias", {kI});
      add(h + "mlp.c_proj.weight", {kI, kH});
      add(h + "mlp.c_proj.bias", {kH});
    }
    add(p + "ln_f.weight", {kH});
    add(p + "ln_f.bias", {kH});
    return m;
  }
  const bool phi3 = family == "phi3", qwen2 = family == "qwen2";
  const int kv_heads = phi3 ? kHeads : 1;
  const int head_dim = kH / kHeads, kv = kv_heads * head_dim;
  m.config_json = std::string(R"({"model_type": ")") + family + R"(", "vocab_size": 16,
      "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
      "num_attention_heads": 2, "num_key_value_heads": )" +
                  std::to_string(kv_heads) + R"(,
      "max_position_embeddings": 8, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
      "tie_word_embeddings": )" +
                  (qwen2 ? "true" : "false") + "}";
  add("model.embed_tokens.weight", {kV, kH});
  for (int b = 0; b < kL; ++b) {
    const std::string l = "model.layers." + std::to_string(b) + ".";
    add(l + "input_layernorm.weight", {kH});
    if (phi3) {
      add(l + "self_attn.qkv_proj.weight", {kH + 2 * kv, kH});
    } else {
      add(l + "self_attn.q_proj.weight", {kH, kH});
      add(l + "self_attn.k_proj.weight", {kv, kH});
      add(l + "self_attn.v_proj.weight", {kv, kH});
      if (qwen2) {
        add(l + "self_attn.q_proj.bias", {kH});
        add(l + "self_attn.k_proj.bias", {kv});
        add(l + "self_attn.v_proj.bias", {kv});
      }
    }
    add(l + "self_attn.o_proj.weight", {kH, kH});
    add(l + "post_attention_layernorm.weight", {kH});
    if (phi3) {
      add(l + "mlp.gate_up_proj.weight", {2 * kI, kH});
    } else {
      add(l + "mlp.gate_proj.weight", {kI, kH});
      add(l + "mlp.up_proj.weight", {kI, kH});
    }
    add(l + "mlp.down_proj.weight", {kH, kI});
  }
  add("model.norm.weight", {kH});
  if (!qwen2) add("lm_head.weight", {kV, kH});
  return m;
}

/// Writes config.json and the tensors as `dtype`, in one model.safetensors or, for shards > 1,
/// in shards (tensors dealt round-robin) with model.safetensors.index.json.
inline void write_model(const std::string& folder, const TinyModel& m,
                        const std::string& dtype = "F32", int shards = 1) {
  write_bytes(folder + "/config.json", m.config_json);
  std::vector<std::map<std::string, RawTensor>> files(shards);
  std::string weight_map;
  int i = 0;
  for (const auto& [name, t] : m.tensors) {
    const int shard = i++ % shards;
    files[shard][name] = encode(dtype, t.shape, t.values);
    const std::string file = "model-0000" + std::to_string(shard + 1) + "-of-0000" +
                             std::to_string(shards) + ".safetensors";
    weight_map +=
        std::string(weight_map.empty() ? "" : ",\n    ") + "\"" + name + "\": \"" + file + "\"";
  }
  if (shards == 1) {
    write_safetensors(folder + "/model.safetensors", files[0]);
    return;
  }
  for (int s = 0; s < shards; ++s) {
    write_safetensors(folder + "/model-0000" + std::to_string(s + 1) + "-of-0000" +
                          std::to_string(shards) + ".safetensors",
                      files[s]);
  }
  write_bytes(folder + "/model.safetensors.index.json",
              "{\"metadata\": {}, \"weight_map\": {\n    " + weight_map + "\n}}\n");
}

}  // namespace aimc::workloads::testing

// The shape cards. Values are those of each model's published config.json on the Hugging Face
// hub; only shapes matter here, so rope scaling (Llama 3.x) and sliding windows are left out.
#include "workloads/shape_cards.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "proto/user_error.h"
#include "workloads/hf_config.h"

namespace aimc::workloads {
namespace {

ModelConfig llama_like(const std::string& name, Family family, int vocab, int hidden,
                       int intermediate, int layers, int heads, int kv_heads, int positions,
                       double eps, double rope_theta, bool tied) {
  ModelConfig c;
  c.name = name;
  c.family = family;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.max_positions = positions;
  c.norm = NormKind::kRmsNorm;
  c.norm_eps = eps;
  c.activation = Activation::kSilu;
  c.gated_mlp = true;
  c.positions = PositionKind::kRotary;
  c.rope_theta = rope_theta;
  c.tie_word_embeddings = tied;
  c.qkv_bias = family == Family::kQwen2;
  c.fused_qkv = family == Family::kPhi3;
  c.fused_gate_up = family == Family::kPhi3;
  return c;
}

ModelConfig gpt2_card() {
  ModelConfig c;
  c.name = "gpt2";
  c.family = Family::kGpt2;
  c.vocab_size = 50257;
  c.hidden_size = 768;
  c.intermediate_size = 3072;
  c.num_layers = 12;
  c.num_heads = 12;
  c.num_kv_heads = 12;
  c.head_dim = 64;
  c.max_positions = 1024;
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = 1e-5;
  c.activation = Activation::kGeluTanh;
  c.gated_mlp = false;
  c.positions = PositionKind::kLearned;
  c.rope_theta = 0;
  c.tie_word_embeddings = true;
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  c.fused_qkv = true;
  return c;
}

// Llama 3.1 / 3.2 long-context rotary scaling as their config.json files state it.
ModelConfig with_llama3_rope(ModelConfig c, double factor) {
  c.rope_scaling.kind = RopeScaling::Kind::kLlama3;
  c.rope_scaling.factor = factor;
  c.rope_scaling.low_freq_factor = 1;
  c.rope_scaling.high_freq_factor = 4;
  c.rope_scaling.original_max_positions = 8192;
  return c;
}

std::vector<ModelConfig> all_cards() {
  return {
      // meta-llama/Llama-3.2-1B: 1.24 B parameters.
      with_llama3_rope(llama_like("llama-3.2-1b", Family::kLlama, 128256, 2048, 8192, 16, 32, 8,
                                  131072, 1e-5, 500000, true),
                       32),
      // meta-llama/Llama-3.2-3B: 3.21 B (the shape of the 3 B LLM of the NorthPole system).
      with_llama3_rope(llama_like("llama-3.2-3b", Family::kLlama, 128256, 3072, 8192, 28, 24, 8,
                                  131072, 1e-5, 500000, true),
                       32),
      // meta-llama/Llama-3.1-8B: 8.03 B.
      with_llama3_rope(llama_like("llama-3.1-8b", Family::kLlama, 128256, 4096, 14336, 32, 32, 8,
                                  131072, 1e-5, 500000, false),
                       8),
      // meta-llama/Llama-3.1-70B: 70.6 B (too large for one chip: a card for systems of chips).
      with_llama3_rope(llama_like("llama-3.1-70b", Family::kLlama, 128256, 8192, 28672, 80, 64, 8,
                                  131072, 1e-5, 500000, false),
                       8),
      // microsoft/Phi-3-mini-4k-instruct: 3.82 B.
      llama_like("phi-3-mini-4k", Family::kPhi3, 32064, 3072, 8192, 32, 32, 32, 4096, 1e-5, 10000,
                 false),
      // Qwen/Qwen2.5-0.5B: 0.49 B.
      llama_like("qwen2.5-0.5b", Family::kQwen2, 151936, 896, 4864, 24, 14, 2, 32768, 1e-6, 1000000,
                 true),
      // openai-community/gpt2: 124 M.
      gpt2_card(),
  };
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

std::string known_names() {
  std::string list;
  for (const std::string& n : shape_card_names()) list += (list.empty() ? "" : ", ") + n;
  return list;
}

bool find_card(const std::string& name, ModelConfig* out) {
  for (ModelConfig& c : all_cards()) {
    if (c.name == lower(name)) {
      *out = std::move(c);
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> shape_card_names() {
  std::vector<std::string> names;
  for (const ModelConfig& c : all_cards()) names.push_back(c.name);
  return names;
}

ModelConfig shape_card(const std::string& name) {
  ModelConfig c;
  if (!find_card(name, &c)) {
    throw UserError("unknown shape card '" + name + "' (known: " + known_names() + ")");
  }
  return c;
}

ModelConfig resolve_model(const std::string& name_or_path) {
  ModelConfig c;
  if (find_card(name_or_path, &c)) return c;
  struct stat st;
  if (::stat(name_or_path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      const std::string path =
          name_or_path + (name_or_path.back() == '/' ? "" : "/") + "config.json";
      if (::stat(path.c_str(), &st) == 0) return read_hf_config(path);
      throw UserError(
          "model '" + name_or_path +
          "' is a folder without config.json and not a shape card (known: " + known_names() + ")");
    }
    if (S_ISREG(st.st_mode)) {
      const std::string base = name_or_path.substr(name_or_path.find_last_of('/') + 1);
      if (base.size() < 5 || base.compare(base.size() - 5, 5, ".json") != 0) {
        throw UserError("model '" + name_or_path +
                        "' is a file but not a config.json; give a shape card name (known: " +
                        known_names() + "), a model folder, or its config.json");
      }
      return read_hf_config(name_or_path);
    }
  }
  throw UserError("model '" + name_or_path + "' is neither a shape card (known: " + known_names() +
                  ") nor a model folder with config.json");
}

}  // namespace aimc::workloads

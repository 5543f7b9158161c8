// read_hf_config: each family's keys and defaults, and the errors (file and key named).
#include "workloads/hf_config.h"

#include <gtest/gtest.h>

#include "tests/workloads_loader/test_support.h"

namespace aimc::workloads {
namespace {

using testing::expect_user_error;
using testing::TempDir;
using testing::write_bytes;

const char* kLlama = R"({
  "model_type": "llama", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 176,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
  "hidden_act": "silu", "rope_scaling": null, "tie_word_embeddings": false})";

const char* kGpt2 = R"({
  "model_type": "gpt2", "vocab_size": 100, "n_embd": 32, "n_layer": 2, "n_head": 4,
  "n_positions": 64, "n_inner": null, "layer_norm_epsilon": 1e-5,
  "activation_function": "gelu_new"})";

TEST(HfConfig, ReadsLlama) {
  TempDir dir;
  write_bytes(dir.file("config.json"), kLlama);
  ModelConfig c = read_hf_config(dir.file("config.json"));
  EXPECT_EQ(c.name, dir.path());
  EXPECT_EQ(c.family, Family::kLlama);
  EXPECT_EQ(c.vocab_size, 256);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 176);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.max_positions, 128);
  EXPECT_EQ(c.norm, NormKind::kRmsNorm);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_EQ(c.activation, Activation::kSilu);
  EXPECT_TRUE(c.gated_mlp);
  EXPECT_EQ(c.positions, PositionKind::kRotary);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias || c.fused_qkv || c.fused_gate_up);
}

TEST(HfConfig, MistralIsLlamaAndDefaultsApply) {
  ModelConfig c = parse_hf_config(R"({"model_type": "mistral", "vocab_size": 10,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
      "num_attention_heads": 4, "max_position_embeddings": 16, "head_dim": 12,
      "sliding_window": 4096})",
                                  "m.json");
  EXPECT_EQ(c.family, Family::kLlama);
  EXPECT_EQ(c.num_kv_heads, 4);  // defaults to the query heads
  EXPECT_EQ(c.head_dim, 12);     // explicit head_dim wins over hidden / heads
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(HfConfig, Qwen2HasQkvBias) {
  ModelConfig c = parse_hf_config(R"({"model_type": "qwen2", "vocab_size": 10,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
      "num_attention_heads": 4, "num_key_value_heads": 1, "max_position_embeddings": 16,
      "tie_word_embeddings": true, "rms_norm_eps": 1e-6})",
                                  "q.json");
  EXPECT_EQ(c.family, Family::kQwen2);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias || c.mlp_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(HfConfig, Phi3IsFused) {
  ModelConfig c = parse_hf_config(R"({"model_type": "phi3", "vocab_size": 10,
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
      "num_attention_heads": 4, "max_position_embeddings": 16})",
                                  "p.json");
  EXPECT_EQ(c.family, Family::kPhi3);
  EXPECT_TRUE(c.fused_qkv && c.fused_gate_up && c.gated_mlp);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
}

TEST(HfConfig, ReadsGpt2) {
  ModelConfig c = parse_hf_config(kGpt2, "g.json");
  EXPECT_EQ(c.family, Family::kGpt2);
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.intermediate_size, 128);  // n_inner null -> 4 * n_embd
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.max_positions, 64);
  EXPECT_EQ(c.norm, NormKind::kLayerNorm);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
  EXPECT_FALSE(c.gated_mlp);
  EXPECT_EQ(c.positions, PositionKind::kLearned);
  EXPECT_TRUE(c.tie_word_embeddings);  // GPT-2's default
  EXPECT_TRUE(c.qkv_bias && c.o_bias && c.mlp_bias && c.fused_qkv);
  EXPECT_FALSE(c.fused_gate_up);
  ModelConfig inner = parse_hf_config(R"({"model_type": "gpt2", "vocab_size": 100,
      "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64, "n_inner": 48,
      "tie_word_embeddings": false})",
                                      "g.json");
  EXPECT_EQ(inner.intermediate_size, 48);
  EXPECT_FALSE(inner.tie_word_embeddings);
}

/// `base` with one top-level key replaced (or removed when `value` is empty).
std::string with_key(const std::string& base, const std::string& key, const std::string& value) {
  std::string text = base;
  const std::string quoted = "\"" + key + "\"";
  auto at = text.find(quoted);
  if (at == std::string::npos) {
    return value.empty() ? text : "{" + quoted + ": " + value + ", " + text.substr(1);
  }
  auto end = text.find_first_of(",}", text.find(':', at));
  if (value.empty()) {
    if (text[end] == ',') ++end;
    return text.substr(0, at) + text.substr(end);
  }
  return text.substr(0, at) + quoted + ": " + value + text.substr(end);
}

// Llama 3.1 / 3.2 checkpoints carry Llama 3's rotary scaling; it is read, not rejected.
TEST(HfConfig, ReadsLlama3RopeScaling) {
  const std::string text =
      with_key(kLlama, "rope_scaling",
               R"({"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
          "original_max_position_embeddings": 8192, "rope_type": "llama3"})");
  const ModelConfig c = parse_hf_config(text, "dir/config.json");
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_positions, 8192);
  const ModelConfig plain =
      parse_hf_config(with_key(kLlama, "rope_scaling", R"({"rope_type": "default"})"), "x");
  EXPECT_EQ(plain.rope_scaling.kind, RopeScaling::Kind::kNone);
}

TEST(HfConfig, RejectsBadConfigsNamingFileAndKey) {
  struct Case {
    const char* base;
    const char* key;
    const char* value;  // "" removes the key
    const char* fragment;
  };
  const Case cases[] = {
      {kLlama, "hidden_size", "", "key 'hidden_size' is missing"},
      {kLlama, "num_hidden_layers", "null", "key 'num_hidden_layers' is missing"},
      {kLlama, "model_type", "", "key 'model_type' is missing"},
      {kLlama, "vocab_size", "\"256\"", "key 'vocab_size' must be an integer"},
      {kLlama, "hidden_size", "64.0", "key 'hidden_size' must be an integer"},
      {kLlama, "hidden_size", "-64", "key 'hidden_size' must be positive"},
      {kLlama, "num_attention_heads", "0", "key 'num_attention_heads' must be positive"},
      {kLlama, "intermediate_size", "4294967296", "key 'intermediate_size' is too large"},
      {kLlama, "hidden_size", "66",
       "key 'hidden_size' (66) must be divisible by "
       "num_attention_heads (4)"},
      {kLlama, "num_key_value_heads", "3",
       "key 'num_attention_heads' (4) must be divisible by "
       "num_key_value_heads (3)"},
      {kLlama, "rms_norm_eps", "\"small\"", "key 'rms_norm_eps' must be a number"},
      {kLlama, "rope_theta", "-1", "key 'rope_theta' must be a finite positive number"},
      {kLlama, "tie_word_embeddings", "1", "key 'tie_word_embeddings' must be true or false"},
      {kLlama, "hidden_act", "\"relu\"", "key 'hidden_act' 'relu' is unsupported"},
      {kLlama, "hidden_act", "7", "key 'hidden_act' must be a string"},
      {kLlama, "rope_scaling", R"({"rope_type": "yarn", "factor": 4.0})",
       "key 'rope_scaling' of type 'yarn' is unsupported"},
      {kLlama, "rope_scaling", R"({"rope_type": "llama3", "original_max_position_embeddings": 8})",
       "key 'rope_scaling.factor' is missing"},
      {kLlama, "rope_scaling", "[1]", "key 'rope_scaling' must be null or an object"},
      {kLlama, "model_type", "\"mamba\"", "key 'model_type' 'mamba' is unsupported"},
      {kLlama, "head_dim", "15", "key 'head_dim' gives an odd head_dim"},
      {kGpt2, "n_embd", "", "key 'n_embd' is missing"},
      {kGpt2, "n_head", "5", "key 'n_embd' (32) must be divisible by n_head (5)"},
      {kGpt2, "n_inner", "0", "key 'n_inner' must be positive"},
      {kGpt2, "activation_function", "\"relu\"",
       "key 'activation_function' 'relu' is "
       "unsupported"},
  };
  for (const Case& c : cases) {
    const std::string text = with_key(c.base, c.key, c.value);
    SCOPED_TRACE(text);
    expect_user_error([&] { parse_hf_config(text, "dir/config.json"); },
                      {"dir/config.json: ", c.fragment});
  }
}

TEST(HfConfig, RejectsUnreadableAndMalformedFiles) {
  TempDir dir;
  expect_user_error([&] { read_hf_config(dir.file("config.json")); },
                    {dir.file("config.json"), "cannot open"});
  write_bytes(dir.file("config.json"), "{\"model_type\": \"llama\",");
  expect_user_error([&] { read_hf_config(dir.file("config.json")); },
                    {dir.file("config.json"), "malformed JSON"});
  write_bytes(dir.file("config.json"), "[1, 2]");
  expect_user_error([&] { read_hf_config(dir.file("config.json")); },
                    {dir.file("config.json"), "must hold a JSON object"});
}

}  // namespace
}  // namespace aimc::workloads

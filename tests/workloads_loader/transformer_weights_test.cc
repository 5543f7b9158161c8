// load_transformer: the four families from generated folders (F32, BF16, sharded F16, Conv1D
// transposition, tied heads, input ranges), the error messages, and the committed tiny models
// under tests/fixtures/models/.
#include "workloads/transformer_weights.h"

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/workloads_loader/tiny_models.h"
#include "workloads/checkpoint.h"

namespace aimc::workloads {
namespace {

using testing::encode;
using testing::expect_user_error;
using testing::make_tensor;
using testing::StoredTensor;
using testing::TempDir;
using testing::tiny_model;
using testing::TinyModel;
using testing::write_model;

/// The stored tensor as an (rows x cols) matrix, transposed when `transpose`.
arch::Matrix stored_matrix(const StoredTensor& t, bool transpose = false) {
  arch::Matrix m(t.shape[0], t.shape[1]);
  for (int64_t r = 0; r < t.shape[0]; ++r) {
    for (int64_t c = 0; c < t.shape[1]; ++c) m(r, c) = t.values[r * t.shape[1] + c];
  }
  return transpose ? arch::Matrix(m.transpose()) : m;
}

/// Checks every shape the loader filled against the config, and that each block's linears
/// follow linear_layers().
void expect_consistent(const TransformerWeights& w) {
  const ModelConfig& c = w.config;
  EXPECT_EQ(w.embedding().rows(), c.vocab_size);
  EXPECT_EQ(w.embedding().cols(), c.hidden_size);
  if (c.positions == PositionKind::kLearned) {
    EXPECT_EQ(w.position_embedding.rows(), c.max_positions);
    EXPECT_EQ(w.position_embedding.cols(), c.hidden_size);
  } else {
    EXPECT_EQ(w.position_embedding.size(), 0);
  }
  const bool layer_norm = c.norm == NormKind::kLayerNorm;
  ASSERT_EQ(static_cast<int>(w.blocks.size()), c.num_layers);
  const std::vector<LinearShape> layers = linear_layers(c);
  size_t next = 0;
  for (int b = 0; b < c.num_layers; ++b) {
    const BlockWeights& block = w.blocks[b];
    EXPECT_EQ(block.attn_norm_weight.size(), c.hidden_size);
    EXPECT_EQ(block.mlp_norm_weight.size(), c.hidden_size);
    EXPECT_EQ(block.attn_norm_bias.size(), layer_norm ? c.hidden_size : 0);
    EXPECT_EQ(block.mlp_norm_bias.size(), layer_norm ? c.hidden_size : 0);
    for (const LinearWeights& l : block.linears) {
      ASSERT_LT(next, layers.size());
      EXPECT_EQ(l.shape.name, layers[next++].name);
      EXPECT_EQ(l.shape.block, b);
      EXPECT_EQ(l.weight.rows(), l.shape.out) << l.shape.name;
      EXPECT_EQ(l.weight.cols(), l.shape.in) << l.shape.name;
      EXPECT_EQ(l.bias.size(), l.shape.bias ? l.shape.out : 0) << l.shape.name;
    }
  }
  EXPECT_EQ(next + 1, layers.size());
  EXPECT_EQ(w.final_norm_weight.size(), c.hidden_size);
  EXPECT_EQ(w.final_norm_bias.size(), layer_norm ? c.hidden_size : 0);
  EXPECT_EQ(w.lm_head.shape.role, LinearRole::kLmHead);
  EXPECT_EQ(w.lm_head.weight.rows(), c.vocab_size);
  EXPECT_EQ(w.lm_head.weight.cols(), c.hidden_size);
  if (c.tie_word_embeddings) {  // one matrix for both
    EXPECT_EQ(&w.embedding(), &w.lm_head.weight);
    EXPECT_EQ(w.token_embedding.size(), 0);
  } else {
    EXPECT_EQ(&w.embedding(), &w.token_embedding);
  }
}

TEST(LoadTransformer, LoadsLlamaF32) {
  TempDir dir;
  TinyModel m = tiny_model("llama");
  write_model(dir.path(), m);
  TransformerWeights w = load_transformer(dir.path());
  expect_consistent(w);
  EXPECT_EQ(w.config.name, dir.path());
  EXPECT_EQ(w.blocks[0].linears.size(), 7u);
  EXPECT_EQ(w.blocks[1].linears[1].shape.name, "model.layers.1.self_attn.k_proj");
  EXPECT_EQ(w.blocks[1].linears[1].weight,
            stored_matrix(m.tensors["model.layers.1.self_attn.k_proj.weight"]));
  EXPECT_EQ(w.lm_head.weight, stored_matrix(m.tensors["lm_head.weight"]));
  EXPECT_NE(w.lm_head.weight, w.token_embedding);
  EXPECT_EQ(w.final_norm_weight(3), m.tensors["model.norm.weight"].values[3]);
  EXPECT_TRUE(w.lm_head.input_range.empty());
}

TEST(LoadTransformer, LoadsQwen2Bf16Tied) {
  TempDir dir;
  TinyModel m = tiny_model("qwen2");
  write_model(dir.path(), m, "BF16");
  TransformerWeights w = load_transformer(dir.path());
  expect_consistent(w);
  EXPECT_TRUE(w.config.tie_word_embeddings);
  EXPECT_EQ(w.lm_head.weight, stored_matrix(m.tensors["model.embed_tokens.weight"]));
  const LinearWeights& k = w.blocks[0].linears[1];
  EXPECT_EQ(k.shape.role, LinearRole::kK);
  ASSERT_EQ(k.bias.size(), 4);
  EXPECT_EQ(k.bias(2), m.tensors["model.layers.0.self_attn.k_proj.bias"].values[2]);
}

TEST(LoadTransformer, LoadsPhi3F16Sharded) {
  TempDir dir;
  TinyModel m = tiny_model("phi3");
  write_model(dir.path(), m, "F16", 2);
  TransformerWeights w = load_transformer(dir.path());
  expect_consistent(w);
  ASSERT_EQ(w.blocks[0].linears.size(), 4u);
  EXPECT_EQ(w.blocks[0].linears[0].shape.role, LinearRole::kQkv);
  EXPECT_EQ(w.blocks[0].linears[0].weight.rows(), 24);
  EXPECT_EQ(w.blocks[0].linears[2].shape.role, LinearRole::kGateUp);
  EXPECT_EQ(w.blocks[1].linears[2].weight,
            stored_matrix(m.tensors["model.layers.1.mlp.gate_up_proj.weight"]));
}

TEST(LoadTransformer, TransposesGpt2Conv1DWithOrWithoutPrefix) {
  for (const std::string family : {"gpt2", "gpt2-prefixed"}) {
    SCOPED_TRACE(family);
    TempDir dir;
    TinyModel m = tiny_model(family);
    write_model(dir.path(), m);
    TransformerWeights w = load_transformer(dir.path());
    expect_consistent(w);
    const std::string p = family == "gpt2" ? "" : "transformer.";
    const LinearWeights& qkv = w.blocks[1].linears[0];
    EXPECT_EQ(qkv.shape.name, "h.1.attn.c_attn");
    EXPECT_EQ(qkv.weight, stored_matrix(m.tensors[p + "h.1.attn.c_attn.weight"], true));
    EXPECT_EQ(w.blocks[0].linears[3].weight,
              stored_matrix(m.tensors[p + "h.0.mlp.c_proj.weight"], true));
    EXPECT_EQ(w.blocks[0].linears[2].bias(5), m.tensors[p + "h.0.mlp.c_fc.bias"].values[5]);
    EXPECT_EQ(w.position_embedding, stored_matrix(m.tensors[p + "wpe.weight"]));
    EXPECT_EQ(w.final_norm_bias(1), m.tensors[p + "ln_f.bias"].values[1]);
    EXPECT_EQ(w.embedding(), stored_matrix(m.tensors[p + "wte.weight"]));
    EXPECT_EQ(&w.lm_head.weight, &w.embedding());
  }
}

TEST(LoadTransformer, LoadsInputRanges) {
  TempDir dir;
  TinyModel m = tiny_model("llama");
  m.tensors["model.layers.0.mlp.down_proj.input_range"] = {{2}, {0.5f, 3.0f}};
  m.tensors["lm_head.input_range"] = {{1}, {1.25f}};
  write_model(dir.path(), m);
  TransformerWeights w = load_transformer(dir.path());
  EXPECT_EQ(w.blocks[0].linears[6].input_range, (std::vector<float>{0.5f, 3.0f}));
  EXPECT_TRUE(w.blocks[0].linears[5].input_range.empty());
  EXPECT_EQ(w.lm_head.input_range, std::vector<float>{1.25f});
}

TEST(LoadTransformer, RejectsBadInputRanges) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    StoredTensor range;
    const char* fragment;
  };
  const Case cases[] = {
      {{{2}, {1.0f, -1.0f}}, "entry 1 is -1.000000; input ranges must be finite and positive"},
      {{{1}, {0.0f}}, "entry 0 is 0.000000"},
      {{{1}, {nan}}, "must be finite and positive"},
      {{{1, 2}, {1.0f, 2.0f}}, "has shape [1, 2], but input ranges are 1-D"},
      {{{0}, {}}, "has shape [0], but input ranges are 1-D"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    TinyModel m = tiny_model("llama");
    m.tensors["model.layers.1.self_attn.q_proj.input_range"] = c.range;
    write_model(dir.path(), m);
    expect_user_error([&] { load_transformer(dir.path()); },
                      {dir.file("model.safetensors"),
                       "tensor model.layers.1.self_attn.q_proj.input_range", c.fragment});
  }
}

TEST(LoadTransformer, RejectsShapeMismatchNamingFileTensorAndShapes) {
  TempDir dir;
  TinyModel m = tiny_model("llama");
  m.tensors["model.layers.1.self_attn.k_proj.weight"] = make_tensor({8, 8}, 1);
  write_model(dir.path(), m);
  expect_user_error([&] { load_transformer(dir.path()); },
                    {dir.file("model.safetensors") +
                     ": tensor model.layers.1.self_attn.k_proj.weight has shape [8, 8], "
                     "config.json implies [4, 8]"});
}

TEST(LoadTransformer, RejectsUntransposedGpt2Weights) {
  TempDir dir;
  TinyModel m = tiny_model("gpt2");
  m.tensors["h.0.mlp.c_fc.weight"] = make_tensor({12, 8}, 1);  // (out, in): wrong for Conv1D
  write_model(dir.path(), m);
  expect_user_error([&] { load_transformer(dir.path()); },
                    {"tensor h.0.mlp.c_fc.weight has shape [12, 8], config.json implies [8, 12]"});
}

TEST(LoadTransformer, RejectsMissingTensorsNamingFolder) {
  for (const std::string name :
       {"model.layers.0.post_attention_layernorm.weight", "model.layers.1.mlp.up_proj.weight",
        "lm_head.weight", "model.norm.weight"}) {
    TempDir dir;
    TinyModel m = tiny_model("llama");
    m.tensors.erase(name);
    write_model(dir.path(), m);
    expect_user_error([&] { load_transformer(dir.path()); },
                      {dir.path() + ": tensor " + name + " is missing"});
  }
  TempDir dir;
  TinyModel m = tiny_model("qwen2");
  m.tensors.erase("model.layers.0.self_attn.v_proj.bias");
  write_model(dir.path(), m);
  expect_user_error([&] { load_transformer(dir.path()); },
                    {"tensor model.layers.0.self_attn.v_proj.bias is missing"});
}

TEST(LoadTransformer, RejectsMissingShardAndConfig) {
  TempDir dir;
  write_model(dir.path(), tiny_model("phi3"), "F16", 2);
  std::remove(dir.file("model-00001-of-00002.safetensors").c_str());
  expect_user_error([&] { load_transformer(dir.path()); },
                    {"model-00001-of-00002.safetensors", "does not exist"});
  std::remove(dir.file("config.json").c_str());
  expect_user_error([&] { load_transformer(dir.path()); },
                    {dir.file("config.json"), "cannot open"});
}

// The committed tiny models (written by another tool than this test's generator).
const std::string kFixtures = std::string(AIMC_SOURCE_DIR) + "/tests/fixtures/models/";

TransformerWeights load_fixture(const std::string& family, Family expected_family) {
  const std::string folder = kFixtures + family;
  EXPECT_TRUE(std::filesystem::exists(folder + "/config.json"))
      << folder << " is missing: the tiny-model fixtures have not been committed";
  TransformerWeights w = load_transformer(folder);
  EXPECT_EQ(w.config.family, expected_family);
  expect_consistent(w);
  return w;
}

/// The dtype of the fixture's token embedding as stored.
std::string stored_dtype(const std::string& family, const std::string& tensor) {
  Checkpoint ckpt(kFixtures + family);
  return dtype_name(ckpt.info(tensor).dtype);
}

TEST(LoadTransformerFixtures, Llama) {
  TransformerWeights w = load_fixture("llama", Family::kLlama);
  EXPECT_FALSE(w.config.fused_qkv);
}

TEST(LoadTransformerFixtures, Qwen2IsBf16AndTied) {
  TransformerWeights w = load_fixture("qwen2", Family::kQwen2);
  EXPECT_TRUE(w.config.tie_word_embeddings);
  EXPECT_EQ(&w.lm_head.weight, &w.embedding());
  EXPECT_EQ(stored_dtype("qwen2", "model.embed_tokens.weight"), "BF16");
  EXPECT_GT(w.blocks[0].linears[0].bias.size(), 0);
}

TEST(LoadTransformerFixtures, Phi3IsF16AndSharded) {
  TransformerWeights w = load_fixture("phi3", Family::kPhi3);
  EXPECT_GT(Checkpoint(kFixtures + "phi3").file_count(), 1);
  EXPECT_EQ(stored_dtype("phi3", "model.embed_tokens.weight"), "F16");
  EXPECT_EQ(w.blocks[0].linears[0].shape.role, LinearRole::kQkv);
}

TEST(LoadTransformerFixtures, Gpt2IsTransposed) {
  TransformerWeights w = load_fixture("gpt2", Family::kGpt2);
  Checkpoint ckpt(kFixtures + "gpt2");
  const std::string p = ckpt.has("transformer.wte.weight") ? "transformer." : "";
  EXPECT_EQ(dtype_name(ckpt.info(p + "wte.weight").dtype), std::string("F32"));
  const LinearWeights& fc = w.blocks[0].linears[2];
  const std::vector<float> stored = ckpt.read(p + "h.0.mlp.c_fc.weight");  // (in, out)
  for (int o = 0; o < fc.shape.out; o += 3) {
    for (int i = 0; i < fc.shape.in; i += 2) {
      ASSERT_EQ(fc.weight(o, i), stored[static_cast<size_t>(i) * fc.shape.out + o]);
    }
  }
}

}  // namespace
}  // namespace aimc::workloads

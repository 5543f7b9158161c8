// Shape cards: published parameter counts, linear-layer listings, lookup and resolve_model;
// synthetic weights for a card.
#include "workloads/shape_cards.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/workloads_loader/test_support.h"
#include "workloads/model_config.h"
#include "workloads/transformer_weights.h"

namespace aimc::workloads {
namespace {

using testing::expect_user_error;
using testing::TempDir;
using testing::write_bytes;

TEST(ShapeCards, ParameterCountsMatchPublishedSizes) {
  struct Published {
    const char* name;
    double parameters;
  };
  // Model cards on the Hugging Face hub; GPT-2's 124 M includes its position table.
  const Published published[] = {
      {"llama-3.2-1b", 1.24e9}, {"llama-3.1-8b", 8.03e9}, {"phi-3-mini-4k", 3.82e9},
      {"qwen2.5-0.5b", 0.49e9}, {"gpt2", 124e6},          {"llama-3.1-70b", 70.6e9},
      {"llama-3.2-3b", 3.21e9},
  };
  ASSERT_EQ(shape_card_names().size(), std::size(published));
  for (const Published& p : published) {
    const double count = static_cast<double>(parameter_count(shape_card(p.name)));
    EXPECT_LT(std::abs(count / p.parameters - 1), 0.01) << p.name << ": " << count;
  }
  // Exact counts of the released checkpoints (sum of the tensor sizes in their safetensors).
  EXPECT_EQ(parameter_count(shape_card("llama-3.2-1b")), 1235814400LL);
  EXPECT_EQ(parameter_count(shape_card("llama-3.1-8b")), 8030261248LL);
  EXPECT_EQ(parameter_count(shape_card("phi-3-mini-4k")), 3821079552LL);
  EXPECT_EQ(parameter_count(shape_card("qwen2.5-0.5b")), 494032768LL);
  EXPECT_EQ(parameter_count(shape_card("gpt2")), 124439808LL);
  EXPECT_EQ(parameter_count(shape_card("llama-3.1-70b")), 70553706496LL);
  EXPECT_EQ(parameter_count(shape_card("llama-3.2-3b")), 3212749824LL);
}

TEST(ShapeCards, Llama32LinearLayers) {
  const ModelConfig c = shape_card("llama-3.2-1b");
  EXPECT_EQ(c.head_dim, 64);
  const std::vector<LinearShape> layers = linear_layers(c);
  ASSERT_EQ(layers.size(), 16u * 7 + 1);
  struct Expected {
    const char* name;
    LinearRole role;
    int in, out;
  };
  const Expected block0[] = {
      {"model.layers.0.self_attn.q_proj", LinearRole::kQ, 2048, 2048},
      {"model.layers.0.self_attn.k_proj", LinearRole::kK, 2048, 512},
      {"model.layers.0.self_attn.v_proj", LinearRole::kV, 2048, 512},
      {"model.layers.0.self_attn.o_proj", LinearRole::kO, 2048, 2048},
      {"model.layers.0.mlp.gate_proj", LinearRole::kGate, 2048, 8192},
      {"model.layers.0.mlp.up_proj", LinearRole::kUp, 2048, 8192},
      {"model.layers.0.mlp.down_proj", LinearRole::kDown, 8192, 2048},
  };
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(layers[i].name, block0[i].name);
    EXPECT_EQ(layers[i].role, block0[i].role) << i;
    EXPECT_EQ(layers[i].in, block0[i].in) << i;
    EXPECT_EQ(layers[i].out, block0[i].out) << i;
    EXPECT_EQ(layers[i].block, 0);
    EXPECT_FALSE(layers[i].bias);
  }
  EXPECT_EQ(layers[7 * 15 + 6].name, "model.layers.15.mlp.down_proj");
  EXPECT_EQ(layers[7 * 15 + 6].block, 15);
  const LinearShape& head = layers.back();
  EXPECT_EQ(head.name, "lm_head");
  EXPECT_EQ(head.block, -1);
  EXPECT_EQ(head.role, LinearRole::kLmHead);
  EXPECT_EQ(head.in, 2048);
  EXPECT_EQ(head.out, 128256);
}

TEST(ShapeCards, FusedAndBiasedLayouts) {
  const std::vector<LinearShape> phi3 = linear_layers(shape_card("phi-3-mini-4k"));
  ASSERT_EQ(phi3.size(), 32u * 4 + 1);
  EXPECT_EQ(phi3[0].name, "model.layers.0.self_attn.qkv_proj");
  EXPECT_EQ(phi3[0].out, 3 * 3072);
  EXPECT_EQ(phi3[2].name, "model.layers.0.mlp.gate_up_proj");
  EXPECT_EQ(phi3[2].role, LinearRole::kGateUp);
  EXPECT_EQ(phi3[2].out, 2 * 8192);

  const std::vector<LinearShape> gpt2 = linear_layers(shape_card("GPT2"));
  ASSERT_EQ(gpt2.size(), 12u * 4 + 1);
  const char* names[] = {"h.3.attn.c_attn", "h.3.attn.c_proj", "h.3.mlp.c_fc", "h.3.mlp.c_proj"};
  const LinearRole roles[] = {LinearRole::kQkv, LinearRole::kO, LinearRole::kUp, LinearRole::kDown};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(gpt2[12 + i].name, names[i]);
    EXPECT_EQ(gpt2[12 + i].role, roles[i]);
    EXPECT_TRUE(gpt2[12 + i].bias);
  }
  EXPECT_EQ(gpt2[12].out, 2304);
  EXPECT_EQ(gpt2[14].out, 3072);

  const std::vector<LinearShape> qwen = linear_layers(shape_card("Qwen2.5-0.5B"));
  EXPECT_TRUE(qwen[0].bias && qwen[1].bias && qwen[2].bias);
  EXPECT_FALSE(qwen[3].bias);
  EXPECT_EQ(qwen[1].out, 128);  // 2 kv heads of 64
}

TEST(ShapeCards, LookupAndResolve) {
  EXPECT_EQ(shape_card("LLAMA-3.1-8B").name, "llama-3.1-8b");
  expect_user_error([] { shape_card("llama-4"); },
                    {"unknown shape card 'llama-4'", "llama-3.2-1b", "gpt2"});
  EXPECT_EQ(resolve_model("Phi-3-Mini-4K").family, Family::kPhi3);

  TempDir dir;
  write_bytes(dir.file("config.json"), R"({"model_type": "gpt2", "vocab_size": 10,
      "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 4})");
  EXPECT_EQ(resolve_model(dir.path()).hidden_size, 8);
  EXPECT_EQ(resolve_model(dir.path()).name, dir.path());
  EXPECT_EQ(resolve_model(dir.file("config.json")).num_layers, 1);
  expect_user_error([] { resolve_model("/no/such/model"); },
                    {"'/no/such/model' is neither a shape card", "qwen2.5-0.5b"});
  TempDir empty;
  expect_user_error([&] { resolve_model(empty.path()); }, {"without config.json"});
}

}  // namespace
}  // namespace aimc::workloads

namespace aimc::workloads {
namespace {

/// A small config of the card's family, so the test stays fast.
ModelConfig small(const std::string& card) {
  ModelConfig c = shape_card(card);
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = c.num_kv_heads == c.num_heads ? 4 : 2;
  c.head_dim = 16;
  c.vocab_size = 300;
  c.max_positions = 128;
  return c;
}

TEST(SyntheticWeights, ShapesStatisticsAndSeeds) {
  for (const char* card : {"llama-3.2-1b", "gpt2", "phi-3-mini-4k", "qwen2.5-0.5b"}) {
    const ModelConfig c = small(card);
    const TransformerWeights a = synthetic_transformer(c, 7), b = synthetic_transformer(c, 7);
    const TransformerWeights other = synthetic_transformer(c, 8);
    const std::vector<LinearShape> layers = linear_layers(c);
    ASSERT_EQ(a.blocks.size(), static_cast<size_t>(c.num_layers)) << card;
    size_t k = 0;
    for (const BlockWeights& block : a.blocks) {
      EXPECT_EQ(block.attn_norm_weight, arch::Vector::Ones(c.hidden_size));
      for (const LinearWeights& l : block.linears) {
        const LinearShape& s = layers[k++];
        EXPECT_EQ(l.shape.name, s.name);
        ASSERT_EQ(l.weight.rows(), s.out) << s.name;
        ASSERT_EQ(l.weight.cols(), s.in) << s.name;
        EXPECT_EQ(l.bias.size(), s.bias ? s.out : 0) << s.name;
        // N(0, 1 / in): the sample std of thousands of draws within 10 %.
        const double mean = l.weight.mean();
        const double sd = std::sqrt((l.weight.array() - mean).square().mean());
        EXPECT_NEAR(sd * std::sqrt(static_cast<double>(s.in)), 1.0, 0.1) << s.name;
        EXPECT_NEAR(mean, 0.0, 4.0 / std::sqrt(static_cast<double>(s.in) * s.out)) << s.name;
      }
    }
    EXPECT_EQ(a.lm_head.weight.rows(), c.vocab_size);
    if (c.tie_word_embeddings) {
      EXPECT_EQ(&a.lm_head.weight, &a.embedding()) << card;
      EXPECT_EQ(a.token_embedding.size(), 0) << card;
    }
    EXPECT_EQ(a.position_embedding.size() > 0, c.positions == PositionKind::kLearned) << card;
    // Same seed, same bits; another seed, other weights.
    EXPECT_EQ(a.embedding(), b.embedding());
    EXPECT_EQ(a.blocks[1].linears[0].weight, b.blocks[1].linears[0].weight);
    EXPECT_NE(a.blocks[1].linears[0].weight, other.blocks[1].linears[0].weight);
  }
}

}  // namespace
}  // namespace aimc::workloads

// Checkpoint: single-file and sharded folders, lookups, shape checks and the index errors.
#include "workloads/checkpoint.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "tests/workloads_loader/tiny_models.h"

namespace aimc::workloads {
namespace {

using testing::encode;
using testing::expect_user_error;
using testing::TempDir;
using testing::tiny_model;
using testing::write_bytes;
using testing::write_model;
using testing::write_safetensors;

TEST(Checkpoint, ReadsSingleFile) {
  TempDir dir;
  write_safetensors(dir.file("model.safetensors"),
                    {{"w", encode("F32", {2, 3}, {1, 2, 3, 4, 5, 6})},
                     {"b", encode("BF16", {3}, {0.5f, -1, 2})}});
  Checkpoint ckpt(dir.path());
  EXPECT_EQ(ckpt.file_count(), 1);
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"b", "w"}));
  EXPECT_TRUE(ckpt.has("w"));
  EXPECT_FALSE(ckpt.has("x"));
  EXPECT_EQ(ckpt.shape("w"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ckpt.file_of("w"), dir.file("model.safetensors"));
  arch::Matrix m = ckpt.to_matrix("w", {2, 3});
  ASSERT_EQ(m.rows(), 2);
  ASSERT_EQ(m.cols(), 3);
  EXPECT_EQ(m(0, 2), 3.0f);  // row-major storage
  EXPECT_EQ(m(1, 0), 4.0f);
  arch::Vector v = ckpt.to_vector("b", 3);
  EXPECT_EQ(v(0), 0.5f);
  EXPECT_EQ(v(2), 2.0f);
  expect_user_error(
      [&] {
        ckpt.to_matrix("w", {3, 2});
      },
      {dir.file("model.safetensors") + ": tensor w has shape [2, 3], expected [3, 2]"});
  expect_user_error([&] { ckpt.to_vector("b", 4, "config.json implies"); },
                    {"tensor b has shape [3], config.json implies [4]"});
  expect_user_error([&] { ckpt.read("x"); }, {dir.path(), "tensor 'x' is missing"});
}

TEST(Checkpoint, ReadsShards) {
  TempDir dir;
  write_model(dir.path(), tiny_model("phi3"), "F16", 3);
  Checkpoint ckpt(dir.path());
  EXPECT_EQ(ckpt.file_count(), 3);
  EXPECT_EQ(ckpt.names().size(), tiny_model("phi3").tensors.size());
  EXPECT_EQ(ckpt.file_of("model.embed_tokens.weight"),
            dir.file("model-00002-of-00003.safetensors"));  // second in name order
  EXPECT_EQ(ckpt.shape("model.layers.0.self_attn.qkv_proj.weight"), (std::vector<int64_t>{24, 8}));
}

TEST(Checkpoint, RejectsMissingShardFile) {
  TempDir dir;
  write_model(dir.path(), tiny_model("llama"), "F32", 2);
  std::remove(dir.file("model-00002-of-00002.safetensors").c_str());
  expect_user_error(
      [&] { Checkpoint c(dir.path()); },
      {dir.file("model.safetensors.index.json"),
       "shard file " + dir.file("model-00002-of-00002.safetensors"), "does not exist"});
}

TEST(Checkpoint, RejectsTensorMissingFromItsShard) {
  TempDir dir;
  write_safetensors(dir.file("a.safetensors"), {{"x", encode("F32", {1}, {1})}});
  write_bytes(dir.file("model.safetensors.index.json"),
              R"({"weight_map": {"x": "a.safetensors", "ghost.weight": "a.safetensors"}})");
  expect_user_error([&] { Checkpoint c(dir.path()); },
                    {dir.file("a.safetensors"), "tensor 'ghost.weight'", "is missing"});
}

TEST(Checkpoint, RejectsBadIndexes) {
  TempDir dir;
  const std::string index = dir.file("model.safetensors.index.json");
  write_safetensors(dir.file("a.safetensors"), {{"x", encode("F32", {1}, {1})}});
  struct Case {
    const char* text;
    const char* fragment;
  };
  const Case cases[] = {
      {"{\"weight_map\": ", "malformed JSON"},
      {R"({"metadata": {}})", "has no \"weight_map\" object"},
      {R"({"weight_map": []})", "has no \"weight_map\" object"},
      {R"({"weight_map": {}})", "weight_map is empty"},
      {R"({"weight_map": {"x": 3}})", "weight_map entry of tensor 'x' is not a file name"},
      {R"({"weight_map": {"x": "../a.safetensors"}})", "is not a plain file name"},
      {R"({"weight_map": {"x": "/etc/passwd"}})", "is not a plain file name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    write_bytes(index, c.text);
    expect_user_error([&] { Checkpoint ckpt(dir.path()); }, {index, c.fragment});
  }
}

TEST(Checkpoint, RejectsFolderWithoutWeights) {
  TempDir dir;
  expect_user_error([&] { Checkpoint c(dir.path()); },
                    {dir.path(), "no model.safetensors or model.safetensors.index.json"});
}

}  // namespace
}  // namespace aimc::workloads

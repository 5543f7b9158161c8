// Plans written and read back, as text format and as JSON, are the same plan; bad plan files
// are UserErrors.
#include <cstdio>
#include <fstream>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "mapping/mapper.h"
#include "mapping/plan_io.h"
#include "mapping_test_util.h"
#include "proto/user_error.h"
#include "workloads/shape_cards.h"

namespace aimc::mapping {
namespace {

std::string temp_path(const std::string& name) {
  return std::string(AIMC_BINARY_DIR) + "/test_plan_io_" + name;
}

proto::MappingPlan sample_plan(const std::string& strategy) {
  // GPT-2 with a digital lm_head on 512 x 1024 cells with differential pairs: ~700 blocks.
  const workloads::ModelConfig model = workloads::shape_card("gpt2");
  proto::ChipConfig chip = testing::make_chip(1, 512, 1024, 2);
  testing::size_chip_for(model, &chip, 300);
  chip.mutable_dpu()->set_count(8);
  return make_plan(model, chip, strategy);
}

TEST(PlanIo, TextAndJsonRoundTripExactly) {
  for (const std::string strategy : {"locality", "replicate"}) {
    const proto::MappingPlan plan = sample_plan(strategy);
    ASSERT_GT(plan.blocks_size(), 0);
    for (const std::string ext : {".pbtxt", ".json"}) {
      const std::string path = temp_path(strategy + ext);
      write_plan(plan, path);
      const proto::MappingPlan back = read_plan(path);
      std::string diff;
      google::protobuf::util::MessageDifferencer differ;
      differ.ReportDifferencesToString(&diff);
      EXPECT_TRUE(differ.Compare(plan, back)) << strategy << ext << ":\n" << diff.substr(0, 2000);
      std::remove(path.c_str());
    }
  }
}

TEST(PlanIo, FormatFollowsTheExtension) {
  const proto::MappingPlan plan = sample_plan("dense");
  const std::string json = temp_path("format.json");
  const std::string text = temp_path("format.pbtxt");
  write_plan(plan, json);
  write_plan(plan, text);
  std::ifstream j(json), t(text);
  std::string first_json, first_text;
  std::getline(j, first_json);
  std::getline(t, first_text);
  EXPECT_EQ(first_json, "{");
  EXPECT_EQ(first_text, "model: \"gpt2\"");
  std::remove(json.c_str());
  std::remove(text.c_str());
}

TEST(PlanIo, BadFilesAreUserErrors) {
  EXPECT_THROW(read_plan(temp_path("missing.pbtxt")), UserError);
  EXPECT_THROW(plan_from_text("model: \"x\"\nno_such_field: 1\n", "bad.pbtxt"), UserError);
  EXPECT_THROW(plan_from_json("{\"model\": \"x\", \"no_such_field\": 1}", "bad.json"), UserError);
  try {
    plan_from_text("model: \"x\"\nblocks { tile: -1 }\n", "bad.pbtxt");
    FAIL() << "a negative tile id must not parse";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.pbtxt:2:", 0), 0u) << e.what();
  }
  EXPECT_THROW(write_plan(proto::MappingPlan(), "/no/such/folder/plan.json"), UserError);
}

}  // namespace
}  // namespace aimc::mapping

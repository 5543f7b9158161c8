// Chip configs: presets validate, defaults resolve and validate, broken files give the expected
// message naming the file, line and field path.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "proto/chip_config_io.h"

namespace aimc::proto {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = AIMC_SOURCE_DIR;

std::string error_of(const fs::path& file) {
  try {
    load_chip_config(file.string());
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChipConfig, EveryPresetValidates) {
  int presets = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "configs")) {
    if (entry.path().extension() != ".pbtxt") continue;
    ++presets;
    EXPECT_NO_THROW(load_chip_config(entry.path().string())) << entry.path();
  }
  EXPECT_GE(presets, 2);
}

TEST(ChipConfig, HermesPresetHasPublishedShape) {
  const ChipConfig c = load_chip_config((kSource / "configs/hermes.pbtxt").string());
  EXPECT_EQ(c.tile().count(), 64u);
  EXPECT_EQ(c.tile().rows(), 256u);
  EXPECT_EQ(c.tile().cols(), 256u);
  EXPECT_EQ(c.tile().dac().bits(), 8u);
  EXPECT_EQ(c.tile().adc().bits(), 8u);
  EXPECT_EQ(c.tile().adc().adcs_per_tile(), 256u);
  EXPECT_DOUBLE_EQ(c.clock_ghz(), 1.0);
  EXPECT_TRUE(c.numerics().weight_noise().has_hermes());
}

TEST(ChipConfig, MinimalFileResolvesEveryField) {
  const ChipConfig c = parse_chip_config("schema_version: 1\n", "minimal");
  // Every singular field of every sub-message is now set, and the oneof took its first member;
  // only the (derived) cost fields stay unset, for the converter cost model.
  EXPECT_TRUE(c.has_tile() && c.tile().has_adc() && c.tile().adc().has_bits());
  EXPECT_TRUE(c.tile().adc().has_cost() && c.tile().adc().cost().has_t_lsb_ps());
  EXPECT_FALSE(c.tile().adc().has_t_conversion_ns());
  EXPECT_TRUE(c.numerics().weight_noise().has_none());
  EXPECT_TRUE(c.energy().has_e_program_pj_per_cell());
  EXPECT_FALSE(c.energy().has_e_adc_conversion_pj());
  EXPECT_FALSE(c.energy().has_e_dac_drive_pj());
  EXPECT_FALSE(c.area().has_a_adc_um2());
  EXPECT_EQ(c.tile().adc().bits(), 8u);
  EXPECT_TRUE(validate_chip_config(c).empty());
  // Printing the resolved config and reading it back gives the same config.
  const ChipConfig again = parse_chip_config(to_text(c), "resolved");
  EXPECT_EQ(to_text(again), to_text(c));
}

TEST(ChipConfig, ValidateReportsEveryIssueWithItsPath) {
  ChipConfig c = parse_chip_config("schema_version: 1\n", "minimal");
  c.mutable_tile()->mutable_adc()->set_bits(0);
  c.mutable_tile()->mutable_dac()->set_bits(17);
  c.mutable_dpu()->add_nodes(70);
  const auto issues = validate_chip_config(c);
  std::vector<std::string> paths;
  for (const auto& i : issues) paths.push_back(i.path_string() + ": " + i.message);
  ASSERT_EQ(issues.size(), 4u) << ::testing::PrintToString(paths);
  EXPECT_EQ(paths[0], "tile.dac.bits: must be in 1..16, got 17");
  EXPECT_EQ(paths[1], "tile.adc.bits: must be in 1..16, got 0");
  EXPECT_EQ(paths[2], "dpu.nodes: must list one node per DPU (8) or none, got 1");
  EXPECT_EQ(paths[3], "dpu.nodes[0]: must be a mesh node index below 64, got 70");
}

TEST(ChipConfig, MissingFileIsAUserError) {
  EXPECT_EQ(error_of(kSource / "configs/does-not-exist.pbtxt"),
            "cannot open config file '" + (kSource / "configs/does-not-exist.pbtxt").string() +
                "': No such file or directory");
  EXPECT_EQ(error_of(kSource / "configs"), "cannot read config file '" +
                                               (kSource / "configs").string() +
                                               "': it is a folder, not a file");
}

// Each broken config of the committed corpus gives its expected message.
TEST(ChipConfig, BrokenConfigsGiveExpectedMessages) {
  const fs::path dir = kSource / "tests/fixtures/configs/bad";
  std::ifstream cases(dir / "cases.txt");
  ASSERT_TRUE(cases) << "missing cases.txt";
  std::string line;
  int checked = 0;
  while (std::getline(cases, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto bar = line.find(" | ");
    ASSERT_NE(bar, std::string::npos) << line;
    const std::string file = line.substr(0, bar);
    const std::string expected = line.substr(bar + 3);
    const std::string message = error_of(dir / file);
    EXPECT_NE(message.find(expected), std::string::npos)
        << file << ": expected fragment\n  " << expected << "\ngot\n  " << message;
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(ChipConfig, AtomicWriteLeavesNoTemporaryFile) {
  const fs::path dir = fs::temp_directory_path() / "aimc_atomic_write_test";
  fs::create_directories(dir);
  write_file_atomic((dir / "a.txt").string(), "hello");
  std::ifstream in(dir / "a.txt");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "hello");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_THROW(write_file_atomic((dir / "no/such/folder/a.txt").string(), "x"), UserError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aimc::proto

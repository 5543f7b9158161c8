// System configs: a chip config alone is a one-chip system identical to the chip, groups expand
// by their counts, chips by path are read relative to the system file, and every broken system
// gives FILE:LINE: field.path: message.
#include <filesystem>
#include <fstream>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "proto/system_config_io.h"

namespace aimc::proto {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = AIMC_SOURCE_DIR;

// A scratch folder with files written into it; removed at the end of the test.
class Scratch {
 public:
  Scratch() : dir_(fs::temp_directory_path() / ("aimc_system_test_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~Scratch() { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

std::string error_of(const std::string& path) {
  try {
    load_system_config(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SystemConfig, EveryChipPresetIsAOneChipSystemWithTheSameChip) {
  int presets = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "configs")) {
    if (entry.path().extension() != ".pbtxt") continue;
    ++presets;
    const ChipConfig chip = load_chip_config(entry.path().string());
    const SystemConfig system = load_system_config(entry.path().string());
    EXPECT_EQ(chip_count(system), 1) << entry.path();
    EXPECT_TRUE(is_single_chip(system));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(chip_config(system, 0), chip))
        << entry.path();
    EXPECT_EQ(system.name(), chip.name());
    EXPECT_TRUE(validate_system_config(system).empty());
  }
  EXPECT_GE(presets, 3);
}

TEST(SystemConfig, EverySystemPresetLoads) {
  const fs::path dir = kSource / "configs/systems";
  if (!fs::exists(dir)) GTEST_SKIP() << "no system presets";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".pbtxt") continue;
    SystemConfig s;
    EXPECT_NO_THROW(s = load_system_config(entry.path().string())) << entry.path();
    EXPECT_GT(chip_count(s), 1) << entry.path();
  }
}

TEST(SystemConfig, DetectsSystemFilesByTheirTopLevelFields) {
  EXPECT_TRUE(looks_like_system_config("schema_version: 1\nchips { count: 2 }\n"));
  EXPECT_TRUE(looks_like_system_config("# chips here\nlinks { bandwidth_gbps: 3 }"));
  EXPECT_FALSE(looks_like_system_config("schema_version: 1\ntile { count: 2 }\n"));
  // `count` inside a chip's tile is not a top-level system field.
  EXPECT_FALSE(looks_like_system_config("tile { count: 4 } # chips { }\nname: \"chips\"\n"));
}

TEST(SystemConfig, GroupsExpandByCountAndMeshShapeIsFilledIn) {
  Scratch scratch;
  const std::string chip = scratch.write("chips/small.pbtxt",
                                         "schema_version: 1\nname: \"small\"\ntile { count: 16 }\n"
                                         "noc { mesh_x: 4 mesh_y: 4 }\n");
  const std::string path = scratch.write("sys.pbtxt",
                                         "schema_version: 1\n"
                                         "name: \"six\"\n"
                                         "chips { config_path: \"chips/small.pbtxt\" count: 4 }\n"
                                         "chips { config { schema_version: 1 name: \"big\" } "
                                         "count: 2 dram { capacity_bytes: 1024 } }\n"
                                         "links { topology: MESH_2D bandwidth_gbps: 25 }\n");
  const SystemConfig s = load_system_config(path);
  ASSERT_EQ(chip_count(s), 6);
  EXPECT_FALSE(is_single_chip(s));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(chip_config(s, i).name(), "small");
    EXPECT_EQ(chip_config(s, i).tile().count(), 16u);
    EXPECT_EQ(chip_dram(s, i).capacity_bytes(), 0u);
  }
  for (int i = 4; i < 6; ++i) {
    EXPECT_EQ(chip_config(s, i).name(), "big");
    EXPECT_EQ(chip_config(s, i).tile().count(), 64u);  // the chip default, resolved
    EXPECT_EQ(chip_dram(s, i).capacity_bytes(), 1024u);
  }
  EXPECT_THROW(chip_config(s, 6), std::out_of_range);
  // 6 chips: rows = largest divisor <= sqrt(6) = 2, so 3 x 2.
  EXPECT_EQ(s.links().mesh_x(), 3u);
  EXPECT_EQ(s.links().mesh_y(), 2u);
  EXPECT_DOUBLE_EQ(s.links().bandwidth_gbps(), 25.0);
  EXPECT_DOUBLE_EQ(s.host().latency_ns(), 1000.0);  // default filled in
  // The resolved system prints every chip inline and reads back to itself.
  const SystemConfig again = parse_system_config(to_text(s), "resolved");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again, s));
}

TEST(SystemConfig, TopologyShape) {
  ChipLinkConfig links;
  int x = 0, y = 0;
  topology_shape(links, 16, &x, &y);
  EXPECT_EQ(x * 100 + y, 404);
  topology_shape(links, 8, &x, &y);
  EXPECT_EQ(x * 100 + y, 402);
  topology_shape(links, 7, &x, &y);
  EXPECT_EQ(x * 100 + y, 701);
  links.set_mesh_x(2);
  topology_shape(links, 8, &x, &y);
  EXPECT_EQ(x * 100 + y, 204);
}

struct BadCase {
  const char* name;
  const char* text;
  const char* expected;  // fragment after "FILE"
};

TEST(SystemConfig, BrokenSystemsNameFileLineAndField) {
  Scratch scratch;
  scratch.write("c256.pbtxt", "schema_version: 1\ntile { rows: 256 cols: 256 }\n");
  scratch.write("c512.pbtxt",
                "schema_version: 1\ntile { rows: 512 cols: 512 adc { adcs_per_tile: 512 } }\n"
                "noc { mesh_x: 8 mesh_y: 8 }\n");
  const BadCase cases[] = {
      {"range_in_chip.pbtxt",
       "schema_version: 1\nchips {\n  config {\n    schema_version: 1\n    tile { rows: 0 }\n  "
       "}\n}\n",
       ":5: chips[0].config.tile.rows: must be in 1..65536, got 0"},
      {"link_bw.pbtxt", "schema_version: 1\nchips { count: 2 }\nlinks {\n  bandwidth_gbps: 0\n}\n",
       ":4: links.bandwidth_gbps: must be in 0.001..1000000, got 0"},
      {"count.pbtxt", "schema_version: 1\nchips {\n  count: 0\n}\n",
       ":3: chips[0].count: must be in 1..65536, got 0"},
      {"no_chips.pbtxt", "schema_version: 1\nlinks { topology: RING }\n",
       ": chips: must list at least one chip"},
      {"mesh.pbtxt",
       "schema_version: 1\nchips { count: 4 }\nlinks {\n  topology: MESH_2D\n  mesh_x: 3\n}\n",
       ":5: links.mesh_x: mesh_x * mesh_y must equal the chip count (4), got 3 x 0"},
      {"geometry_inline.pbtxt",
       "schema_version: 1\nchips { config_path: \"c256.pbtxt\" }\nchips {\n  config { "
       "schema_version: 1 tile { rows: 128 } }\n}\n",
       ":4: chips[1].config: tile.rows is 128 but chip 0's is 256; every chip needs the same"},
      {"geometry_path.pbtxt",
       "schema_version: 1\nchips { config_path: \"c256.pbtxt\" }\n\nchips { config_path: "
       "\"c512.pbtxt\" }\n",
       ":4: chips[1].config_path: chip config '"},
      {"count_path.pbtxt",
       "schema_version: 1\nchips { config_path: \"c256.pbtxt\" }\nchips {\n  config_path: "
       "\"c256.pbtxt\"\n  count: 0\n}\n",
       ":5: chips[1].count: must be in 1..65536, got 0"},
      {"dram_path.pbtxt",
       "schema_version: 1\nchips {\n  config_path: \"c256.pbtxt\"\n  dram { capacity_bytes: "
       "2000000000000000 }\n}\n",
       ":4: chips[0].dram.capacity_bytes: must be in 0..1e+15, got 2e+15"},
      {"missing.pbtxt", "schema_version: 1\n\nchips { config_path: \"nope.pbtxt\" }\n",
       ":3: chips[0].config_path: cannot open chip config '"},
      {"unknown.pbtxt", "schema_version: 1\nchips { count: 2 }\nlinks { speed: 3 }\n",
       ":3:14: Message type \"aimc.proto.ChipLinkConfig\" has no field named \"speed\""},
      {"no_version.pbtxt", "chips { count: 2 }\n", ": schema_version: missing"},
      {"no_chip.pbtxt",
       "schema_version: 1\nchips { config_path: \"c256.pbtxt\" }\nchips {\n  count: 2\n}\n",
       ":3: chips[1]: names no chip: give config_path: \"CHIP.pbtxt\" or config { ... }"},
  };
  for (const BadCase& c : cases) {
    const std::string path = scratch.write(c.name, c.text);
    const std::string message = error_of(path);
    EXPECT_EQ(message.rfind(path, 0), 0u) << c.name << ": " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << c.name << ": expected fragment\n  " << c.expected << "\ngot\n  " << message;
  }
  // An error inside a chip file read by path names that file and its own line.
  scratch.write("bad_chip.pbtxt", "schema_version: 1\ntile {\n  cols: 0\n}\n");
  const std::string path = scratch.write("sys_bad_chip.pbtxt",
                                         "schema_version: 1\nchips { config_path: "
                                         "\"bad_chip.pbtxt\" }\n");
  EXPECT_NE(error_of(path).find("bad_chip.pbtxt:3: tile.cols: must be in 1..65536, got 0"),
            std::string::npos)
      << error_of(path);
}

}  // namespace
TEST(SystemConfig, HostLinkOnlyWithAHostBlock) {
  const SystemConfig without = parse_system_config(
      "schema_version: 1\nchips { config { name: \"c\" } count: 2 }\n", "sys.pbtxt");
  EXPECT_FALSE(without.host().enabled());
  const SystemConfig with = parse_system_config(
      "schema_version: 1\nchips { config { name: \"c\" } count: 2 }\nhost { latency_ns: 500 }\n",
      "sys.pbtxt");
  EXPECT_TRUE(with.host().enabled());
  EXPECT_DOUBLE_EQ(with.host().bandwidth_gbps(), 16.0);
  const SystemConfig off = parse_system_config(
      "schema_version: 1\nchips { config { name: \"c\" } count: 2 }\nhost { enabled: false }\n",
      "sys.pbtxt");
  EXPECT_FALSE(off.host().enabled());
  ChipConfig chip;
  chip.set_name("alone");
  EXPECT_FALSE(system_of_chip(chip).host().enabled());
  // The resolved system keeps its choice when printed and read back.
  EXPECT_FALSE(parse_system_config(to_text(without), "again").host().enabled());
  EXPECT_TRUE(parse_system_config(to_text(with), "again").host().enabled());
}

}  // namespace aimc::proto

// The aimcsim program as a user runs it: exit statuses, messages on stderr, --version, --help.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/run_program.h"

namespace aimc::test {
namespace {

const std::string kSource = AIMC_SOURCE_DIR;

TEST(Cli, VersionPrintsVersionAndCommit) {
  const ProgramResult r = run_aimcsim("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("aimcsim 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(git "), std::string::npos) << r.out;
}

TEST(Cli, CommandsWithoutMpiRefuseSeveralMpiProcesses) {
  // As if mpirun had started two copies: each would write the same files.
  const ProgramResult r = run_aimcsim_env("OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0", "run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("aimcsim run was started by an MPI launcher with 2 processes, but only "
                       "`aimcsim sweep`, `eval` and `ttc` use MPI"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, HelpListsCommands) {
  const ProgramResult r = run_aimcsim("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("validate"), std::string::npos);
  EXPECT_NE(r.out.find("describe"), std::string::npos);
}

TEST(Cli, ValidatePrintsResolvedConfig) {
  const ProgramResult r = run_aimcsim("validate " + kSource + "/configs/hermes.pbtxt");
  EXPECT_EQ(r.status, 0) << r.err;
  // Defaults are filled in: fields the preset leaves out appear in the output.
  EXPECT_NE(r.out.find("t_program_row_us: 100"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("devices_per_polarity: 1"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(Cli, BadConfigExitsTwoWithFieldPath) {
  const std::string file = kSource + "/tests/fixtures/configs/bad/adc_bits_zero.pbtxt";
  const ProgramResult r = run_aimcsim("validate " + file);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "aimcsim: error: " + file + ":4: tile.adc.bits: must be in 1..16, got 0\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, SyntheticWeightsNeedAKnownModel) {
  const ProgramResult r = run_aimcsim("eval --model no-such-card --synthetic-weights 3");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no-such-card"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("llama-3.2-1b"), std::string::npos) << r.err;  // the known cards
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, PeakPrintsTheHermesFiguresOfTheRegressionInBothModes) {
  const std::string json = "/tmp/aimcsim_peak_" + std::to_string(::getpid()) + ".json";
  const ProgramResult r =
      run_aimcsim("peak --chip " + kSource + "/configs/hermes.pbtxt --json " + json);
  EXPECT_EQ(r.status, 0) << r.err;
  // docs/validation.md: 63.05 TOPS, 9.758 TOPS/W (test_hermes_peak, test_datasheet).
  EXPECT_NE(r.out.find("  TOPS                       63.05\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  TOPS/W                     9.758\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bound by                   integration"), std::string::npos) << r.out;
  const std::string text = slurp(json);
  std::remove(json.c_str());
  EXPECT_NE(text.find("\"tops_per_mm2\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"area_by_component\""), std::string::npos) << text;

  // 4-phase mode: the same preset with only the read phases changed.
  std::string config = slurp(kSource + "/configs/hermes.pbtxt");
  const auto at = config.find("read_phases: 1");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 14, "read_phases: 4");
  const std::string four = "/tmp/aimcsim_peak4_" + std::to_string(::getpid()) + ".pbtxt";
  std::ofstream(four) << config;
  const ProgramResult r4 = run_aimcsim("peak --chip " + four);
  std::remove(four.c_str());
  EXPECT_EQ(r4.status, 0) << r4.err;
  EXPECT_NE(r4.out.find("  TOPS                       16.22\n"), std::string::npos) << r4.out;
  EXPECT_NE(r4.out.find("  TOPS/W                     2.505\n"), std::string::npos) << r4.out;
}

TEST(Cli, SweepOverRowsShowsAreaAndTopsPerMm2Columns) {
  const std::string dir = ::testing::TempDir() + "/rows_sweep";
  const std::string file = ::testing::TempDir() + "/rows_sweep.pbtxt";
  std::ofstream(file) << "name: \"rows\"\nchip: \"" << kSource
                      << "/configs/default.pbtxt\"\n"
                         "axis { field: \"tile.rows\" values: [\"128\", \"256\"] }\n"
                         "run { prompt_tokens: 2 decode_tokens: 1 no_accuracy: true }\n";
  const ProgramResult r = run_aimcsim("sweep " + file + " -j 2 --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream csv(slurp(dir + "/sweep.csv"));
  std::string header, row128, row256;
  std::getline(csv, header);
  std::getline(csv, row128);
  std::getline(csv, row256);
  auto column = [&](const std::string& row, const std::string& name) {
    std::vector<std::string> names, values;
    std::string cell;
    for (std::istringstream h(header); std::getline(h, cell, ',');) names.push_back(cell);
    for (std::istringstream v(row); std::getline(v, cell, ',');) values.push_back(cell);
    for (size_t i = 0; i < names.size() && i < values.size(); ++i)
      if (names[i] == name) return std::stod(values[i]);
    ADD_FAILURE() << "no column " << name << " in " << header;
    return 0.0;
  };
  // Half the rows: half the cells and DACs, the same ADCs and digital logic, half the peak TOPS.
  EXPECT_LT(column(row128, "area_mm2"), column(row256, "area_mm2"));
  EXPECT_GT(column(row128, "area_mm2"), 0.5 * column(row256, "area_mm2"));
  EXPECT_NEAR(column(row128, "peak_tops"), 0.5 * column(row256, "peak_tops"),
              0.01 * column(row256, "peak_tops"));
  EXPECT_LT(column(row128, "tops_per_mm2"), column(row256, "tops_per_mm2"));
  EXPECT_NE(slurp(dir + "/sweep.html").find("against chip area"), std::string::npos);
}

TEST(Cli, PeakOnABadConfigExitsTwoLikeValidate) {
  const std::string file = kSource + "/tests/fixtures/configs/bad/adc_bits_zero.pbtxt";
  const ProgramResult r = run_aimcsim("peak --chip " + file);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "aimcsim: error: " + file + ":4: tile.adc.bits: must be in 1..16, got 0\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// A system of `count` HERMES chips whose link ports each burn `port_mw`, and its peak as JSON.
nlohmann::json system_peak(const std::string& tag, int count, double port_mw) {
  const std::string file = ::testing::TempDir() + "/peak_system_" + tag + ".pbtxt";
  const std::string json = ::testing::TempDir() + "/peak_system_" + tag + ".json";
  std::ofstream(file) << "schema_version: 1\nname: \"" << tag << "\"\nchips { config_path: \""
                      << kSource << "/configs/hermes.pbtxt\" count: " << count
                      << " }\nlinks { p_port_static_mw: " << port_mw << " }\n";
  const ProgramResult r = run_aimcsim("peak --chip " + file + " --json " + json);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("links carry no traffic in the peak workload"), std::string::npos) << r.out;
  return nlohmann::json::parse(slurp(json));
}

TEST(Cli, PeakOfAOneChipSystemIsTheChipsPeak) {
  const std::string json = ::testing::TempDir() + "/peak_chip.json";
  ASSERT_EQ(run_aimcsim("peak --chip " + kSource + "/configs/hermes.pbtxt --json " + json).status,
            0);
  const nlohmann::json chip = nlohmann::json::parse(slurp(json));
  // A lone chip has no chip-to-chip links, so even a port power adds nothing.
  const nlohmann::json one = system_peak("one", 1, 500);
  EXPECT_EQ(one["chips"], 1);
  EXPECT_EQ(one["tops"].get<double>(), chip["tops"].get<double>());
  EXPECT_EQ(one["power_w"].get<double>(), chip["power_w"].get<double>());
  EXPECT_EQ(one["area_mm2"].get<double>(), chip["area_mm2"].get<double>());
  EXPECT_DOUBLE_EQ(one["tops_per_w"].get<double>(), chip["tops_per_w"].get<double>());
  EXPECT_DOUBLE_EQ(one["tops_per_mm2"].get<double>(), chip["tops_per_mm2"].get<double>());
  EXPECT_EQ(one["link_power_mw"].get<double>(), 0.0);
  EXPECT_EQ(one["per_chip"][0]["datasheet"]["tops"].get<double>(), chip["tops"].get<double>());
}

TEST(Cli, PeakOfNIdenticalChipsIsNTimesOnePlusTheLinkPorts) {
  const nlohmann::json one = system_peak("n1", 1, 0);
  const nlohmann::json five = system_peak("n5", 5, 0);
  const double tops = one["tops"].get<double>(), power = one["power_w"].get<double>();
  EXPECT_EQ(five["chips"], 5);
  EXPECT_EQ(five["distinct_chip_configs"], 1);  // simulated once
  EXPECT_DOUBLE_EQ(five["tops"].get<double>(), 5 * tops);
  EXPECT_DOUBLE_EQ(five["power_w"].get<double>(), 5 * power);
  EXPECT_DOUBLE_EQ(five["area_mm2"].get<double>(), 5 * one["area_mm2"].get<double>());
  EXPECT_DOUBLE_EQ(five["tops_per_w"].get<double>(), one["tops_per_w"].get<double>());
  EXPECT_DOUBLE_EQ(five["tops_per_mm2"].get<double>(), one["tops_per_mm2"].get<double>());
  // 5 chips x 250 mW of idle link ports: 1.25 W more, the same TOPS.
  const nlohmann::json ports = system_peak("n5ports", 5, 250);
  EXPECT_DOUBLE_EQ(ports["tops"].get<double>(), 5 * tops);
  EXPECT_DOUBLE_EQ(ports["link_power_mw"].get<double>(), 1250.0);
  EXPECT_DOUBLE_EQ(ports["power_w"].get<double>(), 5 * power + 1.25);
  EXPECT_DOUBLE_EQ(ports["tops_per_w"].get<double>(), 5 * tops / (5 * power + 1.25));
  double sum_mw = 0;
  for (const auto& e : ports["power_by_component_mw"]) sum_mw += e["mw"].get<double>();
  EXPECT_NEAR(sum_mw * 1e-3, ports["power_w"].get<double>(), 1e-9 * ports["power_w"].get<double>());
}

TEST(Cli, PeakOnABadSystemExitsTwoNamingTheField) {
  const std::string file = ::testing::TempDir() + "/peak_bad_system.pbtxt";
  std::ofstream(file) << "schema_version: 1\nname: \"bad\"\nchips { config_path: \"" << kSource
                      << "/configs/hermes.pbtxt\" count: 2 }\nlinks { p_port_static_mw: -1 }\n";
  const ProgramResult r = run_aimcsim("peak --chip " + file);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "aimcsim: error: " + file +
                       ":4: links.p_port_static_mw: must be in 0..1000000000, got -1\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, UserMistakesExitTwo) {
  for (const std::string args :
       {"validate /no/such/file.pbtxt", "frobnicate", "validate", "validate --bogus-flag x",
        "describe extra-argument", "peak", "peak --chip /no/such/file.pbtxt"}) {
    const ProgramResult r = run_aimcsim(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("aimcsim: error: ", 0), 0u) << args << "\n" << r.err;
    // One clear sentence: a single line.
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST(Cli, DescribeListsNoiseModelsAndPresets) {
  const ProgramResult r = run_aimcsim("describe");
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* name : {"afm_pcm", "pcm_like", "hermes", "gaussian", "ANALOG", "DIGITAL_W4A8",
                           "hermes", "default", "g_max_us"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
}

// `describe` lists every component kind with its statistics and units, and they are those of a
// run's report: each chip statistic of report.json is under its kind with the same unit, and
// every kind listed has statistics in the report.
TEST(Cli, DescribeListsTheComponentsOfTheReportWithUnits) {
  const ProgramResult d = run_aimcsim("describe");
  ASSERT_EQ(d.status, 0) << d.err;
  const size_t section = d.out.find("Chip components");
  ASSERT_NE(section, std::string::npos) << d.out;
  // kind -> its lines in the section ("  kind: description" up to the next kind).
  std::map<std::string, std::string> described;
  std::istringstream lines(d.out.substr(section));
  std::string line, kind;
  std::getline(lines, line);
  while (std::getline(lines, line) && !line.empty()) {
    if (line.rfind("    ", 0) != 0) kind = line.substr(2, line.find(':') - 2);
    described[kind] += line + "\n";
  }
  ASSERT_GE(described.size(), 6u) << d.out;

  const std::string dir = ::testing::TempDir() + "/describe_run";
  const ProgramResult r =
      run_aimcsim("run --no-accuracy --prompt-tokens 2 --decode-tokens 1 --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json report = nlohmann::json::parse(slurp(dir + "/report.json"));
  std::set<std::string> reported;
  for (const nlohmann::json& s : report.at("statistics")) {
    const std::string name = s.at("name");
    if (name.rfind("chip.", 0) != 0 || name == "chip.simulated_time") continue;
    const size_t dot = name.rfind('.');
    std::string instance = name.substr(5, dot - 5);  // "tile*", "dpu3", "noc"
    while (!instance.empty() && (instance.back() == '*' || std::isdigit(instance.back())))
      instance.pop_back();
    reported.insert(instance);
    ASSERT_EQ(described.count(instance), 1u) << name << " of a kind `describe` does not list";
    const std::string stat = name.substr(dot + 1) + " (" + s.at("unit").get<std::string>() + ")";
    EXPECT_NE(described[instance].find(stat), std::string::npos)
        << name << ": no '" << stat << "' in\n"
        << described[instance];
  }
  for (const auto& [k, text] : described)
    EXPECT_EQ(reported.count(k), 1u) << k << " not in the report";
}

// JSON without the fields that time a run (wall and CPU seconds, tokens per second).
nlohmann::json without_timings(nlohmann::json j) {
  if (j.is_object()) {
    for (const char* k : {"wall_s", "cpu_s", "tokens_per_s"}) j.erase(k);
    for (auto& [key, value] : j.items()) value = without_timings(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_timings(value);
  }
  return j;
}

// `eval --json` writes the accuracy section of run's report.json: the same schema
// (proto::AccuracyReport) and, for the same model, data and seeds, the same numbers.
TEST(Cli, EvalJsonIsTheAccuracySectionOfTheReport) {
  const std::string dir = ::testing::TempDir() + "/eval_vs_run";
  std::filesystem::create_directories(dir);
  const std::string flags = " --seeds 2 --max-windows 1";
  ProgramResult r = run_aimcsim("eval" + flags + " --json " + dir + "/eval.json");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_aimcsim("run" + flags + " --prompt-tokens 2 --decode-tokens 1 --out " + dir + "/run");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json eval = nlohmann::json::parse(slurp(dir + "/eval.json"));
  const nlohmann::json accuracy =
      nlohmann::json::parse(slurp(dir + "/run/report.json")).at("accuracy");
  ASSERT_EQ(eval.at("rows").size(), 3u) << eval.dump(1);  // FP32, W4A8, analog
  EXPECT_EQ(without_timings(eval), without_timings(accuracy));
}

// A system of two default chips, written to a temporary file.
std::string two_chip_system() {
  const std::string path =
      ::testing::TempDir() + "aimc_two_chips_" + std::to_string(::getpid()) + ".pbtxt";
  std::ofstream(path) << "schema_version: 1\nname: \"two\"\nchips { config_path: \"" + kSource +
                             "/configs/default.pbtxt\" count: 2 }\nlinks { topology: SWITCH }\n";
  return path;
}

TEST(Cli, ValidateAndMapASystem) {
  const std::string sys = two_chip_system();
  ProgramResult r = run_aimcsim("validate " + sys);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("valid system of 2 chips"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("topology: SWITCH"), std::string::npos) << r.out;
  r = run_aimcsim("map --chip " + sys);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("on system 'two': 2 of 2 chips in 2 pipeline stages"), std::string::npos)
      << r.out;
  // The timed run simulates the system: both chips, the links between them, their report.
  const std::string dir = ::testing::TempDir() + "aimc_two_chips_run_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  r = run_aimcsim("run --no-accuracy --prompt-tokens 4 --decode-tokens 2 --chip " + sys +
                  " --out " + dir);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("system of 2 chips"), std::string::npos) << r.out;
  const std::string json = slurp(dir + "/report.json");
  EXPECT_NE(json.find("\"chip_usage\""), std::string::npos);
  EXPECT_NE(slurp(dir + "/report.html").find("<h2>System</h2>"), std::string::npos);
  EXPECT_NE(json.find("\"chip_links\""), std::string::npos);
  EXPECT_NE(json.find("chip 0 -\\u003e switch"), std::string::npos);  // JSON escapes >
  // Flags that map across chips are refused on one chip rather than ignored.
  EXPECT_EQ(run_aimcsim("run --no-accuracy --split input").status, 2);
}

// Output without the lines that measure the host (wall and CPU time, simulation speed).
std::string without_host_timing(const std::string& text) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (line.find("wall") != std::string::npos || line.find("per wall second") != std::string::npos)
      continue;
    out += line + "\n";
  }
  return out;
}

TEST(Cli, AOneChipSystemGivesTheChipsReport) {
  // Every chip preset, the system presets' chips included.
  for (const std::string preset :
       {"default", "hermes", "llama1b", "ibm34", "isaac", "systems/chips/hermes-4k",
        "systems/chips/hermes-4k-gated", "systems/chips/northpole"}) {
    SCOPED_TRACE(preset);
    const std::string chip = kSource + "/configs/" + preset + ".pbtxt";
    const std::string sys = ::testing::TempDir() + "aimc_one_" +
                            preset.substr(preset.find_last_of('/') + 1) + "_" +
                            std::to_string(::getpid()) + ".pbtxt";
    std::ofstream(sys) << "schema_version: 1\nname: \"one\"\nchips { config_path: \"" + chip +
                              "\" }\n";
    const std::string model = preset == "llama1b" ? " --model gpt2" : "";  // else the bundled one
    // The reports (report.json) are the same but for the host's wall and CPU times.
    // Per process: test suites of several checkouts may run on one machine at once.
    const std::string pid = std::to_string(::getpid());
    const std::string da = ::testing::TempDir() + "aimc_one_a_" + pid,
                      db = ::testing::TempDir() + "aimc_one_b_" + pid;
    std::filesystem::remove_all(da);
    std::filesystem::remove_all(db);
    const std::string run = "run --no-accuracy --prompt-tokens 4 --decode-tokens 2" + model;
    ASSERT_EQ(run_aimcsim(run + " --chip " + chip + " --out " + da).status, 0);
    ASSERT_EQ(run_aimcsim(run + " --chip " + sys + " --out " + db).status, 0);
    auto report = [](const std::string& dir) {
      nlohmann::json j = nlohmann::json::parse(slurp(dir + "/report.json"));
      for (const char* host :
           {"wall_s", "wall_s_per_decode_token", "cpu_s_per_decode_token", "tile_reads_per_wall_s"})
        j.erase(host);
      return j;
    };
    EXPECT_EQ(report(da), report(db));
    EXPECT_EQ(slurp(da + "/report.json").find("\"system\""), std::string::npos);
    for (const std::string& cmd :
         {"run --no-accuracy --prompt-tokens 4 --decode-tokens 2" + model, "map" + model}) {
      const ProgramResult a = run_aimcsim(cmd + " --chip " + chip);
      const ProgramResult b = run_aimcsim(cmd + " --chip " + sys);
      EXPECT_EQ(a.status, 0) << cmd << "\n" << a.err;
      EXPECT_EQ(b.status, 0) << cmd << "\n" << b.err;
      EXPECT_EQ(a.err, b.err) << cmd;
      EXPECT_EQ(without_host_timing(a.out), without_host_timing(b.out)) << cmd;
    }
  }
}

TEST(Cli, MapAcrossChipsPicksTheFewest) {
  ProgramResult r = run_aimcsim("map --model phi-3-mini-4k --chip " + kSource +
                                "/configs/llama1b.pbtxt --chips auto");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2 of 2 chips"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("link bytes per token: 6.14e+03"), std::string::npos) << r.out;
  r = run_aimcsim("map --model phi-3-mini-4k --chip " + kSource + "/configs/llama1b.pbtxt");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("or a system of 2 such chips"), std::string::npos) << r.err;
  for (const std::string bad : {"--chips 0", "--chips two", "--split diagonal", "--lm-head x"}) {
    r = run_aimcsim("map --chips 2 " + bad);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

// `run --chips N|auto` runs a chip config as a system of that many such chips (auto: the fewest
// that hold the model, as `map --chips auto`): its report is that of the same system written as
// a system file, but for the host's times.
// `map` prints the host link's bound: on a system in the estimate (32-bit ids out at 0.001 GB/s:
// 4000 ns each, 2.5e5 tokens/s, the bottleneck), on a one-chip system file with a host block below
// the chip's plan (each way).
TEST(Cli, MapPrintsTheHostLinksBound) {
  const std::string pid = std::to_string(::getpid());
  const std::string dir = ::testing::TempDir() + "aimc_map_host_" + pid;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string chip = kSource + "/tests/fixtures/systems/small32.pbtxt";
  const std::string host = "host { bandwidth_gbps: 0.001 latency_ns: 500 }\n";
  std::ofstream(dir + "/two.pbtxt")
      << "schema_version: 1\nchips { config_path: \"" + chip + "\" count: 2 }\n" + host;
  std::ofstream(dir + "/one.pbtxt") << "schema_version: 1\nchips { config_path: \"" + kSource +
                                           "/configs/default.pbtxt\" }\n" + host;
  const ProgramResult two = run_aimcsim("map --chip " + dir + "/two.pbtxt");
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_NE(
      two.out.find("pipeline throughput: 2.5e+05 tokens/s, bottleneck host link chip 0 -> host"),
      std::string::npos)
      << two.out;
  EXPECT_NE(two.out.find("host link: 4000.000 ns per token out"), std::string::npos) << two.out;
  const ProgramResult one = run_aimcsim("map --chip " + dir + "/one.pbtxt");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_NE(one.out.find("host link: 4000 ns per token id each way (at most 2.5e+05 tokens/s in or "
                         "out), plus 500 ns latency per transfer"),
            std::string::npos)
      << one.out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, RunChipsAutoIsTheSystemOfThatManyChips) {
  const std::string pid = std::to_string(::getpid());
  const std::string dir = ::testing::TempDir() + "aimc_run_chips_" + pid;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string chip = kSource + "/tests/fixtures/systems/small32.pbtxt";
  const std::string sys = dir + "/sys.pbtxt";
  std::ofstream(sys) << "schema_version: 1\nname: \"small32\"\nchips { config_path: \"" + chip +
                            "\" count: 2 }\n";
  auto report = [](const std::string& out) {
    nlohmann::json j = nlohmann::json::parse(slurp(out + "/report.json"));
    for (const char* host :
         {"wall_s", "wall_s_per_decode_token", "cpu_s_per_decode_token", "tile_reads_per_wall_s"})
      j.erase(host);
    return j;
  };
  const std::string run = "run --no-accuracy --prompt-tokens 4 --decode-tokens 4 --batch 2 ";
  ASSERT_EQ(run_aimcsim(run + "--chip " + sys + " --out " + dir + "/file").status, 0);
  for (const std::string chips : {"auto", "2"}) {
    SCOPED_TRACE(chips);
    const ProgramResult r =
        run_aimcsim(run + "--chip " + chip + " --chips " + chips + " --out " + dir + "/" + chips);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("2 of 2 chips"), std::string::npos) << r.out;
    EXPECT_EQ(report(dir + "/" + chips), report(dir + "/file"));
  }
  EXPECT_EQ(report(dir + "/auto")["system"]["chips"], 2);
  // Without --chips the chip alone does not fit, and the advice names the number of chips.
  ProgramResult r = run_aimcsim(run + "--chip " + chip);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("or a system of 2 such chips"), std::string::npos) << r.err;
  for (const std::string bad : {"--chips 0", "--chips two", "--chips auto --lm-head tiles"}) {
    r = run_aimcsim(run + bad);  // the bundled chip holds the model alone
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  std::filesystem::remove_all(dir);
}

TEST(Cli, RunABatch) {
  const ProgramResult r =
      run_aimcsim("run --no-accuracy --batch 4 --prompt-tokens 4 --decode-tokens 4");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("batch of 4 sequences"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("decode throughput (batch)"), std::string::npos) << r.out;
  EXPECT_EQ(run_aimcsim("run --no-accuracy --batch 0").status, 2);
}

TEST(Cli, RunABatchCurve) {
  // The curve's point at batch 4 is exactly the batch report of a run at --batch 4.
  const std::string dir = ::testing::TempDir() + "/batch_curve";
  const std::string flags = "run --no-accuracy --prompt-tokens 4 --decode-tokens 4 ";
  ProgramResult r = run_aimcsim(flags + "--batch-curve 1,4 --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("batch curve (time and energy only)"), std::string::npos) << r.out;
  const nlohmann::json curve = nlohmann::json::parse(slurp(dir + "/report.json"))["batch_curve"];
  ASSERT_EQ(curve.size(), 2u);
  r = run_aimcsim(flags + "--batch 4 --out " + dir + "4");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json four = nlohmann::json::parse(slurp(dir + "4/report.json"));
  EXPECT_EQ(curve[1]["batch"], 4);
  EXPECT_EQ(curve[1]["decode_tokens_per_s"], four["batch"]["decode_tokens_per_s"]);
  EXPECT_EQ(curve[1]["tpot_p90_ns"], four["batch"]["tpot_p90_ns"]);
  EXPECT_EQ(curve[1]["decode_nj_per_token"], four["decode"]["total_nj_per_token"]);
  EXPECT_NE(slurp(dir + "/report.html").find("Decode energy per token against batch"),
            std::string::npos);
  for (const std::string bad : {"0", "2,x", "", "1,,2"}) {
    r = run_aimcsim(flags + "--batch-curve '" + bad + "'");
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

}  // namespace
}  // namespace aimc::test

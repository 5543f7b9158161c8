// Reliability as a user sees it: a sweep folder is locked against a second sweep, a sweep whose
// every point failed exits 2 (some failed: exit 0 and a warning), a run's files appear together and
// stale temporaries of killed runs are cleaned, a model's config.json names its folder, NaN weights
// give NaN metrics.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proto/safe_output.h"
#include "tests/cli/run_program.h"

namespace aimc::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = AIMC_SOURCE_DIR;
const std::string kModel = kSource + "/workloads/models/tinyllama-bytes";

class Reliability : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aimcsim_reliability_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> names_in(const fs::path& d) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

// A process id that no process has now (a child that has ended and been reaped).
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) std::_Exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

std::string host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

TEST_F(Reliability, SecondSweepIntoTheSameFolderIsRefusedNamingTheFirst) {
  const fs::path out = dir_ / "results";
  proto::FolderLock first(out.string(), "sweep");  // stands in for a sweep still running
  const ProgramResult r = run_aimcsim(
      "sweep " + kSource + "/configs/sweeps/bundled_adc_rows.pbtxt --out " + out.string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("'" + out.string() + "' is in use by another sweep (process " +
                       std::to_string(::getpid()) + " on "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_EQ(names_in(out), std::vector<std::string>{".lock"});  // nothing run, nothing mixed
}

TEST_F(Reliability, SweepWhoseEveryPointFailedExitsTwo) {
  const ProgramResult r =
      run_aimcsim("sweep " + kSource + "/tests/fixtures/malformed/sweep_all_fail.pbtxt --out " +
                  (dir_ / "o").string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("every one of the 1 points of the sweep failed (point 000: model "
                       "'llama-3.2-1b' does not fit chip"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  // The failure itself is on record.
  EXPECT_NE(slurp((dir_ / "o/sweep.csv").string()).find("error"), std::string::npos);
}

TEST_F(Reliability, SweepWhereSomePointsFailedExitsZeroSayingSoOnStderr) {
  const fs::path out = dir_ / "o";
  const ProgramResult r = run_aimcsim(
      "sweep " + kSource + "/tests/fixtures/malformed/sweep_some_fail.pbtxt --out " + out.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("aimcsim: warning: 1 of 2 points of the sweep failed (first: point 001: "
                       "model '" +
                       kModel + "' does not fit chip"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("their rows, with status and error, are in " + out.string() +
                       "/sweep.csv and sweep.json"),
            std::string::npos)
      << r.err;
  // Both rows are on record, one ok and one with the error.
  const std::string csv = slurp((out / "sweep.csv").string());
  EXPECT_NE(csv.find(",64,ok,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",8,error,"), std::string::npos) << csv;
}

TEST_F(Reliability, RunFilesAppearTogetherAndStaleTemporariesGo) {
  const fs::path out = dir_ / "runs/out";
  fs::create_directories(dir_ / "runs");
  // What a run killed while writing left behind: its staging folder beside --out.
  const std::string stale = ".out.tmp." + host() + "." + std::to_string(dead_pid());
  fs::create_directories(dir_ / "runs" / stale);
  const std::string args =
      "run --no-accuracy --prompt-tokens 2 --decode-tokens 2 --out " + out.string();
  ProgramResult r = run_aimcsim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(names_in(dir_ / "runs"), std::vector<std::string>{"out"});
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"config.resolved.pbtxt", "mapping.pbtxt",
                                                     "report.html", "report.json"}));
  // Again into the same folder, which now also holds a file of the user and a stale file
  // temporary (the name older versions used): the user's file stays, the temporary goes.
  std::ofstream(out / "notes.txt") << "mine";
  const std::string stale_file = "report.json.tmp." + std::to_string(dead_pid());
  std::ofstream(out / stale_file) << "half";
  r = run_aimcsim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"config.resolved.pbtxt", "mapping.pbtxt",
                                                     "notes.txt", "report.html", "report.json"}));
  EXPECT_EQ(slurp((out / "notes.txt").string()), "mine");
  EXPECT_EQ(names_in(dir_ / "runs"), std::vector<std::string>{"out"});
}

TEST_F(Reliability, ConfigJsonNamesItsModelFolder) {
  const std::string flags = " --seeds 1 --window 16 --max-windows 1 --threads 1";
  const ProgramResult by_folder = run_aimcsim("eval --model " + kModel + flags);
  const ProgramResult by_file = run_aimcsim("eval --model " + kModel + "/config.json" + flags);
  ASSERT_EQ(by_file.status, 0) << by_file.err;
  ASSERT_EQ(by_folder.status, 0) << by_folder.err;
  // The same table (the wall-time column aside): compare the perplexity of the analog row.
  auto analog_row = [](const std::string& out) {
    const size_t at = out.find("\nanalog");
    return at == std::string::npos ? std::string() : out.substr(at, 40);
  };
  EXPECT_FALSE(analog_row(by_file.out).empty()) << by_file.out;
  EXPECT_EQ(analog_row(by_file.out), analog_row(by_folder.out));
}

TEST_F(Reliability, NanWeightGivesNanMetricsNotPlausibleNumbers) {
  // The bundled model with one NaN in its final norm: every logit becomes NaN.
  const fs::path model = dir_ / "nan-model";
  fs::create_directories(model);
  fs::copy_file(kModel + "/config.json", model / "config.json");
  std::string bytes = slurp(kModel + "/model.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  ASSERT_TRUE(header.contains("model.norm.weight"));
  const uint64_t begin = header["model.norm.weight"]["data_offsets"][0].get<uint64_t>();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&bytes[8 + n + begin], &nan, 4);
  std::ofstream(model / "model.safetensors", std::ios::binary) << bytes;
  const ProgramResult r = run_aimcsim("eval --model " + model.string() + " --data " + kSource +
                                      "/workloads/data/kjv-eval.txt" + " --calib " + kSource +
                                      "/workloads/data/kjv-calib.txt" +
                                      " --seeds 2 --window 16 --max-windows 2 --threads 1");
  ASSERT_EQ(r.status, 0) << r.err;
  // Every row's four metrics are printed as "-" (not a number), none as a number such as a
  // top-1 of 0.0375 or a KL of 0.
  for (const char* row : {"\nFP32", "\nW4A8", "\nanalog"}) {
    const size_t at = r.out.find(row);
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
    std::istringstream words(line);
    std::string word;
    int dashes = 0;
    while (words >> word) dashes += word == "-";
    EXPECT_EQ(dashes, 4) << line;
  }
}

}  // namespace
}  // namespace aimc::test

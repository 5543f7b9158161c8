// The aimcsim program as a user runs it: exit statuses, messages on stderr, --version, --help.
#include <gtest/gtest.h>

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

TEST(Cli, UserMistakesExitTwo) {
  for (const std::string args : {"validate /no/such/file.pbtxt", "frobnicate", "validate",
                                 "validate --bogus-flag x", "describe extra-argument"}) {
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

}  // namespace
}  // namespace aimc::test

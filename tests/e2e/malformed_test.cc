// The malformed-input corpus of the command line (tests/fixtures/malformed/cases.txt): every
// case exits 2 with one line naming the file, flag or field, and leaves nothing behind.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cli/run_program.h"

namespace aimc::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = AIMC_SOURCE_DIR;
const std::string kFixtures = kSource + "/tests/fixtures/malformed";

struct Case {
  int line = 0;
  std::string env;   // NAME=VALUE words before the command
  std::string args;  // the command and its flags
  std::string fragment;
};

// Names a case in test output by its line and command.
void PrintTo(const Case& c, std::ostream* os) {
  *os << "cases.txt:" << c.line << ": " << c.args;
}

std::string substitute(std::string s, const std::string& tmp) {
  const std::pair<std::string, std::string> keys[] = {
      {"{src}", kSource}, {"{fix}", kFixtures}, {"{tmp}", tmp}};
  for (const auto& [key, value] : keys) {
    for (size_t pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos)) {
      s.replace(pos, key.size(), value);
      pos += value.size();
    }
  }
  return s;
}

std::vector<Case> read_cases() {
  std::ifstream in(kFixtures + "/cases.txt");
  std::vector<Case> cases;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const size_t bar = line.find(" | ");
    if (bar == std::string::npos) continue;  // HasTheCases counts too few
    Case c;
    c.line = n;
    std::string command = line.substr(0, bar);
    c.fragment = line.substr(bar + 3);
    // Leading NAME=VALUE words are the environment.
    while (true) {
      const size_t space = command.find(' ');
      const std::string word = command.substr(0, space);
      if (word.find('=') == std::string::npos || word[0] == '-') break;
      c.env += (c.env.empty() ? "" : " ") + word;
      command = space == std::string::npos ? "" : command.substr(space + 1);
    }
    c.args = command;
    cases.push_back(c);
  }
  return cases;
}

bool is_char_device(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

class MalformedCorpus : public ::testing::TestWithParam<Case> {};

TEST(MalformedCorpusTable, HasTheCases) {
  EXPECT_GE(read_cases().size(), 40u) << "cases.txt missing or truncated";
}

TEST_P(MalformedCorpus, ExitsTwoWithOneLineAndWritesNothing) {
  const Case& c = GetParam();
  const bool dev_full = is_char_device("/dev/full");
  const fs::path tmp =
      fs::temp_directory_path() /
      ("aimcsim_malformed_" + std::to_string(::getpid()) + "_" + std::to_string(c.line));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string args = substitute(c.args, tmp.string());
  const std::string fragment = substitute(c.fragment, tmp.string());
  SCOPED_TRACE("cases.txt:" + std::to_string(c.line) + ": aimcsim " + args);
  // Run inside the empty folder, so that default output folders would land there too.
  const ProgramResult r = run_aimcsim_in(tmp.string(), c.env, args);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("aimcsim: error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos)
      << "expected fragment\n  " << fragment << "\ngot\n  " << r.err;
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmp)) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  EXPECT_TRUE(is_char_device("/dev/null")) << "/dev/null was replaced";
  if (dev_full) {
    EXPECT_TRUE(is_char_device("/dev/full")) << "/dev/full was replaced";
  }
  fs::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedCorpus, ::testing::ValuesIn(read_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return "line" + std::to_string(info.param.line);
                         });

}  // namespace
}  // namespace aimc::test

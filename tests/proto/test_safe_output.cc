// Outputs: atomic files, special files written in place, staged run folders, stale temporaries,
// folder locks, and the resource limits' messages.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "proto/limits.h"
#include "proto/safe_output.h"

namespace aimc::proto {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class SafeOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aimc_safe_output_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SafeOutput, AtomicWriteReplacesWholeAndKeepsPermissions) {
  const fs::path f = dir_ / "a.txt";
  write_file_atomic(f.string(), "first");
  ::chmod(f.c_str(), 0640);
  write_file_atomic(f.string(), "second");
  EXPECT_EQ(slurp(f), "second");
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{"a.txt"});
}

TEST_F(SafeOutput, SpecialFilesAreWrittenInPlaceNeverReplaced) {
  write_file_atomic("/dev/null", "discarded");
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  if (::stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
    EXPECT_EQ(error_of([] { write_file_atomic("/dev/full", "x"); }),
              "cannot write '/dev/full': No space left on device");
    ASSERT_EQ(::stat("/dev/full", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
  // A named pipe: the reader gets the bytes, the pipe stays a pipe.
  const fs::path fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    write_file_atomic(fifo.string(), "through the pipe");
    std::_Exit(0);
  }
  EXPECT_EQ(slurp(fifo), "through the pipe");
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(SafeOutput, SymbolicLinkKeepsPointingAtTheNewContents) {
  write_file_atomic((dir_ / "real.txt").string(), "old");
  fs::create_symlink(dir_ / "real.txt", dir_ / "link.txt");
  write_file_atomic((dir_ / "link.txt").string(), "new");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.txt"));
  EXPECT_EQ(slurp(dir_ / "real.txt"), "new");
}

TEST_F(SafeOutput, ErrorsNameThePathAndTheReason) {
  EXPECT_EQ(error_of([&] { write_file_atomic((dir_ / "no/such/x").string(), "x"); }),
            "cannot write '" + (dir_ / "no/such/x").string() + "': folder '" +
                (dir_ / "no/such").string() + "': No such file or directory");
  EXPECT_EQ(error_of([&] { write_file_atomic(dir_.string(), "x"); }),
            "cannot write '" + dir_.string() + "': it is a folder");
  EXPECT_EQ(error_of([&] { check_output_file(dir_.string(), "--trace"); }),
            "--trace '" + dir_.string() + "' is a folder; give a file name");
  EXPECT_EQ(error_of([&] { check_output_file((dir_ / "no/x.json").string(), "--json"); }),
            "--json '" + (dir_ / "no/x.json").string() + "': folder '" + (dir_ / "no").string() +
                "': No such file or directory");
  EXPECT_EQ(error_of([&] { check_output_file("/dev/null", "--json"); }), "(no error)");
  write_file_atomic((dir_ / "file").string(), "x");
  EXPECT_EQ(error_of([&] { OutputFolder out((dir_ / "file").string(), "--out"); }),
            "--out '" + (dir_ / "file").string() + "' exists and is not a folder");
  EXPECT_EQ(error_of([&] { OutputFolder out((dir_ / "file/sub").string(), "--out"); }),
            "--out '" + (dir_ / "file/sub").string() + "': '" + (dir_ / "file").string() +
                "' is not a folder");
}

TEST_F(SafeOutput, StaleTemporariesOfDeadProcessesAreRemoved) {
  // A process that has ended: its pid is free (the child was reaped).
  const pid_t child = ::fork();
  if (child == 0) std::_Exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child);
  const std::string alive = std::to_string(::getpid());
  for (const std::string& name : std::vector<std::string>{
           "report.json.tmp." + dead, "report.json.tmp." + alive, "keep.tmp.notapid"}) {
    write_file_atomic((dir_ / name).string(), "x");
  }
  fs::create_directories(dir_ / (".run.tmp." + dead));
  write_file_atomic((dir_ / "report.json").string(), "{}");  // cleans its own stale temporaries
  EXPECT_FALSE(fs::exists(dir_ / ("report.json.tmp." + dead)));
  EXPECT_TRUE(fs::exists(dir_ / ("report.json.tmp." + alive)));
  EXPECT_EQ(remove_stale_temporaries(dir_.string()), 1);  // the staging folder
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"keep.tmp.notapid", "report.json",
                                                      "report.json.tmp." + alive}));
}

TEST_F(SafeOutput, OutputFolderAppearsWholeOrNotAtAll) {
  const fs::path out = dir_ / "a/b/run";
  {
    OutputFolder folder(out.string(), "--out");
    EXPECT_FALSE(fs::exists(dir_ / "a"));  // nothing made before the first file
    folder.write("one.txt", "1");
    folder.write("two.txt", "2");
    EXPECT_FALSE(fs::exists(out));  // not before commit
    // Abandoned without commit: no trace.
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(names_in(dir_ / "a/b").empty());
  {
    OutputFolder folder(out.string(), "--out");
    folder.write("one.txt", "1");
    folder.write("two.txt", "2");
    folder.commit();
  }
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"one.txt", "two.txt"}));
  EXPECT_EQ(names_in(dir_ / "a/b"), std::vector<std::string>{"run"});
  // Into an existing folder with a file of the user: the new set replaces the old, the user's
  // file stays.
  write_file_atomic((out / "mine.txt").string(), "keep me");
  {
    OutputFolder folder(out.string(), "--out");
    folder.write("one.txt", "1b");
    folder.write("two.txt", "2b");
    folder.commit();
  }
  EXPECT_EQ(names_in(out), (std::vector<std::string>{"mine.txt", "one.txt", "two.txt"}));
  EXPECT_EQ(slurp(out / "one.txt"), "1b");
  EXPECT_EQ(slurp(out / "mine.txt"), "keep me");
  EXPECT_EQ(names_in(dir_ / "a/b"), std::vector<std::string>{"run"});
}

TEST_F(SafeOutput, FolderLockRefusesASecondHolderAndNamesTheFirst) {
  {
    FolderLock first(dir_.string(), "sweep");
    // flock() locks belong to open files: a second open in the same process conflicts too,
    // which stands in for a second process.
    const std::string message = error_of([&] { FolderLock second(dir_.string(), "sweep"); });
    EXPECT_NE(message.find("'" + dir_.string() + "' is in use by another sweep (process " +
                           std::to_string(::getpid()) + " on "),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("wait for it to end or choose another folder"), std::string::npos);
  }
  FolderLock again(dir_.string(), "sweep");  // released with the first
}

TEST(Limits, MessagesCarryTheEstimateAndTheLimit) {
  ::setenv("AIMCSIM_MAX_MEMORY_GB", "2", 1);
  ::setenv("AIMCSIM_MAX_OUTPUT_GB", "0.5", 1);
  EXPECT_EQ(error_of([] { check_memory_estimate(1.9e9, "x"); }), "(no error)");
  EXPECT_EQ(error_of([] { check_memory_estimate(24.3e9, "--seeds 1000000000"); }),
            "--seeds 1000000000 would need about 24.3 GB of memory, more than the limit of "
            "2 GB (set by AIMCSIM_MAX_MEMORY_GB)");
  EXPECT_EQ(error_of([] { check_output_estimate(1.99e9, "report.html of a 4096 x 4096 mesh"); }),
            "report.html of a 4096 x 4096 mesh would write about 1.99 GB, more than the limit of "
            "500 MB (set by AIMCSIM_MAX_OUTPUT_GB)");
  ::setenv("AIMCSIM_MAX_MEMORY_GB", "lots", 1);
  EXPECT_EQ(error_of([] { resource_limits(); }),
            "environment variable AIMCSIM_MAX_MEMORY_GB='lots' must be a positive number of "
            "gigabytes");
  ::unsetenv("AIMCSIM_MAX_MEMORY_GB");
  ::unsetenv("AIMCSIM_MAX_OUTPUT_GB");
  EXPECT_GT(resource_limits().memory_bytes, 1e8);
  EXPECT_EQ(resource_limits().output_bytes, 1e9);
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1234567), "1.23 MB");
}

}  // namespace
}  // namespace aimc::proto

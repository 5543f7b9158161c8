// A bounded fuzz test of the aimcsim program: random but seeded mutations of its inputs, each
// run must end in exit 0, or in exit 2 with one line "aimcsim: error: ..." on stderr. A crash,
// a sanitizer report (exit 1 or a signal), an internal error (exit 1) or a hang fails the case,
// which is printed so that it can be replayed by hand.
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <functional>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cli/run_program.h"

namespace aimc::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = AIMC_SOURCE_DIR;

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Cases per group: a few by default so that the sanitizer stage of CI stays short.
int cases_per_group() {
  return static_cast<int>(env_number("AIMCSIM_FUZZ_CASES", 6));
}

std::string read_file(const std::string& path) {
  return slurp(path);
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Fuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    rng_.seed(env_number("AIMCSIM_FUZZ_SEED", 1) * 1000003 +
              std::hash<std::string>()(info->name()));
    dir_ = fs::temp_directory_path() /
           ("aimcsim_fuzz_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  // Values a hostile or careless user might type for a number, a path or a name.
  std::string hostile_value() {
    static const std::vector<std::string> pool = {
        "-1",         "0",          "1",          "-5",
        "2147483647", "2147483648", "4294967296", "99999999999999999999",
        "1e308",      "-1e308",     "1e-320",     "nan",
        "inf",        "-inf",       "0.5",        "3.7",
        "abc",        "",           "\"\"",       "true",
        "BIT_SERIAL", "{",          "}",          "[",
        "#",          ":",          "\\xff",      "\\u0000",
        "/dev/null",  "/tmp"};
    return pool[pick(pool.size())];
  }

  // One random change of a text: a number replaced, a line dropped or doubled, a span cut,
  // bytes inserted, or a byte flipped.
  std::string mutate_text(std::string s) {
    if (s.empty()) return hostile_value();
    switch (pick(6)) {
      case 0: {  // replace a number
        std::vector<size_t> digits;
        for (size_t i = 0; i < s.size(); ++i)
          if (std::isdigit(static_cast<unsigned char>(s[i])) &&
              (i == 0 || !std::isdigit(static_cast<unsigned char>(s[i - 1]))))
            digits.push_back(i);
        if (digits.empty()) break;
        const size_t at = digits[pick(digits.size())];
        size_t end = at;
        while (end < s.size() &&
               (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '.' || s[end] == '-'))
          ++end;
        s.replace(at, end - at, hostile_value());
        return s;
      }
      case 1: {  // drop a line
        size_t a = pick(s.size());
        a = s.rfind('\n', a);
        a = a == std::string::npos ? 0 : a;
        const size_t b = s.find('\n', a + 1);
        s.erase(a, b == std::string::npos ? std::string::npos : b - a);
        return s;
      }
      case 2: {  // duplicate a line
        size_t a = s.rfind('\n', pick(s.size()));
        a = a == std::string::npos ? 0 : a;
        const size_t b = s.find('\n', a + 1);
        const std::string line = s.substr(a, b == std::string::npos ? std::string::npos : b - a);
        s.insert(a, line);
        return s;
      }
      case 3: {  // cut a span
        const size_t a = pick(s.size());
        s.erase(a, 1 + pick(std::min<size_t>(64, s.size() - a)));
        return s;
      }
      case 4: {  // insert bytes
        const std::string junk[] = {
            "}", "{", "\"", "\xff", std::string(1, '\0'), "\xef\xbb\xbf", " 99999999999999999999 ",
            "[", ",", ":"};
        s.insert(pick(s.size() + 1), junk[pick(10)]);
        return s;
      }
      default:  // flip a byte
        s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        return s;
    }
    return s + hostile_value();
  }

  // Runs `aimcsim args` in the test's folder (at most 120 s) and checks how it ended; `input`
  // is the mutated file, kept under a failure's name for replaying.
  void run_case(const std::string& args, const std::string& input = "") {
    const std::string base = (dir_ / "case").string();
    const std::string cmd = "cd " + quote(dir_.string()) + " && timeout 120 " + AIMCSIM_BIN + " " +
                            args + " > " + base + ".out 2> " + base + ".err < /dev/null";
    const int raw = std::system(cmd.c_str());
    const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    const std::string err = slurp(base + ".err");
    ++cases_;
    bool ok = status == 0 || status == 2;
    if (status == 2) ok = err.rfind("aimcsim: error: ", 0) == 0 && err.find('\n') == err.size() - 1;
    if (status == 0) ok = err.find("error") == std::string::npos;
    if (!ok) {
      std::string kept;
      if (!input.empty()) {
        kept = (fs::temp_directory_path() / ("aimcsim_fuzz_failure_" + std::to_string(cases_) +
                                             "_" + fs::path(input).filename().string()))
                   .string();
        std::error_code ec;
        fs::copy(input, kept, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
                 ec);
      }
      ADD_FAILURE() << "aimcsim " << args << "\nexit status " << status
                    << (status == 124 ? " (timed out)" : "") << "\nstderr: " << err
                    << (kept.empty() ? "" : "\ninput kept as " + kept);
    }
    fs::remove(base + ".out");
    fs::remove(base + ".err");
    // Whatever a case wrote (sweep folders, plans) goes, so that each case starts clean.
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("keep_", 0) != 0) fs::remove_all(e.path());
    }
  }

  int cases_ = 0;
  std::mt19937_64 rng_;
  fs::path dir_;
};

TEST_F(Fuzz, ChipPresets) {
  const std::vector<std::string> presets = {"default", "hermes", "llama1b"};
  for (int i = 0; i < cases_per_group(); ++i) {
    const std::string preset = presets[pick(presets.size())];
    std::string text = read_file(kSource + "/configs/" + preset + ".pbtxt");
    const int changes = 1 + static_cast<int>(pick(3));
    for (int k = 0; k < changes; ++k) text = mutate_text(text);
    const std::string file = (dir_ / ("keep_" + preset + ".pbtxt")).string();
    write_file(file, text);
    run_case("validate " + quote(file), file);
    // Every other case also maps a model onto the mutated chip.
    if (i % 2 == 0) run_case("map --model llama-3.2-1b --chip " + quote(file), file);
  }
}

TEST_F(Fuzz, SafetensorsHeader) {
  // The bundled byte-level model: its header mutated, then evaluated on the bundled texts.
  const std::string model = kSource + "/workloads/models/tinyllama-bytes";
  const std::string original = read_file(model + "/model.safetensors");
  ASSERT_GT(original.size(), 8u);
  uint64_t header_len = 0;
  for (int b = 7; b >= 0; --b)
    header_len = (header_len << 8) | static_cast<unsigned char>(original[b]);
  ASSERT_LE(8 + header_len, original.size());
  const std::string header = original.substr(8, header_len);
  const std::string body = original.substr(8 + header_len);
  for (int i = 0; i < cases_per_group(); ++i) {
    const fs::path folder = dir_ / "keep_model";
    fs::remove_all(folder);
    fs::create_directories(folder);
    fs::copy_file(model + "/config.json", folder / "config.json");
    const std::string mutated = mutate_text(header);
    std::string len(8, '\0');
    for (int b = 0; b < 8; ++b) len[b] = static_cast<char>((mutated.size() >> (8 * b)) & 0xff);
    write_file((folder / "model.safetensors").string(), len + mutated + body);
    run_case("eval --model " + quote(folder.string()) + " --data " +
                 quote(kSource + "/workloads/data/kjv-eval.txt") + " --calib " +
                 quote(kSource + "/workloads/data/kjv-calib.txt") +
                 " --seeds 1 --window 16 --max-windows 1 --threads 1",
             folder.string());
  }
}

TEST_F(Fuzz, SweepFiles) {
  const std::vector<std::string> sweeps = {"adc_bits_rows", "bundled_adc_noise", "bundled_adc_rows",
                                           "scaling"};
  for (int i = 0; i < cases_per_group(); ++i) {
    const std::string name = sweeps[pick(sweeps.size())];
    std::string text = read_file(kSource + "/configs/sweeps/" + name + ".pbtxt");
    // Relative paths are taken from the sweep file's folder: make the chip's absolute.
    const size_t rel = text.find("chip: \"../");
    if (rel != std::string::npos) text.replace(rel, 9, "chip: \"" + kSource + "/configs/");
    const int changes = 1 + static_cast<int>(pick(3));
    for (int k = 0; k < changes; ++k) text = mutate_text(text);
    const std::string file = (dir_ / ("keep_" + name + ".pbtxt")).string();
    write_file(file, text);
    run_case("sweep --list " + quote(file), file);
  }
}

TEST_F(Fuzz, FlagsOfEveryCommand) {
  // A cheap valid command line per command, and the flags it takes.
  struct Command {
    std::string base;
    std::vector<std::string> flags;
  };
  const std::string sweep = kSource + "/configs/sweeps/bundled_adc_rows.pbtxt";
  const std::vector<Command> commands = {
      {"validate " + kSource + "/configs/default.pbtxt", {}},
      {"describe", {}},
      {"map --model gpt2 --chip " + kSource + "/configs/llama1b.pbtxt",
       {"--chip", "--model", "--mapping", "--out"}},
      {"eval --seeds 1 --window 16 --max-windows 1 --threads 1",
       {"--chip", "--model", "--data", "--calib", "--seeds", "--seed", "--window", "--max-windows",
        "--threads", "--json"}},
      {"run --no-accuracy --prompt-tokens 2 --decode-tokens 2",
       {"--chip", "--model", "--mapping", "--prompt-tokens", "--decode-tokens", "--out", "--trace",
        "--trace-window-us", "--trace-filter", "--chip-seed", "--seeds", "--window"}},
      {"sweep --list " + sweep, {"--jobs", "--out"}},
      {"ttc --seeds 1 --samples 1 --max-prompts 1 --max-new-tokens 2 --threads 1",
       {"--chip", "--data", "--seeds", "--seed", "--samples", "--temperature", "--max-prompts",
        "--max-new-tokens", "--threads"}},
  };
  for (const Command& c : commands) {
    for (int i = 0; i < cases_per_group(); ++i) {
      std::string args = c.base;
      if (!c.flags.empty())
        args += " " + c.flags[pick(c.flags.size())] + " " + quote(hostile_value());
      if (pick(4) == 0) args += " " + quote(hostile_value());  // a stray word
      if (pick(4) == 0) args += " --no-such-flag";
      run_case(args);
    }
  }
}

}  // namespace
}  // namespace aimc::test

// SafetensorsFile: round trips in F32/F16/BF16, exact widening of hand-picked bit patterns, and
// the committed corpus of malformed files (each rejected with its expected message).
#include "workloads/safetensors.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/workloads_loader/test_support.h"

namespace aimc::workloads {
namespace {

using testing::encode;
using testing::expect_user_error;
using testing::TempDir;
using testing::write_bytes;
using testing::write_safetensors;

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(Safetensors, F16WideningIsExact) {
  struct Case {
    uint16_t half;
    float value;
  };
  const Case cases[] = {
      {0x0000, 0.0f},
      {0x3c00, 1.0f},
      {0xc000, -2.0f},
      {0x3555, 0.333251953125f},
      {0x7bff, 65504.0f},                 // largest normal
      {0x0400, 6.103515625e-05f},         // smallest normal, 2^-14
      {0x0001, 5.9604644775390625e-08f},  // smallest subnormal, 2^-24
      {0x03ff, 6.097555160522461e-05f},   // largest subnormal, 1023 * 2^-24
      {0x8200, -3.0517578125e-05f},       // negative subnormal, -512 * 2^-24
      {0x7c00, std::numeric_limits<float>::infinity()},
      {0xfc00, -std::numeric_limits<float>::infinity()},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(bits_of(f16_to_float(c.half)), bits_of(c.value)) << std::hex << c.half;
  }
  // Negative zero keeps its sign.
  EXPECT_EQ(bits_of(f16_to_float(0x8000)), 0x80000000u);
  // NaNs stay NaNs, payload kept in the top mantissa bits.
  EXPECT_TRUE(std::isnan(f16_to_float(0x7e00)));
  EXPECT_EQ(bits_of(f16_to_float(0x7e01)), 0x7fc02000u);
  EXPECT_TRUE(std::isnan(f16_to_float(0xfc01)));
  // Every finite half widens to exactly ldexp(mantissa, exponent).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const int exponent = (h >> 10) & 0x1f;
    if (exponent == 0x1f) continue;
    const int mantissa = h & 0x3ff;
    double expected =
        exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
    if (h & 0x8000) expected = -expected;
    ASSERT_EQ(static_cast<double>(f16_to_float(static_cast<uint16_t>(h))), expected) << h;
  }
}

TEST(Safetensors, Bf16WideningIsExact) {
  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xc040), -3.0f);
  EXPECT_EQ(bits_of(bf16_to_float(0x8000)), 0x80000000u);    // negative zero
  EXPECT_EQ(bf16_to_float(0x0001), std::ldexp(1.0f, -133));  // smallest subnormal
  EXPECT_EQ(bf16_to_float(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_float(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_float(0x7fc0)));
  EXPECT_EQ(bf16_to_float(0x3e2b), 0.1669921875f);
}

TEST(Safetensors, RoundTripsEveryReadableDtype) {
  TempDir dir;
  const float inf = std::numeric_limits<float>::infinity();
  // Values exact in all three dtypes, so the read-back must match bit for bit.
  const std::vector<float> values = {0.0f, -0.0f, 1.0f, -2.5f, 0.125f, 96.0f, -inf, inf};
  // 2^-24: a half subnormal; exact in float32 and bfloat16 too.
  const std::vector<float> tiny = {std::ldexp(1.0f, -24), -std::ldexp(3.0f, -24)};
  for (const std::string dtype : {"F32", "F16", "BF16"}) {
    const std::string path = dir.file(dtype + ".safetensors");
    write_safetensors(path,
                      {{"a.weight", encode(dtype, {2, 4}, values)},
                       {"b.tiny", encode(dtype, {2}, tiny)},
                       {"c.scalar", encode(dtype, {}, {7.0f})},
                       {"d.empty", encode(dtype, {0, 3}, {})}},
                      R"({"format":"pt"})");
    SafetensorsFile file(path);
    EXPECT_EQ(file.names(),
              (std::vector<std::string>{"a.weight", "b.tiny", "c.scalar", "d.empty"}));
    EXPECT_EQ(file.metadata().at("format"), "pt");
    const TensorInfo& a = file.info("a.weight");
    EXPECT_EQ(dtype_name(a.dtype), dtype);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 4}));
    std::vector<float> read = file.read("a.weight");
    ASSERT_EQ(read.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(bits_of(read[i]), bits_of(values[i])) << dtype << " element " << i;
    }
    std::vector<float> read_tiny = file.read("b.tiny");
    EXPECT_EQ(read_tiny, tiny) << dtype;
    EXPECT_EQ(file.read("c.scalar"), std::vector<float>{7.0f});
    EXPECT_EQ(file.info("c.scalar").element_count(), 1);
    EXPECT_TRUE(file.read("d.empty").empty());
    expect_user_error([&] { file.info("nope"); }, {path, "nope"});
  }
}

TEST(Safetensors, AcceptsUnorderedOffsetsThatCoverTheData) {
  TempDir dir;
  // b's data comes first, then a; the header lists a first. (Gaps are rejected: see the corpus.)
  std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string file(8, '\0');
  file[0] = static_cast<char>(header.size());
  float a = 3.0f, b = -1.0f;
  std::string data(8, '\0');
  std::memcpy(&data[4], &a, 4);
  std::memcpy(&data[0], &b, 4);
  write_bytes(dir.file("gap.safetensors"), file + header + data);
  SafetensorsFile st(dir.file("gap.safetensors"));
  EXPECT_EQ(st.read("a"), std::vector<float>{3.0f});
  EXPECT_EQ(st.read("b"), std::vector<float>{-1.0f});
}

TEST(Safetensors, MissingFileAndFolderAreUserErrors) {
  TempDir dir;
  expect_user_error([&] { SafetensorsFile f(dir.file("absent.safetensors")); },
                    {"absent.safetensors", "cannot open"});
  expect_user_error([&] { SafetensorsFile f(dir.path()); }, {dir.path(), "not a regular file"});
}

TEST(Safetensors, MovedFileStaysReadable) {
  TempDir dir;
  write_safetensors(dir.file("m.safetensors"), {{"w", encode("F32", {1}, {5.0f})}});
  SafetensorsFile first(dir.file("m.safetensors"));
  SafetensorsFile second(std::move(first));
  EXPECT_EQ(second.read("w"), std::vector<float>{5.0f});
  SafetensorsFile third = std::move(second);
  EXPECT_EQ(third.read("w"), std::vector<float>{5.0f});
}

/// One line of tests/fixtures/safetensors/bad/cases.txt.
struct BadCase {
  std::string file;
  std::string fragment;
};

std::vector<BadCase> bad_cases() {
  std::ifstream in(std::string(AIMC_SOURCE_DIR) + "/tests/fixtures/safetensors/bad/cases.txt");
  std::vector<BadCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    cases.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return cases;
}

TEST(Safetensors, RejectsEveryFileOfTheMalformedCorpus) {
  const std::string folder = std::string(AIMC_SOURCE_DIR) + "/tests/fixtures/safetensors/bad";
  const std::vector<BadCase> cases = bad_cases();
  ASSERT_GE(cases.size(), 30u) << "cases.txt missing or truncated";
  std::set<std::string> listed;
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.file);
    listed.insert(c.file);
    const std::string path = folder + "/" + c.file;
    ASSERT_TRUE(std::filesystem::exists(path));
    // Opening validates the header; reading every tensor catches unsupported dtypes.
    expect_user_error(
        [&] {
          SafetensorsFile file(path);
          for (const std::string& name : file.names()) file.read(name);
        },
        {path, c.fragment});
  }
  // The table and the folder must not drift apart.
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name != "cases.txt") {
      EXPECT_TRUE(listed.count(name)) << name << " is not in cases.txt";
    }
  }
}

}  // namespace
}  // namespace aimc::workloads

// Token readers (text, raw uint32, .npy) on good and bad files written into a temp folder, and
// windowing.
#include "workloads/dataset.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "proto/user_error.h"

namespace aimc::workloads {
namespace {

namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("aimc_dataset_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static std::string le(uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return s;
  }

  // A version-1 .npy file: magic, version, header length, header dict padded to 64 bytes.
  static std::string npy(const std::string& descr, const std::string& fortran,
                         const std::string& shape, const std::string& data) {
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
    header.push_back('\n');
    return std::string("\x93NUMPY\x01\x00", 8) + le(header.size(), 2) + header + data;
  }

  // Expects a UserError whose message contains every fragment.
  template <typename F>
  static void expect_user_error(F f, std::initializer_list<std::string> fragments) {
    try {
      f();
      ADD_FAILURE() << "no UserError thrown";
    } catch (const UserError& e) {
      for (const auto& frag : fragments) {
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
            << "'" << e.what() << "' lacks '" << frag << "'";
      }
    }
  }

  fs::path dir_;
};

TEST_F(DatasetTest, TextIsBytes) {
  const std::string path = write("a.txt", std::string("Hi\n\xff\x00", 5));
  EXPECT_EQ(read_text_tokens(path), (TokenIds{72, 105, 10, 255, 0}));
  EXPECT_EQ(load_tokens(path, 256), (TokenIds{72, 105, 10, 255, 0}));
}

TEST_F(DatasetTest, TextOutsideVocabularyNamesFileAndPosition) {
  const std::string path = write("b.txt", "ab\xc3\xa9");
  expect_user_error([&] { load_tokens(path, 128); }, {path, "position 2", "195", "128"});
}

TEST_F(DatasetTest, RawUint32LittleEndian) {
  const std::string path = write("t.u32", le(1, 4) + le(70000, 4) + le(0, 4));
  EXPECT_EQ(load_tokens(path, 100000), (TokenIds{1, 70000, 0}));
  const std::string bin = write("t.bin", le(5, 4));
  EXPECT_EQ(load_tokens(bin, 0), (TokenIds{5}));
}

TEST_F(DatasetTest, RawUint32Errors) {
  const std::string odd = write("odd.bin", le(1, 4) + "xy");
  expect_user_error([&] { load_tokens(odd, 0); }, {odd, "multiple of 4"});
  const std::string big = write("big.u32", le(3, 4) + le(50, 4));
  expect_user_error([&] { load_tokens(big, 50); }, {big, "position 1", "50"});
}

TEST_F(DatasetTest, NpyDtypes) {
  EXPECT_EQ(read_npy_tokens(
                write("u4.npy", npy("<u4", "False", "(3,)", le(1, 4) + le(2, 4) + le(65536, 4)))),
            (TokenIds{1, 2, 65536}));
  EXPECT_EQ(read_npy_tokens(write("i4.npy", npy("<i4", "False", "(2,)", le(7, 4) + le(9, 4)))),
            (TokenIds{7, 9}));
  EXPECT_EQ(read_npy_tokens(write("u2.npy", npy("<u2", "False", "(2,)", le(300, 2) + le(1, 2)))),
            (TokenIds{300, 1}));
  EXPECT_EQ(read_npy_tokens(write("i8.npy", npy("<i8", "False", "(2,)", le(4, 8) + le(123456, 8)))),
            (TokenIds{4, 123456}));
  EXPECT_EQ(read_npy_tokens(write("empty.npy", npy("<u4", "False", "(0,)", ""))), TokenIds{});
  // Through load_tokens (dispatch by extension) with the vocabulary check.
  const std::string p = write("v.npy", npy("<i4", "False", "(2,)", le(7, 4) + le(99, 4)));
  expect_user_error([&] { load_tokens(p, 50); }, {p, "position 1", "99"});
}

TEST_F(DatasetTest, NpyVersion2Header) {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }";
  while ((12 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  const std::string bytes =
      std::string("\x93NUMPY\x02\x00", 8) + le(header.size(), 4) + header + le(42, 2);
  EXPECT_EQ(read_npy_tokens(write("v2.npy", bytes)), (TokenIds{42}));
}

TEST_F(DatasetTest, NpyErrorsNameTheFile) {
  const std::string magic = write("magic.npy", "PK\x03\x04 not numpy at all");
  expect_user_error([&] { read_npy_tokens(magic); }, {magic, "bad magic"});
  const std::string f4 = write("f4.npy", npy("<f4", "False", "(1,)", le(0, 4)));
  expect_user_error([&] { read_npy_tokens(f4); }, {f4, "unsupported", "<f4"});
  const std::string be = write("be.npy", npy(">u4", "False", "(1,)", le(0, 4)));
  expect_user_error([&] { read_npy_tokens(be); }, {be, "unsupported", ">u4"});
  const std::string fortran = write("fortran.npy", npy("<u4", "True", "(1,)", le(0, 4)));
  expect_user_error([&] { read_npy_tokens(fortran); }, {fortran, "Fortran"});
  const std::string trunc = write("trunc.npy", npy("<u4", "False", "(4,)", le(1, 4) + le(2, 4)));
  expect_user_error([&] { read_npy_tokens(trunc); }, {trunc, "truncated"});
  const std::string two_d = write("2d.npy", npy("<u4", "False", "(2, 2)", std::string(16, '\0')));
  expect_user_error([&] { read_npy_tokens(two_d); }, {two_d, "1-D"});
  const std::string neg = write("neg.npy", npy("<i8", "False", "(2,)", le(1, 8) + le(-3, 8)));
  expect_user_error([&] { read_npy_tokens(neg); }, {neg, "position 1"});
  const std::string short_header =
      write("short.npy", std::string("\x93NUMPY\x01\x00\xff\x00{", 11));
  expect_user_error([&] { read_npy_tokens(short_header); }, {short_header, "truncated"});
  expect_user_error([&] { load_tokens((dir_ / "missing.npy").string(), 0); }, {"missing.npy"});
}

TEST(Windows, NonOverlappingWithTargets) {
  TokenIds t(23);
  for (int i = 0; i < 23; ++i) t[i] = i;
  const auto w = make_windows(t, 4, 0, "data");
  ASSERT_EQ(w.size(), 4u);  // 23 / 5
  EXPECT_EQ(w[0].tokens, (TokenIds{0, 1, 2, 3, 4}));
  EXPECT_EQ(w[1].tokens, (TokenIds{5, 6, 7, 8, 9}));
  EXPECT_EQ(w[3].tokens, (TokenIds{15, 16, 17, 18, 19}));
  EXPECT_EQ(w[3].length(), 4);
  EXPECT_EQ(make_windows(t, 4, 2, "data").size(), 2u);
  EXPECT_EQ(make_windows(t, 4, 10, "data").size(), 4u);
  EXPECT_THROW(make_windows(t, 23, 0, "data"), UserError);
  EXPECT_THROW(make_windows(t, 0, 0, "data"), UserError);
  EXPECT_EQ(make_windows(t, 22, 0, "data").size(), 1u);
}

TEST(Windows, DisjointCounts) {
  TokenIds t(23);
  WindowSpec spec;
  spec.size = 4;
  const auto w = make_windows(t, spec, "data");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[2].start, 10u);
  const WindowStats s = window_stats(w, t.size());
  EXPECT_EQ(s.tokens_read, 20);
  EXPECT_EQ(s.predictions, 16);
  EXPECT_EQ(s.unused, 3);  // the dropped tail 20..22
}

// Hugging Face's perplexity recipe on 10 tokens, window 4: stride 4 gives [0,4) [4,8) [8,10),
// predicting 1..3, 5..7, 9 (token 0, 4 and 8 start a window and are not predicted); stride 2
// gives [0,4) [2,6) [4,8) [6,10), each scoring only targets after the previous window's end:
// 1..3, 4..5, 6..7, 8..9, every token but the first once.
TEST(Windows, HuggingFaceRecipe) {
  TokenIds t(10);
  for (int i = 0; i < 10; ++i) t[i] = i;
  WindowSpec spec;
  spec.kind = Windowing::kHf;
  spec.size = 4;
  auto w = make_windows(t, spec, "data");
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].tokens, (TokenIds{0, 1, 2, 3}));
  EXPECT_EQ(w[0].length(), 3);
  EXPECT_EQ(w[1].tokens, (TokenIds{4, 5, 6, 7}));
  EXPECT_EQ(w[1].scored_from, 0);
  EXPECT_EQ(w[2].tokens, (TokenIds{8, 9}));
  WindowStats s = window_stats(w, t.size());
  EXPECT_EQ(s.tokens_read, 10);
  EXPECT_EQ(s.predictions, 3 + 3 + 1);
  EXPECT_EQ(s.unused, 0);

  spec.stride = 2;
  w = make_windows(t, spec, "data");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[1].tokens, (TokenIds{2, 3, 4, 5}));
  EXPECT_EQ(w[1].scored_from, 1);  // input 3 predicts 4: targets 4, 5
  EXPECT_EQ(w[1].predictions(), 2);
  EXPECT_EQ(w[3].tokens, (TokenIds{6, 7, 8, 9}));
  EXPECT_EQ(w[3].scored_from, 1);
  s = window_stats(w, t.size());
  EXPECT_EQ(s.tokens_read, 10);
  EXPECT_EQ(s.predictions, 9);

  spec.max_windows = 2;
  s = window_stats(make_windows(t, spec, "data"), t.size());
  EXPECT_EQ(s.windows, 2);
  EXPECT_EQ(s.unused, 4);
  spec.max_windows = 0;
  spec.stride = 5;
  EXPECT_THROW(make_windows(t, spec, "data"), UserError);  // stride > window
  spec.stride = 0;
  spec.size = 1;
  EXPECT_THROW(make_windows(t, spec, "data"), UserError);
  EXPECT_EQ(parse_windowing("hf"), Windowing::kHf);
  EXPECT_THROW(parse_windowing("rolling"), UserError);
}

}  // namespace
}  // namespace aimc::workloads

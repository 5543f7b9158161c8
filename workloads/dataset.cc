// Token file readers (text bytes, raw uint32, NumPy .npy) and windowing. The .npy header is
// parsed by workloads/npy.h, shared with the float arrays of `aimcsim linear`.
#include "workloads/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "proto/limits.h"
#include "proto/safe_output.h"
#include "proto/user_error.h"
#include "workloads/npy.h"

namespace aimc::workloads {
namespace {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw UserError(path + ": is a folder, not a token file");
  }
  if (std::filesystem::is_regular_file(status)) {
    // The bytes and their tokens (4 bytes each, for text) are held at once.
    const double size = static_cast<double>(std::filesystem::file_size(path, ec));
    proto::check_memory_estimate(5 * size, "reading token file '" + path + "'");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw UserError(path + ": cannot open token file" +
                    (err != 0 ? ": " + proto::os_error_text(err) : std::string()));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw UserError(path + ": read error");
  return bytes;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  std::string tail = s.substr(s.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == suffix;
}

// Little-endian integer of `n` bytes at `p` (the host may be either endianness).
uint64_t load_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

TokenIds read_text_tokens(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  TokenIds tokens(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) tokens[i] = static_cast<unsigned char>(bytes[i]);
  return tokens;
}

TokenIds read_u32_tokens(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  if (bytes.size() % 4 != 0) {
    throw UserError(path + ": raw uint32 token file has " + std::to_string(bytes.size()) +
                    " bytes, not a multiple of 4");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  TokenIds tokens(bytes.size() / 4);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint64_t v = load_le(p + 4 * i, 4);
    if (v > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      throw UserError(path + ": token " + std::to_string(v) + " at position " + std::to_string(i) +
                      " does not fit in int32");
    }
    tokens[i] = static_cast<int32_t>(v);
  }
  return tokens;
}

TokenIds read_npy_tokens(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  const NpyHeader header = read_npy_header(bytes, path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t data_offset = header.data_offset;
  const std::string descr = header.descr();
  int item_size = 0;
  bool is_signed = false;
  if (descr == "<u4") {
    item_size = 4;
  } else if (descr == "<i4") {
    item_size = 4, is_signed = true;
  } else if (descr == "<u2") {
    item_size = 2;
  } else if (descr == "<i8") {
    item_size = 8, is_signed = true;
  } else if (descr == "|u1") {
    item_size = 1;
  } else {
    throw UserError(path + ": unsupported .npy dtype '" + descr +
                    "' (token arrays must be <u4, <i4, <u2, <i8 or |u1)");
  }

  const std::string fortran = header.value("fortran_order");
  if (fortran == "True") throw UserError(path + ": Fortran-order .npy arrays are not supported");
  if (fortran != "False") throw UserError(path + ": malformed fortran_order '" + fortran + "'");

  // Shape: "(N,)" for a 1-D array; anything else (scalars, 2-D) is rejected.
  const std::string shape = header.value("shape");
  std::string inner = shape;
  inner.erase(
      std::remove_if(inner.begin(), inner.end(), [](unsigned char c) { return std::isspace(c); }),
      inner.end());
  if (inner.size() < 3 || inner.front() != '(' || inner.back() != ')' ||
      inner[inner.size() - 2] != ',' || inner.find(',') != inner.size() - 2) {
    throw UserError(path + ": .npy token array must be 1-D, shape is " + shape);
  }
  const std::string count_text = inner.substr(1, inner.size() - 3);
  if (count_text.empty() || !std::all_of(count_text.begin(), count_text.end(),
                                         [](unsigned char c) { return std::isdigit(c); })) {
    throw UserError(path + ": malformed .npy shape " + shape);
  }
  // Compared without multiplying, so that no shape (up to 2^64 - 1 and beyond) can overflow.
  const size_t have = bytes.size() - data_offset;
  const size_t count = count_text.size() <= 19 ? std::stoull(count_text) : SIZE_MAX;
  if (count > have / static_cast<size_t>(item_size)) {
    throw UserError(path + ": truncated .npy data: shape " + shape + " needs " +
                    (count == SIZE_MAX
                         ? std::string("more")
                         : std::to_string(count) + " x " + std::to_string(item_size)) +
                    " bytes, file has " + std::to_string(have));
  }

  TokenIds tokens(count);
  const unsigned char* data = p + data_offset;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t raw = load_le(data + i * item_size, item_size);
    int64_t v = static_cast<int64_t>(raw);
    if (is_signed && item_size == 4) v = static_cast<int32_t>(static_cast<uint32_t>(raw));
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
      throw UserError(path + ": token " + std::to_string(v) + " at position " + std::to_string(i) +
                      " is not a valid token id");
    }
    tokens[i] = static_cast<int32_t>(v);
  }
  return tokens;
}

void check_token_ids(const TokenIds& tokens, int vocab_size, const std::string& source) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size) {
      throw UserError(source + ": token " + std::to_string(tokens[i]) + " at position " +
                      std::to_string(i) + " is outside the vocabulary (size " +
                      std::to_string(vocab_size) + ")");
    }
  }
}

TokenIds load_tokens(const std::string& path, int vocab_size) {
  TokenIds tokens;
  if (ends_with(path, ".npy")) {
    tokens = read_npy_tokens(path);
  } else if (ends_with(path, ".bin") || ends_with(path, ".u32")) {
    tokens = read_u32_tokens(path);
  } else {
    tokens = read_text_tokens(path);
  }
  if (vocab_size > 0) check_token_ids(tokens, vocab_size, path);
  return tokens;
}

std::vector<TokenWindow> make_windows(const TokenIds& tokens, int length, int max_windows,
                                      const std::string& source) {
  if (length < 1) {
    throw UserError(source + ": window length must be at least 1, got " + std::to_string(length));
  }
  const size_t stride = static_cast<size_t>(length) + 1;
  size_t n = tokens.size() / stride;
  if (n == 0) {
    throw UserError(source + ": " + std::to_string(tokens.size()) +
                    " tokens are fewer than one window of " + std::to_string(stride) +
                    " (length + 1 for the next-token targets)");
  }
  if (max_windows > 0) n = std::min(n, static_cast<size_t>(max_windows));
  std::vector<TokenWindow> windows(n);
  for (size_t i = 0; i < n; ++i) {
    windows[i].tokens.assign(tokens.begin() + i * stride, tokens.begin() + (i + 1) * stride);
    windows[i].start = i * stride;
  }
  return windows;
}

std::string windowing_name(Windowing w) {
  return w == Windowing::kHf ? "hf" : "disjoint";
}

Windowing parse_windowing(const std::string& name) {
  if (name == "disjoint") return Windowing::kDisjoint;
  if (name == "hf") return Windowing::kHf;
  throw UserError("--windowing: expected disjoint or hf, got '" + name + "'");
}

WindowStats window_stats(const std::vector<TokenWindow>& windows, size_t dataset_tokens) {
  WindowStats s;
  s.windows = static_cast<int>(windows.size());
  size_t end = 0;
  for (const TokenWindow& w : windows) {
    const size_t w_end = w.start + w.tokens.size();
    s.tokens_read += static_cast<long long>(w_end - std::max(end, w.start));
    end = std::max(end, w_end);
    s.predictions += w.predictions();
  }
  s.unused = static_cast<long long>(dataset_tokens > end ? dataset_tokens - end : 0);
  return s;
}

std::vector<TokenWindow> make_windows(const TokenIds& tokens, const WindowSpec& spec,
                                      const std::string& source) {
  if (spec.kind == Windowing::kDisjoint) {
    return make_windows(tokens, spec.size, spec.max_windows, source);
  }
  if (spec.size < 2) {
    throw UserError(source + ": an hf window needs at least 2 tokens, got " +
                    std::to_string(spec.size));
  }
  const size_t size = static_cast<size_t>(spec.size);
  const size_t stride = spec.stride > 0 ? static_cast<size_t>(spec.stride) : size;
  if (stride > size) {
    throw UserError(source + ": the stride (" + std::to_string(stride) +
                    ") must not exceed the window (" + std::to_string(size) + " tokens)");
  }
  std::vector<TokenWindow> windows;
  size_t prev_end = 0;
  for (size_t begin = 0; begin < tokens.size(); begin += stride) {
    const size_t end = std::min(begin + size, tokens.size());
    TokenWindow w;
    w.tokens.assign(tokens.begin() + begin, tokens.begin() + end);
    w.start = begin;
    // Target g is predicted by input position g - begin - 1; targets before prev_end are
    // scored already.
    w.scored_from = prev_end > begin + 1 ? static_cast<int>(prev_end - begin - 1) : 0;
    prev_end = end;
    if (w.predictions() > 0) windows.push_back(std::move(w));
    if (end == tokens.size()) break;
    if (spec.max_windows > 0 && static_cast<int>(windows.size()) >= spec.max_windows) break;
  }
  if (windows.empty()) {
    throw UserError(source + ": " + std::to_string(tokens.size()) +
                    " tokens hold no prediction (an hf window needs at least 2 tokens)");
  }
  return windows;
}

}  // namespace aimc::workloads

// Token datasets for evaluation and calibration: reading token ids from text (bytes), raw
// little-endian uint32 files and NumPy .npy arrays, and cutting them into fixed-length windows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aimc::workloads {

/// A sequence of token ids (non-negative, < the model's vocabulary size once validated).
using TokenIds = std::vector<int32_t>;

/// The bytes of a text file, one token per byte (ids 0..255, for byte-level models such as the
/// bundled one). No decoding: UTF-8 multi-byte characters become several tokens.
TokenIds read_text_tokens(const std::string& path);

/// A raw file of little-endian uint32 token ids (`.bin`, `.u32`). Throws UserError when the
/// size is not a multiple of 4 or an id does not fit in int32.
TokenIds read_u32_tokens(const std::string& path);

/// A 1-D NumPy array (`.npy`, format versions 1 to 3) of dtype <u4, <i4, <u2 or <i8 (also
/// |u1). The header is parsed here. Throws UserError naming the file for a bad magic, an
/// unsupported dtype, Fortran order, a shape that is not 1-D, a truncated file, or negative
/// or out-of-int32 ids.
TokenIds read_npy_tokens(const std::string& path);

/// Reads a token file by extension: `.npy` -> read_npy_tokens, `.bin` / `.u32` ->
/// read_u32_tokens, anything else -> read_text_tokens (bytes). When `vocab_size` > 0, every id
/// must be < vocab_size; otherwise throws UserError naming the file and the token position.
TokenIds load_tokens(const std::string& path, int vocab_size);

/// Throws UserError "<source>: token <id> at position <i> is outside the vocabulary (size V)"
/// for the first id >= vocab_size (or negative).
void check_token_ids(const TokenIds& tokens, int vocab_size, const std::string& source);

/// One window of a dataset: `length` + 1 consecutive tokens. Inputs are tokens[0..length-1],
/// the next-token targets tokens[1..length]; only the predictions of input positions
/// scored_from..length-1 count (overlapping windows score each target once).
struct TokenWindow {
  TokenIds tokens;      ///< size length + 1
  size_t start = 0;     ///< position of tokens[0] in the dataset
  int scored_from = 0;  ///< first input position whose prediction is scored
  int length() const { return static_cast<int>(tokens.size()) - 1; }
  int predictions() const { return length() - scored_from; }
};

/// How a token file is cut into evaluation windows (docs/evaluation.md, "Windows").
enum class Windowing {
  /// aimcsim's default: non-overlapping windows of size + 1 tokens, `size` predictions each
  /// (window i starts at i (size + 1)); a trailing partial window is dropped.
  kDisjoint,
  /// Hugging Face's perplexity recipe: windows of `size` tokens starting every `stride` tokens
  /// (stride = size: non-overlapping, size - 1 predictions each); each window scores only the
  /// targets after the previous window's end, and the last window ends at the end of the data.
  kHf,
};

/// "disjoint" or "hf"; parse_windowing throws UserError for another name.
std::string windowing_name(Windowing w);
Windowing parse_windowing(const std::string& name);

/// The windowing of an evaluation.
struct WindowSpec {
  Windowing kind = Windowing::kDisjoint;
  int size = 128;       ///< kDisjoint: predictions (inputs) per window; kHf: tokens per window
  int stride = 0;       ///< kHf: tokens between window starts (0 = size); must be <= size
  int max_windows = 0;  ///< keep only the first max_windows (0 = all)
};

/// Counts of a windowing, printed with every table.
struct WindowStats {
  int windows = 0;
  long long tokens_read = 0;  ///< distinct dataset tokens inside some window
  long long predictions = 0;  ///< scored predictions (next-token targets)
  long long unused = 0;       ///< dataset tokens after the last window (cap or dropped tail)
};
WindowStats window_stats(const std::vector<TokenWindow>& windows, size_t dataset_tokens);

/// Cuts `tokens` as `spec` says. Throws UserError (naming `source`) for a bad size or stride or
/// when not even one window with a prediction fits.
std::vector<TokenWindow> make_windows(const TokenIds& tokens, const WindowSpec& spec,
                                      const std::string& source);

/// Cuts `tokens` into non-overlapping windows of `length` + 1 tokens (window i starts at
/// i * (length + 1)); a trailing partial window is dropped. `max_windows` > 0 keeps only the
/// first max_windows. Throws UserError (naming `source`) when length < 1 or not even one window
/// fits.
std::vector<TokenWindow> make_windows(const TokenIds& tokens, int length, int max_windows,
                                      const std::string& source);

}  // namespace aimc::workloads

// NumPy .npy arrays of floating-point numbers: reading (float32 / float64, C order, any rank)
// for the `aimcsim linear` command, and writing float32 / int32 arrays (exported logits, DAC
// codes, layer outputs). Written files are complete or absent (temp file, then rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aimc::workloads {

/// A dense array in C (row-major) order.
struct NpyArray {
  std::vector<size_t> shape;
  std::vector<float> data;  ///< float64 input is rounded to float32
  size_t size() const;      ///< product of shape (1 for a scalar)
};

/// The header of a .npy file (format 1.0 to 3.0): its dict literal and where the data starts.
/// Both readers of .npy files (these floats, the token arrays of dataset.h) parse it here.
struct NpyHeader {
  std::string where;  ///< names the file in errors
  std::string dict;   ///< the header's Python dict literal
  size_t data_offset = 0;
  /// The raw literal text of `key` up to the next top-level ',' or '}' (e.g. "'<u4'", "False",
  /// "(12,)"); UserError when the key is missing.
  std::string value(const std::string& key) const;
  /// value("descr") without its quotes (e.g. "<f4").
  std::string descr() const;
};

/// Checks the magic and version of the .npy file `bytes` and returns its header; UserError naming
/// `where` when the bytes are not a .npy file or the header is truncated.
NpyHeader read_npy_header(const std::string& bytes, const std::string& where);

/// Reads `path`: dtype <f4 or <f8, C order. Throws UserError naming the file (and `what`, e.g.
/// "weights") for a bad magic, another dtype, Fortran order, a truncated file, or non-finite
/// values.
NpyArray read_npy_floats(const std::string& path, const std::string& what);

/// The bytes of a .npy file (format 1.0) holding `data` (float32, C order) of `shape`.
std::string npy_bytes(const std::vector<size_t>& shape, const float* data);
/// The same for int32 data.
std::string npy_bytes(const std::vector<size_t>& shape, const int32_t* data);

}  // namespace aimc::workloads

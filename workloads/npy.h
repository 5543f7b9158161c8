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

/// Reads `path`: dtype <f4 or <f8, C order. Throws UserError naming the file (and `what`, e.g.
/// "weights") for a bad magic, another dtype, Fortran order, a truncated file, or non-finite
/// values.
NpyArray read_npy_floats(const std::string& path, const std::string& what);

/// The bytes of a .npy file (format 1.0) holding `data` (float32, C order) of `shape`.
std::string npy_bytes(const std::vector<size_t>& shape, const float* data);
/// The same for int32 data.
std::string npy_bytes(const std::vector<size_t>& shape, const int32_t* data);

}  // namespace aimc::workloads

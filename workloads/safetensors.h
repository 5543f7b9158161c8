// Memory-mapped reader of one .safetensors file: an 8-byte little-endian header length N, a JSON
// header of N bytes ({name: {dtype, shape, data_offsets}}, optional __metadata__), then the raw
// tensor data. The whole header is validated when the file is opened, so a hostile or broken
// file ends in a UserError naming the file (and the tensor), never in a read out of bounds.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace aimc::workloads {

/// Element types of the safetensors format. Only kF32, kF16 and kBF16 can be read as float32;
/// the others are known so that the layout of a file holding them can still be checked.
enum class Dtype {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI64,
  kU64,
  kI32,
  kU32,
  kI16,
  kU16,
  kI8,
  kU8,
  kBool,
  kF8E4M3,
  kF8E5M2
};

/// The header spelling ("F32", "BF16", ...).
const char* dtype_name(Dtype dtype);
/// Bytes per element.
int dtype_size(Dtype dtype);

/// One header entry. Invariant (checked on open): data_end - data_begin == element_count() *
/// dtype_size(dtype), and the range lies inside the data section.
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;  ///< row-major; empty for a scalar
  uint64_t data_begin = 0;     ///< byte offsets relative to the start of the data section
  uint64_t data_end = 0;
  int64_t element_count() const;
};

/// Exact widening of IEEE half-precision bits (subnormals, infinities and NaNs included).
float f16_to_float(uint16_t bits);
/// Exact widening of bfloat16 bits (the upper half of a float32).
float bf16_to_float(uint16_t bits);

/// Formats a shape as "[a, b]" for messages.
std::string shape_to_string(const std::vector<int64_t>& shape);

/// One open, validated safetensors file. Movable, not copyable; unmaps on destruction.
class SafetensorsFile {
 public:
  /// Largest header accepted, in bytes: beyond it a file is treated as hostile.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  /// Maps `path` and validates its header. Throws UserError naming the file and, where one is
  /// at fault, the tensor.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  /// Tensor names in ascending order.
  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  /// Throws UserError naming the file and tensor when absent.
  const TensorInfo& info(const std::string& name) const;
  /// The `__metadata__` map (string to string); empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// The tensor's elements converted to float32, in row-major order. Throws UserError naming
  /// the file and tensor for a dtype other than F32, F16, BF16.
  std::vector<float> read(const std::string& name) const;

 private:
  void parse_header(uint64_t header_bytes);

  std::string path_;
  const unsigned char* map_ = nullptr;  ///< whole file, read-only
  uint64_t map_size_ = 0;
  uint64_t data_start_ = 0;  ///< 8 + header length
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace aimc::workloads

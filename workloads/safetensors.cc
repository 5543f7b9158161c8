// The safetensors reader. The file is mapped read-only; every offset from the header is checked
// against the mapping before any tensor byte is touched, and the JSON parser is fed a depth limit
// and a duplicate-key check so that neither deep nesting nor ambiguous headers get through.
#include "workloads/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "proto/user_error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader copies it as is");

namespace aimc::workloads {
namespace {

using Json = nlohmann::json;

/// A legitimate header nests three levels deep (header, entry, shape); anything much deeper is
/// hostile or broken.
constexpr int kMaxJsonDepth = 8;

struct DtypeSpec {
  const char* name;
  Dtype dtype;
  int size;
};
constexpr DtypeSpec kDtypes[] = {
    {"F32", Dtype::kF32, 4},   {"F16", Dtype::kF16, 2},        {"BF16", Dtype::kBF16, 2},
    {"F64", Dtype::kF64, 8},   {"I64", Dtype::kI64, 8},        {"U64", Dtype::kU64, 8},
    {"I32", Dtype::kI32, 4},   {"U32", Dtype::kU32, 4},        {"I16", Dtype::kI16, 2},
    {"U16", Dtype::kU16, 2},   {"I8", Dtype::kI8, 1},          {"U8", Dtype::kU8, 1},
    {"BOOL", Dtype::kBool, 1}, {"F8_E4M3", Dtype::kF8E4M3, 1}, {"F8_E5M2", Dtype::kF8E5M2, 1},
};

const DtypeSpec& spec_of(Dtype dtype) {
  for (const DtypeSpec& s : kDtypes) {
    if (s.dtype == dtype) return s;
  }
  return kDtypes[0];  // unreachable: every enumerator is listed
}

/// A non-negative JSON integer, or false.
bool as_u64(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

const char* dtype_name(Dtype dtype) {
  return spec_of(dtype).name;
}
int dtype_size(Dtype dtype) {
  return spec_of(dtype).size;
}

int64_t TensorInfo::element_count() const {
  // Checked on open: with no zero dimension the product is bounded by the data size.
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float f16_to_float(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0) {
    if (mantissa == 0) {
      out = sign;  // signed zero
    } else {
      // Subnormal half: renormalise, since every half subnormal is a normal float32.
      int shift = 0;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3ffu;
      out = sign | static_cast<uint32_t>(127 - 15 + 1 - shift) << 23 | mantissa << 13;
    }
  } else if (exponent == 0x1f) {
    out = sign | 0x7f800000u | mantissa << 13;  // infinity, or NaN with its payload kept
  } else {
    out = sign | (exponent + (127 - 15)) << 23 | mantissa << 13;
  }
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

float bf16_to_float(uint16_t bits) {
  uint32_t out = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UserError(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    throw UserError(path + ": file is " + std::to_string(size) +
                    " bytes, shorter than the 8-byte header length of a safetensors file");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping stays valid without the descriptor
  if (map == MAP_FAILED) throw UserError(path + ": cannot map: " + std::strerror(map_errno));
  map_ = static_cast<const unsigned char*>(map);
  map_size_ = size;
  try {
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = header_bytes << 8 | map_[i];
    if (header_bytes > kMaxHeaderBytes) {
      throw UserError(path + ": header length " + std::to_string(header_bytes) +
                      " exceeds the limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
    }
    if (header_bytes > size - 8) {
      throw UserError(path + ": header length " + std::to_string(header_bytes) +
                      " runs past the end of the file (" + std::to_string(size) + " bytes)");
    }
    data_start_ = 8 + header_bytes;
    parse_header(header_bytes);
  } catch (...) {
    ::munmap(const_cast<unsigned char*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_start_(other.data_start_),
      tensors_(std::move(other.tensors_)),
      metadata_(std::move(other.metadata_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    data_start_ = other.data_start_;
    tensors_ = std::move(other.tensors_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

namespace {

// The header's JSON. nlohmann::json keeps the last of duplicate keys silently; a safetensors
// header with two entries for one name is ambiguous, so duplicates are caught while parsing.
Json parse_header_json(const std::string& file, const char* text, uint64_t size) {
  std::vector<std::set<std::string>> open_objects;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) {
      throw UserError(file + ": header JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
    }
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        throw UserError(
            file + (open_objects.size() == 1 ? ": duplicate tensor name '" : ": duplicate key '") +
            key + "' in the header");
      }
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(text, text + size, check);
  } catch (const Json::exception& e) {
    throw UserError(file + ": malformed JSON header: " + e.what());
  }
  if (!header.is_object()) throw UserError(file + ": header is not a JSON object");
  return header;
}

// The shape of a tensor entry into `info`; returns its element count, bounded by what the data
// section can hold (`max_elements`) so that nothing overflows.
uint64_t read_shape(const std::string& where, const Json& shape, const DtypeSpec& spec,
                    uint64_t data_size, TensorInfo* info) {
  if (!shape.is_array()) throw UserError(where + ": shape is not an array");
  const uint64_t max_elements = data_size / static_cast<uint64_t>(spec.size);
  uint64_t elements = 1;
  bool too_large = false;
  for (const Json& d : shape) {
    uint64_t dim = 0;
    if (!as_u64(d, &dim)) {
      throw UserError(where + ": shape " + shape.dump() + " must hold non-negative integers");
    }
    if (dim > static_cast<uint64_t>(INT64_MAX)) {
      throw UserError(where + ": shape " + shape.dump() + " has a dimension beyond 2^63");
    }
    info->shape.push_back(static_cast<int64_t>(dim));
    if (dim == 0) {
      elements = 0;
    } else if (elements != 0 && elements > max_elements / dim) {
      too_large = true;
    } else {
      elements *= dim;
    }
  }
  if (too_large && elements != 0) {
    throw UserError(where + ": shape " + shape.dump() + " of dtype " + spec.name +
                    " needs more bytes than the data section holds (" + std::to_string(data_size) +
                    ")");
  }
  return elements;
}

// The data_offsets of a tensor entry into `info`: inside the data section, and spanning exactly
// the bytes of its `elements`.
void read_offsets(const std::string& where, const Json& offsets, const DtypeSpec& spec,
                  uint64_t elements, uint64_t data_size, TensorInfo* info) {
  if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0], &info->data_begin) ||
      !as_u64(offsets[1], &info->data_end)) {
    throw UserError(where + ": data_offsets " + offsets.dump() +
                    " must be two non-negative integers [begin, end]");
  }
  if (info->data_end < info->data_begin) {
    throw UserError(where + ": data_offsets end " + std::to_string(info->data_end) +
                    " is before begin " + std::to_string(info->data_begin));
  }
  if (info->data_end > data_size) {
    throw UserError(where + ": data_offsets " + offsets.dump() + " run past the data section (" +
                    std::to_string(data_size) + " bytes)");
  }
  const uint64_t needed = elements * static_cast<uint64_t>(spec.size);
  if (info->data_end - info->data_begin != needed) {
    throw UserError(where + ": data_offsets span " +
                    std::to_string(info->data_end - info->data_begin) + " bytes, but shape " +
                    shape_to_string(info->shape) + " of dtype " + spec.name + " needs " +
                    std::to_string(needed));
  }
}

// One tensor's header entry: dtype, shape and data offsets, checked against the data section.
TensorInfo tensor_info(const std::string& file, const std::string& name, const Json& entry,
                       uint64_t data_size) {
  const std::string where = file + ": tensor '" + name + "'";
  if (!entry.is_object()) throw UserError(where + ": header entry is not a JSON object");
  auto field = [&](const char* key) -> const Json& {
    auto f = entry.find(key);
    if (f == entry.end()) throw UserError(where + ": header entry has no " + key);
    return *f;
  };
  TensorInfo info;
  info.name = name;
  const Json& dtype = field("dtype");
  if (!dtype.is_string()) throw UserError(where + ": dtype is not a string");
  const std::string& dtype_text = dtype.get_ref<const std::string&>();
  auto spec = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                           [&](const DtypeSpec& s) { return dtype_text == s.name; });
  if (spec == std::end(kDtypes)) throw UserError(where + ": unknown dtype '" + dtype_text + "'");
  info.dtype = spec->dtype;
  const uint64_t elements = read_shape(where, field("shape"), *spec, data_size, &info);
  read_offsets(where, field("data_offsets"), *spec, elements, data_size, &info);
  return info;
}

// As the format's own reader requires: the tensors, in offset order, cover the data section
// exactly, without overlap, gap, or bytes after the last one.
void check_coverage(const std::string& file, const std::map<std::string, TensorInfo>& tensors,
                    uint64_t data_size) {
  std::vector<const TensorInfo*> spans;
  for (const auto& [name, info] : tensors) spans.push_back(&info);
  std::sort(spans.begin(), spans.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->data_begin != b->data_begin ? a->data_begin < b->data_begin
                                          : a->data_end < b->data_end;
  });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : spans) {
    if (t->data_begin < covered) {
      throw UserError(file + ": tensors '" + previous->name + "' and '" + t->name +
                      "' overlap in the data section");
    }
    if (t->data_begin > covered) {
      throw UserError(file + ": bytes " + std::to_string(covered) + ".." +
                      std::to_string(t->data_begin) + " of the data section " +
                      (previous == nullptr
                           ? "before tensor '" + t->name + "'"
                           : "between tensors '" + previous->name + "' and '" + t->name + "'") +
                      " belong to no tensor (data_offsets must cover the data exactly)");
    }
    covered = t->data_end;
    previous = t;
  }
  if (covered != data_size) {
    throw UserError(file + ": " + std::to_string(data_size - covered) +
                    " bytes after the last tensor" +
                    (previous == nullptr ? std::string() : " '" + previous->name + "'") +
                    " belong to no tensor (data_offsets must cover the data exactly)");
  }
}

}  // namespace

void SafetensorsFile::parse_header(uint64_t header_bytes) {
  const std::string& file = path_;
  const Json header =
      parse_header_json(file, reinterpret_cast<const char*>(map_ + 8), header_bytes);
  const uint64_t data_size = map_size_ - data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw UserError(file + ": __metadata__ is not a JSON object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) {
          throw UserError(file + ": __metadata__ value of '" + m.key() + "' is not a string");
        }
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    tensors_.emplace(name, tensor_info(file, name, entry, data_size));
  }
  check_coverage(file, tensors_, data_size);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& entry : tensors_) names.push_back(entry.first);
  return names;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw UserError(path_ + ": has no tensor '" + name + "'");
  return it->second;
}

std::vector<float> SafetensorsFile::read(const std::string& name) const {
  const TensorInfo& t = info(name);
  const unsigned char* src = map_ + data_start_ + t.data_begin;
  const size_t count = static_cast<size_t>(t.element_count());
  std::vector<float> out(count);
  switch (t.dtype) {
    case Dtype::kF32:
      if (count != 0) std::memcpy(out.data(), src, count * sizeof(float));
      break;
    case Dtype::kF16:
    case Dtype::kBF16: {
      const bool half = t.dtype == Dtype::kF16;
      for (size_t i = 0; i < count; ++i) {
        uint16_t bits = static_cast<uint16_t>(src[2 * i] | src[2 * i + 1] << 8);
        out[i] = half ? f16_to_float(bits) : bf16_to_float(bits);
      }
      break;
    }
    default:
      throw UserError(path_ + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) +
                      ", which is unsupported (F32, F16 and BF16 are)");
  }
  return out;
}

}  // namespace aimc::workloads

// .npy reading and writing (npy.h). The header is a Python dict literal padded with spaces so
// that the data starts at a multiple of 64 bytes; this file parses only what it needs.
#include "workloads/npy.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proto/user_error.h"

namespace aimc::workloads {
namespace {

std::string slurp(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(what + ": cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string header_text(const std::vector<size_t>& shape, const char* descr) {
  std::string dims;
  for (size_t d : shape) dims += std::to_string(d) + ",";
  if (shape.size() > 1) dims.pop_back();  // "(3,)" for 1-D, "(2,3)" otherwise
  std::string h =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  return out + h;
}

template <typename T>
std::string bytes_of(const std::vector<size_t>& shape, const T* data, const char* descr) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  std::string out = header_text(shape, descr);
  const size_t off = out.size();
  out.resize(off + n * sizeof(T));
  // Little-endian hosts only (x86-64, aarch64): the bytes are the values.
  if (n > 0) std::memcpy(&out[off], data, n * sizeof(T));
  return out;
}

}  // namespace

std::string NpyHeader::value(const std::string& key) const {
  const std::string quoted[2] = {"'" + key + "'", "\"" + key + "\""};
  size_t pos = std::string::npos;
  for (const auto& q : quoted) {
    pos = dict.find(q);
    if (pos != std::string::npos) {
      pos += q.size();
      break;
    }
  }
  if (pos == std::string::npos) throw UserError(where + ": .npy header has no '" + key + "' key");
  pos = dict.find(':', pos);
  if (pos == std::string::npos) throw UserError(where + ": malformed .npy header");
  ++pos;
  while (pos < dict.size() && std::isspace(static_cast<unsigned char>(dict[pos]))) ++pos;
  int depth = 0;
  size_t end = pos;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  std::string v = dict.substr(pos, end - pos);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  return v;
}

std::string NpyHeader::descr() const {
  std::string d = value("descr");
  if (d.size() >= 2 && (d.front() == '\'' || d.front() == '"')) d = d.substr(1, d.size() - 2);
  return d;
}

NpyHeader read_npy_header(const std::string& bytes, const std::string& where) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) {
    throw UserError(where + ": not a NumPy .npy file (bad magic)");
  }
  const int major = p[6];
  if (major < 1 || major > 3) {
    throw UserError(where + ": unsupported .npy format version " + std::to_string(major));
  }
  // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4 (little-endian).
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) throw UserError(where + ": truncated .npy header");
  size_t header_len = 0;
  for (size_t i = len_bytes; i-- > 0;) header_len = (header_len << 8) | p[8 + i];
  NpyHeader h;
  h.where = where;
  h.data_offset = 8 + len_bytes + header_len;
  if (bytes.size() < h.data_offset) throw UserError(where + ": truncated .npy header");
  h.dict = bytes.substr(8 + len_bytes, header_len);
  return h;
}

size_t NpyArray::size() const {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

NpyArray read_npy_floats(const std::string& path, const std::string& what) {
  const std::string where = what + " " + path;
  const std::string bytes = slurp(path, what);
  const NpyHeader header = read_npy_header(bytes, where);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t data_off = header.data_offset;
  const std::string descr = header.descr();
  size_t item = 0;
  if (descr == "<f4") {
    item = 4;
  } else if (descr == "<f8") {
    item = 8;
  } else {
    throw UserError(where + ": dtype '" + descr + "' is not float32 or float64 (<f4, <f8)");
  }
  if (header.value("fortran_order") != "False") {
    throw UserError(where + ": Fortran-order arrays are not supported (save in C order)");
  }
  const std::string shape = header.value("shape");
  NpyArray a;
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    throw UserError(where + ": malformed .npy shape " + shape);
  }
  std::string cur;
  for (size_t i = 1; i < shape.size(); ++i) {
    const char c = shape[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      cur += c;
    } else if (c == ',' || c == ')') {
      if (!cur.empty()) a.shape.push_back(std::stoull(cur));
      cur.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      throw UserError(where + ": malformed .npy shape " + shape);
    }
  }
  const size_t n = a.size();
  if (bytes.size() - data_off < n * item) {
    throw UserError(where + ": truncated .npy data (shape " + shape + ")");
  }
  a.data.resize(n);
  for (size_t i = 0; i < n; ++i) {
    double v;
    if (item == 4) {
      float f;
      std::memcpy(&f, p + data_off + 4 * i, 4);
      v = f;
    } else {
      std::memcpy(&v, p + data_off + 8 * i, 8);
    }
    if (!std::isfinite(v)) {
      throw UserError(where + ": element " + std::to_string(i) + " is not finite");
    }
    a.data[i] = static_cast<float>(v);
  }
  return a;
}

std::string npy_bytes(const std::vector<size_t>& shape, const float* data) {
  return bytes_of(shape, data, "<f4");
}

std::string npy_bytes(const std::vector<size_t>& shape, const int32_t* data) {
  return bytes_of(shape, data, "<i4");
}

}  // namespace aimc::workloads

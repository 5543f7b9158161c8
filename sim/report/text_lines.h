// Small formatting helpers shared by the text summaries (datasheet, report, peak): a printf-style
// number and an aligned "  name  value" line.
#pragma once

#include <cstdio>
#include <string>

namespace aimc::sim {

/// `v` formatted with the printf format `f` (one double conversion).
inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// Appends "  NAME VALUE\n" to out, the name left-aligned in `width` columns.
inline void aligned_line(std::string* out, const std::string& name, const std::string& value,
                         int width) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-*s %s\n", width, name.c_str(), value.c_str());
  *out += buf;
}

}  // namespace aimc::sim

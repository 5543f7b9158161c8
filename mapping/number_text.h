// Numbers as text for the mapping summaries (plan, comparison and system plan tables).
#pragma once

#include <cstdio>
#include <string>

namespace aimc::mapping {

/// `value` with `digits` decimals ("%.*f").
inline std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

/// `value` with three significant digits ("%.3g": "1.23e+06").
inline std::string sci(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

}  // namespace aimc::mapping

// Resource limits of one command: environment overrides, defaults from the machine's memory.
#include "proto/limits.h"

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace aimc::proto {
namespace {

constexpr double kGB = 1e9;

// A positive number of gigabytes from environment variable `name`, or `fallback` when unset.
double env_gb(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v <= 0) {
    throw UserError(std::string("environment variable ") + name + "='" + text +
                    "' must be a positive number of gigabytes");
  }
  return v * kGB;
}

double machine_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 8 * kGB;
  return static_cast<double>(pages) * static_cast<double>(page);
}

std::string source_of(const char* env, const std::string& fallback) {
  const char* text = std::getenv(env);
  return text != nullptr && *text != '\0' ? std::string("set by ") + env
                                          : fallback + "; set " + env + " to change it";
}

}  // namespace

ResourceLimits resource_limits() {
  return {env_gb("AIMCSIM_MAX_MEMORY_GB", 0.75 * machine_memory_bytes()),
          env_gb("AIMCSIM_MAX_OUTPUT_GB", 1 * kGB)};
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    ++u;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  }
  return buf;
}

void check_memory_estimate(double bytes, const std::string& what) {
  const ResourceLimits limits = resource_limits();
  if (!(bytes <= limits.memory_bytes)) {
    throw UserError(what + " would need about " + format_bytes(bytes) +
                    " of memory, more than the limit of " + format_bytes(limits.memory_bytes) +
                    " (" + source_of("AIMCSIM_MAX_MEMORY_GB", "3/4 of this machine's memory") +
                    ")");
  }
}

void check_output_estimate(double bytes, const std::string& what) {
  const ResourceLimits limits = resource_limits();
  if (!(bytes <= limits.output_bytes)) {
    throw UserError(what + " would write about " + format_bytes(bytes) +
                    ", more than the limit of " + format_bytes(limits.output_bytes) + " (" +
                    source_of("AIMCSIM_MAX_OUTPUT_GB", "the default") + ")");
  }
}

}  // namespace aimc::proto

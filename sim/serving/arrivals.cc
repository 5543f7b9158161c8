// Seeded Poisson arrivals and CSV request traces.
#include "sim/serving/arrivals.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "proto/user_error.h"

namespace aimc::sim {

namespace {
// `v` as printf's %g writes it (0, 1e+06, 0.5), not std::to_string's six decimals.
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

std::vector<SimOptions::Request> poisson_arrivals(double rate_per_s, int count, int prompt_tokens,
                                                  int decode_tokens, uint64_t seed) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s))
    throw UserError("--rate: must be a positive number of requests per second, got " +
                    number_text(rate_per_s));
  if (count < 1) throw UserError("--requests: must be at least 1, got " + std::to_string(count));
  if (prompt_tokens < 1 || decode_tokens < 0)
    throw UserError("requests need at least 1 prompt token and no negative decode tokens");
  std::mt19937_64 rng(seed);
  std::vector<SimOptions::Request> out;
  double t_s = 0;
  for (int i = 0; i < count; ++i) {
    if (i > 0) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
      t_s += -std::log1p(-u) / rate_per_s;
    }
    out.push_back({t_s * 1e9, prompt_tokens, decode_tokens});
  }
  return out;
}

std::vector<SimOptions::Request> read_request_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw UserError("--arrivals: cannot open the request trace '" + path +
                    "': " + std::strerror(errno));
  }
  std::string line;
  int number = 0;
  std::vector<SimOptions::Request> out;
  auto fail = [&](const std::string& message) {
    throw UserError(path + ":" + std::to_string(number) + ": " + message);
  };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != "arrival_s,prompt_tokens,decode_tokens")
        fail("expected the header arrival_s,prompt_tokens,decode_tokens");
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (cells.size() != 3)
      fail("expected 3 comma-separated values, got " + std::to_string(cells.size()));
    char* end = nullptr;
    const double arrival = std::strtod(cells[0].c_str(), &end);
    if (end == cells[0].c_str() || *end != '\0' || !std::isfinite(arrival) || arrival < 0)
      fail("arrival_s: expected a time in seconds >= 0, got '" + cells[0] + "'");
    long values[2];
    for (int k = 0; k < 2; ++k) {
      values[k] = std::strtol(cells[k + 1].c_str(), &end, 10);
      if (end == cells[k + 1].c_str() || *end != '\0' || values[k] < (k == 0 ? 1 : 0) ||
          values[k] > 1000000)
        fail(std::string(k == 0 ? "prompt_tokens: expected an integer in 1..1000000"
                                : "decode_tokens: expected an integer in 0..1000000") +
             ", got '" + cells[k + 1] + "'");
    }
    if (!out.empty() && arrival * 1e9 < out.back().arrival_ns)
      fail("arrival_s: arrivals must not decrease");
    out.push_back({arrival * 1e9, static_cast<int>(values[0]), static_cast<int>(values[1])});
  }
  if (out.empty()) throw UserError(path + ": no requests");
  return out;
}

}  // namespace aimc::sim

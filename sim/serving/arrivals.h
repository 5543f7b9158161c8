// Requests of a serving run: seeded Poisson arrivals at a rate, or a CSV trace of arrival time,
// prompt and output lengths. The timed run (sim/chip/timing_run.h, SimOptions::requests) serves
// them with continuous batching.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/chip/timing_run.h"

namespace aimc::sim {

/// `count` requests with exponential inter-arrival times of mean 1 / rate_per_s, the first at
/// time 0, each of `prompt_tokens` and `decode_tokens`. Same seed, same arrivals, bit for bit
/// (a 64-bit Mersenne twister and -log(1 - u) / rate). Throws UserError for a rate <= 0, a
/// count < 1 or bad lengths.
std::vector<SimOptions::Request> poisson_arrivals(double rate_per_s, int count, int prompt_tokens,
                                                  int decode_tokens, uint64_t seed);

/// Reads a CSV trace: a header line `arrival_s,prompt_tokens,decode_tokens`, then one request
/// per line (arrival in seconds, non-decreasing; prompt >= 1; decode >= 0). Throws UserError
/// "FILE:LINE: message" for a malformed line, and when the file is missing or has no request.
std::vector<SimOptions::Request> read_request_trace(const std::string& path);

}  // namespace aimc::sim

// SimReport output: JSON for machines, an aligned summary for people.
#pragma once

#include <string>

#include "proto/sim_report.pb.h"

namespace aimc::sim {

/// The report as JSON (protobuf JSON mapping, field names as in the .proto).
std::string report_to_json(const proto::SimReport& report);

/// A human-readable summary: TTFT, decode latency, tokens/s, energy per token by component,
/// TOPS and TOPS/W, utilization, KV placement, programming cost, top layers by energy.
std::string format_summary(const proto::SimReport& report, int top_layers = 8);

}  // namespace aimc::sim

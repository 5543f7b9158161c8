// SimReport output: JSON for machines, an aligned summary for people.
#pragma once

#include <string>

#include "proto/sim_report.pb.h"

namespace aimc::sim {

/// A report message (SimReport, AccuracyReport) as JSON: the protobuf JSON mapping with the
/// field names as in the .proto.
std::string report_to_json(const google::protobuf::Message& report);

/// A human-readable summary: TTFT, decode latency, tokens/s, energy per token by component,
/// TOPS and TOPS/W, utilization, KV placement, programming cost, top layers by energy.
std::string format_summary(const proto::SimReport& report, int top_layers = 8);

}  // namespace aimc::sim

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

/// The point of a batch curve that a run of B sequences gives: its batch report's throughput,
/// TTFT and time-per-output-token percentiles (for B = 1, of the one sequence's decode tokens,
/// nearest rank), decode energy per token and its leakage and static share, the bottleneck.
proto::BatchCurvePoint batch_curve_point(const proto::SimReport& report);

/// A line per batch of the report's batch curve, for the terminal; empty without one.
std::string format_batch_curve(const proto::SimReport& report);

}  // namespace aimc::sim

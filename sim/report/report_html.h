// `report.html` of `aimcsim run --out`: energy by component and by layer, latency, accuracy
// spread, tile utilization on the mesh, drawn with the chart primitives of sim/report/charts.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "proto/mapping_plan.pb.h"
#include "proto/sim_report.pb.h"
#include "sim/report/charts.h"

namespace aimc::sim {

/// The charts of a run's batch curve (`run --batch-curve`): decode throughput against time per
/// output token (p50 and p90 series), and decode energy per token against the batch (total and
/// leakage series). Empty when the curve has fewer than two batches.
std::vector<html::XyChart> batch_curve_charts(const proto::SimReport& report);

/// The page of one run: `report` as simulated (with accuracy when evaluated) and the `plan` it
/// executed (for the tile heat map).
std::string render_report_html(const proto::SimReport& report, const proto::MappingPlan& plan);

}  // namespace aimc::sim

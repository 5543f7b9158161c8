// The chip's datasheet: its peak workload simulated (run_peak_workload: every tile reading back
// to back with its inputs in place), priced into power by component kind and per tile, the area
// model (arch/chip_costs.h), and what bounds the read interval. `aimcsim peak` prints it and
// `aimcsim run` puts it into its report.
#pragma once

#include "proto/chip_config.pb.h"
#include "proto/sim_report.pb.h"

namespace aimc::sim {

/// The datasheet of `config` (validated, defaults resolved) from `reads_per_tile` back-to-back
/// reads per tile, simulated in a forked child when `isolate` (see timing_run.h).
proto::ChipDatasheet chip_datasheet(const proto::ChipConfig& config, int reads_per_tile = 1000,
                                    bool isolate = true);

}  // namespace aimc::sim

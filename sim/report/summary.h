// Human-readable summaries of a chip and of a mapping plan, printed by `aimcsim run` and `map`.
#pragma once

#include <string>

#include "proto/chip_config.pb.h"
#include "proto/mapping_plan.pb.h"

namespace aimc::sim {

/// A few lines: tiles and their geometry, DAC/ADC, noise model, DPUs, memories, mesh.
/// `t_conversion_ns` is the ADC conversion time in force (arch::adc_conversion_time_ns: the
/// config may leave it to the converter cost model).
std::string format_chip_summary(const proto::ChipConfig& chip, double t_conversion_ns);

/// A few lines: strategy, tiles used of available, cell utilization, estimate, and the tiles
/// of each kind of layer.
std::string format_plan_summary(const proto::MappingPlan& plan);

}  // namespace aimc::sim

// Analytic cost of a mapping plan per token: interconnect bit-hops and latency, from the plan
// and the chip config alone (no simulation). The formulas are written out in docs/mapping.md,
// section "Estimates".
#pragma once

#include "mapping/partition.h"
#include "proto/chip_config.pb.h"
#include "proto/mapping_plan.pb.h"

namespace aimc::mapping {

/// Bits per input element sent to a tile: the DAC resolution rounded up to whole bytes on
/// analog tiles, 8 on DIGITAL_W4A8 (8-bit inputs), 32 on DIGITAL_FP.
int input_bits_per_element(const proto::ChipConfig& chip);

/// Bits per partial-sum element a tile sends to its DPU: the ADC code rounded up to whole bytes
/// on analog tiles (the DPU holds each tile's scales), 32 on digital tiles (accumulators).
int output_bits_per_element(const proto::ChipConfig& chip);

/// Time of one matrix-vector product of a rows x cols block (cols = weight columns), in ns.
/// Analog: read_phases * (steps * cycles_per_step / clock + ceil(cols / adcs_per_tile) *
/// t_conversion_ns) + (read_overhead_cycles + post_process_cycles) / clock, steps =
/// 2^(dac.bits - 1) for PWM and dac.bits for bit-serial. Digital: (ceil(rows * cols /
/// macs_per_cycle) + pipeline_cycles + post_process_cycles) / clock.
double block_read_ns(const proto::ChipConfig& chip, int rows, int cols);

/// Latency of one layer without interconnect hops, in ns: the slowest block's read plus the
/// serialization of its input slice and partial sums over one link, plus the DPU reduction
/// (row_tiles - 1) * ceil(out / lanes) * add_cycles. 0 for digital layers.
double layer_latency_without_hops_ns(const proto::ChipConfig& chip, const LayerPartition& layer);

/// The estimate of `plan` on `chip` (bit-hops per token, critical path, prefill throughput,
/// stage latencies). Only layers on tiles count: digital layers, attention and norms run on
/// DPUs the same way under every strategy.
proto::PlanEstimate estimate_plan(const proto::MappingPlan& plan, const proto::ChipConfig& chip);

}  // namespace aimc::mapping

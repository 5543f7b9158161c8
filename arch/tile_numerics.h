// The numerics parameters of a crossbar tile, as a plain immutable struct built once from the
// validated chip config. Components and layers read this, never the protobuf config.
#pragma once

#include <memory>

#include "proto/chip_config.pb.h"

namespace aimc::arch {

class NoiseModel;

/// How static input ranges are obtained (mirrors proto InputRangePolicy).
enum class InputRangePolicy { kCheckpointOrCalibrate, kCalibrate, kFixed };

/// Numerics of one crossbar tile and of the analog signal chain (numerics.md section 2).
struct TileNumerics {
  int rows = 256;              ///< inputs per tile (crossbar rows)
  int cols = 256;              ///< output channels per tile (crossbar cols / cells per weight)
  int inp_res = 254;           ///< DAC levels 2^bits - 2; 0 = ideal DAC (no clamp, no rounding)
  int out_res = 254;           ///< ADC levels 2^bits - 2; 0 = ideal ADC (no clamp, no rounding)
  double out_bound = 14;       ///< ADC bound relative to IR_t * wmax_j
  double out_noise = 0;        ///< output noise std relative to wmax_j * IR_t, per read
  bool out_noise_per_layer = false;  ///< divide out_noise by sqrt(number of input tiles)
  bool clip = false;           ///< per-channel clipping before programming
  double clip_k_std = 2.5;     ///< clip bound in row standard deviations
  double t_inference_s = 0;    ///< time since programming at which reads happen
  bool drift_compensation = true;  ///< global drift compensation per tile
  InputRangePolicy input_range_policy = InputRangePolicy::kCheckpointOrCalibrate;
  double kappa = 3;            ///< calibration: IR = mean over batches of kappa * std(x_t)
  double fixed_input_range = 1;  ///< policy kFixed
  std::shared_ptr<const NoiseModel> noise;  ///< programming/drift/read noise; never null
};

/// Builds the tile numerics from a validated, resolved chip config (noise model by name).
TileNumerics tile_numerics_from_config(const proto::ChipConfig& config);

}  // namespace aimc::arch

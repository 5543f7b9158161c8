// The numerics parameters of a crossbar tile, as a plain immutable struct built once from the
// validated chip config. Components and layers read this, never the protobuf config.
#pragma once

#include <memory>

#include "proto/chip_config.pb.h"

namespace aimc::arch {

class NoiseModel;

/// Which weights set a tile's ADC bound and output-noise scale (mirrors proto AdcBoundScope).
enum class AdcBoundScope { kPerChannel, kPerLayer, kPerTile };

/// How static input ranges are obtained (mirrors proto InputRangePolicy).
enum class InputRangePolicy { kCheckpointOrCalibrate, kCalibrate, kFixed, kDynamic };

/// Numerics of one crossbar tile and of the analog signal chain (numerics.md section 2).
struct TileNumerics {
  int rows = 256;         ///< inputs per tile (crossbar rows)
  int cols = 256;         ///< output channels per tile (crossbar cols / cells per weight)
  int inp_res = 254;      ///< DAC levels 2^bits - 2; 0 = ideal DAC (no clamp, no rounding)
  int out_res = 254;      ///< ADC levels 2^bits - 2; 0 = ideal ADC (no clamp, no rounding)
  double out_bound = 14;  ///< ADC bound relative to IR_t * wmax_j
  double out_noise = 0;   ///< output noise std relative to wmax_j * IR_t, per read
  bool out_noise_per_layer = false;  ///< divide out_noise by sqrt(number of input tiles)
  bool clip = false;                 ///< per-channel clipping before programming
  double clip_k_std = 2.5;           ///< clip bound in row standard deviations
  double t_inference_s = 0;          ///< time since programming at which reads happen
  bool drift_compensation = true;    ///< global drift compensation per tile
  InputRangePolicy input_range_policy = InputRangePolicy::kCheckpointOrCalibrate;
  double kappa = 3;              ///< calibration: IR = mean over batches of kappa * std(x_t)
  double fixed_input_range = 1;  ///< policy kFixed
  std::shared_ptr<const NoiseModel> noise;  ///< programming/drift/read noise; never null

  // --- Parity options (AIHWKit / AIHWKit-Lightning conventions, numerics.md) ---
  /// ADC bound and output-noise scale: each channel's wmax_j, or the largest |W| of the layer's
  /// input slice (all output channels), or of the tile.
  AdcBoundScope adc_bound_scope = AdcBoundScope::kPerChannel;
  bool ideal_adc_clamps = false;          ///< ideal ADC (out_res 0): clamp to +-out_bound IR wmax
  bool ideal_dac_clamps = false;          ///< ideal DAC (inp_res 0): clamp inputs to +-IR
  bool calibration_std_n_minus_1 = true;  ///< calibration std divides by n - 1 (torch.std)
  bool calibration_skip_zero_spread = true;  ///< batches with std 0 are left out of the mean
};

/// Builds the tile numerics from a validated, resolved chip config (noise model by name).
TileNumerics tile_numerics_from_config(const proto::ChipConfig& config);

}  // namespace aimc::arch

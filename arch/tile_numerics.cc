// Building TileNumerics from a validated chip config (tile_numerics.h).
#include "arch/tile_numerics.h"

#include <string>

#include "arch/noise_model.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

/// Levels 2^bits - 2 of a converter; a 1-bit converter would have no level besides 0.
int converter_levels(uint32_t bits, const char* field) {
  if (bits < 2 || bits > 16) {
    throw UserError(std::string(field) + ": must be in 2..16 for a non-ideal converter, got " +
                    std::to_string(bits));
  }
  return (1 << bits) - 2;
}

}  // namespace

TileNumerics tile_numerics_from_config(const proto::ChipConfig& config) {
  const auto& tile = config.tile();
  const auto& num = config.numerics();
  TileNumerics t;
  t.rows = static_cast<int>(tile.rows());
  if (tile.cols() < tile.cells_per_weight()) {
    throw UserError("tile.cols: must be at least tile.cells_per_weight (" +
                    std::to_string(tile.cells_per_weight()) + "), got " +
                    std::to_string(tile.cols()));
  }
  t.cols = static_cast<int>(tile.cols() / tile.cells_per_weight());
  t.inp_res = tile.dac().ideal() ? 0 : converter_levels(tile.dac().bits(), "tile.dac.bits");
  t.out_res = tile.adc().ideal() ? 0 : converter_levels(tile.adc().bits(), "tile.adc.bits");
  t.out_bound = num.out_bound();
  t.out_noise = num.out_noise();
  t.out_noise_per_layer = num.out_noise_per_layer();
  t.clip = num.clipping().enabled();
  t.clip_k_std = num.clipping().k_std();
  t.t_inference_s = num.t_inference_s();
  t.drift_compensation = num.drift_compensation();
  switch (num.input_range().policy()) {
    case proto::CALIBRATE:
      t.input_range_policy = InputRangePolicy::kCalibrate;
      break;
    case proto::FIXED:
      t.input_range_policy = InputRangePolicy::kFixed;
      break;
    case proto::DYNAMIC:
      t.input_range_policy = InputRangePolicy::kDynamic;
      break;
    default:
      t.input_range_policy = InputRangePolicy::kCheckpointOrCalibrate;
  }
  t.kappa = num.input_range().kappa();
  t.fixed_input_range = num.input_range().fixed_value();
  t.noise = make_noise_model(num.weight_noise());
  switch (num.adc_bound_scope()) {
    case proto::ADC_BOUND_PER_LAYER:
      t.adc_bound_scope = AdcBoundScope::kPerLayer;
      break;
    case proto::ADC_BOUND_PER_TILE:
      t.adc_bound_scope = AdcBoundScope::kPerTile;
      break;
    default:
      t.adc_bound_scope = AdcBoundScope::kPerChannel;
  }
  t.ideal_adc_clamps = num.ideal_adc_clamps();
  t.ideal_dac_clamps = num.ideal_dac_clamps();
  t.calibration_std_n_minus_1 = num.input_range().std_divisor() == proto::STD_N_MINUS_1;
  t.calibration_skip_zero_spread = num.input_range().zero_spread() == proto::ZERO_SPREAD_SKIP;
  return t;
}

}  // namespace aimc::arch

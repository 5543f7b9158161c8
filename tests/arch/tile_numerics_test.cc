// tile_numerics_from_config on the default config and on a few changed fields.
#include "arch/tile_numerics.h"

#include <gtest/gtest.h>

#include "arch/noise_model.h"
#include "proto/chip_config_io.h"

namespace aimc::arch {
namespace {

proto::ChipConfig default_config() {
  proto::ChipConfig c;
  proto::resolve_defaults(&c);
  return c;
}

TEST(TileNumerics, DefaultConfig) {
  const TileNumerics t = tile_numerics_from_config(default_config());
  EXPECT_EQ(t.rows, 256);
  EXPECT_EQ(t.cols, 256);
  EXPECT_EQ(t.inp_res, 254);
  EXPECT_EQ(t.out_res, 254);
  EXPECT_EQ(t.out_bound, 14);
  EXPECT_EQ(t.out_noise, 0);
  EXPECT_FALSE(t.out_noise_per_layer);
  EXPECT_FALSE(t.clip);
  EXPECT_EQ(t.clip_k_std, 2.5);
  EXPECT_EQ(t.t_inference_s, 0);
  EXPECT_TRUE(t.drift_compensation);
  EXPECT_EQ(t.input_range_policy, InputRangePolicy::kCheckpointOrCalibrate);
  EXPECT_EQ(t.kappa, 3);
  EXPECT_EQ(t.fixed_input_range, 1);
  ASSERT_NE(t.noise, nullptr);
  EXPECT_EQ(t.noise->name(), "none");
  // Parity options: today's read, AIHWKit's calibration.
  EXPECT_EQ(t.adc_bound_scope, AdcBoundScope::kPerChannel);
  EXPECT_FALSE(t.ideal_adc_clamps);
  EXPECT_FALSE(t.ideal_dac_clamps);
  EXPECT_TRUE(t.calibration_std_n_minus_1);
  EXPECT_TRUE(t.calibration_skip_zero_spread);
}

TEST(TileNumerics, ParityFields) {
  proto::ChipConfig c = default_config();
  auto* n = c.mutable_numerics();
  n->set_adc_bound_scope(proto::ADC_BOUND_PER_LAYER);
  n->set_ideal_adc_clamps(true);
  n->set_ideal_dac_clamps(true);
  n->mutable_input_range()->set_policy(proto::DYNAMIC);
  n->mutable_input_range()->set_std_divisor(proto::STD_N);
  n->mutable_input_range()->set_zero_spread(proto::ZERO_SPREAD_COUNT);
  TileNumerics t = tile_numerics_from_config(c);
  EXPECT_EQ(t.adc_bound_scope, AdcBoundScope::kPerLayer);
  EXPECT_TRUE(t.ideal_adc_clamps);
  EXPECT_TRUE(t.ideal_dac_clamps);
  EXPECT_EQ(t.input_range_policy, InputRangePolicy::kDynamic);
  EXPECT_FALSE(t.calibration_std_n_minus_1);
  EXPECT_FALSE(t.calibration_skip_zero_spread);
  n->set_adc_bound_scope(proto::ADC_BOUND_PER_TILE);
  EXPECT_EQ(tile_numerics_from_config(c).adc_bound_scope, AdcBoundScope::kPerTile);
}

TEST(TileNumerics, ChangedFields) {
  proto::ChipConfig c = default_config();
  c.mutable_tile()->set_cols(512);
  c.mutable_tile()->set_cells_per_weight(2);
  c.mutable_tile()->mutable_dac()->set_ideal(true);
  c.mutable_tile()->mutable_adc()->set_bits(10);
  c.mutable_numerics()->mutable_weight_noise()->mutable_afm_pcm();
  c.mutable_numerics()->mutable_input_range()->set_policy(proto::FIXED);
  c.mutable_numerics()->set_t_inference_s(3600);
  const TileNumerics t = tile_numerics_from_config(c);
  EXPECT_EQ(t.cols, 256);
  EXPECT_EQ(t.inp_res, 0);
  EXPECT_EQ(t.out_res, 1022);
  EXPECT_EQ(t.noise->name(), "afm_pcm");
  EXPECT_EQ(t.input_range_policy, InputRangePolicy::kFixed);
  EXPECT_EQ(t.t_inference_s, 3600);

  c.mutable_tile()->mutable_adc()->set_bits(1);  // a 1-bit converter has only the level 0
  EXPECT_THROW(tile_numerics_from_config(c), UserError);
}

}  // namespace
}  // namespace aimc::arch

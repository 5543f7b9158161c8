// Helpers shared by the arch unit tests.
#pragma once

#include "arch/noise_model.h"
#include "arch/tile_numerics.h"

namespace aimc::arch::testing {

/// Tile numerics with the given tile size, ideal DAC and ADC, no noise of any kind.
inline TileNumerics ideal_numerics(int rows, int cols) {
  TileNumerics n;
  n.rows = rows;
  n.cols = cols;
  n.inp_res = 0;
  n.out_res = 0;
  n.noise = make_noise_model(proto::WeightNoiseConfig());
  return n;
}

/// The evaluation setting of the benchmark: afm_pcm, 8-bit DAC and ADC, out_noise 0.04.
inline TileNumerics afm_numerics(int rows, int cols) {
  TileNumerics n = ideal_numerics(rows, cols);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_noise = 0.04;
  proto::WeightNoiseConfig c;
  c.mutable_afm_pcm();
  n.noise = make_noise_model(c);
  return n;
}

}  // namespace aimc::arch::testing

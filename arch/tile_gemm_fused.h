// The constants of a tile read's readout as the fused product kernel applies them
// (packed_product_readout, tile_gemm.h). A plain struct in a header of its own: the per-ISA
// kernel files include it and nothing else of the project (no inline library code compiled with
// their flags).
#pragma once

namespace aimc::arch {

/// A read's readout (output noise, ADC, accumulation into the layer's outputs; TileReadout)
/// applied by the product kernel to its accumulators while they are in registers. Per-channel
/// arrays start at the call's first channel. The arithmetic is the readout's, operation for
/// operation (crossbar_tile.cc, adc_segment): v = acc + sd * noise (no term without noise),
/// the fast ADC decision where it is proven, the exact one-division rule elsewhere, then
/// y = y + code * scale (y = 0 + code * scale with `assign`); channels with wmax 0 leave y (0
/// with `assign`).
struct FusedReadout {
  const float* sd;     ///< output-noise std in accumulator units (unused without noise)
  const float* inv;    ///< fast decision float(out_res / den); 0: exact rule for the channel
  const float* scale;  ///< code -> output units
  const double* den;   ///< exact rule: code = rhe(clamp(v * res / den, +-half))
  const float* wmax;   ///< 0: all-zero channel
  const float* noise;  ///< the draws, noise[c * ld_noise + t]; null: no output noise
  int ld_noise;
  double res, half;        ///< out_res, out_res / 2
  float lim, half_f, thr;  ///< the fast decision's constants (crossbar_tile.cc)
  bool assign;             ///< y is not initialised: write 0 + output
};

}  // namespace aimc::arch

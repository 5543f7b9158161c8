// A linear layer y = x W^T + b on analog crossbar tiles (numerics.md section 2): W (out x in) is
// split over a grid of tiles with balanced splits (inputs along tile rows, outputs along tile
// columns), every tile is programmed once at construction from its own seed and its weights are
// kept packed for the read kernel (tile_gemm.h), and a forward pass runs, per tile, the product
// of the DAC codes with the packed weights followed by a cheap elementwise pass (output noise,
// ADC, drift compensation); the input tiles' partial outputs are summed digitally in tile order,
// then the bias is added.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/crossbar_tile.h"
#include "arch/linear_layer.h"

namespace aimc::arch {

class AnalogLinear : public LinearLayer {
 public:
  /// weight: (out x in); bias: null or (out); input_ranges: one positive range per input tile
  /// (balanced_split(in, numerics.rows)); seed: the layer's chip instance. Tile (i, j) (input
  /// tile i, output tile j) is programmed from derive_seed(seed, i, j). Clips W's whole rows
  /// first when numerics.clip. Throws UserError on a wrong number of, or non-positive, ranges.
  /// Under InputRangePolicy::kDynamic the ranges are not used (each token's input slice uses its
  /// own absolute maximum) but must still be given, e.g. all 1.
  AnalogLinear(const TileNumerics& numerics, const Matrix& weight, const Vector* bias,
               const std::vector<float>& input_ranges, uint64_t seed);

  int in_features() const override { return in_features_; }
  int out_features() const override { return out_features_; }

  /// x: (tokens x in); y: (tokens x out). Reads draw output noise from the tiles' streams, so
  /// the same layer must not be used by two threads at once.
  void forward(const Matrix& x, Matrix* y) override;

  // --- Tiling, for the mapper and the timing model ---
  int input_tiles() const { return static_cast<int>(in_split_.size()); }
  int output_tiles() const { return static_cast<int>(out_split_.size()); }
  /// Rows used by input tile i (its input slice length), and the slice's first input.
  int tile_rows(int i) const { return in_split_[i]; }
  int input_offset(int i) const { return in_off_[i]; }
  /// Columns (output channels) used by output tile j, and the first channel.
  int tile_cols(int j) const { return out_split_[j]; }
  int output_offset(int j) const { return out_off_[j]; }
  float input_range(int i) const { return input_ranges_[i]; }
  /// Drift-compensation factor of tile (i, j) (1 without drift or with compensation off).
  double drift_compensation(int i, int j) const { return comp_[i * output_tiles() + j]; }
  /// Weights reads of tile (i, j) see, (tile_cols(j) x tile_rows(i)), weight units (unpacked
  /// from the tile's packed weights).
  Matrix tile_weights(int i, int j) const;
  /// Tile (i, j)'s weights as the read kernel streams them (pack_weights layout, tile_gemm.h),
  /// for benchmarks of the product alone.
  const float* packed_tile(int i, int j) const {
    return packed_.data() + packed_off_[i * output_tiles() + j];
  }
  /// All programmed weights, (out x in): the tiles' blocks side by side (a copy).
  Matrix programmed_weights() const;

  /// What the DACs of input tile i apply and the noise-free analog sums they produce, for a
  /// cross-check of one read (`aimcsim linear`): `values` (tokens x tile_rows(i)) are the DAC
  /// codes (inp_res > 0; integers) or the inputs the crossbar sees (ideal DAC: x, clamped when
  /// ideal_dac_clamps); `sums` (tokens x out) the products with the programmed weights in output
  /// units (input x weight), before output noise, ADC and drift compensation; `ranges`
  /// (tokens) the range each token used (the tile's static range, or its own under DYNAMIC).
  void probe_tile(const Matrix& x, int i, Matrix* values, Matrix* sums, Vector* ranges) const;

 private:
  /// One read of tile (i, j) on the inputs `x_i` (column-major, batch x tile_rows(i)): product
  /// and readout in blocks of `block` channels (fused into one pass where the level has the
  /// kernel), adding the tile's outputs to `out` (column-major, batch x out_features); with
  /// `assign` the tile's columns of `out` are not initialised and get 0 + the outputs.
  void read_tile(int i, int j, const float* x_i, int batch, int block, float* out, bool assign);
  /// forward() with the input tiles' static ranges: every input tile's DAC codes, then output
  /// tiles outer.
  void forward_static_ranges(const Matrix& x, int block, Matrix* y);
  /// forward() with dynamic ranges: per input tile, each token in units of its own range.
  void forward_dynamic_ranges(const Matrix& x, int block, Matrix* y);

  int inp_res_;
  int in_features_, out_features_;
  std::vector<int> in_split_, in_off_, out_split_, out_off_;
  std::vector<float> input_ranges_;
  std::vector<float> packed_;          ///< every tile's packed weights (tile_gemm.h)
  std::vector<size_t> packed_off_;     ///< per tile, row-major over (i, j): offset in packed_
  Vector bias_;                        ///< empty when the layer has no bias
  std::vector<double> comp_;           ///< per tile, row-major over (i, j)
  std::vector<TileReadout> readouts_;  ///< per tile, row-major over (i, j)
  bool dynamic_ = false;               ///< InputRangePolicy::kDynamic: per-token abs-max ranges
  bool clamp_ideal_dac_ = false;       ///< ideal DAC that clamps to +-IR
  Matrix codes_;                       ///< scratch of forward()
  std::vector<float> acc_;             ///< scratch of forward(): one channel block's accumulators
  NoiseCursor noise_;                  ///< scratch of forward(): a tile read's output noise
  Matrix tile_y_;                      ///< scratch of forward() with dynamic ranges
  Vector token_ranges_;                ///< scratch: each token's range (dynamic)
};

}  // namespace aimc::arch

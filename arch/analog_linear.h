// A linear layer y = x W^T + b on analog crossbar tiles (numerics.md section 2): W (out x in) is
// split over a grid of tiles with balanced splits (inputs along tile rows, outputs along tile
// columns), every tile is programmed once at construction from its own seed, and a forward pass
// runs one GEMM per input tile over all output channels followed by a cheap elementwise pass
// (output noise, ADC, drift compensation) per tile; the input tiles' partial outputs are summed
// digitally in tile order, then the bias is added.
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
  AnalogLinear(const TileNumerics& numerics, const Matrix& weight, const Vector* bias,
               const std::vector<float>& input_ranges, uint64_t seed);

  int in_features() const override { return static_cast<int>(programmed_.cols()); }
  int out_features() const override { return static_cast<int>(programmed_.rows()); }

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
  /// Weights reads of tile (i, j) see, (tile_cols(j) x tile_rows(i)), weight units.
  Eigen::Block<const Matrix> tile_weights(int i, int j) const {
    return programmed_.block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]);
  }
  /// All programmed weights, (out x in): the tiles' blocks side by side.
  const Matrix& programmed_weights() const { return programmed_; }

 private:
  int inp_res_;
  std::vector<int> in_split_, in_off_, out_split_, out_off_;
  std::vector<float> input_ranges_;
  Matrix programmed_;                  ///< (out x in), tile blocks at their offsets
  Vector bias_;                        ///< empty when the layer has no bias
  std::vector<double> comp_;           ///< per tile, row-major over (i, j)
  std::vector<TileReadout> readouts_;  ///< per tile, row-major over (i, j)
  Matrix codes_, acc_;                 ///< scratch of forward()
  std::vector<float> noise_;           ///< scratch of forward()
};

}  // namespace aimc::arch

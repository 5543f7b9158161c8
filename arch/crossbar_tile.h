// One analog crossbar tile: programmed once with a block of weights (programming noise, drift
// and read noise at the inference time from the tile's own seeded streams), then read with
// batches of input vectors: DAC (clamp and quantize), product with the programmed
// weights, per-read output noise, ADC (quantize and clamp), global drift compensation
// (numerics.md section 2). The pieces are also used by AnalogLinear, which holds many tiles'
// packed weights without CrossbarTiles; both give the same numbers. Plain C++ and Eigen, no
// SystemC.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "arch/linear_layer.h"
#include "arch/rng.h"
#include "arch/tile_numerics.h"

namespace aimc::arch {

/// Purpose tag of a tile's output-noise stream, derive_seed(tile_seed, kOutputNoiseStream)
/// (tags 1..3 are the device streams, noise_model.cc).
inline constexpr uint64_t kOutputNoiseStream = 4;

/// Clips each row j of `w` to +-k * std(row j) (std with n - 1, over the whole row, symmetric
/// about 0), as analog-aware training does after every step. Rows of one element are left as is.
void clip_rows(Matrix* w, double k_std);

/// Programs one tile: wmax_j = max_i |target(j, i)| per output channel, then the noise model
/// at numerics.t_inference_s. Writes the weights reads see into `programmed` (shape of
/// `target`, weight units) and wmax into `wmax`. Returns the drift-compensation factor of the
/// tile's outputs: sum |g(t0)| / sum |g(t)| when numerics.drift_compensation is on and the sum at
/// t is positive, else 1.
double program_tile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& target,
                    uint64_t tile_seed, Eigen::Ref<Matrix> programmed, Vector* wmax);

/// The output-noise draws of one tile read, handed out in consecutive pieces of any size: the
/// pieces together are exactly the draws of one Rng::fill_normal_icdf of the read's total (the
/// generator is called with multiples of Rng::kFillBlock, then the read's remainder), so a read
/// may consume its noise channel block by channel block. Scratch for one read at a time.
class NoiseCursor {
 public:
  /// Begins a read of `total` draws from `rng`.
  void start(Rng* rng, size_t total);
  /// The next m draws of the read (valid until the next call); m <= the draws left.
  const float* take(size_t m);

 private:
  Rng* rng_ = nullptr;
  std::vector<float> buf_;
  size_t begin_ = 0, end_ = 0;  ///< drawn, not yet handed out: buf_[begin_, end_)
  size_t left_ = 0;             ///< draws of the read not generated yet
};

/// The digital side of one tile's reads: output noise, ADC and drift compensation, applied to
/// accumulator values acc = (DAC codes or ideal inputs) x programmed^T in one elementwise pass.
/// Owns the tile's output-noise stream, so it is not thread-safe; reads draw batch x channels
/// normals per read, channel-major, tokens fastest.
class TileReadout {
 public:
  /// wmax: the tile's channel scales; out_noise: output-noise std relative to wmax_j * IR
  /// (already divided per layer if so configured); comp: drift-compensation factor.
  TileReadout(const TileNumerics& numerics, const Vector& wmax, float input_range, double out_noise,
              double comp, uint64_t tile_seed);

  int channels() const { return static_cast<int>(wmax_.size()); }

  /// y[b + c * batch] += output(acc[b + c * batch]) for c < channels(), b < batch (both column-
  /// major blocks with leading dimension `batch`): one read. `noise` is scratch. The ADC codes
  /// are those of the exact rule (one double division, numerics.md section 6); a float estimate
  /// decides all values not within a small bound of a rounding boundary (proof in
  /// crossbar_tile.cc, adc_segment).
  void accumulate(const float* acc, int batch, NoiseCursor* noise, float* y);

  /// The same read in channel blocks: channels [c0, c1), acc and y pointing at channel c0's
  /// column (leading dimension `batch`). The blocks of one read must come in order, the first
  /// with c0 = 0 (which starts the read), the last ending at channels(); the result equals one
  /// accumulate() of the whole tile, bit for bit, so a caller can consume each block of
  /// accumulators while it is in L1.
  void accumulate_channels(const float* acc, int batch, int c0, int c1, NoiseCursor* noise,
                           float* y);

  /// The product and the readout of channels [c0, c1) in one pass (packed_product_readout,
  /// tile_gemm.h): x the inputs (column-major, batch x depth, leading dimension batch), packed
  /// the packed weights from channel c0's panel (c0 a multiple of kPanelChannels), y at channel
  /// c0's column as in accumulate_channels; with `assign` y holds nothing yet and gets 0 +
  /// output. The same bits as packed_product then accumulate_channels (on a y of zeros with
  /// `assign`), with the same rules for the order of blocks. Returns false, doing nothing, where
  /// no fused kernel exists (baseline level, 4 tokens or fewer, ideal ADC).
  bool read_fused(const float* x, int batch, const float* packed, int depth, int c0, int c1,
                  NoiseCursor* noise, float* y, bool assign);

 private:
  int out_res_;
  double half_range_;  ///< largest |ADC code|, out_res / 2
  Eigen::VectorXf wmax_;
  Eigen::VectorXf noise_std_;  ///< output-noise std in accumulator units
  Eigen::VectorXd adc_den_;    ///< code = rhe(acc * out_res / adc_den_j)
  Eigen::VectorXf adc_inv_;  ///< float(out_res / adc_den_j) for the fast decision, 0: always exact
  Eigen::VectorXf out_scale_;    ///< code (or acc, ideal ADC) -> output units, comp included
  Eigen::VectorXf ideal_clamp_;  ///< ideal ADC: clamp of acc (infinity unless ideal_adc_clamps)
  bool has_noise_;
  Rng rng_;
};

/// One crossbar tile used on its own (the SystemC tile model and tests). Holds its programmed
/// weights; AnalogLinear does the same work for many tiles without holding CrossbarTiles.
class CrossbarTile {
 public:
  /// weights: (cols_used x rows_used) block, cols_used <= numerics.cols, rows_used <=
  /// numerics.rows, already clipped if clipping is on (clip_rows on the layer's whole rows).
  /// input_range > 0: the tile's static input range IR. layer_input_tiles: input tiles of the
  /// layer, dividing out_noise when numerics.out_noise_per_layer. A tile on its own has static
  /// ranges and per-channel ADC bounds (AnalogLinear implements the dynamic and per-layer
  /// options).
  CrossbarTile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& weights,
               float input_range, uint64_t seed, int layer_input_tiles = 1);

  int rows_used() const { return static_cast<int>(programmed_.cols()); }  ///< inputs (rows)
  int cols_used() const { return static_cast<int>(programmed_.rows()); }  ///< output channels
  /// The weights reads see, (cols_used x rows_used), weight units, programming noise, drift and
  /// read noise at t_inference included (before output noise, ADC and drift compensation).
  const Matrix& programmed_weights() const { return programmed_; }
  const Vector& wmax() const { return wmax_; }
  float input_range() const { return input_range_; }
  double drift_compensation() const { return comp_; }

  /// x: (batch x rows_used) inputs; y resized to (batch x cols_used) tile outputs.
  void read(const Eigen::Ref<const Matrix>& x, Matrix* y);

 private:
  int inp_res_;
  bool clamp_ideal_dac_;
  float input_range_;
  Matrix programmed_;
  Vector wmax_;
  double comp_;
  std::vector<float> packed_;  ///< programmed_ packed for the read kernel (tile_gemm.h)
  TileReadout readout_;
  Matrix codes_;
  std::vector<float> acc_;
  NoiseCursor noise_;
};

}  // namespace aimc::arch

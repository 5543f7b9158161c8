// Tiling, programming and batched reads of an analog linear layer (analog_linear.h).
#include "arch/analog_linear.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "arch/quantize.h"
#include "arch/rng.h"
#include "arch/tile_gemm.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

/// Accumulators per channel block of a read (forward()): 32 KB.
constexpr int kBlockFloats = 8192;

}  // namespace

AnalogLinear::AnalogLinear(const TileNumerics& numerics, const Matrix& weight, const Vector* bias,
                           const std::vector<float>& input_ranges, uint64_t seed)
    : inp_res_(numerics.inp_res),
      in_features_(static_cast<int>(weight.cols())),
      out_features_(static_cast<int>(weight.rows())),
      in_split_(balanced_split(static_cast<int>(weight.cols()), numerics.rows)),
      in_off_(split_offsets(in_split_)),
      out_split_(balanced_split(static_cast<int>(weight.rows()), numerics.cols)),
      out_off_(split_offsets(out_split_)),
      input_ranges_(input_ranges) {
  check_input_ranges("analog layer", weight.cols(), numerics.rows, in_split_, input_ranges);
  dynamic_ = numerics.input_range_policy == InputRangePolicy::kDynamic;
  clamp_ideal_dac_ = numerics.inp_res == 0 && numerics.ideal_dac_clamps;
  if (bias != nullptr) {
    if (bias->size() != weight.rows()) throw std::invalid_argument("AnalogLinear: bias size");
    bias_ = *bias;
  }
  Matrix clipped;
  const Matrix* target = &weight;
  if (numerics.clip) {
    clipped = weight;
    clip_rows(&clipped, numerics.clip_k_std);
    target = &clipped;
  }
  const double out_noise = numerics.out_noise_per_layer
                               ? numerics.out_noise / std::sqrt(double(input_tiles()))
                               : numerics.out_noise;
  readouts_.reserve(in_split_.size() * out_split_.size());
  size_t total = 0;
  for (int i = 0; i < input_tiles(); ++i) {
    for (int j = 0; j < output_tiles(); ++j) {
      packed_off_.push_back(total);
      total += packed_floats(out_split_[j], in_split_[i]);
    }
  }
  packed_.resize(total);
  Matrix programmed;
  for (int i = 0; i < input_tiles(); ++i) {
    // ADC_BOUND_PER_LAYER: one scale for the input slice, the largest |W| over all channels.
    const float slice_max = numerics.adc_bound_scope == AdcBoundScope::kPerLayer
                                ? target->middleCols(in_off_[i], in_split_[i]).cwiseAbs().maxCoeff()
                                : 0.0f;
    for (int j = 0; j < output_tiles(); ++j) {
      const uint64_t tile_seed = derive_seed(seed, i, j);
      Vector wmax;
      programmed.resize(out_split_[j], in_split_[i]);
      const double comp = program_tile(
          numerics, target->block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]), tile_seed,
          programmed, &wmax);
      pack_weights(programmed, packed_.data() + packed_off_[i * output_tiles() + j]);
      comp_.push_back(comp);
      if (numerics.adc_bound_scope == AdcBoundScope::kPerLayer) wmax.setConstant(slice_max);
      if (numerics.adc_bound_scope == AdcBoundScope::kPerTile && wmax.size() > 0) {
        wmax.setConstant(wmax.maxCoeff());
      }
      // Dynamic ranges: the readout works for IR = 1 and forward() scales each token's output by
      // its own range (with a DAC the ADC code does not depend on IR, numerics.md).
      readouts_.emplace_back(numerics, wmax, dynamic_ ? 1.0f : input_ranges_[i], out_noise, comp,
                             tile_seed);
    }
  }
}

Matrix AnalogLinear::tile_weights(int i, int j) const {
  Matrix w(out_split_[j], in_split_[i]);
  unpack_weights(packed_.data() + packed_off_[i * output_tiles() + j], w);
  return w;
}

Matrix AnalogLinear::programmed_weights() const {
  Matrix w(out_features(), in_features());
  for (int i = 0; i < input_tiles(); ++i) {
    for (int j = 0; j < output_tiles(); ++j) {
      w.block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]) = tile_weights(i, j);
    }
  }
  return w;
}

void AnalogLinear::read_tile(int i, int j, const float* x_i, int batch, int block, float* out,
                             bool assign) {
  const float* packed = packed_.data() + packed_off_[i * output_tiles() + j];
  TileReadout& readout = readouts_[i * output_tiles() + j];
  for (int c0 = 0; c0 < out_split_[j]; c0 += block) {
    // Channels c0.. start panel c0 / kPanelChannels, whose weights start at c0 * depth.
    const int c1 = std::min(out_split_[j], c0 + block);
    const float* panel = packed + static_cast<size_t>(c0) * in_split_[i];
    float* y = out + static_cast<size_t>(out_off_[j] + c0) * batch;
    if (readout.read_fused(x_i, batch, panel, in_split_[i], c0, c1, &noise_, y, assign)) continue;
    if (assign) std::fill(y, y + static_cast<size_t>(batch) * (c1 - c0), 0.0f);
    packed_product(x_i, batch, batch, panel, c1 - c0, in_split_[i], acc_.data(), batch);
    readout.accumulate_channels(acc_.data(), batch, c0, c1, &noise_, y);
  }
}

void AnalogLinear::forward_static_ranges(const Matrix& x, int block, Matrix* y) {
  // Inputs column-major (batch x in): tokens fastest, as the kernel reads. The DAC codes of
  // every input tile first, then the tiles in one of two orders, which give the same bits
  // (every output sums its input tiles in order; every tile is read once, its channels in order).
  // Output tiles outer: a tile column's outputs stay in cache while the input tiles add to them,
  // and all the codes are read once per output tile, which is cheap while they fit in L2 (few
  // tokens). Input tiles outer: an input tile's codes stay in L2 while every output tile reads
  // them (the product kernel streams them once per 8 channels) and y is read and written once
  // per input tile, ahead of the readout by prefetch (in groups of output tiles, below).
  // Measured at 512 tokens (4 MB of codes for 2048 inputs), input tiles outer was faster also
  // for 8192 x 2048 and 2048 x 2048 (docs/performance.md).
  const int batch = static_cast<int>(x.rows());
  const float* in = x.data();
  if (inp_res_ > 0 || clamp_ideal_dac_) {
    codes_.resize(batch, in_features());
    for (int i = 0; i < input_tiles(); ++i) {
      const auto x_block = x.middleCols(in_off_[i], in_split_[i]);
      if (inp_res_ > 0) {
        dac_codes(x_block, input_ranges_[i], inp_res_, codes_.middleCols(in_off_[i], in_split_[i]));
      } else {
        codes_.middleCols(in_off_[i], in_split_[i]) =
            x_block.cwiseMax(-input_ranges_[i]).cwiseMin(input_ranges_[i]);
      }
    }
    in = codes_.data();
  }
  // y is not initialised: the first input tile's reads write it (0 + output, as if y were 0).
  const auto read = [&](int i, int j) {
    read_tile(i, j, in + static_cast<size_t>(in_off_[i]) * batch, batch, block, y->data(), i == 0);
  };
  constexpr size_t kCodesInL2Bytes = size_t{1} << 20;
  const size_t codes_bytes = sizeof(float) * static_cast<size_t>(batch) * in_features();
  if (codes_bytes <= kCodesInL2Bytes) {
    for (int j = 0; j < output_tiles(); ++j) {
      for (int i = 0; i < input_tiles(); ++i) read(i, j);
    }
    return;
  }
  // Input tiles outer within groups of output tiles whose outputs take at most kYGroupBytes, so
  // that the group's y stays in L3 (shared with other programs) while the input tiles add to
  // it; every output tile still reads its input tiles in order.
  constexpr size_t kYGroupBytes = size_t{4} << 20;
  int max_cols = 1;
  for (int c : out_split_) max_cols = std::max(max_cols, c);
  const size_t tile_y_bytes = sizeof(float) * static_cast<size_t>(batch) * max_cols;
  const int group = static_cast<int>(std::max<size_t>(1, kYGroupBytes / tile_y_bytes));
  for (int j0 = 0; j0 < output_tiles(); j0 += group) {
    const int j1 = std::min(output_tiles(), j0 + group);
    for (int i = 0; i < input_tiles(); ++i) {
      for (int j = j0; j < j1; ++j) read(i, j);
    }
  }
}

void AnalogLinear::forward_dynamic_ranges(const Matrix& x, int block, Matrix* y) {
  // Each input tile's outputs go to a scratch first, then to y scaled by each token's range.
  const int batch = static_cast<int>(x.rows());
  tile_y_.resize(batch, out_features());
  for (int i = 0; i < input_tiles(); ++i) {
    const auto x_block = x.middleCols(in_off_[i], in_split_[i]);
    token_ranges_ = x_block.cwiseAbs().rowwise().maxCoeff();
    codes_.resize(batch, in_split_[i]);
    if (inp_res_ > 0) {
      dac_codes_per_token(x_block, token_ranges_, inp_res_, codes_);
    } else {
      // Ideal DAC: the inputs in units of their range (|x| <= 1, so no clamp is needed).
      for (int b = 0; b < batch; ++b) {
        const float r = token_ranges_(b);
        if (r > 0) {
          codes_.row(b) = x_block.row(b) / r;
        } else {
          codes_.row(b).setZero();
        }
      }
    }
    tile_y_.setZero();
    for (int j = 0; j < output_tiles(); ++j)
      read_tile(i, j, codes_.data(), batch, block, tile_y_.data(), false);
    for (Eigen::Index c = 0; c < y->cols(); ++c) {
      for (int b = 0; b < batch; ++b) (*y)(b, c) += tile_y_(b, c) * token_ranges_(b);
    }
  }
}

void AnalogLinear::forward(const Matrix& x, Matrix* y) {
  if (x.cols() != in_features()) {
    throw std::invalid_argument("AnalogLinear::forward: x has " + std::to_string(x.cols()) +
                                " columns, the layer " + std::to_string(in_features()) + " inputs");
  }
  const int batch = static_cast<int>(x.rows());
  if (batch == 0 || dynamic_) {
    y->setZero(batch, out_features());
  } else {
    y->resize(batch, out_features());  // written by the reads of input tile 0
  }
  if (batch == 0) return;
  int max_cols = 0;
  for (int c : out_split_) max_cols = std::max(max_cols, c);
  // A tile's product and readout go in blocks of whole panels of channels, each block's
  // accumulators (about 32 KB) consumed by the readout while they are in L1/L2 rather than the
  // whole tile's (up to 256 x 512 floats) written out and read back. Few tokens: one block.
  const int block =
      batch <= 4 ? max_cols
                 : std::max(kPanelChannels, kBlockFloats / batch / kPanelChannels * kPanelChannels);
  const size_t block_floats = static_cast<size_t>(batch) * std::min(block, max_cols);
  if (acc_.size() < block_floats) acc_.resize(block_floats);
  if (dynamic_) {
    forward_dynamic_ranges(x, block, y);
  } else {
    forward_static_ranges(x, block, y);
  }
  if (bias_.size() > 0) y->rowwise() += bias_.transpose();
}

void AnalogLinear::probe_tile(const Matrix& x, int i, Matrix* values, Matrix* sums,
                              Vector* ranges) const {
  if (x.cols() != in_features() || i < 0 || i >= input_tiles()) {
    throw std::invalid_argument("AnalogLinear::probe_tile: input shape or tile index");
  }
  const int batch = static_cast<int>(x.rows());
  const auto x_i = x.middleCols(in_off_[i], in_split_[i]);
  if (dynamic_) {
    *ranges = x_i.cwiseAbs().rowwise().maxCoeff();
  } else {
    ranges->setConstant(batch, input_ranges_[i]);
  }
  values->resize(batch, in_split_[i]);
  if (inp_res_ > 0) {
    if (dynamic_) {
      dac_codes_per_token(x_i, *ranges, inp_res_, *values);
    } else {
      dac_codes(x_i, input_ranges_[i], inp_res_, *values);
    }
  } else if (clamp_ideal_dac_ && !dynamic_) {
    *values = x_i.cwiseMax(-input_ranges_[i]).cwiseMin(input_ranges_[i]);
  } else {
    *values = x_i;
  }
  Matrix w(out_features(), in_split_[i]);
  for (int j = 0; j < output_tiles(); ++j)
    w.middleRows(out_off_[j], out_split_[j]) = tile_weights(i, j);
  *sums = *values * w.transpose();
  if (inp_res_ > 0) {
    for (int b = 0; b < batch; ++b) sums->row(b) *= 2.0f * (*ranges)(b) / inp_res_;
  }
}

}  // namespace aimc::arch

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

void AnalogLinear::forward(const Matrix& x, Matrix* y) {
  if (x.cols() != in_features()) {
    throw std::invalid_argument("AnalogLinear::forward: x has " + std::to_string(x.cols()) +
                                " columns, the layer " + std::to_string(in_features()) + " inputs");
  }
  const int batch = static_cast<int>(x.rows());
  y->setZero(batch, out_features());
  if (batch == 0) return;
  int max_cols = 0;
  for (int c : out_split_) max_cols = std::max(max_cols, c);
  const size_t tile_floats = static_cast<size_t>(batch) * max_cols;
  if (noise_.size() < tile_floats) noise_.resize(tile_floats);
  if (acc_.size() < tile_floats) acc_.resize(tile_floats);
  // Dynamic ranges: each input tile's outputs go to a scratch first, then to y scaled by each
  // token's range.
  float* target = y->data();
  if (dynamic_) {
    tile_y_.resize(batch, out_features());
    target = tile_y_.data();
  }
  for (int i = 0; i < input_tiles(); ++i) {
    // Inputs of the tile row, column-major (batch x rows): tokens fastest, as the kernel reads.
    const float* x_i = x.data() + static_cast<size_t>(in_off_[i]) * batch;
    const auto x_block = x.middleCols(in_off_[i], in_split_[i]);
    if (dynamic_) {
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
      x_i = codes_.data();
      tile_y_.setZero();
    } else if (inp_res_ > 0) {
      codes_.resize(batch, in_split_[i]);
      dac_codes(x_block, input_ranges_[i], inp_res_, codes_);
      x_i = codes_.data();
    } else if (clamp_ideal_dac_) {
      codes_ = x_block.cwiseMax(-input_ranges_[i]).cwiseMin(input_ranges_[i]);
      x_i = codes_.data();
    }
    for (int j = 0; j < output_tiles(); ++j) {
      // The tile's accumulators (batch x channels, column-major) stay in L2 until the readout.
      packed_product(x_i, batch, batch, packed_.data() + packed_off_[i * output_tiles() + j],
                     out_split_[j], in_split_[i], acc_.data(), batch);
      readouts_[i * output_tiles() + j].accumulate(
          acc_.data(), batch, noise_.data(), target + static_cast<size_t>(out_off_[j]) * batch);
    }
    if (dynamic_) {
      for (Eigen::Index c = 0; c < y->cols(); ++c) {
        for (int b = 0; b < batch; ++b) (*y)(b, c) += tile_y_(b, c) * token_ranges_(b);
      }
    }
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

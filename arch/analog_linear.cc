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
    for (int j = 0; j < output_tiles(); ++j) {
      const uint64_t tile_seed = derive_seed(seed, i, j);
      Vector wmax;
      programmed.resize(out_split_[j], in_split_[i]);
      const double comp = program_tile(
          numerics, target->block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]), tile_seed,
          programmed, &wmax);
      pack_weights(programmed, packed_.data() + packed_off_[i * output_tiles() + j]);
      comp_.push_back(comp);
      readouts_.emplace_back(numerics, wmax, input_ranges_[i], out_noise, comp, tile_seed);
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
  for (int i = 0; i < input_tiles(); ++i) {
    // Inputs of the tile row, column-major (batch x rows): tokens fastest, as the kernel reads.
    const float* x_i = x.data() + static_cast<size_t>(in_off_[i]) * batch;
    if (inp_res_ > 0) {
      codes_.resize(batch, in_split_[i]);
      dac_codes(x.middleCols(in_off_[i], in_split_[i]), input_ranges_[i], inp_res_, codes_);
      x_i = codes_.data();
    }
    for (int j = 0; j < output_tiles(); ++j) {
      // The tile's accumulators (batch x channels, column-major) stay in L2 until the readout.
      packed_product(x_i, batch, batch, packed_.data() + packed_off_[i * output_tiles() + j],
                     out_split_[j], in_split_[i], acc_.data(), batch);
      readouts_[i * output_tiles() + j].accumulate(
          acc_.data(), batch, noise_.data(), y->data() + static_cast<size_t>(out_off_[j]) * batch);
    }
  }
  if (bias_.size() > 0) y->rowwise() += bias_.transpose();
}

}  // namespace aimc::arch

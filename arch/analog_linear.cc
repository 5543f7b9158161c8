// Tiling, programming and batched reads of an analog linear layer (analog_linear.h).
#include "arch/analog_linear.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "arch/quantize.h"
#include "arch/rng.h"
#include "proto/user_error.h"

namespace aimc::arch {

AnalogLinear::AnalogLinear(const TileNumerics& numerics, const Matrix& weight, const Vector* bias,
                           const std::vector<float>& input_ranges, uint64_t seed)
    : inp_res_(numerics.inp_res),
      in_split_(balanced_split(static_cast<int>(weight.cols()), numerics.rows)),
      in_off_(split_offsets(in_split_)),
      out_split_(balanced_split(static_cast<int>(weight.rows()), numerics.cols)),
      out_off_(split_offsets(out_split_)),
      input_ranges_(input_ranges),
      programmed_(weight.rows(), weight.cols()) {
  if (input_ranges.size() != in_split_.size()) {
    throw UserError("analog layer of " + std::to_string(weight.cols()) + " inputs: expected " +
                    std::to_string(in_split_.size()) + " input ranges (one per tile of " +
                    std::to_string(numerics.rows) + " rows), got " +
                    std::to_string(input_ranges.size()));
  }
  for (size_t i = 0; i < input_ranges.size(); ++i) {
    if (!(input_ranges[i] > 0) || !std::isfinite(input_ranges[i])) {
      throw UserError("analog layer: input range of input tile " + std::to_string(i) +
                      " must be positive and finite, got " + std::to_string(input_ranges[i]));
    }
  }
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
  for (int i = 0; i < input_tiles(); ++i) {
    for (int j = 0; j < output_tiles(); ++j) {
      const uint64_t tile_seed = derive_seed(seed, i, j);
      Vector wmax;
      const double comp = program_tile(
          numerics, target->block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]), tile_seed,
          programmed_.block(out_off_[j], in_off_[i], out_split_[j], in_split_[i]), &wmax);
      comp_.push_back(comp);
      readouts_.emplace_back(numerics, wmax, input_ranges_[i], out_noise, comp, tile_seed);
    }
  }
}

void AnalogLinear::forward(const Matrix& x, Matrix* y) {
  if (x.cols() != in_features()) {
    throw std::invalid_argument("AnalogLinear::forward: x has " + std::to_string(x.cols()) +
                                " columns, the layer " + std::to_string(in_features()) + " inputs");
  }
  const int batch = static_cast<int>(x.rows());
  y->setZero(batch, out_features());
  int max_cols = 0;
  for (int c : out_split_) max_cols = std::max(max_cols, c);
  noise_.resize(static_cast<size_t>(batch) * max_cols);
  // Output tiles are read in groups whose accumulator block (batch x group channels) stays in
  // the L2 cache between the GEMM that writes it and the pass that reads it.
  constexpr size_t kAccBudgetBytes = 512 * 1024;
  const size_t tile_bytes = static_cast<size_t>(batch) * max_cols * sizeof(float);
  const int group =
      std::max<int>(1, static_cast<int>(kAccBudgetBytes / std::max<size_t>(tile_bytes, 1)));
  for (int i = 0; i < input_tiles(); ++i) {
    const auto x_i = x.middleCols(in_off_[i], in_split_[i]);
    if (inp_res_ > 0) {
      codes_.resize(batch, in_split_[i]);
      dac_codes(x_i, input_ranges_[i], inp_res_, codes_);
    }
    for (int j0 = 0; j0 < output_tiles(); j0 += group) {
      const int j1 = std::min(output_tiles(), j0 + group);
      const int c0 = out_off_[j0], channels = out_off_[j1 - 1] + out_split_[j1 - 1] - c0;
      // One GEMM for the group's output channels (all of them for small batches).
      const auto w_ij = programmed_.block(c0, in_off_[i], channels, in_split_[i]);
      if (inp_res_ > 0) {
        acc_.noalias() = codes_ * w_ij.transpose();
      } else {
        acc_.noalias() = x_i * w_ij.transpose();
      }
      for (int j = j0; j < j1; ++j) {
        const size_t acc_off = static_cast<size_t>(out_off_[j] - c0) * batch;
        const size_t y_off = static_cast<size_t>(out_off_[j]) * batch;
        readouts_[i * output_tiles() + j].accumulate(acc_.data() + acc_off, batch, noise_.data(),
                                                     y->data() + y_off);
      }
    }
  }
  if (bias_.size() > 0) y->rowwise() += bias_.transpose();
}

}  // namespace aimc::arch

// FP32 and W4A8 linear layers (digital_linear.h).
#include "arch/digital_linear.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "arch/quantize.h"
#include "arch/tile_gemm.h"
#include "proto/user_error.h"

namespace aimc::arch {

Fp32Linear::Fp32Linear(const Matrix& weight, const Vector* bias)
    : in_features_(static_cast<int>(weight.cols())),
      out_features_(static_cast<int>(weight.rows())),
      packed_(packed_floats(out_features_, in_features_)) {
  if (bias != nullptr) {
    if (bias->size() != weight.rows()) throw std::invalid_argument("Fp32Linear: bias size");
    bias_ = *bias;
  }
  // Block b packs inputs [b * kBlockRows, ...) of every channel; consecutive in packed_.
  size_t off = 0;
  for (int k0 = 0; k0 < in_features_; k0 += kBlockRows) {
    const int rows = std::min(kBlockRows, in_features_ - k0);
    pack_weights(weight.middleCols(k0, rows), packed_.data() + off);
    off += packed_floats(out_features_, rows);
  }
}

void Fp32Linear::forward(const Matrix& x, Matrix* y) {
  if (x.cols() != in_features_) throw std::invalid_argument("Fp32Linear::forward: x columns");
  const int batch = static_cast<int>(x.rows());
  y->resize(batch, out_features_);
  if (in_features_ == 0) y->setZero();
  size_t off = 0;
  for (int k0 = 0; k0 < in_features_; k0 += kBlockRows) {
    const int rows = std::min(kBlockRows, in_features_ - k0);
    packed_product(x.data() + static_cast<size_t>(k0) * batch, batch, batch, packed_.data() + off,
                   out_features_, rows, y->data(), batch, k0 > 0);
    off += packed_floats(out_features_, rows);
  }
  if (bias_.size() > 0) y->rowwise() += bias_.transpose();
}

W4A8Linear::W4A8Linear(const Matrix& weight, const Vector* bias,
                       const std::vector<float>& input_ranges, int tile_rows, bool dynamic)
    : codes_(weight.rows(), weight.cols()),
      step_w_(weight.rows()),
      in_split_(balanced_split(static_cast<int>(weight.cols()), tile_rows)),
      in_off_(split_offsets(in_split_)),
      input_ranges_(input_ranges),
      dynamic_(dynamic) {
  check_input_ranges("W4A8 layer", weight.cols(), tile_rows, in_split_, input_ranges);
  if (bias != nullptr) {
    if (bias->size() != weight.rows()) throw std::invalid_argument("W4A8Linear: bias size");
    bias_ = *bias;
  }
  for (Eigen::Index j = 0; j < weight.rows(); ++j) {
    const float wmax = weight.row(j).cwiseAbs().maxCoeff();
    step_w_(j) = 2.0 * wmax / 14;
    for (Eigen::Index i = 0; i < weight.cols(); ++i) {
      codes_(j, i) = static_cast<float>(w4_code(weight(j, i), wmax));
    }
  }
}

void W4A8Linear::forward(const Matrix& x, Matrix* y) {
  if (x.cols() != codes_.cols()) throw std::invalid_argument("W4A8Linear::forward: x columns");
  const Eigen::Index batch = x.rows();
  y->setZero(batch, codes_.rows());
  // Scratch of this call only: forward() changes no state (shareable()).
  Matrix x_codes, acc;
  Vector token_ranges;
  for (size_t t = 0; t < in_split_.size(); ++t) {
    x_codes.resize(batch, in_split_[t]);
    const auto x_t = x.middleCols(in_off_[t], in_split_[t]);
    if (dynamic_) {
      token_ranges = x_t.cwiseAbs().rowwise().maxCoeff();
      dac_codes_per_token(x_t, token_ranges, kInputLevels, x_codes);
    } else {
      dac_codes(x_t, input_ranges_[t], kInputLevels, x_codes);
    }
    acc.noalias() = x_codes * codes_.middleCols(in_off_[t], in_split_[t]).transpose();
    const double step_in = 2.0 * input_ranges_[t] / kInputLevels;
    for (Eigen::Index j = 0; j < acc.cols(); ++j) {
      for (Eigen::Index b = 0; b < batch; ++b) {
        const double scale =
            (dynamic_ ? 2.0 * token_ranges(b) / kInputLevels : step_in) * step_w_(j);
        (*y)(b, j) += static_cast<float>(acc(b, j) * scale);
      }
    }
  }
  if (bias_.size() > 0) y->rowwise() += bias_.transpose();
}

}  // namespace aimc::arch

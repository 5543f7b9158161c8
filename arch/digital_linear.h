// The digital baselines of numerics.md section 4: exact FP32, and W4A8 (per-output-channel
// symmetric round-to-nearest 4-bit weights over the whole row, static 8-bit inputs per input
// tile as in the DAC). Plain C++ and Eigen.
#pragma once

#include <vector>

#include "arch/linear_layer.h"

namespace aimc::arch {

/// y = x W^T + b in FP32, one GEMM.
/// Exact FP32: y = x W^T + b, every output one chain of fused multiply-adds over the inputs in
/// order from +0 (tile_gemm.h), so the bits do not depend on the CPU's instruction set.
class Fp32Linear : public LinearLayer {
 public:
  /// weight: (out x in); bias: null or (out).
  Fp32Linear(const Matrix& weight, const Vector* bias);
  int in_features() const override { return in_features_; }
  int out_features() const override { return out_features_; }
  void forward(const Matrix& x, Matrix* y) override;
  bool shareable() const override { return true; }

 private:
  /// Inputs per packed block: the product runs block by block, each continuing the previous
  /// block's accumulators, so every output is one fused chain over all inputs in order
  /// (tile_gemm.h) while a block's weights stay in cache.
  static constexpr int kBlockRows = 256;
  int in_features_, out_features_;
  std::vector<float> packed_;  ///< blocks of kBlockRows inputs, each packed (tile_gemm.h)
  Vector bias_;                ///< empty when the layer has no bias
};

/// W4A8 ("SI8-W4"): weight code k_ji = round_half_even(W_ji * 14 / (2 wmax_j)) in -7..7,
/// wmax_j = max_i |W_ji| over the whole row; input code c = DAC code with 254 levels and the
/// input tile's static range. The MAC array accumulates integer codes per input tile (exact in
/// float up to 18,000 inputs per tile); each tile's sum is scaled by step_in_t * step_w_j in
/// double, the tiles are summed in order, then the bias is added. With dynamic input ranges a
/// token's range is max |x| of its tile slice and the scale step_in_b,t * step_w_j.
class W4A8Linear : public LinearLayer {
 public:
  /// input_ranges: one per input tile of `tile_rows` inputs (balanced_split(in, tile_rows)).
  /// dynamic: each token's input slice uses its own absolute maximum as range instead (the
  /// ranges are then only checked).
  W4A8Linear(const Matrix& weight, const Vector* bias, const std::vector<float>& input_ranges,
             int tile_rows, bool dynamic = false);
  int in_features() const override { return static_cast<int>(codes_.cols()); }
  int out_features() const override { return static_cast<int>(codes_.rows()); }
  void forward(const Matrix& x, Matrix* y) override;
  bool shareable() const override { return true; }

  /// Weight codes (out x in), exact integers -7..7, and the per-channel steps 2 wmax_j / 14.
  const Matrix& weight_codes() const { return codes_; }
  const Eigen::VectorXd& weight_steps() const { return step_w_; }

 private:
  static constexpr int kInputLevels = 254;  ///< 8-bit inputs, codes -127..127
  Matrix codes_;
  Eigen::VectorXd step_w_;
  Vector bias_;
  std::vector<int> in_split_, in_off_;
  std::vector<float> input_ranges_;
  bool dynamic_;
};

}  // namespace aimc::arch

// Static input ranges of the DACs (numerics.md section 2.1): one scalar per input tile of every
// linear layer, taken from the checkpoint, calibrated on data, or fixed, as the chip's
// InputRangePolicy says. Calibration runs the FP32 model over windows of calibration text
// (disjoint from the evaluation text) and sets IR_t = mean over windows of kappa * std(x_t).
#pragma once

#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "arch/tile_numerics.h"
#include "workloads/dataset.h"
#include "workloads/executor.h"
#include "workloads/transformer_weights.h"

namespace aimc::workloads {

/// kappa * std(x_t) of one batch for each input tile t (tiles = arch::balanced_split(in, rows)
/// over the columns of `x`, tokens x in). std is the standard deviation over all tokens x
/// tile-width elements of the tile's slice, computed in double, with divisor n - 1 (torch's
/// `std()`, as AIHWKit) when `n_minus_1`, else n; a slice of one element has std 0 under n - 1.
std::vector<double> batch_tile_ranges(const arch::Matrix& x, int rows, double kappa,
                                      bool n_minus_1 = true);

/// How a RangeCalibrator computes and averages (numerics.input_range.std_divisor, zero_spread).
struct RangeRule {
  double kappa = 3;
  bool n_minus_1 = true;         ///< std divisor n - 1 (else n)
  bool skip_zero_spread = true;  ///< leave batches with std 0 out of the tile's mean
  float fallback = 1;            ///< range of a tile with no batch left (skip_zero_spread)
  /// The rule the chip's numerics give.
  static RangeRule from(const arch::TileNumerics& numerics);
};

/// Running calibration of one layer: per tile, the mean over batches of batch_tile_ranges().
class RangeCalibrator {
 public:
  RangeCalibrator(int in_features, int rows, const RangeRule& rule);
  RangeCalibrator(int in_features, int rows, double kappa)
      : RangeCalibrator(in_features, rows, RangeRule{kappa}) {}
  /// Adds one batch (tokens x in_features).
  void add_batch(const arch::Matrix& x);
  int batches() const { return batches_; }
  /// Batches counted in tile t's mean (fewer than batches() when zero-spread ones are skipped).
  int counted(size_t t) const { return counts_[t]; }
  /// The calibrated ranges, one per tile (sums in double, divided once, then rounded to float).
  /// With skip_zero_spread, a tile without any counted batch gets rule.fallback; otherwise a
  /// range of exactly 0 (constant input) becomes kMinRange so the DAC step stays defined.
  std::vector<float> ranges() const;
  static constexpr float kMinRange = 1e-30f;

 private:
  int in_features_, rows_;
  RangeRule rule_;
  std::vector<double> sums_;
  std::vector<int> counts_;
  int batches_ = 0;
};

/// Calibration data size: the proto's input_range.calibration_window / calibration_batches.
struct CalibrationOptions {
  int window = 128;  ///< tokens per batch (one window of calibration text)
  int batches = 8;   ///< batches (windows); fewer when the text is shorter; 0 = all that fit
};

/// Where the ranges of a resolve_input_ranges() call came from (for reports).
struct InputRangeReport {
  int from_checkpoint = 0;      ///< layers whose ranges are the checkpoint's `.input_range`
  int calibrated = 0;           ///< layers calibrated on data
  int fixed = 0;                ///< layers given numerics.fixed_input_range
  int dynamic = 0;              ///< layers with dynamic (per-token) ranges
  int calibration_batches = 0;  ///< windows the calibration ran over (0 = none needed)
  int calibration_tokens = 0;   ///< tokens per window
  /// One line for people, e.g. "12 from checkpoint, 1 calibrated (kappa 3, 8 x 128 tokens)".
  std::string summary(double kappa) const;
};

/// Calibrates every linear layer (lm_head too) on `calibration_tokens` with the FP32 model.
/// Deterministic: windows run in order, sums in double. Throws UserError when the tokens do
/// not fill one window.
LayerInputRanges calibrate_input_ranges(const TransformerWeights& weights,
                                        const arch::TileNumerics& numerics,
                                        const TokenIds& calibration_tokens,
                                        const CalibrationOptions& options);

/// Whether resolve_input_ranges() would calibrate some layer (lm_head only when
/// `include_lm_head`): policy kCalibrate, or kCheckpointOrCalibrate with a layer that has no
/// checkpoint range. Calibration data is needed only then.
bool calibration_needed(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                        bool include_lm_head);

/// The ranges every layer will use under numerics.input_range_policy:
/// - kCheckpointOrCalibrate: the checkpoint's `.input_range` where present (its length must
///   equal the layer's tile count), calibrated otherwise;
/// - kCalibrate: calibrated for every layer;
/// - kFixed: numerics.fixed_input_range for every tile;
/// - kDynamic: placeholders of 1 (the layers use each token's own range; nothing is calibrated).
/// lm_head is included when `include_lm_head` (it runs on tiles); otherwise its ranges are left
/// empty. Calibration runs only when some layer needs it. Throws UserError for a checkpoint
/// range of the wrong length (naming the layer) or too little calibration data.
LayerInputRanges resolve_input_ranges(const TransformerWeights& weights,
                                      const arch::TileNumerics& numerics,
                                      const TokenIds& calibration_tokens,
                                      const CalibrationOptions& options, bool include_lm_head,
                                      InputRangeReport* report = nullptr);

}  // namespace aimc::workloads

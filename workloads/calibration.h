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
/// over the columns of `x`, tokens x in). std is the population standard deviation over all
/// tokens x tile-width elements of the tile's slice, computed in double.
std::vector<double> batch_tile_ranges(const arch::Matrix& x, int rows, double kappa);

/// Running calibration of one layer: the mean over batches of batch_tile_ranges().
class RangeCalibrator {
 public:
  RangeCalibrator(int in_features, int rows, double kappa);
  /// Adds one batch (tokens x in_features).
  void add_batch(const arch::Matrix& x);
  int batches() const { return batches_; }
  /// The calibrated ranges, one per tile (sums in double, divided once, then rounded to float).
  /// A range of exactly 0 (constant input) becomes kMinRange so the DAC step stays defined.
  std::vector<float> ranges() const;
  static constexpr float kMinRange = 1e-30f;

 private:
  int in_features_, rows_;
  double kappa_;
  std::vector<double> sums_;
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

/// The ranges every layer will use under numerics.input_range_policy:
/// - kCheckpointOrCalibrate: the checkpoint's `.input_range` where present (its length must
///   equal the layer's tile count), calibrated otherwise;
/// - kCalibrate: calibrated for every layer;
/// - kFixed: numerics.fixed_input_range for every tile.
/// lm_head is included when `include_lm_head` (it runs on tiles); otherwise its ranges are left
/// empty. Calibration runs only when some layer needs it. Throws UserError for a checkpoint
/// range of the wrong length (naming the layer) or too little calibration data.
LayerInputRanges resolve_input_ranges(const TransformerWeights& weights,
                                      const arch::TileNumerics& numerics,
                                      const TokenIds& calibration_tokens,
                                      const CalibrationOptions& options, bool include_lm_head,
                                      InputRangeReport* report = nullptr);

}  // namespace aimc::workloads

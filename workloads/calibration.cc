// Input-range calibration: the FP32 executor runs the calibration windows with a hook that
// feeds every linear layer's input to that layer's RangeCalibrator.
#include "workloads/calibration.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "arch/quantize.h"
#include "proto/user_error.h"

namespace aimc::workloads {

std::vector<double> batch_tile_ranges(const arch::Matrix& x, int rows, double kappa,
                                      bool n_minus_1) {
  const std::vector<int> sizes = arch::balanced_split(static_cast<int>(x.cols()), rows);
  const std::vector<int> offsets = arch::split_offsets(sizes);
  std::vector<double> ranges(sizes.size());
  for (size_t t = 0; t < sizes.size(); ++t) {
    const auto slice = x.middleCols(offsets[t], sizes[t]);
    const double n = static_cast<double>(slice.size());
    // Two passes (mean, then squared deviations) in double: no cancellation for inputs with a
    // large mean.
    double sum = 0;
    for (Eigen::Index j = 0; j < slice.cols(); ++j) {
      for (Eigen::Index i = 0; i < slice.rows(); ++i) sum += slice(i, j);
    }
    const double mean = sum / n;
    double sq = 0;
    for (Eigen::Index j = 0; j < slice.cols(); ++j) {
      for (Eigen::Index i = 0; i < slice.rows(); ++i) {
        const double d = slice(i, j) - mean;
        sq += d * d;
      }
    }
    const double divisor = n_minus_1 ? n - 1 : n;
    ranges[t] = divisor > 0 ? kappa * std::sqrt(sq / divisor) : 0.0;
  }
  return ranges;
}

RangeRule RangeRule::from(const arch::TileNumerics& numerics) {
  RangeRule r;
  r.kappa = numerics.kappa;
  r.n_minus_1 = numerics.calibration_std_n_minus_1;
  r.skip_zero_spread = numerics.calibration_skip_zero_spread;
  r.fallback = static_cast<float>(numerics.fixed_input_range);
  return r;
}

RangeCalibrator::RangeCalibrator(int in_features, int rows, const RangeRule& rule)
    : in_features_(in_features),
      rows_(rows),
      rule_(rule),
      sums_(arch::balanced_split(in_features, rows).size(), 0.0),
      counts_(sums_.size(), 0) {}

void RangeCalibrator::add_batch(const arch::Matrix& x) {
  if (x.cols() != in_features_) {
    throw std::logic_error("RangeCalibrator: batch has " + std::to_string(x.cols()) +
                           " features, layer has " + std::to_string(in_features_));
  }
  const std::vector<double> r = batch_tile_ranges(x, rows_, rule_.kappa, rule_.n_minus_1);
  for (size_t t = 0; t < r.size(); ++t) {
    if (rule_.skip_zero_spread && !(r[t] > 0)) continue;
    sums_[t] += r[t];
    ++counts_[t];
  }
  ++batches_;
}

std::vector<float> RangeCalibrator::ranges() const {
  std::vector<float> out(sums_.size());
  for (size_t t = 0; t < sums_.size(); ++t) {
    if (rule_.skip_zero_spread && counts_[t] == 0) {
      out[t] = rule_.fallback;
      continue;
    }
    const float r = counts_[t] > 0 ? static_cast<float>(sums_[t] / counts_[t]) : 0.0f;
    out[t] = r > 0 ? r : kMinRange;
  }
  return out;
}

std::string InputRangeReport::summary(double kappa) const {
  std::ostringstream s;
  bool first = true;
  auto part = [&](int n, const std::string& what) {
    if (n == 0) return;
    s << (first ? "" : ", ") << n << " " << what;
    first = false;
  };
  part(from_checkpoint, "from checkpoint");
  std::ostringstream cal;
  cal << "calibrated (kappa " << kappa << ", " << calibration_batches << " x " << calibration_tokens
      << " tokens)";
  part(calibrated, cal.str());
  part(fixed, "fixed");
  part(dynamic, "dynamic (per token)");
  if (first) s << "none needed";
  return s.str();
}

LayerInputRanges calibrate_input_ranges(const TransformerWeights& weights,
                                        const arch::TileNumerics& numerics,
                                        const TokenIds& calibration_tokens,
                                        const CalibrationOptions& options) {
  const std::vector<TokenWindow> windows =
      make_windows(calibration_tokens, options.window, options.batches, "calibration data");
  std::vector<std::vector<RangeCalibrator>> blocks(weights.blocks.size());
  for (size_t b = 0; b < weights.blocks.size(); ++b) {
    for (const LinearWeights& w : weights.blocks[b].linears) {
      blocks[b].emplace_back(static_cast<int>(w.weight.cols()), numerics.rows,
                             RangeRule::from(numerics));
    }
  }
  RangeCalibrator head(static_cast<int>(weights.lm_head.weight.cols()), numerics.rows,
                       RangeRule::from(numerics));

  Executor fp32(weights, numerics, LayerInputRanges{}, ExecutorOptions{});
  fp32.set_linear_input_hook([&](const LinearSite& site, const arch::Matrix& x) {
    (site.block < 0 ? head : blocks[site.block][site.index]).add_batch(x);
  });
  for (const TokenWindow& w : windows) fp32.prefill(w.tokens.data(), w.length());

  LayerInputRanges ranges;
  ranges.blocks.resize(blocks.size());
  for (size_t b = 0; b < blocks.size(); ++b) {
    for (const RangeCalibrator& c : blocks[b]) ranges.blocks[b].push_back(c.ranges());
  }
  ranges.lm_head = head.ranges();
  return ranges;
}

bool calibration_needed(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                        bool include_lm_head) {
  switch (numerics.input_range_policy) {
    case arch::InputRangePolicy::kCalibrate:
      return true;
    case arch::InputRangePolicy::kFixed:
    case arch::InputRangePolicy::kDynamic:
      return false;
    case arch::InputRangePolicy::kCheckpointOrCalibrate:
      break;
  }
  for (const BlockWeights& b : weights.blocks) {
    for (const LinearWeights& w : b.linears) {
      if (w.input_range.empty()) return true;
    }
  }
  return include_lm_head && weights.lm_head.input_range.empty();
}

LayerInputRanges resolve_input_ranges(const TransformerWeights& weights,
                                      const arch::TileNumerics& numerics,
                                      const TokenIds& calibration_tokens,
                                      const CalibrationOptions& options, bool include_lm_head,
                                      InputRangeReport* report) {
  InputRangeReport local;
  InputRangeReport& rep = report ? *report : local;
  rep = InputRangeReport{};
  using Policy = arch::InputRangePolicy;
  const Policy policy = numerics.input_range_policy;

  // First pass: what each layer gets without calibration; null marks "needs calibration".
  auto tiles_of = [&](const LinearWeights& w) {
    return static_cast<int>(
        arch::balanced_split(static_cast<int>(w.weight.cols()), numerics.rows).size());
  };
  bool need_calibration = false;
  auto plan = [&](const LinearWeights& w, std::vector<float>* out) {
    const int tiles = tiles_of(w);
    if (policy == Policy::kDynamic) {
      out->assign(tiles, 1.0f);
      ++rep.dynamic;
      return true;
    }
    if (policy == Policy::kFixed) {
      out->assign(tiles, static_cast<float>(numerics.fixed_input_range));
      ++rep.fixed;
      return true;
    }
    if (policy == Policy::kCheckpointOrCalibrate && !w.input_range.empty()) {
      if (static_cast<int>(w.input_range.size()) != tiles) {
        throw UserError(w.shape.name + ".input_range: the checkpoint has " +
                        std::to_string(w.input_range.size()) + " ranges, the chip splits the " +
                        std::to_string(w.weight.cols()) + " inputs into " + std::to_string(tiles) +
                        " tiles of at most " + std::to_string(numerics.rows) +
                        " rows; use input_range policy CALIBRATE or matching tile rows");
      }
      *out = w.input_range;
      ++rep.from_checkpoint;
      return true;
    }
    need_calibration = true;
    ++rep.calibrated;
    return false;
  };

  LayerInputRanges ranges;
  std::vector<std::vector<bool>> done(weights.blocks.size());
  ranges.blocks.resize(weights.blocks.size());
  for (size_t b = 0; b < weights.blocks.size(); ++b) {
    const auto& linears = weights.blocks[b].linears;
    ranges.blocks[b].resize(linears.size());
    for (size_t i = 0; i < linears.size(); ++i) {
      done[b].push_back(plan(linears[i], &ranges.blocks[b][i]));
    }
  }
  bool head_done = true;
  if (include_lm_head) head_done = plan(weights.lm_head, &ranges.lm_head);

  if (need_calibration) {
    const LayerInputRanges calibrated =
        calibrate_input_ranges(weights, numerics, calibration_tokens, options);
    for (size_t b = 0; b < done.size(); ++b) {
      for (size_t i = 0; i < done[b].size(); ++i) {
        if (!done[b][i]) ranges.blocks[b][i] = calibrated.blocks[b][i];
      }
    }
    if (!head_done) ranges.lm_head = calibrated.lm_head;
    const size_t stride = static_cast<size_t>(options.window) + 1;
    const size_t fit = calibration_tokens.size() / stride;
    rep.calibration_batches = static_cast<int>(
        options.batches > 0 ? std::min(fit, static_cast<size_t>(options.batches)) : fit);
    rep.calibration_tokens = options.window;
  }
  return ranges;
}

}  // namespace aimc::workloads

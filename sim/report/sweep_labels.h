// Internal to the sweep files (sweep_report.cc, sweep_page.cc): how a point's inputs are named
// in the CSV, the terminal table and the page.
#pragma once

#include <string>
#include <vector>

#include "proto/sweep.pb.h"

namespace aimc::sim::detail {

/// The swept fields of `results`, in the order they first appear.
std::vector<std::string> setting_labels(const proto::SweepResults& results);
/// The value of swept field `label` at `row`; "" when the row has none.
std::string setting_of(const proto::SweepRow& row, const std::string& label);
/// The model's name without its folders.
std::string short_model(const std::string& model);
/// A short description of a point's inputs: its swept values, and model/mapping when they vary.
std::string point_label(const proto::SweepRow& row, bool with_model, bool with_mapping);

}  // namespace aimc::sim::detail

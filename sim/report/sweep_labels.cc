// Names of a sweep point's inputs, shared by the sweep's files, table and page.
#include "sim/report/sweep_labels.h"

#include <algorithm>

namespace aimc::sim::detail {

std::vector<std::string> setting_labels(const proto::SweepResults& results) {
  std::vector<std::string> labels;
  for (const proto::SweepRow& row : results.rows()) {
    for (const proto::SweepSetting& s : row.settings()) {
      if (std::find(labels.begin(), labels.end(), s.field()) == labels.end())
        labels.push_back(s.field());
    }
  }
  return labels;
}

std::string setting_of(const proto::SweepRow& row, const std::string& label) {
  for (const proto::SweepSetting& s : row.settings())
    if (s.field() == label) return s.value();
  return "";
}
std::string short_model(const std::string& model) {
  const auto slash = model.find_last_of('/');
  return slash == std::string::npos ? model : model.substr(slash + 1);
}

// A short description of a point's inputs: its swept values, and model/mapping when they vary.
std::string point_label(const proto::SweepRow& row, bool with_model, bool with_mapping) {
  std::string s;
  if (with_model) s += short_model(row.model());
  if (with_mapping) s += (s.empty() ? "" : " ") + row.mapping();
  for (const auto& v : row.settings()) s += (s.empty() ? "" : " ") + v.field() + "=" + v.value();
  return s;
}

}  // namespace aimc::sim::detail

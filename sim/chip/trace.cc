// Trace-event JSON writer.
#include "sim/chip/trace.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "proto/chip_config_io.h"

namespace aimc::sim {
TraceWriter::TraceWriter(const TraceOptions& options)
    : opt_(options),
      start_ps_(static_cast<arch::Ps>(options.start_us * 1e6)),
      end_ps_(options.end_us > 1e12 ? INT64_MAX : static_cast<arch::Ps>(options.end_us * 1e6)) {
  std::stringstream ss(options.filter);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) filters_.push_back(item);
}

bool TraceWriter::wants(const std::string& track) const {
  if (filters_.empty()) return true;
  for (const std::string& f : filters_)
    if (track.find(f) != std::string::npos) return true;
  return false;
}

int TraceWriter::track(const std::string& name) {
  tracks_.push_back(name);
  return static_cast<int>(tracks_.size()) - 1;
}

void TraceWriter::span(int track_id, const char* what, arch::Ps start, arch::Ps end) {
  if (track_id < 0 || end < start_ps_ || start > end_ps_) return;
  if (static_cast<long long>(spans_.size()) >= opt_.max_spans) {
    ++dropped_;
    return;
  }
  spans_.push_back(Span{track_id, what, start, end});
}

void TraceWriter::write() const {
  // One event per line, each written by nlohmann (names escaped as JSON requires), so that a
  // trace of a million spans never sits in memory as one JSON tree: the document is written by
  // nlohmann with an empty event list, and the events go between its brackets.
  const std::string frame =
      nlohmann::json{{"displayTimeUnit", "ns"}, {"traceEvents", nlohmann::json::array()}}.dump();
  const size_t events_end = frame.rfind(']');  // the empty event list's closing bracket
  std::string out = frame.substr(0, events_end) + "\n";
  bool first = true;
  auto add = [&](const nlohmann::json& event) {
    out += first ? "" : ",\n";
    first = false;
    out += event.dump();
  };
  std::vector<bool> used(tracks_.size(), false);
  for (const Span& s : spans_) used[s.track] = true;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (!used[i]) continue;  // only tracks with a span in the window
    add({{"ph", "M"},
         {"pid", 1},
         {"tid", i},
         {"name", "thread_name"},
         {"args", {{"name", tracks_[i]}}}});
  }
  for (const Span& s : spans_) {
    add({{"ph", "X"},
         {"pid", 1},
         {"tid", s.track},
         {"name", s.what},
         {"ts", s.start * 1e-6},
         {"dur", (s.end - s.start) * 1e-6}});
  }
  out += "\n" + frame.substr(events_end) + "\n";
  proto::write_file_atomic(opt_.path, out);
}

}  // namespace aimc::sim

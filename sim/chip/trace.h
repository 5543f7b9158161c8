// Chrome / Perfetto trace-event JSON for timed runs: one track (thread) per tile, ADC bank, DPU,
// link, memory and the controller; spans for reads, conversions, transfers, attention. Bounded
// by a time window and a component filter so that traces stay small.
#pragma once

#include <string>
#include <vector>

#include "arch/sc_common.h"

namespace aimc::sim {

/// What a trace keeps.
struct TraceOptions {
  std::string path;       ///< output file; empty = no trace
  double start_us = 0;    ///< spans ending before this are dropped
  double end_us = 1e300;  ///< spans starting after this are dropped
  /// Comma-separated substrings of component names (e.g. "tile1,dpu,noc.link"); a track is kept
  /// when its name contains one of them. Empty keeps every track.
  std::string filter;
  long long max_spans = 1000000;  ///< hard cap (~90 MB); later spans are counted, not written
};

/// Collects spans in memory and writes them as {"traceEvents": [...]} (times in microseconds).
class TraceWriter : public arch::SpanSink {
 public:
  explicit TraceWriter(const TraceOptions& options);
  bool wants(const std::string& track) const override;
  int track(const std::string& name) override;
  void span(int track_id, const char* what, arch::Ps start_ps, arch::Ps end_ps) override;
  /// Writes the file (atomically). Throws UserError when it cannot.
  void write() const;
  long long spans() const { return static_cast<long long>(spans_.size()); }
  long long dropped() const { return dropped_; }

 private:
  struct Span {
    int track;
    const char* what;
    arch::Ps start, end;
  };
  TraceOptions opt_;
  std::vector<std::string> filters_;
  std::vector<std::string> tracks_;
  std::vector<Span> spans_;
  arch::Ps start_ps_, end_ps_;
  long long dropped_ = 0;
};

}  // namespace aimc::sim

// Shared vocabulary of the SystemC component models: simulated time as integer picoseconds and
// the optional sink that records spans for traces.
//
// The components are loosely timed (TLM-2.0 LT style): a request carries the time its inputs
// are ready; the component computes when it can start (its resources' busy-until times, first
// come first served) and returns the completion time, counting actions as it goes. No process
// runs per cycle; the controller in sim/ keeps the kernel's time within one quantum of the
// requests it issues.
#pragma once

#include <cstdint>
#include <string>

namespace aimc::arch {

/// Simulated time in picoseconds (SystemC's default resolution).
using Ps = int64_t;

/// Picoseconds of `cycles` cycles of a clock whose period is `cycle_ps` (rounded to 1 ps).
inline Ps cycles_to_ps(double cycles, double cycle_ps) {
  return static_cast<Ps>(cycles * cycle_ps + 0.5);
}

/// Receives spans (intervals of activity) for a trace; set on a component only when tracing.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  /// Whether spans on `track` may be recorded at all (component filter); asked once per track.
  virtual bool wants(const std::string& track) const = 0;
  /// One span [start_ps, end_ps) named `what` on the track with id `track_id` (from track()).
  virtual void span(int track_id, const char* what, Ps start_ps, Ps end_ps) = 0;
  /// Registers a track (one per tile, ADC bank, DPU, link, memory) and returns its id.
  virtual int track(const std::string& name) = 0;
};

}  // namespace aimc::arch

// The default trace hook of a component: one track named after it.
#include "arch/sc_component.h"

namespace aimc::arch {

void Component::set_trace(SpanSink* sink) {
  sink_ = sink;
  track_ = (sink && sink->wants(name())) ? sink->track(name()) : -1;
  if (track_ < 0) sink_ = nullptr;
}

}  // namespace aimc::arch

// ADC bank: FCFS conversions on the earliest-free group of ADCs.
#include "arch/sc_adc_bank.h"

#include <algorithm>

namespace aimc::arch {

ScAdcBank::ScAdcBank(sc_core::sc_module_name name, const AdcBankSpec& spec)
    : sc_core::sc_module(name), spec_(spec), group_free_(std::max(1, spec.groups), 0) {}

Ps ScAdcBank::convert(Ps ready, int columns, ActionCounts* counts, Ps* start) {
  auto it = std::min_element(group_free_.begin(), group_free_.end());
  const Ps begin = std::max(ready, *it);
  const int per = std::max(1, spec_.adcs_per_group);
  const Ps rounds = (columns + per - 1) / per;
  const Ps end = begin + rounds * spec_.t_conversion_ps;
  *it = end;
  adc_busy_ps_ += static_cast<double>(columns) * static_cast<double>(spec_.t_conversion_ps);
  conversions_ += columns;
  if (counts) counts->adc_conversions += columns;
  if (start) *start = begin;
  if (sink_ && track_ >= 0) sink_->span(track_, "convert", begin, end);
  return end;
}

void ScAdcBank::set_trace(SpanSink* sink) {
  sink_ = sink;
  track_ = (sink && sink->wants(name())) ? sink->track(name()) : -1;
  if (track_ < 0) sink_ = nullptr;
}

}  // namespace aimc::arch

// ADC bank: FCFS conversions on the earliest-free group of ADCs.
#include "arch/sc_adc_bank.h"

#include <algorithm>

namespace aimc::arch {

ScAdcBank::ScAdcBank(sc_core::sc_module_name name, const AdcBankSpec& spec)
    : ScComponent(name),
      spec_(spec),
      group_free_(std::max(1, spec.groups), 0),
      gate_(spec.gating, 1) {}

const ComponentTraits& ScAdcBank::traits() {
  static const ComponentTraits kTraits{
      {{"conversions", "count", 1}, {"wake_ups", "count", 1}, {"gated", "ns", 1e-3}},
      {"adc_conversions"},
      "ADC"};
  return kTraits;
}

Ps ScAdcBank::convert(Ps ready, int columns, ActionCounts* counts, Ps* start) {
  auto it = std::min_element(group_free_.begin(), group_free_.end());
  const Ps begin = gate_.wake(0, std::max(ready, *it));
  const int per = std::max(1, spec_.adcs_per_group);
  const Ps rounds = (columns + per - 1) / per;
  const Ps end = begin + rounds * spec_.t_conversion_ps;
  *it = end;
  gate_.busy_until(0, end);
  busy_ps_ += static_cast<double>(columns) * static_cast<double>(spec_.t_conversion_ps);
  conversions_ += columns;
  if (counts) counts->adc_conversions += columns;
  if (start) *start = begin;
  span("convert", begin, end);
  return end;
}

}  // namespace aimc::arch

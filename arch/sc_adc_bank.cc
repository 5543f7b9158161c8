// ADC bank: FCFS conversions on the earliest-free group of ADCs.
#include "arch/sc_adc_bank.h"

#include <algorithm>
#include <utility>

namespace aimc::arch {

ScAdcBank::ScAdcBank(std::string name, const AdcBankSpec& spec, AdcBankState* slot)
    : name_(std::move(name)),
      spec_(spec),
      own_(slot ? nullptr : std::make_unique<AdcBankState>()),
      state_(slot ? slot : own_.get()),
      more_free_(std::max(0, spec.groups - 1), 0),
      gate_(spec.gating, 1) {
  state_->more_free = more_free_.data();
}

const ComponentTraits& ScAdcBank::traits() {
  static const ComponentTraits kTraits{
      {{"conversions", "count", 1}, {"wake_ups", "count", 1}, {"gated", "ns", 1e-3}},
      {"adc_conversions"},
      "ADC"};
  return kTraits;
}

Ps ScAdcBank::convert(Ps ready, int columns, ActionCounts* counts, Ps* start) {
  struct Gate {
    GatedUnits& units;
    Ps wake(Ps begin) { return units.wake(0, begin); }
    void busy_until(Ps end) { units.busy_until(0, end); }
  };
  Ps begin = 0;
  const Ps end = convert_on(spec_, *state_, ready, columns, counts, &begin, Gate{gate_});
  if (start) *start = begin;
  span("convert", begin, end);
  return end;
}

}  // namespace aimc::arch

// The chip top: components built kind by kind, statistics and utilization over all of them.
#include "sim/chip/chip_top.h"

#include <stdexcept>

#include "sim/chip/chip_specs.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {

Chip::Chip(sc_core::sc_module_name name, const proto::ChipConfig& config,
           const std::vector<int>& nodes)
    : sc_core::sc_module(name), config_(config) {
  dpu_nodes_ = nodes.empty() ? sim::dpu_nodes(config) : nodes;
  by_kind_.resize(component_kinds().size());
  tiles_ = &components("tile");
  adc_banks_ = &components("adc_bank");
  dpus_ = &components("dpu");
  noc_ = &components("noc");
  kv_sram_ = &components("kv_sram");
  dram_ = &components("dram");
  for (const ComponentKind& kind : component_kinds()) kind.build(config, this);
  if (tiles_->size() != 1 || adc_banks_->size() != 1 || noc_->size() != 1 ||
      kv_sram_->size() != 1 || dram_->size() != 1)
    throw std::logic_error(
        "chip: expected one tile group, one ADC bank group, one noc, one "
        "kv_sram and one dram");
}

int Chip::kind_index(const std::string& kind) const {
  const auto& kinds = component_kinds();
  for (size_t k = 0; k < kinds.size(); ++k)
    if (kinds[k].name == kind) return static_cast<int>(k);
  throw std::logic_error("chip: no component kind '" + kind +
                         "' in sim/chip/component_registry.cc");
}

void Chip::add_component(const std::string& kind, std::unique_ptr<arch::ScComponent> component) {
  by_kind_[kind_index(kind)].push_back(component.get());
  owned_.push_back(std::move(component));
}

std::vector<arch::ScComponent*> Chip::components() const {
  std::vector<arch::ScComponent*> all;
  for (const auto& list : by_kind_) all.insert(all.end(), list.begin(), list.end());
  return all;
}

const std::vector<arch::ScComponent*>& Chip::components(const std::string& kind) const {
  return by_kind_[kind_index(kind)];
}

void Chip::set_trace(arch::SpanSink* sink) {
  tile_array_.set_traced(sink != nullptr);
  for (const auto& list : by_kind_)
    for (arch::ScComponent* c : list) c->set_trace(sink);
}

void Chip::close_gating(arch::Ps end, arch::Ps split, arch::GatingUse out[2]) {
  arch::GatedTime t[2], a[2], r[2];
  tiles().close(end, split, t);
  adc_banks().close(end, split, a);
  noc().close(end);
  noc().routers().split(split, r);
  for (int p = 0; p < 2; ++p) {
    out[p].tile_off_s = t[p].off_s;
    out[p].tile_wake_ups = t[p].wake_ups;
    out[p].adc_bank_off_s = a[p].off_s;
    out[p].adc_bank_wake_ups = a[p].wake_ups;
    out[p].router_off_s = r[p].off_s;
    out[p].router_wake_ups = r[p].wake_ups;
  }
}

double Chip::tile_reads() const {
  return tiles().reads();
}

std::vector<std::pair<std::string, std::pair<double, double>>> Chip::busy_and_units() const {
  std::vector<std::pair<std::string, std::pair<double, double>>> v;
  const auto& kinds = component_kinds();
  for (size_t k = 0; k < kinds.size(); ++k) {
    if (kinds[k].utilization.empty()) continue;
    double busy = 0, units = 0;
    for (const arch::ScComponent* c : by_kind_[k]) {
      busy += c->busy_ps();
      units += c->units();
    }
    v.push_back({kinds[k].utilization, {busy, units}});
  }
  return v;
}

std::vector<std::pair<std::string, double>> Chip::utilization(double time_ps) const {
  std::vector<std::pair<std::string, double>> u;
  for (const auto& [field, bu] : busy_and_units()) {
    const auto [busy, units] = bu;
    u.emplace_back(field, time_ps > 0 && units > 0 ? busy / (time_ps * units) : 0);
  }
  return u;
}

// "tile 12" for tile12; a single instance (noc, dram) is the label alone.
static std::string instance_label(const std::string& label, const std::string& name) {
  const size_t digits = name.find_last_not_of("0123456789") + 1;
  return label + (digits < name.size() ? " " + name.substr(digits) : "");
}

std::vector<std::pair<std::string, double>> Chip::busy_by_component() const {
  std::vector<std::pair<std::string, double>> v;
  const auto& kinds = component_kinds();
  for (size_t k = 0; k < kinds.size(); ++k)
    for (const arch::ScComponent* c : by_kind_[k])
      for (int i = 0; i < c->instances(); ++i)
        v.push_back({instance_label(kinds[k].label, c->instance_basename(i)),
                     c->instance_busy_ps(i) / c->instance_units(i)});
  return v;
}

std::vector<double> Chip::busy_values() const {
  std::vector<double> v;
  for (const auto& list : by_kind_)
    for (const arch::ScComponent* c : list)
      for (int i = 0; i < c->instances(); ++i)
        v.push_back(c->instance_busy_ps(i) / c->instance_units(i));
  return v;
}

std::pair<std::string, double> Chip::busiest(double window_ps,
                                             const std::vector<double>& before) const {
  std::pair<std::string, double> top{"none", 0};
  if (window_ps <= 0) return top;
  const auto& kinds = component_kinds();
  size_t i = 0;
  for (size_t k = 0; k < kinds.size(); ++k) {
    for (const arch::ScComponent* c : by_kind_[k]) {
      for (int n = 0; n < c->instances(); ++n) {
        const double u =
            (c->instance_busy_ps(n) / c->instance_units(n) - (i < before.size() ? before[i] : 0)) /
            window_ps;
        if (u > top.second) top = {instance_label(kinds[k].label, c->instance_basename(n)), u};
        ++i;
      }
    }
  }
  return top;
}

std::vector<Stat> Chip::statistics(double time_ps) const {
  std::vector<Stat> s;
  const auto& kinds = component_kinds();
  for (size_t k = 0; k < kinds.size(); ++k) {
    const std::vector<arch::StatDef>& defs = kinds[k].traits->stats;
    std::vector<double> sums(defs.size(), 0);
    for (const arch::ScComponent* c : by_kind_[k]) {
      const std::vector<double> v = c->stat_values();
      if (v.size() != defs.size())
        throw std::logic_error(std::string(c->name()) + ": stat_values() and traits() differ");
      for (size_t i = 0; i < defs.size(); ++i) {
        if (kinds[k].summed) {
          sums[i] += v[i];
        } else {
          s.push_back(
              {std::string(c->name()) + "." + defs[i].name, defs[i].unit, v[i] * defs[i].scale});
        }
      }
    }
    if (kinds[k].summed)
      for (size_t i = 0; i < defs.size(); ++i)
        s.push_back({std::string(name()) + "." + kinds[k].name + "*." + defs[i].name, defs[i].unit,
                     sums[i] * defs[i].scale});
  }
  s.push_back({std::string(name()) + ".simulated_time", "ns", time_ps * 1e-3});
  return s;
}

}  // namespace aimc::sim

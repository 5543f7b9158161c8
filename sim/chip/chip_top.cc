// The chip top: component construction and aggregated statistics.
#include "sim/chip/chip_top.h"

#include "sim/chip/chip_specs.h"

namespace aimc::sim {

Chip::Chip(sc_core::sc_module_name name, const proto::ChipConfig& config,
           const std::vector<int>& nodes)
    : sc_core::sc_module(name), config_(config) {
  const arch::TileSpec ts = tile_spec(config);
  const arch::AdcBankSpec bs = adc_bank_spec(config);
  const int tiles = static_cast<int>(config.tile().count());
  const int per_bank = static_cast<int>(config.tile().adc().tiles_per_bank());
  for (int b = 0; b < (tiles + per_bank - 1) / per_bank; ++b)
    banks_.push_back(
        std::make_unique<arch::ScAdcBank>(("adc_bank" + std::to_string(b)).c_str(), bs));
  for (int i = 0; i < tiles; ++i)
    tiles_.push_back(std::make_unique<arch::ScTile>(("tile" + std::to_string(i)).c_str(), ts,
                                                    banks_[i / per_bank].get()));
  dpu_nodes_ = nodes.empty() ? dpu_nodes(config) : nodes;
  const arch::DpuSpec ds = dpu_spec(config);
  for (size_t d = 0; d < dpu_nodes_.size(); ++d)
    dpus_.push_back(std::make_unique<arch::ScDpu>(("dpu" + std::to_string(d)).c_str(), ds));
  noc_ = std::make_unique<arch::ScNoc>("noc", noc_spec(config));
  kv_sram_ = std::make_unique<arch::ScMemory>("kv_sram", kv_sram_spec(config));
  dram_ = std::make_unique<arch::ScMemory>("dram", dram_spec(config));
}

void Chip::set_trace(arch::SpanSink* sink) {
  for (auto& t : tiles_) t->set_trace(sink);
  for (auto& b : banks_) b->set_trace(sink);
  for (auto& d : dpus_) d->set_trace(sink);
  noc_->set_trace(sink);
  kv_sram_->set_trace(sink);
  dram_->set_trace(sink);
}

double Chip::tile_reads() const {
  double r = 0;
  for (const auto& t : tiles_) r += t->reads();
  return r;
}

std::vector<double> Chip::utilization(double time_ps) const {
  if (time_ps <= 0) return {0, 0, 0, 0};
  double tile = 0, adc = 0, adcs = 0, dpu = 0;
  for (const auto& t : tiles_) tile += t->busy_ps();
  for (const auto& b : banks_) {
    adc += b->adc_busy_ps();
    adcs += b->adcs();
  }
  for (const auto& d : dpus_) dpu += d->busy_ps();
  return {tile / (time_ps * tiles_.size()), adc / (time_ps * adcs), dpu / (time_ps * dpus_.size()),
          noc_->link_busy_ps() / (time_ps * noc_->links())};
}

std::vector<std::pair<std::string, double>> Chip::busy_by_component() const {
  std::vector<std::pair<std::string, double>> v;
  for (size_t i = 0; i < tiles_.size(); ++i)
    v.push_back({"tile " + std::to_string(i), tiles_[i]->busy_ps()});
  for (size_t i = 0; i < banks_.size(); ++i)
    v.push_back({"ADC bank " + std::to_string(i), banks_[i]->adc_busy_ps() / banks_[i]->adcs()});
  for (size_t i = 0; i < dpus_.size(); ++i)
    v.push_back({"DPU " + std::to_string(i), dpus_[i]->busy_ps()});
  v.push_back({"mesh links (mean)", noc_->link_busy_ps() / noc_->links()});
  v.push_back({"KV-cache SRAM", kv_sram_->busy_ps()});
  v.push_back({"DRAM", dram_->busy_ps()});
  return v;
}

std::pair<std::string, double> Chip::busiest(
    double window_ps, const std::vector<std::pair<std::string, double>>& before) const {
  std::pair<std::string, double> top{"none", 0};
  if (window_ps <= 0) return top;
  const auto now = busy_by_component();
  for (size_t i = 0; i < now.size(); ++i) {
    const double u = (now[i].second - (i < before.size() ? before[i].second : 0)) / window_ps;
    if (u > top.second) top = {now[i].first, u};
  }
  return top;
}

std::vector<Stat> Chip::statistics(double time_ps) const {
  std::vector<Stat> s;
  const std::string top = name();
  double reads = 0, busy = 0, conv = 0;
  for (const auto& t : tiles_) {
    reads += t->reads();
    busy += t->busy_ps();
  }
  for (const auto& b : banks_) conv += b->conversions();
  s.push_back({top + ".tile*.reads", "count", reads});
  s.push_back({top + ".tile*.busy", "ns", busy * 1e-3});
  s.push_back({top + ".adc_bank*.conversions", "count", conv});
  for (const auto& d : dpus_)
    s.push_back({std::string(d->name()) + ".busy", "ns", d->busy_ps() * 1e-3});
  s.push_back({std::string(noc_->name()) + ".bit_hops", "bit-hops", noc_->bit_hops()});
  s.push_back({std::string(noc_->name()) + ".link_busy", "link-ns", noc_->link_busy_ps() * 1e-3});
  s.push_back({std::string(kv_sram_->name()) + ".bits", "bits", kv_sram_->bits()});
  s.push_back({std::string(kv_sram_->name()) + ".busy", "ns", kv_sram_->busy_ps() * 1e-3});
  s.push_back({std::string(dram_->name()) + ".bits", "bits", dram_->bits()});
  s.push_back({std::string(dram_->name()) + ".busy", "ns", dram_->busy_ps() * 1e-3});
  s.push_back({top + ".simulated_time", "ns", time_ps * 1e-3});
  return s;
}

}  // namespace aimc::sim

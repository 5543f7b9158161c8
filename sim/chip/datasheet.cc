// The chip's datasheet from the simulated peak workload, the energy model and the area model.
#include "sim/chip/datasheet.h"

#include <algorithm>
#include <string>

#include "arch/chip_costs.h"
#include "arch/energy_model.h"
#include "arch/sc_tile.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/timing_run.h"

namespace aimc::sim {
namespace {

// The kinds a tile's own reads and leakage are priced into at peak (the tile buffers are the
// only SRAM the peak workload touches).
constexpr const char* kTileKinds[] = {"dac", "crossbar", "adc", "tile_digital", "sram"};

// What sets the interval between back-to-back reads: the longer side of a double-buffered
// read, or both in series with one sample-and-hold slot; a simulated interval above both sides
// means the tiles wait for a shared ADC bank.
std::string interval_bound(const proto::ChipConfig& c, const proto::ReadInterval& r,
                           double steady_interval_ns) {
  const double sides = std::max(r.integration_ns(), r.conversion_ns());
  if (c.tile().kind() != proto::ANALOG) return "digital MAC array";
  if (c.tile().adc().tiles_per_bank() > 1 && steady_interval_ns > 1.01 * sides)
    return "ADC bank shared by " + std::to_string(c.tile().adc().tiles_per_bank()) + " tiles";
  if (!c.tile().double_buffered())
    return "single sample-and-hold buffer (integration + conversion)";
  if (r.conversion_ns() >= r.integration_ns()) {
    if (r.conversion_rounds() > 1)
      return "conversion (ADC sharing: " + std::to_string(r.conversion_rounds()) +
             " columns per ADC)";
    return "conversion";
  }
  return "integration";
}

}  // namespace

proto::ChipDatasheet chip_datasheet(const proto::ChipConfig& c, int reads_per_tile, bool isolate) {
  const PeakResult p = run_peak_workload(c, reads_per_tile, isolate);
  const double time_s = p.time_ns * 1e-9;
  const double tiles = c.tile().count();
  const arch::EnergyBreakdown e = arch::price(p.counts, energy_spec(c), leakage_spec(c), time_s);
  const arch::AreaBreakdown a = arch::chip_area(c);

  proto::ChipDatasheet d;
  d.set_chip(c.name());
  d.set_tiles(c.tile().count());
  d.set_reads_per_tile(static_cast<uint32_t>(reads_per_tile));
  d.set_time_ns(p.time_ns);
  d.set_ops(p.ops);
  d.set_energy_pj(e.total_pj());
  d.set_tops(p.tops);
  // pJ over ns is mW.
  d.set_power_w(e.total_pj() / p.time_ns * 1e-3);
  d.set_tops_per_w(p.tops_per_w);
  d.set_area_mm2(a.total_mm2);
  d.set_tops_per_mm2(p.tops / a.total_mm2);
  for (const arch::EnergyItem& item : e.items) {
    proto::PowerEntry* pe = d.add_power_by_component();
    pe->set_name(item.name);
    pe->set_mw(item.pj / p.time_ns);
  }
  double tile_mw = 0;
  for (const char* kind : kTileKinds) {
    proto::PowerEntry* pe = d.add_tile_power();
    pe->set_name(kind);
    pe->set_mw(e.get(kind) / p.time_ns / tiles);
    tile_mw += pe->mw();
  }
  proto::PowerEntry* leak = d.add_tile_power();
  leak->set_name("tile_leakage");
  leak->set_mw(e.get("tile_leakage") / p.time_ns / tiles);
  tile_mw += leak->mw();
  d.set_tile_power_mw(tile_mw);
  d.set_tile_tops(p.tops / tiles);
  d.set_tile_tops_per_w(d.tile_tops() / (tile_mw * 1e-3));
  d.set_tile_area_mm2(a.tile_mm2);
  d.set_tile_tops_per_mm2(a.tile_mm2 > 0 ? d.tile_tops() / a.tile_mm2 : 0);
  for (const arch::AreaItem& item : a.items) {
    proto::AreaEntry* ae = d.add_area_by_component();
    ae->set_name(item.name);
    ae->set_count(item.count);
    ae->set_each_um2(item.each_um2);
    ae->set_mm2(item.mm2);
  }
  d.set_area_overhead_mm2(a.overhead_mm2);
  d.set_area_other_mm2(a.other_mm2);

  const arch::TileSpec ts = tile_spec(c);
  const arch::AdcBankSpec bs = adc_bank_spec(c);
  const int cols = static_cast<int>(c.tile().cols());
  proto::ReadInterval* r = d.mutable_read();
  r->set_simulated_ns(p.time_ns / reads_per_tile);
  r->set_steady_ns(p.read_interval_ns);
  r->set_latency_ns(p.read_latency_ns);
  const int rounds = (cols + bs.adcs_per_group - 1) / bs.adcs_per_group;
  r->set_integrations(static_cast<uint32_t>(ts.integrations));
  r->set_conversion_rounds(static_cast<uint32_t>(rounds));
  r->set_t_conversion_ns(bs.t_conversion_ps * 1e-3);
  r->set_integration_ns((ts.t_overhead_ps + ts.integrations * ts.t_integration_ps) * 1e-3);
  r->set_conversion_ns(ts.integrations * rounds * bs.t_conversion_ps * 1e-3);
  r->set_bound(interval_bound(c, *r, r->simulated_ns()));
  return d;
}

}  // namespace aimc::sim

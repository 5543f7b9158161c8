// Converter cost model and area model: closed forms on the chip config.
#include "arch/chip_costs.h"

#include <cmath>
#include <cstdio>

namespace aimc::arch {
namespace {

double pow2(unsigned bits) {
  return std::ldexp(1.0, static_cast<int>(bits));
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double dac_steps(const proto::DacConfig& d) {
  return d.encoding() == proto::PWM ? pow2(d.bits() - 1) : 1.0;
}

// Bits of the DAC circuit itself: a PWM generator counts all input bits, a bit-serial driver is
// a 1-bit DAC.
double dac_resolution(const proto::DacConfig& d) {
  return d.encoding() == proto::PWM ? d.bits() : 1.0;
}

constexpr double kUm2PerMm2 = 1e6;
constexpr double kBytesPerMib = 1024.0 * 1024.0;

}  // namespace

double adc_conversion_time_ns(const proto::ChipConfig& c) {
  const proto::AdcConfig& a = c.tile().adc();
  if (a.has_t_conversion_ns()) return a.t_conversion_ns();
  if (a.cost().architecture() == proto::SAR)
    return (a.bits() + a.cost().sar_extra_cycles()) / a.cost().sar_clock_ghz();
  return pow2(a.bits() - 1) * a.cost().t_lsb_ps() * 1e-3;
}

double adc_conversion_energy_pj(const proto::ChipConfig& c) {
  if (c.energy().has_e_adc_conversion_pj()) return c.energy().e_adc_conversion_pj();
  const proto::AdcConfig& a = c.tile().adc();
  return a.cost().walden_fom_fj() * pow2(a.bits()) * 1e-3;
}

double adc_area_um2(const proto::ChipConfig& c) {
  if (c.area().has_a_adc_um2()) return c.area().a_adc_um2();
  const proto::AdcConfig& a = c.tile().adc();
  return a.cost().area_um2_per_step() * pow2(a.bits());
}

double dac_drive_energy_pj(const proto::ChipConfig& c) {
  if (c.energy().has_e_dac_drive_pj()) return c.energy().e_dac_drive_pj();
  const proto::DacConfig& d = c.tile().dac();
  return d.cost().e_step_fj() * dac_steps(d) * 1e-3;
}

double dac_area_um2(const proto::ChipConfig& c) {
  if (c.area().has_a_dac_um2()) return c.area().a_dac_um2();
  const proto::DacConfig& d = c.tile().dac();
  return d.cost().area_um2_per_bit() * dac_resolution(d);
}

std::vector<DerivedValue> derived_values(const proto::ChipConfig& c) {
  std::vector<DerivedValue> out;
  const proto::AdcConfig& a = c.tile().adc();
  const proto::DacConfig& d = c.tile().dac();
  const std::string bits = num(a.bits());
  if (!a.has_t_conversion_ns()) {
    const std::string how =
        a.cost().architecture() == proto::SAR
            ? "SAR: (" + bits + " bits + " + num(a.cost().sar_extra_cycles()) + ") cycles / " +
                  num(a.cost().sar_clock_ghz()) + " GHz"
            : "CCO: 2^(" + bits + " - 1) LSBs x " + num(a.cost().t_lsb_ps()) + " ps";
    out.push_back({"tile.adc.t_conversion_ns", adc_conversion_time_ns(c), how});
  }
  if (!c.energy().has_e_dac_drive_pj()) {
    const std::string steps = d.encoding() == proto::PWM ? "2^(" + num(d.bits()) + " - 1) PWM steps"
                                                         : "1 bit-serial step";
    out.push_back({"energy.e_dac_drive_pj", dac_drive_energy_pj(c),
                   steps + " x " + num(d.cost().e_step_fj()) + " fJ"});
  }
  if (!c.energy().has_e_adc_conversion_pj()) {
    out.push_back({"energy.e_adc_conversion_pj", adc_conversion_energy_pj(c),
                   "Walden: 2^" + bits + " steps x " + num(a.cost().walden_fom_fj()) + " fJ"});
  }
  if (!c.area().has_a_dac_um2()) {
    out.push_back(
        {"area.a_dac_um2", dac_area_um2(c),
         num(dac_resolution(d)) + " bit(s) x " + num(d.cost().area_um2_per_bit()) + " um2"});
  }
  if (!c.area().has_a_adc_um2()) {
    out.push_back({"area.a_adc_um2", adc_area_um2(c),
                   "2^" + bits + " steps x " + num(a.cost().area_um2_per_step()) + " um2"});
  }
  return out;
}

double AreaBreakdown::get(const std::string& name) const {
  for (const AreaItem& i : items)
    if (i.name == name) return i.mm2;
  return 0;
}

AreaBreakdown chip_area(const proto::ChipConfig& c) {
  const proto::TileConfig& t = c.tile();
  const proto::AreaConfig& ar = c.area();
  const double tiles = t.count();
  const bool analog = t.kind() == proto::ANALOG;
  const double cells = analog ? static_cast<double>(t.rows()) * t.cols() : 0.0;
  const double dacs = analog ? t.rows() : 0.0;
  const double adcs = analog ? t.adc().adcs_per_tile() : 0.0;
  const double digital_um2 = ar.a_tile_digital_um2() +
                             (analog ? 0.0 : t.digital().macs_per_cycle() * ar.a_digital_mac_um2());
  const double buffer_mib = (static_cast<double>(c.memory().tile_input_buffer_bytes()) +
                             c.memory().tile_output_buffer_bytes()) /
                            kBytesPerMib;
  const double sram_um2_per_mib = ar.a_sram_mm2_per_mib() * kUm2PerMm2;
  const double dpu_um2 =
      c.dpu().lanes() * ar.a_dpu_lane_um2() +
      static_cast<double>(c.memory().dpu_sram_bytes()) / kBytesPerMib * sram_um2_per_mib;
  const double kv_mib = static_cast<double>(c.memory().kv_sram_bytes()) / kBytesPerMib;
  const double routers = static_cast<double>(c.noc().mesh_x()) * c.noc().mesh_y();

  AreaBreakdown b;
  auto add = [&](const char* name, double count, double each_um2) {
    b.items.push_back({name, count, each_um2, count * each_um2 / kUm2PerMm2});
  };
  add("crossbar", tiles * cells, ar.a_cell_um2());
  add("dac", tiles * dacs, analog ? dac_area_um2(c) : 0.0);
  add("adc", tiles * adcs, analog ? adc_area_um2(c) : 0.0);
  add("tile_digital", tiles, digital_um2);
  add("tile_buffers", tiles * buffer_mib, sram_um2_per_mib);
  add("dpu", c.dpu().count(), dpu_um2);
  add("kv_sram", kv_mib, ar.a_kv_sram_mm2_per_mib() * kUm2PerMm2);
  add("router", routers, ar.a_router_um2());
  for (const AreaItem& i : b.items) b.components_mm2 += i.mm2;
  b.overhead_mm2 = ar.overhead_fraction() * b.components_mm2;
  b.other_mm2 = ar.a_chip_other_mm2();
  b.total_mm2 = b.components_mm2 + b.overhead_mm2 + b.other_mm2;
  b.tile_mm2 = (b.get("crossbar") + b.get("dac") + b.get("adc") + b.get("tile_digital") +
                b.get("tile_buffers")) /
               tiles;
  return b;
}

}  // namespace aimc::arch

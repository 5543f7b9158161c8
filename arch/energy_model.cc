// The energy model: counts x per-action energies, plus leakage x time.
#include "arch/energy_model.h"

namespace aimc::arch {

double EnergyBreakdown::total_pj() const {
  double s = 0;
  for (const EnergyItem& i : items) s += i.pj;
  return s;
}

double EnergyBreakdown::get(const std::string& name) const {
  for (const EnergyItem& i : items)
    if (i.name == name) return i.pj;
  return 0;
}

EnergyBreakdown price(const ActionCounts& c, const EnergySpec& e, const LeakageSpec& l,
                      double time_s, const GatingUse& g) {
  const double mw_to_pj = time_s * 1e-3 * 1e12;  // mW x s -> pJ
  EnergyBreakdown b;
  b.items = {
      {"dac", c.dac_drives * e.dac_drive_pj},
      {"crossbar", c.cell_reads * e.cell_read_pj},
      {"adc", c.adc_conversions * e.adc_conversion_pj},
      {"tile_digital", c.tile_post_ops * e.tile_post_pj +
                           c.digital_tile_macs * e.digital_tile_mac_pj +
                           c.shift_adds * e.shift_add_pj},
      {"dpu", c.dpu_adds * e.dpu_add_pj + c.dpu_muls * e.dpu_mul_pj + c.dpu_exps * e.dpu_exp_pj +
                  c.dpu_recips * e.dpu_recip_pj + c.dpu_rsqrts * e.dpu_rsqrt_pj},
      {"sram", c.sram_bits * e.sram_pj_per_bit},
      {"kv_sram", c.kv_sram_bits * e.kv_sram_pj_per_bit},
      {"dram", c.dram_bits * e.dram_pj_per_bit},
      {"noc", c.noc_bit_hops * e.noc_pj_per_bit_hop + c.noc_adds * e.noc_add_pj},
      {"programming", c.cells_programmed * e.program_pj_per_cell},
      {"tile_leakage", l.tiles_mw * mw_to_pj -
                           l.tile_unit_mw * (1 - l.tile_gated_fraction) * g.tile_off_s * 1e9 +
                           g.tile_wake_ups * l.tile_wake_up_pj},
      {"adc_leakage",
       l.adc_banks_mw * mw_to_pj -
           l.adc_bank_unit_mw * (1 - l.adc_bank_gated_fraction) * g.adc_bank_off_s * 1e9 +
           g.adc_bank_wake_ups * l.adc_bank_wake_up_pj},
      {"dpu_leakage", l.dpus_mw * mw_to_pj},
      {"sram_leakage", l.kv_sram_mw * mw_to_pj},
      {"router_leakage",
       l.routers_mw * mw_to_pj -
           l.router_unit_mw * (1 - l.router_gated_fraction) * g.router_off_s * 1e9 +
           g.router_wake_ups * l.router_wake_up_pj},
      {"chip_static", l.chip_static_mw * mw_to_pj},
  };
  return b;
}

double dynamic_energy_pj(const ActionCounts& counts, const EnergySpec& spec) {
  return price(counts, spec, LeakageSpec{}, 0).total_pj();
}

}  // namespace aimc::arch

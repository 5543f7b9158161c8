// Component specs from the chip config (units converted here, once).
#include "sim/chip/chip_specs.h"

#include <algorithm>

#include "arch/chip_costs.h"

namespace aimc::sim {

double cycle_ps(const proto::ChipConfig& c) {
  return 1000.0 / c.clock_ghz();
}

arch::GatingSpec gating_spec(const proto::GatingConfig& g) {
  arch::GatingSpec s;
  s.enabled = g.enabled();
  s.gate_after_ps = arch::cycles_to_ps(g.idle_before_gating_ns() * 1000.0, 1.0);
  s.wake_up_ps = arch::cycles_to_ps(g.wake_up_latency_ns() * 1000.0, 1.0);
  return s;
}

int adc_bank_count(const proto::ChipConfig& c) {
  const long long per = std::max<long long>(1, c.tile().adc().tiles_per_bank());
  return static_cast<int>((static_cast<long long>(c.tile().count()) + per - 1) / per);
}

arch::TileSpec tile_spec(const proto::ChipConfig& c) {
  const double cyc = cycle_ps(c);
  const proto::TileConfig& t = c.tile();
  arch::TileSpec s;
  s.analog = t.kind() == proto::ANALOG;
  const int bits = static_cast<int>(t.dac().bits());
  const double steps =
      t.dac().encoding() == proto::PWM ? static_cast<double>(1u << (bits - 1)) : 1.0;
  s.integrations =
      static_cast<int>(t.dac().read_phases()) * (t.dac().encoding() == proto::PWM ? 1 : bits);
  s.t_integration_ps = arch::cycles_to_ps(steps * t.dac().cycles_per_step(), cyc);
  s.t_overhead_ps = arch::cycles_to_ps(t.read_overhead_cycles(), cyc);
  s.t_post_ps = arch::cycles_to_ps(t.post_process_cycles(), cyc);
  s.double_buffered = t.double_buffered();
  s.dac_bits = bits;
  s.out_bits = static_cast<int>(c.noc().activation_bits());
  s.macs_per_cycle = t.digital().macs_per_cycle();
  s.cycle_ps = cyc;
  s.t_pipeline_ps = arch::cycles_to_ps(t.digital().pipeline_cycles(), cyc);
  s.shift_add = t.dac().encoding() == proto::BIT_SERIAL;
  const proto::GatingConfig& g = c.power_gating().tile();
  s.gating = g.enabled();
  s.gate_after_ps = arch::cycles_to_ps(g.idle_before_gating_ns() * 1000.0, 1.0);
  s.wake_up_ps = arch::cycles_to_ps(g.wake_up_latency_ns() * 1000.0, 1.0);
  return s;
}

arch::AdcBankSpec adc_bank_spec(const proto::ChipConfig& c) {
  arch::AdcBankSpec s;
  s.adcs_per_group = static_cast<int>(c.tile().adc().adcs_per_tile());
  s.groups = static_cast<int>(c.tile().adc().tiles_per_bank());
  s.t_conversion_ps = static_cast<arch::Ps>(arch::adc_conversion_time_ns(c) * 1000.0 + 0.5);
  s.gating = gating_spec(c.power_gating().adc_bank());
  return s;
}

arch::DpuSpec dpu_spec(const proto::ChipConfig& c) {
  const proto::DpuConfig& d = c.dpu();
  arch::DpuSpec s;
  s.lanes = static_cast<int>(d.lanes());
  s.cycle_ps = cycle_ps(c);
  s.add_cycles = static_cast<int>(d.add_cycles());
  s.mul_cycles = static_cast<int>(d.mul_cycles());
  s.exp_cycles = static_cast<int>(d.exp_cycles());
  s.recip_cycles = static_cast<int>(d.recip_cycles());
  s.rsqrt_cycles = static_cast<int>(d.rsqrt_cycles());
  s.word_bits = static_cast<int>(c.noc().activation_bits());
  return s;
}

arch::NocSpec noc_spec(const proto::ChipConfig& c) {
  arch::NocSpec s;
  s.mesh_x = static_cast<int>(c.noc().mesh_x());
  s.mesh_y = static_cast<int>(c.noc().mesh_y());
  s.link_width_bits = static_cast<int>(c.noc().link_width_bits());
  s.cycle_ps = cycle_ps(c);
  s.hop_latency_cycles = static_cast<int>(c.noc().hop_latency_cycles());
  s.multicast = c.noc().multicast();
  s.add_ps = arch::cycles_to_ps(c.noc().router_add_cycles(), s.cycle_ps);
  s.router_gating = gating_spec(c.power_gating().router());
  return s;
}

arch::MemorySpec kv_sram_spec(const proto::ChipConfig& c) {
  arch::MemorySpec s;
  s.kind = arch::MemoryKind::kKvSram;
  s.bandwidth_gbps = c.memory().kv_sram_bandwidth_gbps();
  s.latency_ps = arch::cycles_to_ps(c.memory().kv_sram_latency_cycles(), cycle_ps(c));
  s.capacity_bytes = static_cast<double>(c.memory().kv_sram_bytes());
  return s;
}

arch::MemorySpec dram_spec(const proto::ChipConfig& c) {
  arch::MemorySpec s;
  s.kind = arch::MemoryKind::kDram;
  s.bandwidth_gbps = c.memory().dram_bandwidth_gbps();
  s.latency_ps = static_cast<arch::Ps>(c.memory().dram_latency_ns() * 1000.0 + 0.5);
  return s;
}

arch::EnergySpec energy_spec(const proto::ChipConfig& c) {
  const proto::EnergyConfig& e = c.energy();
  arch::EnergySpec s;
  s.dac_drive_pj = arch::dac_drive_energy_pj(c);
  s.cell_read_pj = e.e_cell_read_fj() * 1e-3;
  s.adc_conversion_pj = arch::adc_conversion_energy_pj(c);
  s.tile_post_pj = e.e_tile_post_pj();
  s.digital_tile_mac_pj = c.tile().digital().e_mac_pj();
  s.dpu_add_pj = e.e_dpu_add_pj();
  s.dpu_mul_pj = e.e_dpu_mul_pj();
  s.dpu_exp_pj = e.e_dpu_exp_pj();
  s.dpu_recip_pj = e.e_dpu_recip_pj();
  s.dpu_rsqrt_pj = e.e_dpu_rsqrt_pj();
  s.sram_pj_per_bit = e.e_sram_pj_per_bit();
  s.kv_sram_pj_per_bit = e.e_kv_sram_pj_per_bit();
  s.dram_pj_per_bit = e.e_dram_pj_per_bit();
  s.noc_pj_per_bit_hop = e.e_noc_pj_per_bit_hop();
  s.program_pj_per_cell = e.e_program_pj_per_cell();
  s.shift_add_pj = e.e_shift_add_pj();
  s.noc_add_pj = e.e_noc_add_pj();
  return s;
}

arch::LeakageSpec leakage_spec(const proto::ChipConfig& c, long long tiles_used) {
  const proto::EnergyConfig& e = c.energy();
  arch::LeakageSpec s;
  const double count = c.tile().count();
  const double used = tiles_used < 0 ? count : std::min<double>(count, tiles_used);
  s.tiles_mw = e.p_tile_leak_mw() * (used + e.p_tile_gated_leak_fraction() * (count - used));
  s.dpus_mw = e.p_dpu_leak_mw() * c.dpu().count();
  s.kv_sram_mw = e.p_sram_leak_mw_per_mib() * static_cast<double>(c.memory().kv_sram_bytes()) /
                 (1024.0 * 1024.0);
  s.routers_mw = e.p_router_leak_mw() * c.noc().mesh_x() * c.noc().mesh_y();
  s.chip_static_mw = e.p_chip_static_mw();
  const proto::GatingConfig& g = c.power_gating().tile();
  if (g.enabled()) {
    s.tile_unit_mw = e.p_tile_leak_mw();
    s.tile_gated_fraction = g.gated_leak_fraction();
    s.tile_wake_up_pj = g.wake_up_energy_pj();
  }
  s.adc_banks_mw = e.p_adc_bank_leak_mw() * adc_bank_count(c);
  const proto::GatingConfig& ga = c.power_gating().adc_bank();
  if (ga.enabled()) {
    s.adc_bank_unit_mw = e.p_adc_bank_leak_mw();
    s.adc_bank_gated_fraction = ga.gated_leak_fraction();
    s.adc_bank_wake_up_pj = ga.wake_up_energy_pj();
  }
  const proto::GatingConfig& gr = c.power_gating().router();
  if (gr.enabled()) {
    s.router_unit_mw = e.p_router_leak_mw();
    s.router_gated_fraction = gr.gated_leak_fraction();
    s.router_wake_up_pj = gr.wake_up_energy_pj();
  }
  return s;
}

std::vector<int> dpu_nodes(const proto::ChipConfig& c) {
  std::vector<int> nodes;
  const int n = static_cast<int>(c.dpu().count());
  const long long mesh = static_cast<long long>(c.noc().mesh_x()) * c.noc().mesh_y();
  for (int i = 0; i < n; ++i) {
    if (c.dpu().nodes_size() == n)
      nodes.push_back(static_cast<int>(c.dpu().nodes(i)));
    else
      nodes.push_back(static_cast<int>((mesh * (2 * i + 1)) / (2 * n)));  // centre of each slice
  }
  return nodes;
}

}  // namespace aimc::sim

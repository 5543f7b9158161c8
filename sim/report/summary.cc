// Human-readable chip and mapping summaries.
#include "sim/report/summary.h"
#include "sim/report/text_lines.h"

#include <cstdio>
#include <map>
#include <sstream>

namespace aimc::sim {
namespace {

std::string noise_name(const proto::WeightNoiseConfig& noise) {
  const auto* oneof = proto::WeightNoiseConfig::descriptor()->FindOneofByName("model");
  const auto* field = noise.GetReflection()->GetOneofFieldDescriptor(noise, oneof);
  return field == nullptr ? "none" : field->name();
}

}  // namespace

std::string format_chip_summary(const proto::ChipConfig& c, double t_conversion_ns) {
  std::ostringstream s;
  const auto& t = c.tile();
  s << "chip " << c.name() << ": " << t.count() << " " << proto::TileKind_Name(t.kind())
    << " tiles of " << t.rows() << "x" << t.cols() << " cells (" << t.cols() / t.cells_per_weight()
    << " weights per row), " << fmt("%g", c.clock_ghz()) << " GHz\n";
  s << "  DAC " << t.dac().bits() << " bit " << proto::DacEncoding_Name(t.dac().encoding()) << ", "
    << t.dac().read_phases() << " read phase(s); ADC " << t.adc().bits() << " bit, "
    << t.adc().adcs_per_tile() << " per tile, " << fmt("%g", t_conversion_ns) << " ns/conversion\n";
  s << "  noise " << noise_name(c.numerics().weight_noise()) << ", out_bound "
    << fmt("%g", c.numerics().out_bound()) << ", out_noise " << fmt("%g", c.numerics().out_noise())
    << ", input ranges " << proto::InputRangePolicy_Name(c.numerics().input_range().policy())
    << " (kappa " << fmt("%g", c.numerics().input_range().kappa()) << ")\n";
  s << "  " << c.dpu().count() << " DPUs x " << c.dpu().lanes() << " lanes; KV SRAM "
    << fmt("%.3g", c.memory().kv_sram_bytes() / 1048576.0) << " MiB; DRAM "
    << fmt("%g", c.memory().dram_bandwidth_gbps()) << " GB/s; mesh " << c.noc().mesh_x() << "x"
    << c.noc().mesh_y() << ", " << c.noc().link_width_bits() << "-bit links\n";
  return s.str();
}

std::string format_plan_summary(const proto::MappingPlan& p) {
  std::ostringstream s;
  const auto& sum = p.summary();
  s << "mapping " << p.strategy() << " of " << p.model() << " on " << p.chip() << ": "
    << sum.tiles_used() << " of " << sum.tiles_available() << " tiles used, mean cell utilization "
    << fmt("%.1f %%", 100.0 * sum.mean_cell_utilization()) << ", " << sum.weights_on_tiles()
    << " weights on tiles\n";
  s << "  estimate: " << fmt("%.4g", p.estimate().bit_hops_per_token())
    << " bit-hops/token, critical path " << fmt("%.4g", p.estimate().critical_path_ns_per_token())
    << " ns/token\n";
  std::map<std::string, std::pair<int, long long>> by_role;  // role -> (layers, tiles)
  int digital = 0;
  for (const auto& l : p.layers()) {
    if (!l.on_tiles()) {
      ++digital;
      continue;
    }
    auto& e = by_role[l.role()];
    e.first += 1;
    e.second += l.tiles_size();
  }
  s << "  tiles per layer kind:";
  for (const auto& [role, e] : by_role) {
    s << " " << role << " " << e.second / e.first << (e.first > 1 ? " (x" : "")
      << (e.first > 1 ? std::to_string(e.first) + ")" : "");
  }
  s << "\n";
  if (digital > 0) s << "  " << digital << " layer(s) run digitally on a DPU (lm_head)\n";
  return s.str();
}

}  // namespace aimc::sim

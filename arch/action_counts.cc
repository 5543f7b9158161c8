// Action counts: accumulation and enumeration.
#include "arch/action_counts.h"

namespace aimc::arch {
namespace {

// The one list of fields, so that +=, sum() and for_each() cannot disagree.
template <typename Fn>
void visit(const ActionCounts& c, Fn&& fn) {
  fn("dac_drives", "count", c.dac_drives);
  fn("cell_reads", "count", c.cell_reads);
  fn("adc_conversions", "count", c.adc_conversions);
  fn("tile_post_ops", "count", c.tile_post_ops);
  fn("digital_tile_macs", "count", c.digital_tile_macs);
  fn("dpu_adds", "count", c.dpu_adds);
  fn("dpu_muls", "count", c.dpu_muls);
  fn("dpu_exps", "count", c.dpu_exps);
  fn("dpu_recips", "count", c.dpu_recips);
  fn("dpu_rsqrts", "count", c.dpu_rsqrts);
  fn("sram_bits", "bits", c.sram_bits);
  fn("kv_sram_bits", "bits", c.kv_sram_bits);
  fn("dram_bits", "bits", c.dram_bits);
  fn("noc_bit_hops", "bit-hops", c.noc_bit_hops);
  fn("cells_programmed", "count", c.cells_programmed);
}

}  // namespace

ActionCounts& ActionCounts::operator+=(const ActionCounts& o) {
  dac_drives += o.dac_drives;
  cell_reads += o.cell_reads;
  adc_conversions += o.adc_conversions;
  tile_post_ops += o.tile_post_ops;
  digital_tile_macs += o.digital_tile_macs;
  dpu_adds += o.dpu_adds;
  dpu_muls += o.dpu_muls;
  dpu_exps += o.dpu_exps;
  dpu_recips += o.dpu_recips;
  dpu_rsqrts += o.dpu_rsqrts;
  sram_bits += o.sram_bits;
  kv_sram_bits += o.kv_sram_bits;
  dram_bits += o.dram_bits;
  noc_bit_hops += o.noc_bit_hops;
  cells_programmed += o.cells_programmed;
  return *this;
}

double ActionCounts::sum() const {
  double s = 0;
  visit(*this, [&](const char*, const char*, double v) { s += v; });
  return s;
}

void ActionCounts::for_each(
    const std::function<void(const std::string&, const std::string&, double)>& fn) const {
  visit(*this, [&](const char* name, const char* unit, double v) { fn(name, unit, v); });
}

}  // namespace aimc::arch

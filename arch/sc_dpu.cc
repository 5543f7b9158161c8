// DPU: element-op latencies and the composite operations of a decoder block.
#include "arch/sc_dpu.h"

#include <algorithm>
#include <cmath>

namespace aimc::arch {

DpuWork& DpuWork::operator+=(const DpuWork& o) {
  adds += o.adds;
  muls += o.muls;
  exps += o.exps;
  recips += o.recips;
  rsqrts += o.rsqrts;
  sram_words += o.sram_words;
  return *this;
}

DpuWork DpuWork::reduce_partials(int64_t n, int parts, bool bias) {
  DpuWork w;
  const double nd = static_cast<double>(n);
  w.adds = nd * (parts - 1) + (bias ? nd : 0);
  w.muls = nd;  // per-channel scale (wmax_j x input range), applied once after the sum
  w.sram_words = nd * parts + nd;
  return w;
}

DpuWork DpuWork::norm(int64_t n, bool layer_norm) {
  DpuWork w;
  const double nd = static_cast<double>(n);
  w.muls = nd /* squares */ + nd /* x * 1/rms */ + nd /* gain */;
  w.adds = nd /* sum of squares */ + (layer_norm ? 2 * nd /* mean, subtract */ + nd /* bias */ : 0);
  w.rsqrts = 1;
  w.sram_words = 2 * nd;
  return w;
}

DpuWork DpuWork::rope(int64_t n) {
  DpuWork w;
  const double nd = static_cast<double>(n);
  w.muls = 2 * nd;
  w.adds = nd;
  w.sram_words = 2 * nd;
  return w;
}

DpuWork DpuWork::softmax(int64_t n, int64_t rows) {
  DpuWork w;
  const double nd = static_cast<double>(n);
  w.adds = nd /* max */ + nd /* subtract max */ + nd /* sum */;
  w.exps = nd;
  w.recips = static_cast<double>(rows);
  w.muls = nd;
  w.sram_words = 2 * nd;
  return w;
}

DpuWork DpuWork::activation(int64_t n) {
  DpuWork w;
  const double nd = static_cast<double>(n);
  w.exps = nd;
  w.adds = nd;
  w.recips = nd;
  w.muls = nd;
  w.sram_words = 2 * nd;
  return w;
}

DpuWork DpuWork::gating(int64_t n) {
  DpuWork w;
  w.muls = static_cast<double>(n);
  w.sram_words = 3.0 * n;
  return w;
}

DpuWork DpuWork::residual(int64_t n) {
  DpuWork w;
  w.adds = static_cast<double>(n);
  w.sram_words = 3.0 * n;
  return w;
}

DpuWork DpuWork::macs(double m) {
  DpuWork w;
  w.muls = m;
  w.adds = m;
  w.sram_words = m;  // one operand per MAC from SRAM (the other streams from its memory)
  return w;
}

ScDpu::ScDpu(sc_core::sc_module_name name, const DpuSpec& spec) : ScComponent(name), spec_(spec) {}

Ps ScDpu::duration(const DpuWork& w) const {
  const double lanes = spec_.lanes;
  const double cycles = std::ceil(w.adds / lanes) * spec_.add_cycles +
                        std::ceil(w.muls / lanes) * spec_.mul_cycles +
                        std::ceil(w.exps / lanes) * spec_.exp_cycles +
                        std::ceil(w.recips / lanes) * spec_.recip_cycles +
                        std::ceil(w.rsqrts / lanes) * spec_.rsqrt_cycles;
  return cycles_to_ps(cycles, spec_.cycle_ps);
}

Ps ScDpu::run(Ps ready, const DpuWork& w, ActionCounts* counts, const char* what) {
  const Ps begin = std::max(ready, free_);
  const Ps d = duration(w);
  free_ = begin + d;
  busy_ps_ += static_cast<double>(d);
  if (counts) {
    counts->dpu_adds += w.adds;
    counts->dpu_muls += w.muls;
    counts->dpu_exps += w.exps;
    counts->dpu_recips += w.recips;
    counts->dpu_rsqrts += w.rsqrts;
    counts->sram_bits += w.sram_words * spec_.word_bits;
  }
  span(what, begin, free_);
  return free_;
}

const ComponentTraits& ScDpu::traits() {
  static const ComponentTraits kTraits{
      {{"busy", "ns", 1e-3}},
      {"dpu_adds", "dpu_muls", "dpu_exps", "dpu_recips", "dpu_rsqrts", "sram_bits"},
      "DPU"};
  return kTraits;
}

}  // namespace aimc::arch

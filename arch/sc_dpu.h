// Digital processing unit: SIMD vector lanes executing element operations (add, multiply, exp,
// reciprocal, rsqrt) and the composite operations of a transformer built from them (partial-sum
// reduction with per-channel scale, norms, RoPE, softmax, activations, gating, attention over
// the KV cache).
#pragma once

#include <cstdint>
#include <systemc>

#include "arch/action_counts.h"
#include "arch/sc_common.h"
#include "arch/sc_component.h"

namespace aimc::arch {

/// Immutable parameters of one DPU.
struct DpuSpec {
  int lanes = 64;          ///< elements per vector operation
  double cycle_ps = 1000;  ///< DPU clock period
  int add_cycles = 1;      ///< latency of one vector add (per lanes elements)
  int mul_cycles = 1;
  int exp_cycles = 4;
  int recip_cycles = 4;
  int rsqrt_cycles = 4;
  int word_bits = 16;  ///< bits of one operand in the DPU SRAM
};

/// Element operations of one piece of DPU work, and its SRAM traffic.
struct DpuWork {
  double adds = 0, muls = 0, exps = 0, recips = 0, rsqrts = 0;
  double sram_words = 0;  ///< operands read plus results written in DPU SRAM

  DpuWork& operator+=(const DpuWork& o);

  // Composite operations (element counts; see docs/timing-energy.md for the formulas).
  /// Sum of `parts` partial vectors of `n` outputs, then a per-channel scale (and bias).
  static DpuWork reduce_partials(int64_t n, int parts, bool bias);
  /// RMSNorm (or LayerNorm when `layer_norm`) of a vector of `n`, with its gain.
  static DpuWork norm(int64_t n, bool layer_norm);
  /// Rotary embedding of `n` elements (pairs rotated: 2 muls and 1 add per element).
  static DpuWork rope(int64_t n);
  /// Softmax over `n` scores in `rows` independent rows (max, exp, sum, 1/sum, scale).
  static DpuWork softmax(int64_t n, int64_t rows);
  /// SiLU / GELU of `n` elements (exp-based: exp, add, reciprocal, multiply).
  static DpuWork activation(int64_t n);
  /// Element-wise product of two vectors of `n` (the gate of a gated MLP).
  static DpuWork gating(int64_t n);
  /// Residual add of two vectors of `n`.
  static DpuWork residual(int64_t n);
  /// `macs` multiply-accumulates (QK^T, softmax(.)V, a digital matrix-vector product).
  static DpuWork macs(double macs);
};

/// One DPU: work items execute one after another, each taking, per element-op kind,
/// ceil(elements / lanes) x the kind's cycles.
class ScDpu : public ScComponent {
 public:
  ScDpu(sc_core::sc_module_name name, const DpuSpec& spec);

  /// Runs `work` whose operands are ready at `ready`; returns when it ends. Counts the
  /// element ops and SRAM bits. `what` names the span in traces.
  Ps run(Ps ready, const DpuWork& work, ActionCounts* counts, const char* what);
  /// Compute time of `work` alone, in ps (the closed form run() uses).
  Ps duration(const DpuWork& work) const;

  const DpuSpec& spec() const { return spec_; }

  /// Statistics: busy (ns).
  static const ComponentTraits& traits();
  std::vector<double> stat_values() const override { return {busy_ps_}; }

 private:
  DpuSpec spec_;
  Ps free_ = 0;
};

}  // namespace aimc::arch

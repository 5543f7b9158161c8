// Cost of an analog layer read (all effects on: afm_pcm programming noise, 8-bit DAC and ADC,
// out_noise 0.04, 256 x 256 tiles) against a plain Eigen FP32 GEMM of the same shape.
// Arguments: out, in, batch (tokens). Programming happens once, outside the timed loop.
// Goal (docs/performance.md): at batch >= 64 the analog read costs at most 1.25x the GEMM.
// On a shared machine compare CPU times from one run with --benchmark_repetitions=5
// --benchmark_enable_random_interleaving=true, so that GEMM and analog read see the same load.
#include <benchmark/benchmark.h>

#include <vector>

#include "arch/analog_linear.h"
#include "arch/noise_model.h"
#include "arch/quantize.h"

namespace {

using aimc::arch::Matrix;

aimc::arch::TileNumerics bench_numerics() {
  aimc::arch::TileNumerics n;
  n.rows = 256;
  n.cols = 256;
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 14;
  n.out_noise = 0.04;
  aimc::proto::WeightNoiseConfig c;
  c.mutable_afm_pcm();
  n.noise = aimc::arch::make_noise_model(c);
  return n;
}

void BM_AnalogRead(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const auto n = bench_numerics();
  const Matrix w = Matrix::Random(out, in) * 0.05f;
  const std::vector<float> ranges(aimc::arch::balanced_split(in, n.rows).size(), 2.5f);
  aimc::arch::AnalogLinear layer(n, w, nullptr, ranges, 1);
  const Matrix x = Matrix::Random(batch, in);
  Matrix y;
  for (auto _ : state) {
    layer.forward(x, &y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * out * in * batch, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Fp32Gemm(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const Matrix w = Matrix::Random(out, in) * 0.05f;
  const Matrix x = Matrix::Random(batch, in);
  Matrix y(batch, out);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * out * in * batch, benchmark::Counter::kIsIterationInvariantRate);
}

// (out, in): a square projection, an up projection (2048 -> 8192), a down projection.
void shapes(benchmark::internal::Benchmark* b) {
  for (auto [out, in] : {std::pair{2048, 2048}, {8192, 2048}, {2048, 8192}}) {
    for (int batch : {1, 64, 512}) b->Args({out, in, batch});
  }
  b->ArgNames({"out", "in", "batch"})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Fp32Gemm)->Apply(shapes);
BENCHMARK(BM_AnalogRead)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();

// Cost of an analog layer read (all effects on: afm_pcm programming noise, 8-bit DAC and ADC,
// out_noise 0.04, 256 x 256 tiles) against FP32 products of the same shape measured in the same
// process: OpenBLAS sgemm on one thread (when the build found OpenBLAS), our packed-weight
// product alone (the read without DAC, noise and ADC), and Eigen's GEMM of the portable build.
// Arguments: out, in, batch (tokens). Programming happens once, outside the timed loop;
// BM_ProgramLayer times it on its own (ns per weight).
// Goal (docs/performance.md): the analog read costs at most 1.25x the best FP32 GEMM at batch 64
// and 512, 1.5x the best GEMV at batch 1. On a shared machine run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true and compare medians
// (scripts/bench_table.py prints the ratios). Each benchmark's label names the kernel level.
#include <benchmark/benchmark.h>

#include <vector>

#include "arch/analog_linear.h"
#include "arch/noise_model.h"
#include "arch/quantize.h"
#include "arch/rng.h"
#include "arch/tile_gemm.h"

#if AIMC_BENCH_OPENBLAS
extern "C" {
// The CBLAS and OpenBLAS entry points used here (declared here so that the build does not depend
// on which cblas.h the alternatives system points to).
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
void cblas_sgemv(int order, int trans, int m, int n, float alpha, const float* a, int lda,
                 const float* x, int incx, float beta, float* y, int incy);
void openblas_set_num_threads(int n);
char* openblas_get_corename(void);
}
#endif

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

void set_counters(benchmark::State& state) {
  const double flops = 2.0 * state.range(0) * state.range(1) * state.range(2);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
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
  set_counters(state);
  state.SetLabel(aimc::arch::simd_level_name(aimc::arch::simd_level()));
}

// Programming a layer: afm_pcm programming noise of every tile, channel scales, packing for the
// read kernel (AnalogLinear's constructor). Reported per weight ("ns/weight").
void BM_ProgramLayer(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const auto n = bench_numerics();
  const Matrix w = Matrix::Random(out, in) * 0.05f;
  const std::vector<float> ranges(aimc::arch::balanced_split(in, n.rows).size(), 2.5f);
  for (auto _ : state) {
    aimc::arch::AnalogLinear layer(n, w, nullptr, ranges, 1);
    benchmark::DoNotOptimize(&layer);
  }
  state.counters["ns/weight"] = benchmark::Counter(
      1e-9 * out * in, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetLabel(aimc::arch::simd_level_name(aimc::arch::simd_level()));
}

// The read's product alone on FP32 inputs: every tile of the layer, packed weights, no DAC,
// noise or ADC (accumulators of one tile overwritten, as the read's readout consumes them).
void BM_PackedProduct(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const Matrix w = Matrix::Random(out, in) * 0.05f;
  const auto rows = aimc::arch::balanced_split(in, 256),
             cols = aimc::arch::balanced_split(out, 256);
  const auto row_off = aimc::arch::split_offsets(rows), col_off = aimc::arch::split_offsets(cols);
  std::vector<std::vector<float>> packed;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < cols.size(); ++j) {
      packed.emplace_back(aimc::arch::packed_floats(cols[j], rows[i]));
      aimc::arch::pack_weights(w.block(col_off[j], row_off[i], cols[j], rows[i]),
                               packed.back().data());
    }
  }
  const Matrix x = Matrix::Random(batch, in);
  std::vector<float> acc(static_cast<size_t>(batch) * 256);
  for (auto _ : state) {
    for (size_t i = 0; i < rows.size(); ++i) {
      for (size_t j = 0; j < cols.size(); ++j) {
        aimc::arch::packed_product(x.data() + static_cast<size_t>(row_off[i]) * batch, batch, batch,
                                   packed[i * cols.size() + j].data(), cols[j], rows[i], acc.data(),
                                   batch);
      }
    }
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
  state.SetLabel(aimc::arch::simd_level_name(aimc::arch::simd_level()));
}

void BM_EigenGemm(benchmark::State& state) {
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
  set_counters(state);
}

#if AIMC_BENCH_OPENBLAS
// y = x W^T with row-major x (batch x in) and W (out x in), as NumPy's x @ W.T calls it, on one
// thread; batch 1 calls sgemv (y = W x), OpenBLAS's faster routine for one vector.
void BM_OpenBlasSgemm(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  openblas_set_num_threads(1);
  const Matrix w = Matrix::Random(in, out) * 0.05f;  // column-major (in x out) = row-major W
  const Matrix x = Matrix::Random(in, batch);        // row-major (batch x in)
  std::vector<float> y(static_cast<size_t>(batch) * out);
  constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
  for (auto _ : state) {
    if (batch == 1) {
      cblas_sgemv(kRowMajor, kNoTrans, out, in, 1.0f, w.data(), in, x.data(), 1, 0.0f, y.data(), 1);
    } else {
      cblas_sgemm(kRowMajor, kNoTrans, kTrans, batch, out, in, 1.0f, x.data(), in, w.data(), in,
                  0.0f, y.data(), out);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
  state.SetLabel(openblas_get_corename());
}
#endif

// The output-noise draws of a read on their own (fill_normal in chunks of 4096, as a read of
// 16-channel blocks at 256 tokens takes them), ns per draw: one draw per token, channel and
// input tile is the part of the read's cost that no product has.
// Normal draws: method (0: Box-Muller, Rng::fill_normal, the programming noise; 1: inverse CDF,
// Rng::fill_normal_icdf, the output noise) at a SIMD level (0 baseline, 1 AVX2, 2 AVX-512; capped
// at what the CPU has, see the label).
void BM_NormalDraws(benchmark::State& state) {
  const aimc::arch::SimdLevel saved = aimc::arch::simd_level();
  aimc::arch::set_simd_limit(static_cast<aimc::arch::SimdLevel>(state.range(1)));
  aimc::arch::Rng rng(7);
  std::vector<float> buf(4096);
  for (auto _ : state) {
    if (state.range(0) == 1) {
      rng.fill_normal_icdf(buf.data(), buf.size());
    } else {
      rng.fill_normal(buf.data(), buf.size());
    }
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/draw"] =
      benchmark::Counter(1e-9 * buf.size(), benchmark::Counter::kIsIterationInvariantRate |
                                                benchmark::Counter::kInvert);
  state.SetLabel(aimc::arch::simd_level_name(aimc::arch::simd_level()));
  aimc::arch::set_simd_limit(saved);
}

// (out, in): a square projection, an up projection (2048 -> 8192), a down projection.
void shapes(benchmark::internal::Benchmark* b) {
  for (auto [out, in] : {std::pair{2048, 2048}, {8192, 2048}, {2048, 8192}}) {
    for (int batch : {1, 64, 512}) b->Args({out, in, batch});
  }
  b->ArgNames({"out", "in", "batch"})->Unit(benchmark::kMillisecond);
}

#if AIMC_BENCH_OPENBLAS
BENCHMARK(BM_OpenBlasSgemm)->Apply(shapes);
#endif
BENCHMARK(BM_PackedProduct)->Apply(shapes);
BENCHMARK(BM_EigenGemm)->Apply(shapes);
BENCHMARK(BM_AnalogRead)->Apply(shapes);
BENCHMARK(BM_NormalDraws)->ArgsProduct({{0, 1}, {0, 1, 2}})->ArgNames({"icdf", "level"});
BENCHMARK(BM_ProgramLayer)
    ->Args({2048, 2048})
    ->ArgNames({"out", "in"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

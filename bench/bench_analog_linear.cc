// Cost of an analog layer read (all effects on: afm_pcm programming noise, 8-bit DAC and ADC,
// out_noise 0.04, 256 x 256 tiles) against FP32 products of the same shape measured in the same
// process: OpenBLAS sgemm on one thread (when the build found OpenBLAS), our packed-weight
// product alone (the read without DAC, noise and ADC), and Eigen's GEMM of the portable build.
// Arguments: out, in, batch (tokens). Programming happens once, outside the timed loop;
// BM_ProgramLayer times it on its own (ns per weight).
// Goal (docs/performance.md): the analog read costs at most 1.25x the best FP32 GEMM at batch 64
// and 512, 1.5x the best GEMV at batch 1. On a shared machine run it several times with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_format=json
// and judge the spread of the per-run ratios (scripts/bench_table.py run1.json run2.json ...
// prints them). Each benchmark's label names the kernel level.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
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
class PackedTiles {
 public:
  /// Tiles of 256 x 256 at most holding seeded random weights (out x in), packed here.
  PackedTiles(int out, int in, int batch)
      : rows_(aimc::arch::balanced_split(in, 256)),
        cols_(aimc::arch::balanced_split(out, 256)),
        row_off_(aimc::arch::split_offsets(rows_)),
        acc_(static_cast<size_t>(batch) * 256) {
    const Matrix w = Matrix::Random(out, in) * 0.05f;
    const std::vector<int> col_off = aimc::arch::split_offsets(cols_);
    for (size_t i = 0; i < rows_.size(); ++i) {
      for (size_t j = 0; j < cols_.size(); ++j) {
        owned_.emplace_back(aimc::arch::packed_floats(cols_[j], rows_[i]));
        aimc::arch::pack_weights(w.block(col_off[j], row_off_[i], cols_[j], rows_[i]),
                                 owned_.back().data());
        tiles_.push_back(owned_.back().data());
      }
    }
  }
  /// The tiles of `layer` itself, as its read streams them (borrowed: `layer` outlives this).
  PackedTiles(const aimc::arch::AnalogLinear& layer, int batch) {
    int widest = 0;
    for (int j = 0; j < layer.output_tiles(); ++j) {
      cols_.push_back(layer.tile_cols(j));
      widest = std::max(widest, layer.tile_cols(j));
    }
    for (int i = 0; i < layer.input_tiles(); ++i) {
      rows_.push_back(layer.tile_rows(i));
      row_off_.push_back(layer.input_offset(i));
      for (int j = 0; j < layer.output_tiles(); ++j) tiles_.push_back(layer.packed_tile(i, j));
    }
    acc_.resize(static_cast<size_t>(batch) * widest);
  }
  /// Every tile's product of x (batch x in, column-major).
  void run(const Matrix& x) {
    const int batch = static_cast<int>(x.rows());
    for (size_t i = 0; i < rows_.size(); ++i) {
      for (size_t j = 0; j < cols_.size(); ++j) {
        aimc::arch::packed_product(x.data() + static_cast<size_t>(row_off_[i]) * batch, batch,
                                   batch, tiles_[i * cols_.size() + j], cols_[j], rows_[i],
                                   acc_.data(), batch);
      }
    }
    benchmark::DoNotOptimize(acc_.data());
    benchmark::ClobberMemory();
  }

 private:
  std::vector<int> rows_, cols_, row_off_;
  std::vector<std::vector<float>> owned_;
  std::vector<const float*> tiles_;  // tile (i, j) at i * cols_.size() + j
  std::vector<float> acc_;
};

void BM_PackedProduct(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  PackedTiles product(out, in, batch);
  const Matrix x = Matrix::Random(batch, in);
  for (auto _ : state) product.run(x);
  set_counters(state);
  state.SetLabel(aimc::arch::simd_level_name(aimc::arch::simd_level()));
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The goal's ratio measured pairwise: every iteration runs the analog read (as BM_AnalogRead)
// and the product of its own packed weights with the FP32 inputs (as BM_PackedProduct: every
// tile, no DAC, noise or ADC, one tile's accumulators overwritten), in alternating order, each
// timed on this thread's CPU clock, so that what the machine's other programs take in the
// caches and the cores lands on both sides alike rather than on whichever benchmark ran at the
// time. Counters: "ratio" (the read's CPU time over the product's, totals of the repetition),
// "analog_ms" and "packed_ms" (per call).
void BM_ReadOverProduct(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const auto n = bench_numerics();
  const Matrix w = Matrix::Random(out, in) * 0.05f;
  const std::vector<float> ranges(aimc::arch::balanced_split(in, n.rows).size(), 2.5f);
  aimc::arch::AnalogLinear layer(n, w, nullptr, ranges, 1);
  const Matrix x = Matrix::Random(batch, in);
  Matrix y;
  PackedTiles product(layer, batch);
  double analog_s = 0, packed_s = 0;
  int64_t calls = 0;
  const auto read = [&] {
    const double t0 = thread_cpu_seconds();
    layer.forward(x, &y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    analog_s += thread_cpu_seconds() - t0;
  };
  const auto multiply = [&] {
    const double t0 = thread_cpu_seconds();
    product.run(x);
    packed_s += thread_cpu_seconds() - t0;
  };
  for (auto _ : state) {
    if (calls++ % 2 == 0) {
      read();
      multiply();
    } else {
      multiply();
      read();
    }
  }
  state.counters["ratio"] = packed_s > 0 ? analog_s / packed_s : 0;
  state.counters["analog_ms"] = 1e3 * analog_s / static_cast<double>(calls);
  state.counters["packed_ms"] = 1e3 * packed_s / static_cast<double>(calls);
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
BENCHMARK(BM_ReadOverProduct)->Apply(shapes);
BENCHMARK(BM_NormalDraws)->ArgsProduct({{0, 1}, {0, 1, 2}})->ArgNames({"icdf", "level"});
BENCHMARK(BM_ProgramLayer)
    ->Args({2048, 2048})
    ->ArgNames({"out", "in"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// The fast paths of the read kernels against the exact rules (numerics.md section 6): the ADC
// and DAC codes decided by a float estimate must equal the one-double-division codes on random
// values, on exact ties and on values one ulp from a tie; the AVX2 and baseline builds of every
// kernel must give the same bits; noise drawn in chunks must equal one call's draws.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "arch/analog_linear.h"
#include "arch/crossbar_tile.h"
#include "arch/quantize.h"
#include "arch/rng.h"
#include "arch/tile_gemm.h"
#include "test_util.h"

namespace aimc::arch {
namespace {

using testing::ideal_numerics;

/// Restores the SIMD level at the end of a test.
struct SimdGuard {
  SimdLevel saved = simd_level();
  ~SimdGuard() { set_simd_limit(saved); }
};

/// Every level; those the CPU lacks run as the highest it has (the comparison is then trivial).
constexpr SimdLevel kLevels[] = {SimdLevel::kBaseline, SimdLevel::kAvx2, SimdLevel::kAvx512};

/// Accumulator values for a channel with the ADC rule q = acc * res / den: uniform values over
/// the range and beyond, exact ties (k + 0.5) * den / res where they are floats, their float
/// neighbours, and a few specials.
std::vector<float> adc_test_values(double den, int out_res, std::mt19937* gen) {
  std::vector<float> v;
  const double h = out_res / 2;
  std::uniform_real_distribution<double> u(-1.3 * h, 1.3 * h);
  for (int k = 0; k < 20000; ++k) v.push_back(static_cast<float>(u(*gen) * den / out_res));
  for (double k = -h - 2; k <= h + 1; k += 1) {
    const float tie = static_cast<float>((k + 0.5) * den / out_res);
    v.push_back(tie);
    v.push_back(std::nextafter(tie, std::numeric_limits<float>::infinity()));
    v.push_back(std::nextafter(tie, -std::numeric_limits<float>::infinity()));
    v.push_back(static_cast<float>(k * den / out_res));
  }
  for (float s : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f, 1e-42f}) v.push_back(s);
  v.push_back(std::numeric_limits<float>::infinity());
  v.push_back(-std::numeric_limits<float>::infinity());
  return v;
}

TEST(FastPaths, AdcEqualsExactRuleWithDac) {
  SimdGuard guard;
  std::mt19937 gen(3);
  for (int out_res : {254, 62, 14, 1022, 65534}) {
    for (SimdLevel level : kLevels) {
      set_simd_limit(level);
      const int avx = static_cast<int>(level);
      TileNumerics n = ideal_numerics(8, 8);
      n.inp_res = 254;
      n.out_res = out_res;
      n.out_bound = 14;
      const float ir = 0.7f;
      Vector wmax(5);
      wmax << 1.0f, 0.75f, 0.0123456f, 3.14159f, 1e-3f;
      TileReadout readout(n, wmax, ir, 0.0, 1.0, 1);
      for (int c = 0; c < wmax.size(); ++c) {
        const double w = wmax(c);
        const double den = 254 * 14 * w;
        const std::vector<float> vals = adc_test_values(den, out_res, &gen);
        const int batch = static_cast<int>(vals.size());
        // Channel c gets the values, the other channels zeros.
        std::vector<float> acc(static_cast<size_t>(batch) * wmax.size(), 0.0f);
        std::copy(vals.begin(), vals.end(), acc.begin() + static_cast<size_t>(c) * batch);
        std::vector<float> y(acc.size(), 0.0f);
        NoiseCursor noise;
        readout.accumulate(acc.data(), batch, &noise, y.data());
        const float scale = static_cast<float>(2.0 * 14 * ir * w / out_res);
        int mismatches = 0;
        for (int b = 0; b < batch; ++b) {
          const double code = adc_code_from_dac(vals[b], 254, out_res, 14, w);
          const float want = 0.0f + static_cast<float>(code) * scale;
          mismatches += y[static_cast<size_t>(c) * batch + b] != want;
        }
        EXPECT_EQ(mismatches, 0) << "out_res " << out_res << " channel " << c << " avx " << avx;
      }
    }
  }
}

TEST(FastPaths, AdcEqualsExactRuleOneToken) {
  // Batch 1 runs across channels: every channel gets one value (ties, neighbours, random),
  // some channels are all-zero (output exactly 0).
  SimdGuard guard;
  std::mt19937 gen(6);
  std::uniform_real_distribution<float> uw(0.01f, 2.0f);
  std::uniform_int_distribution<int> uk(-130, 129);
  const int channels = 5000;
  Vector wmax(channels);
  std::vector<float> acc(channels);
  for (int c = 0; c < channels; ++c) {
    wmax(c) = c % 97 == 0 ? 0.0f : uw(gen);
    const float tie = static_cast<float>((uk(gen) + 0.5) * 14 * double(wmax(c)));
    const int kind = c % 4;
    acc[c] = kind == 0   ? tie
             : kind == 1 ? std::nextafter(tie, 1e30f)
             : kind == 2 ? std::nextafter(tie, -1e30f)
                         : static_cast<float>(uk(gen) * 14 * double(wmax(c)) * 0.37);
    if (wmax(c) == 0) acc[c] = 0;
  }
  for (SimdLevel level : kLevels) {
    set_simd_limit(level);
    const int avx = static_cast<int>(level);
    TileNumerics n = ideal_numerics(8, 8);
    n.inp_res = 254;
    n.out_res = 254;
    n.out_bound = 14;
    TileReadout readout(n, wmax, 0.7f, 0.0, 1.0, 1);
    std::vector<float> y(channels, 0.0f);
    NoiseCursor noise;
    readout.accumulate(acc.data(), 1, &noise, y.data());
    int mismatches = 0;
    for (int c = 0; c < channels; ++c) {
      const double w = wmax(c);
      const float want =
          w == 0 ? 0.0f
                 : 0.0f + static_cast<float>(adc_code_from_dac(acc[c], 254, 254, 14, w)) *
                              static_cast<float>(2.0 * 14 * 0.7f * w / 254);
      mismatches += y[c] != want;
    }
    EXPECT_EQ(mismatches, 0) << "avx " << avx;
  }
}

TEST(FastPaths, AdcEqualsExactRuleIdealDac) {
  SimdGuard guard;
  std::mt19937 gen(4);
  for (SimdLevel level : kLevels) {
    set_simd_limit(level);
    const int avx = static_cast<int>(level);
    TileNumerics n = ideal_numerics(8, 8);
    n.out_res = 254;
    n.out_bound = 3;
    const float ir = 1.7f;
    Vector wmax(2);
    wmax << 0.5f, 0.3f;
    TileReadout readout(n, wmax, ir, 0.0, 1.0, 1);
    for (int c = 0; c < 2; ++c) {
      const double w = wmax(c);
      const std::vector<float> vals = adc_test_values(2.0 * 3 * ir * w, 254, &gen);
      const int batch = static_cast<int>(vals.size());
      std::vector<float> acc(static_cast<size_t>(batch) * 2, 0.0f);
      std::copy(vals.begin(), vals.end(), acc.begin() + static_cast<size_t>(c) * batch);
      std::vector<float> y(acc.size(), 0.0f);
      NoiseCursor noise;
      readout.accumulate(acc.data(), batch, &noise, y.data());
      const float scale = static_cast<float>(2.0 * 3 * ir * w / 254);
      int mismatches = 0;
      for (int b = 0; b < batch; ++b) {
        const float want = 0.0f + static_cast<float>(adc_code(vals[b], ir, 254, 3, w)) * scale;
        mismatches += y[static_cast<size_t>(c) * batch + b] != want;
      }
      EXPECT_EQ(mismatches, 0) << "channel " << c << " avx " << avx;
    }
  }
}

TEST(FastPaths, DacCodesEqualExactRule) {
  SimdGuard guard;
  std::mt19937 gen(5);
  for (int inp_res : {254, 14, 65534}) {
    for (float ir : {1.0f, 0.7f, 2.5f, 127.0f, 3e-5f}) {
      std::vector<float> v;
      std::uniform_real_distribution<float> u(-1.2f * ir, 1.2f * ir);
      for (int k = 0; k < 5000; ++k) v.push_back(u(gen));
      const int h = inp_res / 2;
      for (int k = -h - 1; k <= h; k += (inp_res > 1000 ? 97 : 1)) {
        const float tie = static_cast<float>((k + 0.5) * 2.0 * ir / inp_res);
        v.push_back(tie);
        v.push_back(std::nextafter(tie, 1e30f));
        v.push_back(std::nextafter(tie, -1e30f));
      }
      for (float s : {0.0f, -0.0f, 1e-40f, 1e30f, -1e30f}) v.push_back(s);
      Eigen::Map<Eigen::MatrixXf> x(v.data(), static_cast<Eigen::Index>(v.size()), 1);
      for (SimdLevel level : kLevels) {
        set_simd_limit(level);
        const int avx = static_cast<int>(level);
        Eigen::MatrixXf codes(x.rows(), 1);
        dac_codes(x, ir, inp_res, codes);
        int mismatches = 0;
        for (Eigen::Index r = 0; r < x.rows(); ++r) {
          mismatches += codes(r, 0) != static_cast<float>(dac_code(x(r, 0), ir, inp_res));
        }
        EXPECT_EQ(mismatches, 0) << "inp_res " << inp_res << " ir " << ir << " avx " << avx;
      }
    }
  }
}

TEST(FastPaths, EveryLevelGivesSameBits) {
  SimdGuard guard;
  std::vector<float> a(100003), b(100003);
  set_simd_limit(SimdLevel::kBaseline);
  Rng(8).fill_normal(a.data(), a.size());
  for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    set_simd_limit(level);
    Rng(8).fill_normal(b.data(), b.size());
    EXPECT_EQ(a, b) << simd_level_name(level);
  }

  const TileNumerics n = testing::afm_numerics(256, 256);
  const Matrix w = Matrix::Random(200, 250);
  const Matrix x = Matrix::Random(70, 250);
  for (int batch : {70, 3}) {
    Matrix ya, yb;
    set_simd_limit(SimdLevel::kBaseline);
    CrossbarTile(n, w, 0.8f, 4).read(x.topRows(batch), &ya);
    for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      set_simd_limit(level);
      CrossbarTile(n, w, 0.8f, 4).read(x.topRows(batch), &yb);
      EXPECT_EQ(ya, yb) << simd_level_name(level) << " batch " << batch;
    }
  }
}

TEST(FastPaths, InverseCdfDrawsEveryLevelGivesSameBits) {
  // Long runs (tail draws come about once in 2^15), odd lengths (a partial last step) and a
  // continued stream, each level against the baseline.
  SimdGuard guard;
  for (size_t len : {size_t{1}, size_t{15}, size_t{17}, size_t{1000003}}) {
    std::vector<float> a(len), b(len);
    set_simd_limit(SimdLevel::kBaseline);
    Rng ra(31);
    ra.fill_normal_icdf(a.data(), len);
    // The second call's draws are compared: with the first call's, about 60 come from the tail
    // tables (|z| > 3.97) in the longest run.
    ra.fill_normal_icdf(a.data(), len);
    if (len > 1000000) {
      EXPECT_GT(std::count_if(a.begin(), a.end(), [](float z) { return std::abs(z) > 3.98f; }), 10);
    }
    for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      set_simd_limit(level);
      Rng rb(31);
      rb.fill_normal_icdf(b.data(), len);
      rb.fill_normal_icdf(b.data(), len);
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), len * sizeof(float)))
          << simd_level_name(level) << " length " << len;
    }
  }
}

TEST(FastPaths, ChunkedInverseCdfDrawsContinueOneSequence) {
  std::vector<float> one(Rng::kFillBlock * 21 + 5), chunked(one.size());
  Rng(12).fill_normal_icdf(one.data(), one.size());
  Rng r(12);
  size_t pos = 0;
  for (size_t len : {Rng::kIcdfStep, 3 * Rng::kIcdfStep, Rng::kFillBlock, 16 * Rng::kFillBlock}) {
    r.fill_normal_icdf(chunked.data() + pos, len);
    pos += len;
  }
  r.fill_normal_icdf(chunked.data() + pos, one.size() - pos);
  EXPECT_EQ(one, chunked);
}

TEST(FastPaths, ChunkedNormalDrawsContinueOneSequence) {
  std::vector<float> one(3 * Rng::kFillBlock * 7 + 77), chunked(one.size());
  Rng(12).fill_normal(one.data(), one.size());
  Rng r(12);
  size_t pos = 0;
  for (size_t len : {Rng::kFillBlock, 4 * Rng::kFillBlock, 16 * Rng::kFillBlock}) {
    r.fill_normal(chunked.data() + pos, len);
    pos += len;
  }
  r.fill_normal(chunked.data() + pos, one.size() - pos);
  EXPECT_EQ(one, chunked);
}

TEST(FastPaths, NoiseCursorPiecesEqualOneCall) {
  // Pieces of any size (not multiples of the generator's block) hand out the draws of one call.
  const size_t total = 7 * Rng::kFillBlock + 123;
  std::vector<float> one(total), pieces;
  Rng(21).fill_normal_icdf(one.data(), total);
  Rng r(21);
  NoiseCursor cursor;
  cursor.start(&r, total);
  size_t pos = 0;
  for (size_t len : {size_t{1}, size_t{300}, size_t{255}, size_t{256}, size_t{700}, size_t{17}}) {
    const float* p = cursor.take(len);
    pieces.insert(pieces.end(), p, p + len);
    pos += len;
  }
  const float* p = cursor.take(total - pos);
  pieces.insert(pieces.end(), p, p + (total - pos));
  EXPECT_EQ(one, pieces);
}

TEST(FastPaths, ReadoutInChannelBlocksEqualsWholeRead) {
  // Output noise on, several reads in a row (the noise streams continue): reading a tile's
  // channels in blocks gives the bits of whole-tile reads, at every level and batch.
  SimdGuard guard;
  TileNumerics n = testing::afm_numerics(64, 64);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 14;
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(-3000.0f, 3000.0f);
  Vector wmax = Vector::Random(45).cwiseAbs();
  wmax(7) = 0;
  for (SimdLevel level : kLevels) {
    set_simd_limit(level);
    for (int batch : {1, 3, 37, 64}) {
      TileReadout whole(n, wmax, 0.9f, 0.04, 1.0, 5), blocks(n, wmax, 0.9f, 0.04, 1.0, 5);
      NoiseCursor nw, nb;
      for (int read = 0; read < 3; ++read) {
        std::vector<float> acc(static_cast<size_t>(batch) * wmax.size());
        for (float& a : acc) a = u(gen);
        std::vector<float> yw(acc.size(), 0.5f), yb(acc.size(), 0.5f);
        whole.accumulate(acc.data(), batch, &nw, yw.data());
        const int step = 3 + read * 8;  // block sizes 3, 11, 19 channels
        for (int c0 = 0; c0 < wmax.size(); c0 += step) {
          const int c1 = std::min<int>(wmax.size(), c0 + step);
          const size_t off = static_cast<size_t>(c0) * batch;
          blocks.accumulate_channels(acc.data() + off, batch, c0, c1, &nb, yb.data() + off);
        }
        EXPECT_EQ(yw, yb) << simd_level_name(level) << " batch " << batch << " read " << read;
      }
    }
  }
}

TEST(FastPaths, FusedReadoutEqualsProductThenReadout) {
  // The product kernel's fused readout (TileReadout::read_fused) against packed_product then
  // the baseline readout, bit for bit: output noise on over three reads (the streams continue),
  // y accumulated into and written from nothing (`assign`), channel blocks of 16, batches that
  // leave partial vectors and token groups, all-zero channels, a channel without the fast ADC
  // decision (its float estimate of out_res / den overflows), and exact rounding ties (one
  // input, no output noise).
  SimdGuard guard;
  TileNumerics n = testing::ideal_numerics(64, 64);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 14;
  std::mt19937 gen(17);
  std::uniform_int_distribution<int> code(-127, 127);
  for (int depth : {1, 37}) {
    const int channels = 45;
    Matrix w = Matrix::Random(channels, depth);
    if (depth == 1) {
      // acc = c * w exactly and q = acc * 254 / (254 * 14 * |w|) = +-c / 14: every code
      // c = 14 k + 7 is an exact tie.
      // Weights k / 64 (c * w exact); the float estimate of out_res / den rounds up for some
      // channels and down for others.
      for (int ch = 0; ch < channels; ++ch)
        w(ch, 0) = (ch % 2 ? 1.0f : -1.0f) * (17 + 2 * ch) / 64.0f;
    }
    w.row(9).setZero();
    w.row(30).setZero();
    w.row(21).setConstant(1e-42f);  // denormal: float(out_res / den) overflows, inv = 0
    Vector wmax = w.cwiseAbs().rowwise().maxCoeff();
    std::vector<float> packed(packed_floats(channels, depth));
    pack_weights(w, packed.data());
    for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      for (int batch : {5, 17, 48, 100}) {
        set_simd_limit(level);
        // The ties stay ties without output noise.
        const double out_noise = depth == 1 ? 0.0 : 0.04;
        TileReadout fused(n, wmax, 0.9f, out_noise, 1.0, 8),
            plain(n, wmax, 0.9f, out_noise, 1.0, 8);
        NoiseCursor nf, np;
        for (int read = 0; read < 3; ++read) {
          Matrix x(batch, depth);
          for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(code(gen));
          const bool assign = read == 1;
          const size_t total = static_cast<size_t>(batch) * channels;
          std::vector<float> yf(total, assign ? std::numeric_limits<float>::quiet_NaN() : 0.25f);
          std::vector<float> yp(total, assign ? 0.0f : 0.25f), acc(total);
          bool ran = true;
          for (int c0 = 0; c0 < channels; c0 += 16) {
            const int c1 = std::min(channels, c0 + 16);
            const size_t off = static_cast<size_t>(c0) * batch;
            ran = ran && fused.read_fused(x.data(), batch, packed.data() + c0 * depth, depth, c0,
                                          c1, &nf, yf.data() + off, assign);
          }
          ASSERT_TRUE(ran || simd_level() == SimdLevel::kBaseline);
          if (!ran) continue;
          packed_product(x.data(), batch, batch, packed.data(), channels, depth, acc.data(), batch);
          set_simd_limit(SimdLevel::kBaseline);
          plain.accumulate(acc.data(), batch, &np, yp.data());
          set_simd_limit(level);
          int mismatches = 0;
          for (size_t k = 0; k < total; ++k) {
            mismatches += std::memcmp(&yf[k], &yp[k], sizeof(float)) != 0;
          }
          EXPECT_EQ(mismatches, 0) << simd_level_name(level) << " depth " << depth << " batch "
                                   << batch << " read " << read;
        }
      }
    }
  }
}

TEST(FastPaths, AnalogLayerEveryLevelGivesSameBits) {
  // Whole layers (ragged tiles, output tiles outer and input tiles outer, output noise, DAC and
  // ADC): the SIMD levels' fused reads against the baseline's product-then-readout.
  SimdGuard guard;
  TileNumerics n = testing::afm_numerics(48, 40);
  n.out_bound = 14;
  for (auto [out, in] : {std::pair{100, 70}, {70, 150}}) {
    const Matrix w = Matrix::Random(out, in) * 0.05f;
    const Vector bias = Vector::Random(out);
    const std::vector<float> ranges(balanced_split(in, n.rows).size(), 0.8f);
    for (int batch : {3, 21, 70}) {
      const Matrix x = Matrix::Random(batch, in);
      Matrix want, got;
      set_simd_limit(SimdLevel::kBaseline);
      AnalogLinear base(n, w, &bias, ranges, 11);
      base.forward(x, &want);
      base.forward(x, &want);  // the second read: the noise streams continue
      for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
        set_simd_limit(level);
        AnalogLinear layer(n, w, &bias, ranges, 11);
        layer.forward(x, &got);
        layer.forward(x, &got);
        EXPECT_EQ(want, got) << simd_level_name(level) << " " << out << " x " << in << " batch "
                             << batch;
      }
    }
  }
}

}  // namespace
}  // namespace aimc::arch

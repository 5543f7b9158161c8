// The read product of packed tile weights (tile_gemm.h) against an independent computation of
// its definition (one fused multiply-add chain per accumulator, k in order, from +0), for every
// SIMD level, awkward shapes and strides, special values; packing round trips; a token's result
// does not depend on the other tokens of the batch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "arch/rng.h"
#include "arch/tile_gemm.h"

namespace aimc::arch {
namespace {

struct SimdGuard {
  SimdLevel saved = simd_level();
  ~SimdGuard() { set_simd_limit(saved); }
};

constexpr SimdLevel kLevels[] = {SimdLevel::kBaseline, SimdLevel::kAvx2, SimdLevel::kAvx512};

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// The definition, from the unpacked weights w (channels x depth).
float chain(const std::vector<float>& x, int ld_x, int t, const Matrix& w, int c) {
  float s = 0.0f;
  for (int k = 0; k < w.cols(); ++k) s = std::fma(x[static_cast<size_t>(k) * ld_x + t], w(c, k), s);
  return s;
}

TEST(TileGemm, PackRoundTripAndZeroPadding) {
  const Matrix w = Matrix::Random(37, 11);
  std::vector<float> packed(packed_floats(37, 11), -1.0f);
  ASSERT_EQ(packed.size(), 3u * 16 * 11);
  pack_weights(w, packed.data());
  Matrix back(37, 11);
  unpack_weights(packed.data(), back);
  EXPECT_EQ(back, w);
  // Panel 2 holds channels 32..36 in columns 0..4 and zeros in 5..15 of every row.
  for (int k = 0; k < 11; ++k) {
    for (int c = 0; c < 16; ++c) {
      const float v = packed[2 * 16 * 11 + k * 16 + c];
      EXPECT_EQ(v, c < 5 ? w(32 + c, k) : 0.0f) << k << " " << c;
    }
  }
}

TEST(TileGemm, EveryLevelComputesTheFusedChain) {
  SimdGuard guard;
  std::mt19937 gen(21);
  std::normal_distribution<float> nd;
  for (int batch : {1, 2, 3, 4, 5, 8, 15, 16, 17, 33, 47, 48, 49, 64, 100}) {
    for (int channels : {1, 7, 16, 17, 40, 256}) {
      for (int depth : {0, 1, 5, 256}) {
        Matrix w(channels, depth);
        for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = nd(gen);
        std::vector<float> packed(packed_floats(channels, depth));
        pack_weights(w, packed.data());
        const int ld_x = batch + 3, ld_acc = batch + 2;
        std::vector<float> x(static_cast<size_t>(ld_x) * depth);
        // DAC-like integer codes and arbitrary floats alike.
        for (size_t i = 0; i < x.size(); ++i) {
          x[i] = i % 3 == 0 ? nd(gen) : std::round(nd(gen) * 60.0f);
        }
        for (SimdLevel level : kLevels) {
          set_simd_limit(level);
          std::vector<float> acc(static_cast<size_t>(ld_acc) * channels + 5, -7.0f);
          packed_product(x.data(), ld_x, batch, packed.data(), channels, depth, acc.data(), ld_acc);
          int bad = 0, touched = 0;
          for (int c = 0; c < channels; ++c) {
            for (int t = 0; t < ld_acc; ++t) {
              const float got = acc[static_cast<size_t>(c) * ld_acc + t];
              if (t < batch) {
                bad += !same_bits(got, chain(x, ld_x, t, w, c));
              } else {
                touched += got != -7.0f;  // padding of the leading dimension stays
              }
            }
          }
          for (int e = 0; e < 5; ++e) touched += acc[acc.size() - 1 - e] != -7.0f;
          EXPECT_EQ(bad, 0) << simd_level_name(simd_level()) << " batch " << batch << " channels "
                            << channels << " depth " << depth;
          EXPECT_EQ(touched, 0) << simd_level_name(simd_level()) << " batch " << batch;
        }
      }
    }
  }
}

TEST(TileGemm, BlocksContinueOneChain) {
  // A product over 600 rows done in blocks of 256, 256 and 88 rows, each continuing the previous
  // accumulators, equals the single chain over all rows, at every level and batch size.
  SimdGuard guard;
  std::mt19937 gen(9);
  std::normal_distribution<float> nd;
  const int channels = 37, depth = 600;
  Matrix w(channels, depth);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = nd(gen);
  for (int batch : {1, 3, 4, 9, 50}) {
    std::vector<float> x(static_cast<size_t>(batch) * depth);
    for (float& v : x) v = nd(gen);
    for (SimdLevel level : kLevels) {
      set_simd_limit(level);
      std::vector<float> acc(static_cast<size_t>(batch) * channels, 5.0f);
      for (int k0 = 0; k0 < depth; k0 += 256) {
        const int rows = std::min(256, depth - k0);
        std::vector<float> packed(packed_floats(channels, rows));
        pack_weights(w.middleCols(k0, rows), packed.data());
        packed_product(x.data() + static_cast<size_t>(k0) * batch, batch, batch, packed.data(),
                       channels, rows, acc.data(), batch, k0 > 0);
      }
      int bad = 0;
      for (int c = 0; c < channels; ++c) {
        for (int t = 0; t < batch; ++t) {
          bad += !same_bits(acc[static_cast<size_t>(c) * batch + t], chain(x, batch, t, w, c));
        }
      }
      EXPECT_EQ(bad, 0) << simd_level_name(level) << " batch " << batch;
    }
  }
}

TEST(TileGemm, OneRoundingPerStep) {
  // Row 0 adds -(1 + 2^-11); row 1 adds (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 exactly before its
  // single rounding, leaving 2^-24. A separate multiply would round the product to 1 + 2^-11
  // first and give 0.
  SimdGuard guard;
  Matrix w(1, 2);
  w << 1.0f, 1.0f + 0x1.0p-12f;
  std::vector<float> packed(packed_floats(1, 2));
  pack_weights(w, packed.data());
  for (int batch : {1, 20}) {
    std::vector<float> x(static_cast<size_t>(2) * batch);
    for (int t = 0; t < batch; ++t) {
      x[t] = -(1.0f + 0x1.0p-11f);
      x[batch + t] = 1.0f + 0x1.0p-12f;
    }
    for (SimdLevel level : kLevels) {
      set_simd_limit(level);
      std::vector<float> acc(batch);
      packed_product(x.data(), batch, batch, packed.data(), 1, 2, acc.data(), batch);
      for (int t = 0; t < batch; ++t) EXPECT_EQ(acc[t], 0x1.0p-24f) << simd_level_name(level);
    }
  }
}

TEST(TileGemm, SpecialValuesFollowIeee) {
  SimdGuard guard;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Matrix w(3, 3);
  w << 1.0f, -0.0f, 2.0f,  //
      inf, 1.0f, 0.0f,     //
      -0.0f, -0.0f, 1e30f;
  std::vector<float> packed(packed_floats(3, 3));
  pack_weights(w, packed.data());
  const int batch = 9;
  std::vector<float> x(3 * batch);
  const float vals[] = {0.0f, -0.0f, 1.0f, -1.0f, inf, nan, 1e30f, 3e-39f, -2.5f};
  for (int k = 0; k < 3; ++k) {
    for (int t = 0; t < batch; ++t) x[k * batch + t] = vals[(t + 2 * k) % 9];
  }
  for (SimdLevel level : kLevels) {
    set_simd_limit(level);
    std::vector<float> acc(3 * batch);
    packed_product(x.data(), batch, batch, packed.data(), 3, 3, acc.data(), batch);
    for (int c = 0; c < 3; ++c) {
      for (int t = 0; t < batch; ++t) {
        const float want = chain(x, batch, t, w, c);
        const float got = acc[c * batch + t];
        EXPECT_TRUE(same_bits(got, want) || (std::isnan(got) && std::isnan(want)))
            << simd_level_name(level) << " c " << c << " t " << t << ": " << got << " vs " << want;
      }
    }
  }
}

TEST(TileGemm, TokenResultIndependentOfBatch) {
  SimdGuard guard;
  std::mt19937 gen(5);
  std::normal_distribution<float> nd;
  const int channels = 70, depth = 256, batch = 53;
  Matrix w(channels, depth);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = nd(gen);
  std::vector<float> packed(packed_floats(channels, depth));
  pack_weights(w, packed.data());
  std::vector<float> x(static_cast<size_t>(batch) * depth);
  for (float& v : x) v = std::round(nd(gen) * 50.0f);
  std::vector<float> all(static_cast<size_t>(batch) * channels);
  packed_product(x.data(), batch, batch, packed.data(), channels, depth, all.data(), batch);
  for (int t : {0, 17, 52}) {
    std::vector<float> one(channels);
    // Token t alone: inputs at stride `batch`, one token.
    packed_product(x.data() + t, batch, 1, packed.data(), channels, depth, one.data(), 1);
    for (int c = 0; c < channels; ++c) {
      EXPECT_TRUE(same_bits(one[c], all[static_cast<size_t>(c) * batch + t])) << t << " " << c;
    }
  }
}

}  // namespace
}  // namespace aimc::arch

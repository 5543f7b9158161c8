// The random streams: reproducibility, independence of derived seeds, and the moments and
// distribution of the normal draws.
#include "arch/rng.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "arch/normal_icdf.h"

namespace aimc::arch {
namespace {

TEST(Rng, SameSeedSameSequenceOtherSeedOther) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int k = 0; k < 100; ++k) {
    const uint64_t va = a.next_u64();
    EXPECT_EQ(va, b.next_u64());
    differs |= va != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, DeriveSeedIsDistinctPerTuple) {
  std::set<uint64_t> seeds;
  for (uint64_t a = 0; a < 20; ++a) {
    for (uint64_t b = 0; b < 20; ++b) seeds.insert(derive_seed(7, a, b));
  }
  EXPECT_EQ(seeds.size(), 400u);
  EXPECT_NE(derive_seed(7, 1, 2), derive_seed(7, 2, 1));
  EXPECT_NE(derive_seed(7, 1), derive_seed(8, 1));
  EXPECT_EQ(derive_seed(7, 1, 2), derive_seed(7, 1, 2));
}

void check_standard_normal(const std::vector<float>& z) {
  double s1 = 0, s2 = 0, s4 = 0, below_one = 0, below_m2 = 0;
  for (float v : z) {
    s1 += v;
    s2 += double(v) * v;
    s4 += double(v) * v * v * v;
    below_one += v < 1.0f;
    below_m2 += v < -2.0f;
  }
  const double n = z.size();
  EXPECT_NEAR(s1 / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
  EXPECT_NEAR(s4 / n, 3.0, 0.05);
  EXPECT_NEAR(below_one / n, 0.841345, 0.002);
  EXPECT_NEAR(below_m2 / n, 0.0227501, 0.0007);
}

TEST(Rng, FillNormalIsStandardNormal) {
  Rng rng(1);
  std::vector<float> z(1000001);  // odd: the last pair is cut
  rng.fill_normal(z.data(), z.size());
  check_standard_normal(z);
}

/// The standard normal CDF in double precision.
double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

TEST(Rng, InverseCdfDrawsAreStandardNormal) {
  // Moments and tail probabilities, then Kolmogorov-Smirnov against the normal CDF at n = 2^24
  // (D sqrt(n) above 1.95 has probability 0.001 for exact draws), and the far tails.
  Rng rng(1);
  std::vector<float> z((size_t{1} << 24) + 3);
  rng.fill_normal_icdf(z.data(), z.size());
  check_standard_normal(z);
  const double n = z.size();
  const auto beyond4 = std::count_if(z.begin(), z.end(), [](float v) { return std::abs(v) > 4; });
  const double p4 = 2 * normal_cdf(-4.0);  // 6.3e-5: about 1060 draws
  EXPECT_NEAR(beyond4, p4 * n, 5 * std::sqrt(p4 * n));
  std::sort(z.begin(), z.end());
  double d = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double f = normal_cdf(z[i]);
    d = std::max({d, f - i / n, (i + 1) / n - f});
  }
  EXPECT_LT(d * std::sqrt(n), 1.95);
  EXPECT_GT(z.back(), 5.0f);  // tails reach beyond 5 sigma (at most Phi^-1(2^-32) = 6.23)
  EXPECT_LT(z.back(), 6.24f);
}

TEST(Rng, InverseCdfDrawIsPhiInverseOfItsUniform) {
  // Each word's draw against Phi^-1(v) in double (Newton on erfc), v = float(x) 2^-32 with
  // x = (w & 0x7ffffffe) | 1: evenly spread words of every binade of x, both signs.
  double worst = 0;
  for (int e = 0; e < 31; ++e) {
    for (int k = 0; k <= 1000; ++k) {
      const uint64_t lo = uint64_t{1} << e, span = lo - 1;
      const uint32_t x = static_cast<uint32_t>(lo + span * k / 1000) | 1u;
      const double v = static_cast<double>(static_cast<float>(static_cast<int32_t>(x))) * 0x1p-32;
      const float draw = detail::normal_icdf_draw(x - 1);
      double ref = draw;
      for (int it = 0; it < 4; ++it) {
        ref -= (normal_cdf(ref) - v) / (std::exp(-0.5 * ref * ref) / std::sqrt(2 * M_PI));
      }
      worst = std::max(worst, std::abs(draw - ref));
      EXPECT_EQ(-draw, detail::normal_icdf_draw((x - 1) | 0x80000000u)) << x;
    }
  }
  EXPECT_LT(worst, 1e-6);  // scripts/gen_normal_table.py: 5.2e-7 over every reachable x
  EXPECT_EQ(0.0f, detail::normal_icdf_draw(0x7ffffffe));  // v rounds to 0.5
}

TEST(Rng, ScalarNormalIsStandardNormal) {
  Rng rng(2);
  std::vector<float> z(1000000);
  for (auto& v : z) v = rng.normal();
  check_standard_normal(z);
}

TEST(Rng, FillNormalReproducible) {
  Rng a(9), b(9);
  std::vector<float> za(1000), zb(1000);
  a.fill_normal(za.data(), za.size());
  b.fill_normal(zb.data(), zb.size());
  EXPECT_EQ(za, zb);
}

}  // namespace
}  // namespace aimc::arch

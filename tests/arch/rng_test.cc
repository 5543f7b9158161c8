// The random streams: reproducibility, independence of derived seeds, and the moments and
// distribution of the normal draws.
#include "arch/rng.h"

#include <cmath>
#include <set>
#include <vector>

#include <gtest/gtest.h>

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

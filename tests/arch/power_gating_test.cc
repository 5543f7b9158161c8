// Power gating of a group of units: off intervals and wake-ups against a hand-worked case, and the
// streamed sums (stream_from) against split_gated over the kept intervals, bit for bit.
#include "arch/power_gating.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace aimc::arch {
namespace {

GatingSpec spec() {
  return GatingSpec{true, 1000, 10};
}

TEST(GatedUnits, RecordsOffIntervalsAndWakeUps) {
  GatedUnits g(spec(), 2);
  g.busy_until(0, 100);
  EXPECT_EQ(g.wake(0, 600), 600);    // idle 500 <= 1000: on
  EXPECT_EQ(g.wake(0, 5000), 5010);  // idle 4900: off from 1100 to 5000, 10 ps to wake
  g.busy_until(0, 5100);
  g.close(9000);  // unit 0 off from 6100; unit 1 never used: off from 1000
  ASSERT_EQ(g.intervals().size(), 3u);
  EXPECT_EQ(g.intervals()[0].begin, 1100);
  EXPECT_EQ(g.intervals()[0].end, 5000);
  EXPECT_TRUE(g.intervals()[0].woke);
  EXPECT_EQ(g.wake_ups(), 1);
  EXPECT_EQ(g.off_ps(), 3900.0 + 2900 + 8000);
  GatedTime t[2];
  g.split(3000, t);  // the first interval straddles the split
  EXPECT_DOUBLE_EQ(t[0].off_s, (1900.0 + 2000) * 1e-12);
  EXPECT_DOUBLE_EQ(t[1].off_s, (2000.0 + 2900 + 6000) * 1e-12);
  EXPECT_EQ(t[0].wake_ups, 0);
  EXPECT_EQ(t[1].wake_ups, 1);
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Seeded random uses of 16 units: the same group kept whole and streamed from the split (given
// after some of the intervals were recorded, or before any) give the same sums, bit for bit.
TEST(GatedUnits, StreamedSumsAreTheKeptIntervalsSumsBitForBit) {
  for (int when : {0, 300, 2000}) {
    SCOPED_TRACE(when);
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> unit(0, 15);
    std::uniform_int_distribution<Ps> gap(0, 3000), len(1, 700);
    GatedUnits kept(spec(), 16), streamed(spec(), 16);
    const Ps split = 150000;
    Ps t = 0;
    for (int i = 0; i < 2000; ++i) {
      if (i == when) streamed.stream_from(split);
      const int u = unit(rng);
      t += gap(rng) / 8;
      const Ps l = len(rng);
      EXPECT_EQ(kept.wake(u, t), streamed.wake(u, t));
      kept.busy_until(u, t + l);
      streamed.busy_until(u, t + l);
    }
    if (when == 2000) streamed.stream_from(split);  // after the last use, before the close
    kept.close(t + 5000);
    streamed.close(t + 5000);
    ASSERT_TRUE(streamed.streaming());
    EXPECT_TRUE(streamed.intervals().empty());
    ASSERT_GT(kept.wake_ups(), 100);
    GatedTime a[2], b[2];
    split_gated(kept.intervals(), split, a);
    streamed.split(split, b);
    for (int p = 0; p < 2; ++p) {
      EXPECT_TRUE(same_bits(a[p].off_s, b[p].off_s)) << a[p].off_s << " " << b[p].off_s;
      EXPECT_EQ(a[p].wake_ups, b[p].wake_ups);
      EXPECT_GT(a[p].off_s, 0);
    }
    EXPECT_TRUE(same_bits(kept.off_ps(), streamed.off_ps()));
    EXPECT_EQ(kept.wake_ups(), streamed.wake_ups());
    // The sums were made for one split only.
    GatedTime c[2];
    EXPECT_THROW(streamed.split(split + 1, c), std::logic_error);
  }
}

}  // namespace
}  // namespace aimc::arch

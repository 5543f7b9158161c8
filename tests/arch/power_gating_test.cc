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

// Seeded random uses of 16 units: the same group kept whole, streamed from the split (given
// after some of the intervals were recorded, or before any) and summed in part before the split
// (fold_until) give the same sums, bit for bit.
TEST(GatedUnits, StreamedSumsAreTheKeptIntervalsSumsBitForBit) {
  for (int when : {0, 3000, 20000}) {
    SCOPED_TRACE(when);
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> unit(0, 15);
    std::uniform_int_distribution<Ps> gap(0, 3000), len(1, 700);
    // `folded` sums, before the split, the intervals that end by the time of the latest use
    // (never after the split), and is never told the split.
    GatedUnits kept(spec(), 16), streamed(spec(), 16), folded(spec(), 16);
    const Ps split = 2000000;
    Ps t = 0;
    for (int i = 0; i < 20000; ++i) {
      if (i == when) streamed.stream_from(split);
      const int u = unit(rng);
      t += gap(rng) / 8;
      const Ps l = len(rng);
      if (i % 7 == 0 && t <= split) {
        streamed.fold_until(t);
        folded.fold_until(t);
      }
      const Ps woken = kept.wake(u, t);
      EXPECT_EQ(streamed.wake(u, t), woken);
      EXPECT_EQ(folded.wake(u, t), woken);
      kept.busy_until(u, t + l);
      streamed.busy_until(u, t + l);
      folded.busy_until(u, t + l);
    }
    if (when == 20000) streamed.stream_from(split);  // after the last use, before the close
    kept.close(t + 5000);
    streamed.close(t + 5000);
    folded.close(t + 5000);
    // About half of them end before the split: summed, and not kept.
    ASSERT_LT(static_cast<double>(folded.kept()), 0.6 * kept.kept());
    ASSERT_EQ(kept.kept(), kept.intervals().size());
    GatedTime f[2];
    folded.split(split, f);
    EXPECT_TRUE(same_bits(kept.off_ps(), folded.off_ps()));
    EXPECT_EQ(kept.wake_ups(), folded.wake_ups());
    GatedTime early[2];
    EXPECT_THROW(folded.split(5000, early), std::logic_error);  // before intervals it summed
    ASSERT_TRUE(streamed.streaming());
    EXPECT_TRUE(streamed.intervals().empty());
    ASSERT_GT(kept.wake_ups(), 100);
    GatedTime a[2], b[2];
    split_gated(kept.intervals(), split, a);
    streamed.split(split, b);
    for (int p = 0; p < 2; ++p) {
      EXPECT_TRUE(same_bits(a[p].off_s, b[p].off_s)) << a[p].off_s << " " << b[p].off_s;
      EXPECT_TRUE(same_bits(a[p].off_s, f[p].off_s)) << a[p].off_s << " " << f[p].off_s;
      EXPECT_EQ(a[p].wake_ups, b[p].wake_ups);
      EXPECT_EQ(a[p].wake_ups, f[p].wake_ups);
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

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

// Seeded random off intervals of one unit (gaps from 0 and lengths from 1 to beyond 2^35 ps, so
// that every varint width occurs): the compact log visits them exactly as recorded, and once told
// the split (before any, after some, or after all), gives the same phase sums and statistics as
// split_gated over the intervals kept whole, bit for bit; those that begin after the split it
// visits from the split.
TEST(GatedLog, CompactIntervalsGiveTheKeptIntervalsSumsBitForBit) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> bits(0, 36);
  auto draw = [&] {
    const int b = bits(rng);
    return b == 0 ? Ps{0} : static_cast<Ps>(rng() >> (64 - b));
  };
  std::vector<GatedInterval> all;
  Ps t = 0;
  for (int i = 0; i < 5000; ++i) {
    const Ps begin = t + draw(), end = begin + 1 + draw();
    all.push_back({begin, end, i + 1 < 5000, 0});
    t = end;
  }
  const Ps split = all[2500].begin + 1;  // inside interval 2500 (when it is not empty)
  for (size_t when : {size_t{0}, size_t{1200}, size_t{2501}, all.size()}) {
    SCOPED_TRACE(when);
    GatedLog log;
    for (size_t i = 0; i < all.size(); ++i) {
      if (i == when) log.stream_from(split);
      log.add(all[i].begin, all[i].end, all[i].woke);
    }
    if (when == all.size()) log.stream_from(split);
    ASSERT_EQ(log.size(), all.size());
    EXPECT_LT(log.bytes(), 14 * all.size());  // against 24 bytes of a GatedInterval
    const std::vector<GatedInterval> seen = log.intervals();
    ASSERT_EQ(seen.size(), all.size());
    size_t whole = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const bool length_only = i >= when && all[i].begin >= split;
      EXPECT_EQ(seen[i].begin, length_only ? split : all[i].begin) << i;
      EXPECT_EQ(seen[i].end - seen[i].begin, all[i].end - all[i].begin) << i;
      EXPECT_EQ(seen[i].woke, all[i].woke) << i;
      whole += length_only ? 0 : 1;
    }
    EXPECT_EQ(whole, std::min<size_t>(std::max<size_t>(when, 2501), all.size()));
    GatedTime a[2], b[2];
    split_gated(all, split, a);
    split_gated(seen, split, b);
    for (int p = 0; p < 2; ++p) {
      EXPECT_TRUE(same_bits(a[p].off_s, b[p].off_s)) << a[p].off_s << " " << b[p].off_s;
      EXPECT_EQ(a[p].wake_ups, b[p].wake_ups);
      EXPECT_GT(a[p].off_s, 0);
    }
  }
  GatedLog twice;
  twice.stream_from(1);
  EXPECT_THROW(twice.stream_from(1), std::logic_error);
  twice.add(5, 7, true);
  EXPECT_THROW(twice.add(8, 8, true), std::logic_error);  // empty
  EXPECT_THROW(twice.add(6, 9, true), std::logic_error);  // begins before the last ended
}

}  // namespace
}  // namespace aimc::arch

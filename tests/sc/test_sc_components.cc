// Component tier: each SystemC module in a harness, checked against its closed-form latency.
// Every check runs in a forked child (sim::run_isolated) because a process elaborates SystemC
// modules only once.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "arch/rng.h"
#include "arch/sc_dpu.h"
#include "arch/sc_memory.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "arch/sc_tile_array.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

using arch::Ps;

// Runs `fn` (which returns a number) in a child process.
double isolated(const std::function<double()>& fn) {
  const std::string s = sim::run_isolated([&] {
    std::ostringstream o;
    o.precision(17);
    o << fn();
    return o.str();
  });
  return std::stod(s);
}

arch::TileSpec hermes_tile(int phases) {
  arch::TileSpec s;
  s.integrations = phases;
  s.t_integration_ps = 128000;  // 128 PWM steps of 1 ns
  s.t_overhead_ps = 5000;
  s.t_post_ps = 4000;
  s.double_buffered = true;
  return s;
}

arch::AdcBankSpec hermes_bank() {
  arch::AdcBankSpec b;
  b.adcs_per_group = 256;
  b.groups = 1;
  b.t_conversion_ps = 38400;
  return b;
}

TEST(ScTile, UnloadedReadMatchesClosedForm) {
  for (int phases : {1, 4}) {
    const arch::TileSpec ts = hermes_tile(phases);
    const double got = isolated([&] {
      arch::ScAdcBank bank("bank", hermes_bank());
      arch::ScTile tile("tile", ts, &bank);
      return static_cast<double>(tile.read(0, 256, 256, nullptr));
    });
    // overhead + phases x integration + one conversion + post-processing.
    const double expect = 5000 + phases * 128000 + 38400 + 4000;
    EXPECT_EQ(got, expect) << phases << " phases";
    EXPECT_EQ(arch::ScTile::unloaded_latency(ts, hermes_bank(), 256), expect);
  }
}

TEST(ScTile, SingleBufferedAndBitSerialClosedForm) {
  arch::TileSpec ts = hermes_tile(2);
  ts.double_buffered = false;
  const double single = isolated([&] {
    arch::ScAdcBank bank("bank", hermes_bank());
    arch::ScTile tile("tile", ts, &bank);
    return static_cast<double>(tile.read(0, 256, 256, nullptr));
  });
  EXPECT_EQ(single, 5000 + 2 * (128000 + 38400) + 4000);
  // Bit-serial, 8 bits, ADC slower than one integration: the ADC is the bottleneck.
  arch::TileSpec bs = hermes_tile(8);
  bs.t_integration_ps = 1000;
  const double serial = isolated([&] {
    arch::ScAdcBank bank("bank", hermes_bank());
    arch::ScTile tile("tile", bs, &bank);
    return static_cast<double>(tile.read(0, 256, 256, nullptr));
  });
  EXPECT_EQ(serial, 5000 + 1000 + 8 * 38400 + 4000);
  EXPECT_EQ(serial, arch::ScTile::unloaded_latency(bs, hermes_bank(), 256));
}

TEST(ScTile, BackToBackReadsOverlapConversion) {
  const arch::TileSpec ts = hermes_tile(1);
  const double second = isolated([&] {
    arch::ScAdcBank bank("bank", hermes_bank());
    arch::ScTile tile("tile", ts, &bank);
    tile.read(0, 256, 256, nullptr);
    return static_cast<double>(tile.read(0, 256, 256, nullptr));
  });
  // The second integration starts when the first ends (double-buffered sample-and-hold).
  EXPECT_EQ(second, 2 * 133000 + 38400 + 4000);
}

TEST(ScTile, PowerGatingOffIntervalAndOneWakeUp) {
  // A tile read at 0, idle for 5 us, read again: it is off from 1 us after its first read
  // until the second read's input arrives, which then waits the 20 ns wake-up; a gap of 0.5 us
  // (under the threshold) leaves it on; the run ends 3 us after the third read, off for the
  // last 2 us without a wake-up.
  arch::TileSpec ts = hermes_tile(1);
  ts.gating = true;
  ts.gate_after_ps = 1000000;
  ts.wake_up_ps = 20000;
  const Ps L = arch::ScTile::unloaded_latency(ts, hermes_bank(), 256);
  const Ps r2 = L + 5000000, e2 = r2 + 20000 + L, r3 = e2 + 500000, e3 = r3 + L;
  const double result = isolated([&] {
    arch::ScAdcBank bank("bank", hermes_bank());
    arch::ScTile tile("tile", ts, &bank);
    bool ok = tile.read(0, 256, 256, nullptr) == L;
    ok = ok && tile.read(r2, 256, 256, nullptr) == e2;
    ok = ok && tile.read(r3, 256, 256, nullptr) == e3;  // no wake-up below the threshold
    tile.close(e3 + 3000000);
    const std::vector<arch::GatedInterval>& g = tile.gated();
    ok = ok && g.size() == 2;
    ok = ok && g[0].begin == L + 1000000 && g[0].end == r2 && g[0].woke;
    ok = ok && g[1].begin == e3 + 1000000 && g[1].end == e3 + 3000000 && !g[1].woke;
    const std::vector<double> st = tile.stat_values();  // reads, busy, wake_ups, gated
    ok = ok && st[2] == 1 && st[3] == 6000000.0;
    return ok ? 1.0 : 0.0;
  });
  EXPECT_EQ(result, 1.0);
  // Without gating the same reads take no wake-up and the tile is never off.
  ts.gating = false;
  const double plain = isolated([&] {
    arch::ScAdcBank bank("bank", hermes_bank());
    arch::ScTile tile("tile", ts, &bank);
    tile.read(0, 256, 256, nullptr);
    const Ps e = tile.read(r2, 256, 256, nullptr);
    tile.close(e + 3000000);
    return e == r2 + L && tile.gated().empty() ? 1.0 : 0.0;
  });
  EXPECT_EQ(plain, 1.0);
}

// Uses replayed from a schedule (memo_parts keeps the replays' starts and wake-up delays, not
// the intervals): the tile visits, counts and splits the same off intervals as when each use is
// replayed one by one, bit for bit, after a read of its own and before the run's close.
TEST(ScTile, ReplayedScheduleGivesTheIntervalsOfItsUsesOneByOne) {
  arch::TileSpec ts = hermes_tile(1);
  ts.gating = true;
  ts.gate_after_ps = 1000000;
  ts.wake_up_ps = 20000;
  std::vector<std::pair<Ps, Ps>> replays;  // (start, delay): gaps above and below the threshold
  Ps start = 2000000;
  for (int i = 0; i < 40; ++i) {
    replays.push_back({start, (i % 3) * 7000});
    start += (i % 4 == 0 ? 300000 : 2500000) + 1234 * i;
  }
  const Ps begin = 15000, end = 180000, split = 40000000, close = start + 4000000;
  const double result = isolated([&] {
    arch::ScAdcBank bank_a("bank_a", hermes_bank()), bank_b("bank_b", hermes_bank());
    arch::ScTile one("one", ts, &bank_a), sched("sched", ts, &bank_b);
    one.read(0, 256, 256, nullptr);
    sched.read(0, 256, 256, nullptr);
    Ps last = one.last_end();
    for (const auto& [s0, delay] : replays) {
      one.replay_use(s0 + begin, s0 + end + delay);
      last = std::max(last, s0 + end + delay);
    }
    sched.replay_schedule(&replays, begin, end, last);
    if (one.last_end() != sched.last_end() || !sched.replayed()) return 0.0;
    one.close(close);
    sched.close(close);
    std::vector<arch::GatedInterval> seen;
    sched.visit_gated([&](const arch::GatedInterval& g) { seen.push_back(g); });
    const std::vector<arch::GatedInterval>& want = one.gated();
    if (seen.size() != want.size() || want.size() < 20 || sched.gated().size() != 1) return 0.0;
    for (size_t i = 0; i < want.size(); ++i)
      if (seen[i].begin != want[i].begin || seen[i].end != want[i].end ||
          seen[i].woke != want[i].woke)
        return 0.0;
    arch::GatedTime a[2], b[2];
    arch::split_gated(want, split, a);
    sched.split_gated(split, b);
    for (int p = 0; p < 2; ++p)
      if (std::memcmp(&a[p], &b[p], sizeof a[p]) != 0 || a[p].wake_ups == 0) return 0.0;
    const std::vector<double> x = one.stat_values(), y = sched.stat_values();
    return std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0 ? 1.0 : 0.0;
  });
  EXPECT_EQ(result, 1.0);
}

// A tile told the phase split (stream_gating, as the controller does at the end of the prefill)
// keeps the off intervals that begin after it as lengths only: reads and replayed uses on both
// sides of the split, then a replayed schedule, give the same read times, phase sums and
// statistics as the tile that keeps them whole, bit for bit; the sums are for that split only.
TEST(ScTile, StreamedGatingGivesTheWholeIntervalsSumsBitForBit) {
  arch::TileSpec ts = hermes_tile(1);
  ts.gating = true;
  ts.gate_after_ps = 1000000;
  ts.wake_up_ps = 20000;
  std::vector<std::pair<Ps, Ps>> replays;
  const double result = isolated([&] {
    arch::ScAdcBank bank_a("bank_a", hermes_bank()), bank_b("bank_b", hermes_bank());
    arch::ScTile whole("whole", ts, &bank_a), streamed("streamed", ts, &bank_b);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<Ps> gap(0, 4000000);
    Ps t = 0, split = 0;
    for (int i = 0; i < 400; ++i) {
      t += gap(rng);
      if (i == 150) {
        split = t - 1500000;  // some off interval straddles it
        streamed.stream_gating(split);
      }
      if (i % 5 == 4) {
        const bool a = whole.replay_use(t, t + 90000), b = streamed.replay_use(t, t + 90000);
        if (a != b) return 0.0;
      } else if (whole.read(t, 256, 256, nullptr) != streamed.read(t, 256, 256, nullptr)) {
        return 0.0;
      }
    }
    for (int i = 0; i < 30; ++i) replays.push_back({t += gap(rng), 3000 * (i % 2)});
    whole.replay_schedule(&replays, 1000, 80000, t + 80000);
    streamed.replay_schedule(&replays, 1000, 80000, t + 80000);
    whole.close(t + 9000000);
    streamed.close(t + 9000000);
    if (streamed.gated_count() != whole.gated_count() || whole.gated_count() < 150 ||
        streamed.gated_bytes() * 3 > whole.gated_count() * 24)
      return 0.0;
    arch::GatedTime a[2], b[2];
    whole.split_gated(split, a);
    streamed.split_gated(split, b);
    for (int p = 0; p < 2; ++p)
      if (std::memcmp(&a[p], &b[p], sizeof a[p]) != 0 || a[p].wake_ups == 0) return 0.0;
    const std::vector<double> x = whole.stat_values(), y = streamed.stat_values();
    if (std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) != 0) return 0.0;
    try {
      streamed.split_gated(split + 1, b);
    } catch (const std::logic_error&) {
      return 1.0;
    }
    return 0.0;
  });
  EXPECT_EQ(result, 1.0);
}

TEST(ScAdcBank, SharedBankQueuesConversions) {
  // Two tiles share one group of 128 ADCs: 256 columns take two rounds, and the second tile's
  // conversions wait for the first's.
  arch::AdcBankSpec b = hermes_bank();
  b.adcs_per_group = 128;
  const arch::TileSpec ts = hermes_tile(1);
  const double second = isolated([&] {
    arch::ScAdcBank bank("bank", b);
    arch::ScTile t0("t0", ts, &bank), t1("t1", ts, &bank);
    t0.read(0, 256, 256, nullptr);
    return static_cast<double>(t1.read(0, 256, 256, nullptr));
  });
  EXPECT_EQ(second, 133000 + 2 * 2 * 38400 + 4000);
}

TEST(TileArray, ReadsAsTheTilesAndBanksThemselves) {
  // A chip's tiles and banks keep their state in a TileArray (as the kinds "tile" and "adc_bank"
  // build them); its read() must change and return what the tiles' own read() does. Seeded
  // random reads, some with gaps that gate tiles and banks off (and ungated tiles and banks), on
  // tiles with and without shared banks, PWM and bit-serial, double- and single-buffered, and
  // digital tiles; a fifth of the
  // array's reads go through the tile object instead (the two paths share the state). Against
  // tiles and banks built alone: every end, the counts, each tile's and bank's statistics and
  // off intervals, bit for bit.
  const std::string got = sim::run_isolated([&] {
    std::mt19937_64 rng(23);
    int cases = 0, mismatches = 0;
    long long wakes = 0;
    for (int kind = 0; kind < 4; ++kind) {
      for (int per : {1, 3, 0}) {
        // per 0: one tile per bank, no gating (the array's read without the branches such
        // tiles never take, arch::TileArray::read_plain).
        const bool gated = per != 0;
        if (per == 0) per = 1;
        arch::TileSpec ts = hermes_tile(kind == 1 ? 4 : 1);
        if (kind == 1) ts.double_buffered = false;
        if (kind == 2) ts.integrations = 8, ts.shift_add = true, ts.t_integration_ps = 1000;
        if (kind == 3) ts.analog = false;
        ts.gating = gated;
        ts.gate_after_ps = 1000000;
        ts.wake_up_ps = 10000;
        arch::AdcBankSpec bs = hermes_bank();
        bs.groups = per;
        bs.adcs_per_group = 128;
        bs.gating = {gated && per == 1, 2000000, 20000};
        const int tiles = 12, banks = tiles / per;
        const std::string tag =
            std::to_string(kind) + "_" + std::to_string(per) + (gated ? "g" : "u") + "_";
        arch::TileArray array;
        array.init_tiles(ts, tiles);
        array.init_banks(bs, banks, per);
        std::vector<std::unique_ptr<arch::ScTile>> a_tiles, r_tiles;
        std::vector<std::unique_ptr<arch::ScAdcBank>> a_banks, r_banks;
        for (int b = 0; b < banks; ++b) {
          a_banks.push_back(std::make_unique<arch::ScAdcBank>(
              (tag + "ab" + std::to_string(b)).c_str(), bs, array.bank_slot(b)));
          array.set_bank(b, a_banks.back().get());
          r_banks.push_back(
              std::make_unique<arch::ScAdcBank>((tag + "rb" + std::to_string(b)).c_str(), bs));
        }
        for (int t = 0; t < tiles; ++t) {
          a_tiles.push_back(std::make_unique<arch::ScTile>((tag + "at" + std::to_string(t)).c_str(),
                                                           ts, a_banks[t / per].get(),
                                                           array.tile_slot(t)));
          array.set_tile(t, a_tiles.back().get());
          r_tiles.push_back(std::make_unique<arch::ScTile>((tag + "rt" + std::to_string(t)).c_str(),
                                                           ts, r_banks[t / per].get()));
        }
        if (!array.direct()) return std::string("not direct");
        arch::ActionCounts ca, cr;
        Ps now = 0;
        for (int k = 0; k < 3000; ++k) {
          now += rng() % 8 == 0 ? static_cast<Ps>(rng() % 4000000) : static_cast<Ps>(rng() % 60000);
          const int t = static_cast<int>(rng() % tiles);
          const int rows = 1 + static_cast<int>(rng() % 256),
                    cols = 1 + static_cast<int>(rng() % 256);
          const Ps ready = now - static_cast<Ps>(rng() % 30000);
          const Ps a = rng() % 5 == 0 ? a_tiles[t]->read(ready, rows, cols, &ca)
                                      : array.read(t, ready, rows, cols, &ca);
          const Ps r = r_tiles[t]->read(ready, rows, cols, &cr);
          mismatches += a != r;
        }
        for (int t = 0; t < tiles; ++t) {
          a_tiles[t]->close(now + 5000000);
          r_tiles[t]->close(now + 5000000);
          mismatches += a_tiles[t]->stat_values() != r_tiles[t]->stat_values();
          mismatches += a_tiles[t]->busy_ps() != r_tiles[t]->busy_ps();
          mismatches += a_tiles[t]->last_end() != r_tiles[t]->last_end();
          wakes += static_cast<long long>(r_tiles[t]->stat_values()[2]);
        }
        for (int b = 0; b < banks; ++b) {
          mismatches += a_banks[b]->stat_values() != r_banks[b]->stat_values();
          mismatches += a_banks[b]->busy_ps() != r_banks[b]->busy_ps();
          wakes += static_cast<long long>(r_banks[b]->stat_values()[1]);
        }
        mismatches += std::memcmp(&ca, &cr, sizeof ca) != 0;
        ++cases;
      }
    }
    std::ostringstream o;
    o << cases << " " << mismatches << " " << (wakes > 1000);
    return o.str();
  });
  EXPECT_EQ(got, "12 0 1");
}

TEST(TileArray, PlainCountsAddedAtOnceAreTheReadsOneByOne) {
  // The controller adds the counts of a layer part's plain reads at once (add_plain_counts) and
  // reads with no counts: the counts must be those of the reads one by one, bit for bit, for
  // PWM and bit-serial tiles; and it must refuse (adding nothing) where a field is not a whole
  // number or a sum would reach 2^53 (where the order of the sums could matter).
  const std::string got = sim::run_isolated([&] {
    std::mt19937_64 rng(29);
    std::ostringstream o;
    for (int kind = 0; kind < 3; ++kind) {
      arch::TileSpec ts = hermes_tile(kind == 1 ? 4 : 1);
      if (kind == 1) ts.double_buffered = false;
      if (kind == 2) ts.integrations = 8, ts.shift_add = true, ts.t_integration_ps = 1000;
      const std::string tag = "pc" + std::to_string(kind) + "_";
      arch::TileArray one, all;
      std::vector<std::unique_ptr<arch::ScTile>> tiles;
      std::vector<std::unique_ptr<arch::ScAdcBank>> banks;
      for (arch::TileArray* a : {&one, &all}) {
        a->init_tiles(ts, 4);
        a->init_banks(hermes_bank(), 4, 1);
        for (int t = 0; t < 4; ++t) {
          const std::string n = tag + std::to_string(tiles.size());
          banks.push_back(
              std::make_unique<arch::ScAdcBank>((n + "b").c_str(), hermes_bank(), a->bank_slot(t)));
          a->set_bank(t, banks.back().get());
          tiles.push_back(std::make_unique<arch::ScTile>((n + "t").c_str(), ts, banks.back().get(),
                                                         a->tile_slot(t)));
          a->set_tile(t, tiles.back().get());
        }
      }
      arch::ActionCounts c1, ca;
      c1.sram_bits = ca.sram_bits = 12345;  // counts from before, whole numbers
      arch::ReadSums sums;
      std::vector<std::array<int, 3>> reads;
      for (int k = 0; k < 500; ++k) {
        const int rows = 1 + static_cast<int>(rng() % 512),
                  cols = 1 + static_cast<int>(rng() % 512);
        reads.push_back({static_cast<int>(rng() % 4), rows, cols});
        sums.rows += rows;
        sums.cols += cols;
        sums.cells += static_cast<long long>(rows) * cols;
      }
      const bool added = all.plain() && all.add_plain_counts(sums, &ca);
      int mismatches = 0;
      Ps now = 0;
      for (const auto& r : reads) {
        now += static_cast<Ps>(rng() % 50000);
        mismatches +=
            one.read(r[0], now, r[1], r[2], &c1) != all.read(r[0], now, r[1], r[2], nullptr);
      }
      arch::ActionCounts half = ca, big = ca;
      half.cell_reads += 0.5;
      big.dac_drives = 9007199254740991.0;  // 2^53 - 1
      const arch::ActionCounts h0 = half, b0 = big;
      o << added << mismatches << (std::memcmp(&c1, &ca, sizeof ca) == 0)
        << all.add_plain_counts(sums, &half) << (std::memcmp(&half, &h0, sizeof h0) == 0)
        << all.add_plain_counts(sums, &big) << (std::memcmp(&big, &b0, sizeof b0) == 0) << " ";
    }
    return o.str();
  });
  EXPECT_EQ(got, "1010101 1010101 1010101 ");
}

arch::NocSpec mesh8() {
  arch::NocSpec n;
  n.mesh_x = 8;
  n.mesh_y = 8;
  n.link_width_bits = 256;
  n.cycle_ps = 1000;
  n.hop_latency_cycles = 2;
  return n;
}

TEST(ScNoc, IdleTransferTakesClosedFormTime) {
  // From node 0 to node 8*3+5: 5 hops east, 3 south; 2048 bits = 8 flits.
  const double got = isolated([&] {
    arch::ScNoc noc("noc", mesh8());
    return static_cast<double>(noc.unicast(0, 0, 29, 2048, nullptr));
  });
  EXPECT_EQ(got, 8 * 2000 + 8 * 1000);
}

TEST(ScNoc, TwoTransfersOverOneLinkSerialize) {
  const double got = isolated([&] {
    arch::ScNoc noc("noc", mesh8());
    noc.unicast(0, 0, 1, 2048, nullptr);
    return static_cast<double>(noc.unicast(0, 0, 1, 2048, nullptr));
  });
  // The second waits 8 flit cycles for the link.
  EXPECT_EQ(got, 8000 + 2000 + 8000);
}

TEST(ScNoc, MulticastUsesEachTreeLinkOnce) {
  const double bit_hops = isolated([&] {
    arch::ScNoc noc("noc", mesh8());
    const int dsts[] = {3, 11, 19};  // column 3, rows 0..2: tree of 3 + 2 links
    Ps arr[3];
    arch::ActionCounts c;
    noc.multicast(0, 0, dsts, 3, 100, arr, &c);
    return c.noc_bit_hops;
  });
  EXPECT_EQ(bit_hops, 5 * 100);
}

TEST(ScNoc, InNetworkReductionAddsWhereRoutesMeet) {
  // A row of 4 nodes, 256-bit links (one flit), 2-cycle hops, 1-cycle adder: partial vectors of
  // 16 elements at nodes 0 and 1 (ready at 0 and 500 ps) reduce into node 3. Node 0's head
  // reaches node 1 at 2000; node 1 adds (1000) and sends at 3000; node 2 forwards at 5000; the
  // head reaches 3 at 7000 and the tail 1000 later. 3 links carry the vector once (two
  // unicasts would use 3 + 2), and one merge makes 16 adds.
  arch::NocSpec n = mesh8();
  n.mesh_x = 4;
  n.mesh_y = 1;
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc noc("noc", n);
    const Ps ready[] = {0, 500};
    const int srcs[] = {0, 1};
    arch::ActionCounts c;
    const Ps done = noc.reduce(ready, srcs, 2, 3, 256, 16, &c);
    // A lone source at the destination costs nothing; two there add once.
    const Ps here[] = {7, 9};
    const int at3[] = {3, 3};
    const Ps one = noc.reduce(here, at3, 1, 3, 256, 16, nullptr);
    const Ps two = noc.reduce(here, at3, 2, 3, 256, 16, &c);
    std::ostringstream o;
    o << done << " " << c.noc_bit_hops << " " << c.noc_adds << " " << one << " " << two;
    return o.str();
  });
  EXPECT_EQ(got, "8000 768 32 7 1009");
}

TEST(ScNoc, ReductionTreeIsTheUnionOfXyRoutes) {
  // Sources at (0,0), (3,0), (0,3), (3,3) of the 8 x 8 mesh reduce into (1,1): the XY routes
  // (x first) are 0->1->9 (2 links), 3->2->1 (joins at 1: 2 links), 24->25->17->9 (joins at 9:
  // 3 links), 27->26->25 (joins at 25: 2 links): 9 links in all, against 2 + 3 + 3 + 4 = 12
  // for four unicasts; three merges.
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc noc("noc", mesh8());
    const Ps ready[] = {0, 0, 0, 0};
    const int srcs[] = {0, 3, 24, 27};
    arch::ActionCounts c;
    noc.reduce(ready, srcs, 4, 9, 100, 10, &c);
    std::ostringstream o;
    o << c.noc_bit_hops << " " << c.noc_adds;
    return o.str();
  });
  EXPECT_EQ(got, "900 30");
}

TEST(ScNoc, RouterGatingOffIntervalsAndWakeUps) {
  // Three routers in a row, 1 us idle before gating, 20 ns wake-up. A one-flit transfer 0 -> 1
  // at 0 (router 0 busy until 1000 ps, router 1 until the tail at 3000), another at 5 us: both
  // routers are off, router 0 from 1 us + 1000 ps and router 1 from 1 us + 3000 ps; the head
  // waits 20 ns at each. Router 2 is never used: off from 1 us to the end (10 us), no wake-up;
  // closing at 10 us gates routers 0 and 1 again, without wake-ups.
  arch::NocSpec n = mesh8();
  n.mesh_x = 3;
  n.mesh_y = 1;
  n.router_gating = {true, 1000000, 20000};
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc noc("noc", n);
    const Ps first = noc.unicast(0, 0, 1, 256, nullptr);
    const Ps second = noc.unicast(5000000, 0, 1, 256, nullptr);
    noc.close(10000000);
    const std::vector<double> st = noc.stat_values();  // ..., wake-ups, off (router-ps)
    std::ostringstream o;
    o << first << " " << second << " " << st[3] << " " << st[4];
    return o.str();
  });
  // Router 0 forwards the second transfer until 5,021,000 and router 1 receives its tail at
  // `second`; both are off again from 1 us later until the end.
  const Ps second = 5000000 + 20000 + 2000 + 20000 + 1000;
  const double off = (5000000 - 1001000) + (5000000 + 20000 + 2000 - 1003000) +
                     (10000000 - (5021000 + 1000000)) + (10000000 - (second + 1000000)) +
                     (10000000 - 1000000);
  std::ostringstream want;
  want << 3000 << " " << second << " " << 2 << " " << off;
  EXPECT_EQ(got, want.str());
}

// An independent model of the mesh for random traffic: XY routes hop by hop, each link held by
// the flits from when the head reaches it and it is free; a multicast grows its tree one
// destination at a time, each new link reserved once.
struct RefMesh {
  int mx, my;
  Ps hop, flit;
  std::map<std::pair<int, int>, Ps> free;  // (node, direction) -> free from
  double busy = 0, bit_hops = 0;
  Ps take(int node, int dir, Ps head, Ps occ) {
    Ps& f = free[{node, dir}];
    const Ps start = std::max(head, f);
    f = start + occ;
    busy += static_cast<double>(occ);
    return start;
  }
  // One hop from `node` towards `dst` along XY: the direction and next node.
  std::pair<int, int> step(int node, int dst) const {
    const int x = node % mx, y = node / mx, dx = dst % mx, dy = dst / mx;
    if (x != dx) return dx > x ? std::make_pair(0, node + 1) : std::make_pair(1, node - 1);
    return dy > y ? std::make_pair(2, node + mx) : std::make_pair(3, node - mx);
  }
  Ps occ(double bits) const { return flit * static_cast<Ps>(std::ceil(bits / 256)); }
  Ps unicast(Ps ready, int src, int dst, double bits) {
    if (src == dst) return ready;
    const Ps o = occ(bits);
    Ps head = ready;
    int node = src, h = 0;
    while (node != dst) {
      const auto [dir, next] = step(node, dst);
      head = take(node, dir, head, o) + hop;
      node = next;
      ++h;
    }
    bit_hops += bits * h;
    return head + o;
  }
  std::vector<Ps> multicast(Ps ready, int src, const std::vector<int>& dsts, double bits) {
    const Ps o = occ(bits);
    std::map<int, Ps> on_tree{{src, ready}};
    std::vector<Ps> out;
    for (int dst : dsts) {
      // The route's nodes from src; the tree already reaches a prefix of it.
      std::vector<int> route{src};
      while (route.back() != dst) route.push_back(step(route.back(), dst).second);
      size_t k = route.size() - 1;
      while (!on_tree.count(route[k])) --k;
      for (; k + 1 < route.size(); ++k) {
        const Ps start = take(route[k], step(route[k], dst).first, on_tree[route[k]], o);
        on_tree[route[k + 1]] = start + hop;
        bit_hops += bits;
      }
      out.push_back(dst == src ? ready : on_tree[dst] + o);
    }
    return out;
  }
};

TEST(ScNoc, RandomTrafficMatchesAnIndependentModelOnEveryPath) {
  // Seeded random unicasts and multicasts (destination lists with repeats and the source) on a
  // 6 x 5 mesh, through the mesh's fast path (no trace, no gating), its general path (router
  // gating that never switches a router off) and multicast trees built once and reused: every
  // arrival, the link busy time and the bit-hops equal the independent model's.
  arch::NocSpec n = mesh8();
  n.mesh_x = 6;
  n.mesh_y = 5;
  const std::string got = sim::run_isolated([&] {
    arch::NocSpec gated = n;
    gated.router_gating = {true, Ps{1} << 60, 20000};
    arch::ScNoc fast("fast", n), slow("slow", gated), cached("cached", n);
    RefMesh ref{6, 5, 2000, 1000, {}, 0, 0};
    std::mt19937 rng(7);
    std::vector<arch::McTree> trees;
    std::vector<std::vector<int>> lists;
    std::vector<int> sources;
    for (int t = 0; t < 8; ++t) {
      std::vector<int> d;
      const int src = static_cast<int>(rng() % 30);
      for (int k = 1 + static_cast<int>(rng() % 9); k > 0; --k) d.push_back(rng() % 30);
      if (t % 3 == 0) d.push_back(src);
      d.push_back(d.front());
      lists.push_back(d);
      sources.push_back(src);
      trees.emplace_back();
      cached.build_tree(src, d.data(), static_cast<int>(d.size()), &trees.back());
    }
    long long mismatches = 0, checks = 0;
    Ps clock = 0;
    for (int i = 0; i < 400; ++i) {
      clock += static_cast<Ps>(rng() % 3000);
      const double bits = 64.0 * (1 + rng() % 40);
      if (rng() % 2) {
        const int src = rng() % 30, dst = rng() % 30;
        const Ps want = ref.unicast(clock, src, dst, bits);
        for (arch::ScNoc* noc : {&fast, &slow, &cached}) {
          mismatches += noc->unicast(clock, src, dst, bits, nullptr) != want;
          ++checks;
        }
        continue;
      }
      const int t = rng() % 8;
      const std::vector<int>& d = lists[t];
      const std::vector<Ps> want = ref.multicast(clock, sources[t], d, bits);
      std::vector<Ps> a(d.size()), b(d.size()), c(d.size());
      const int m = static_cast<int>(d.size());
      fast.multicast(clock, sources[t], d.data(), m, bits, a.data(), nullptr);
      slow.multicast(clock, sources[t], d.data(), m, bits, b.data(), nullptr);
      cached.multicast(clock, trees[t], bits, c.data(), nullptr);
      mismatches += (a != want) + (b != want) + (c != want);
      checks += 3;
    }
    std::ostringstream o;
    o << checks << " " << mismatches;
    for (arch::ScNoc* noc : {&fast, &slow, &cached})
      o << " " << (noc->busy_ps() == ref.busy) << (noc->bit_hops() == ref.bit_hops);
    return o.str();
  });
  EXPECT_EQ(got, "1200 0 11 11 11");
}

TEST(ScNoc, ShadowedLinksGiveTheTimesOfEveryLinkReserved) {
  // Registered trees from a few sources (as a chip's DPUs multicast to their tiles) skip the
  // links that only their trees enter, and always over the same link; seeded random traffic
  // first over those trees only, then mixed with unicasts, reductions, unregistered multicasts
  // and new trees registered mid-run that enter shadowed links over other links or start on
  // them (each breaks the condition and gives the link back its free time). Every arrival and
  // reduction, the link busy time and the bit-hops equal those of a mesh that registers nothing
  // (which equals the independent model until the first reduction, which that model lacks),
  // and links were shadowed at all. Some multicasts run from the tree's flow alone
  // (multicast_flow), as the controller runs them once it knows the flow; plans rebuilt after
  // a link became ordinary reuse their room.
  arch::NocSpec n = mesh8();
  n.mesh_x = 12;
  n.mesh_y = 10;
  const int nodes = 120;
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc plain("plain", n), shadow("shadow", n);
    RefMesh ref{12, 10, 2000, 1000, {}, 0, 0};
    std::mt19937 rng(11);
    std::vector<arch::McTree> trees;
    std::vector<std::vector<int>> lists;
    auto add_tree = [&](int src) {
      std::vector<int> d;
      for (int k = 1 + static_cast<int>(rng() % 12); k > 0; --k) d.push_back(rng() % nodes);
      if (rng() % 4 == 0) d.push_back(src);
      lists.push_back(d);
      trees.emplace_back();
      shadow.build_tree(src, d.data(), static_cast<int>(d.size()), &trees.back());
    };
    for (int t = 0; t < 12; ++t) add_tree(t % 3 == 0 ? 5 : t % 3 == 1 ? 66 : 110);
    const int shadowed_at_start = shadow.shadowed_links();
    long long mismatches = 0, checks = 0, off_model = 0;
    bool reduced = false;
    Ps clock = 0;
    for (int i = 0; i < 3000; ++i) {
      clock += static_cast<Ps>(rng() % 2500);
      const double bits = 64.0 * (1 + rng() % 40);
      const int what = i < 600 ? 0 : static_cast<int>(rng() % 10);
      if (what == 1 || what == 2) {
        const int src = rng() % nodes, dst = rng() % nodes;
        const Ps want = ref.unicast(clock, src, dst, bits);
        const Ps a = plain.unicast(clock, src, dst, bits, nullptr);
        mismatches += shadow.unicast(clock, src, dst, bits, nullptr) != a;
        off_model += !reduced && a != want;
        ++checks;
        continue;
      }
      if (what == 3 && rng() % 8 == 0) {
        // A new tree, from a source of its own or one of the others.
        add_tree(rng() % 2 ? static_cast<int>(rng() % nodes) : 66);
        continue;
      }
      if (what == 4 && rng() % 4 == 0) {
        // A reduction into a random node (no independent model: against the plain mesh).
        std::vector<int> srcs;
        std::vector<Ps> ready;
        for (int k = 1 + static_cast<int>(rng() % 5); k > 0; --k) {
          srcs.push_back(rng() % nodes);
          ready.push_back(clock + static_cast<Ps>(rng() % 4000));
        }
        const int dst = rng() % nodes, m = static_cast<int>(srcs.size());
        const Ps a = plain.reduce(ready.data(), srcs.data(), m, dst, bits, 8, nullptr);
        const Ps b = shadow.reduce(ready.data(), srcs.data(), m, dst, bits, 8, nullptr);
        mismatches += a != b;
        ++checks;
        reduced = true;
        continue;
      }
      const int t = static_cast<int>(rng() % trees.size());
      const std::vector<int>& d = lists[t];
      const int m = static_cast<int>(d.size());
      const std::vector<Ps> want = ref.multicast(clock, trees[t].src, d, bits);
      std::vector<Ps> a(d.size()), b(d.size());
      plain.multicast(clock, trees[t].src, d.data(), m, bits, a.data(), nullptr);
      if (what == 5)
        shadow.multicast(clock, trees[t].src, d.data(), m, bits, b.data(), nullptr);
      else if (what == 6 && shadow.runs_flows())
        shadow.multicast_flow(clock, trees[t].flow, bits, b.data(), nullptr);
      else
        shadow.multicast(clock, trees[t], bits, b.data(), nullptr);
      mismatches += a != b;
      off_model += !reduced && a != want;
      ++checks;
    }
    std::ostringstream o;
    o << (checks > 2500) << " " << mismatches << " " << off_model << " "
      << (shadowed_at_start > 100) << " " << (shadow.shadowed_links() < shadowed_at_start) << " "
      << (plain.busy_ps() == shadow.busy_ps()) << (plain.bit_hops() == shadow.bit_hops());
    return o.str();
  });
  EXPECT_EQ(got, "1 0 0 1 1 11");
}

TEST(ScNoc, ExitLinksGiveTheTimesOfEveryLinkReservedLinkByLink) {
  // Partial outputs as on a chip: tiles all over a 20 x 9 mesh unicast to DPUs in column 10, so
  // that each row's links toward that column are crossed on to it (its exit links) and reserved
  // lazily; mixed with seeded random unicasts that end or turn before an exit, registered and
  // unregistered multicasts from the DPUs, trees registered mid-run from anywhere and
  // reductions (which pin the links they take), heads that go back in time and occupancies of
  // 1 to 60 flits. Every arrival and reduction, each link's free time at the end, the link busy
  // time and the bit-hops equal those of a mesh that reserves every link as crossed (and, until
  // the first reduction, the independent model's), and runs were deferred. At every SIMD level
  // this CPU has (the replays of deferred records go lane by lane above the baseline), with the
  // same free times of every link at the end.
  arch::NocSpec n = mesh8();
  n.mesh_x = 20;
  n.mesh_y = 9;
  const int nodes = 180;
  const arch::SimdLevel saved = arch::simd_level();
  std::string first_links;
  for (int level = 0; level <= static_cast<int>(arch::simd_supported()); ++level) {
    arch::set_simd_limit(static_cast<arch::SimdLevel>(level));
    const std::string got = sim::run_isolated([&] {
      arch::ScNoc plain("plain", n), lazy("lazy", n);
      plain.set_exit_links(false);
      RefMesh ref{20, 9, 2000, 1000, {}, 0, 0};
      std::mt19937 rng(23);
      std::vector<arch::McTree> trees;
      std::vector<std::vector<int>> lists;
      auto add_tree = [&](int src) {
        std::vector<int> d;
        for (int k = 1 + static_cast<int>(rng() % 10); k > 0; --k) d.push_back(rng() % nodes);
        lists.push_back(d);
        trees.emplace_back();
        lazy.build_tree(src, d.data(), static_cast<int>(d.size()), &trees.back());
      };
      for (int r = 0; r < 9; r += 2) add_tree(r * 20 + 10);
      long long mismatches = 0, checks = 0, off_model = 0;
      bool reduced = false;
      Ps clock = 0;
      for (int i = 0; i < 6000; ++i) {
        clock += static_cast<Ps>(rng() % 1500);
        const Ps ready = std::max<Ps>(0, clock - static_cast<Ps>(rng() % 4) * 3000);
        const double bits = 256.0 * (1 + (rng() % 8 == 0 ? rng() % 60 : rng() % 4));
        // The first 2000 transfers are partial outputs and the DPUs' multicasts only.
        int what = static_cast<int>(rng() % 40);
        if (i < 2000 && what >= 29) what = what < 36 ? 0 : 34;
        if (what < 32) {
          // A partial output to a DPU (most), or any unicast.
          const int src = rng() % nodes;
          const int dst = what < 29 ? static_cast<int>(rng() % 9) * 20 + 10 : rng() % nodes;
          const Ps want = ref.unicast(ready, src, dst, bits);
          const Ps a = plain.unicast(ready, src, dst, bits, nullptr);
          mismatches += lazy.unicast(ready, src, dst, bits, nullptr) != a;
          off_model += !reduced && a != want;
          ++checks;
          continue;
        }
        if (what == 32 && rng() % 16 == 0) {
          add_tree(static_cast<int>(rng() % nodes));
          continue;
        }
        if (what == 33 && rng() % 4 == 0) {
          std::vector<int> srcs;
          std::vector<Ps> at;
          for (int k = 1 + static_cast<int>(rng() % 5); k > 0; --k) {
            srcs.push_back(rng() % nodes);
            at.push_back(ready + static_cast<Ps>(rng() % 4000));
          }
          const int dst = rng() % nodes, m = static_cast<int>(srcs.size());
          const Ps a = plain.reduce(at.data(), srcs.data(), m, dst, bits, 8, nullptr);
          mismatches += lazy.reduce(at.data(), srcs.data(), m, dst, bits, 8, nullptr) != a;
          ++checks;
          reduced = true;
          continue;
        }
        const int t = static_cast<int>(rng() % (i < 2000 ? 5 : trees.size()));
        const std::vector<int>& d = lists[t];
        const int m = static_cast<int>(d.size());
        const std::vector<Ps> want = ref.multicast(ready, trees[t].src, d, bits);
        std::vector<Ps> a(d.size()), b(d.size());
        plain.multicast(ready, trees[t].src, d.data(), m, bits, a.data(), nullptr);
        if (i >= 2000 && what % 2)
          lazy.multicast(ready, trees[t].src, d.data(), m, bits, b.data(), nullptr);
        else
          lazy.multicast(ready, trees[t], bits, b.data(), nullptr);
        mismatches += a != b;
        off_model += !reduced && a != want;
        ++checks;
      }
      long long links_off = 0;
      std::ostringstream links;
      for (int link = 0; link < plain.links(); ++link) {
        links_off += lazy.free_at(link) != plain.free_at(link);
        links << lazy.free_at(link) << " ";
      }
      std::ostringstream o;
      o << (checks > 5000) << " " << mismatches << " " << off_model << " " << links_off << " "
        << (lazy.deferred_runs() > 1500) << (plain.deferred_runs() == 0) << " "
        << (plain.busy_ps() == lazy.busy_ps()) << (plain.bit_hops() == lazy.bit_hops()) << "\n"
        << links.str();
      return o.str();
    });
    const size_t cut = got.find('\n');
    EXPECT_EQ(got.substr(0, cut), "1 0 0 0 11 11") << "SIMD level " << level;
    if (level == 0) first_links = got.substr(cut + 1);
    EXPECT_TRUE(got.substr(cut + 1) == first_links) << "free times differ at SIMD level " << level;
  }
  arch::set_simd_limit(saved);
}

TEST(ScNoc, ExitLinksReplayARunThatWaitsBeforeTheExitLinkByLink) {
  // Row 0 of a 12 x 3 mesh, its exit the link from column 5 to 6: a long transfer keeps the exit
  // busy for 2 ms, a transfer that ends at column 4 occupies columns 2 and 3 from 100 ns on,
  // and a run from column 0 entering at 99 ns waits at column 2 and so reaches columns 3 and 4
  // later than its head would undelayed. Its record, replayed, gives every link the free time
  // of the link-by-link walk, and the arrivals are those of the walk.
  arch::NocSpec n = mesh8();
  n.mesh_x = 12;
  n.mesh_y = 3;
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc plain("plain", n), lazy("lazy", n);
    plain.set_exit_links(false);
    std::ostringstream o;
    long long off = 0;
    auto both = [&](Ps ready, int src, int dst, double bits) {
      const Ps a = plain.unicast(ready, src, dst, bits, nullptr);
      off += lazy.unicast(ready, src, dst, bits, nullptr) != a;
      o << a << " ";
    };
    both(0, 1, 18, 256);             // sets the exit
    both(0, 5, 18, 256.0 * 2000);    // holds it until 2 ms
    both(100000, 2, 4, 256.0 * 8);   // ends before it
    both(99000, 0, 6, 256.0 * 8);    // deferred, waits at column 2
    both(150000, 5, 30, 256.0 * 8);  // the exit alone
    for (int link = 0; link < plain.links(); ++link)
      off += lazy.free_at(link) != plain.free_at(link);
    o << off << " " << lazy.deferred_runs();
    return o.str();
  });
  // Arrivals (2 ns per hop, 1 ns per flit): 6 hops and 1 flit; the exit free at 9 ns, then 2
  // hops and 2000 flits (the exit free from 2,009 ns); 2 hops and 8 flits; the run from column 0
  // waits at column 2 until 108 ns and for the exit until 2,009 ns, then 1 hop and 8 flits; the
  // last waits for the exit until 2,017 ns, then 3 hops and 8 flits.
  EXPECT_EQ(got, "13000 2013000 112000 2019000 2031000 0 1");
}

// A span sink that records nothing: attached to a mesh, it sends every transfer through the
// per-hop calls (the path a traced run takes).
struct NoSpans : arch::SpanSink {
  bool wants(const std::string&) const override { return false; }
  void span(int, const char*, Ps, Ps) override {}
  int track(const std::string&) override { return 0; }
};

TEST(ScNoc, GatedRoutersGiveTheSameTimesAndOffIntervalsOnEveryPath) {
  // Routers gated (off after 1 us idle, 20 ns wake-up) on a 9 x 7 mesh; seeded random unicasts,
  // multicasts (trees built once and reused, and destination lists, with repeats and the
  // source) and reductions, at gaps below and above the threshold. The mesh's gated path
  // without a trace (straight runs of links found by stepping) gives the same arrivals, link
  // busy time and bit-hops, and records the same off intervals in the same order, as the
  // per-hop calls of a traced mesh (thousands of off intervals).
  arch::NocSpec n = mesh8();
  n.mesh_x = 9;
  n.mesh_y = 7;
  n.router_gating = {true, 1000000, 20000};
  const int nodes = 63;
  const std::string got = sim::run_isolated([&] {
    arch::ScNoc fast("fast", n), traced("traced", n);
    NoSpans sink;
    traced.set_trace(&sink);
    std::mt19937 rng(5);
    std::vector<arch::McTree> trees(10), traced_trees(10);
    std::vector<std::vector<int>> lists;
    for (int t = 0; t < 10; ++t) {
      std::vector<int> d;
      const int src = static_cast<int>(rng() % nodes);
      for (int k = 1 + static_cast<int>(rng() % 14); k > 0; --k) d.push_back(rng() % nodes);
      if (t % 3 == 0) d.push_back(src);
      d.push_back(d.front());
      lists.push_back(d);
      fast.build_tree(src, d.data(), static_cast<int>(d.size()), &trees[t]);
      traced.build_tree(src, d.data(), static_cast<int>(d.size()), &traced_trees[t]);
    }
    long long mismatches = 0, checks = 0;
    Ps clock = 0;
    for (int i = 0; i < 4000; ++i) {
      clock += static_cast<Ps>(rng() % 4) == 0 ? 1500000 + rng() % 1000000 : rng() % 3000;
      const double bits = 64.0 * (1 + rng() % 40);
      const int what = static_cast<int>(rng() % 8);
      if (what < 3) {
        const int src = rng() % nodes, dst = rng() % nodes;
        mismatches += fast.unicast(clock, src, dst, bits, nullptr) !=
                      traced.unicast(clock, src, dst, bits, nullptr);
      } else if (what == 3) {
        std::vector<int> srcs;
        std::vector<Ps> ready;
        for (int k = 1 + static_cast<int>(rng() % 5); k > 0; --k) {
          srcs.push_back(rng() % nodes);
          ready.push_back(clock + static_cast<Ps>(rng() % 4000));
        }
        const int dst = rng() % nodes, m = static_cast<int>(srcs.size());
        mismatches += fast.reduce(ready.data(), srcs.data(), m, dst, bits, 8, nullptr) !=
                      traced.reduce(ready.data(), srcs.data(), m, dst, bits, 8, nullptr);
      } else {
        const int t = static_cast<int>(rng() % trees.size());
        const std::vector<int>& d = lists[t];
        const int m = static_cast<int>(d.size());
        std::vector<Ps> a(d.size()), b(d.size());
        if (what == 4) {
          fast.multicast(clock, trees[t].src, d.data(), m, bits, a.data(), nullptr);
          traced.multicast(clock, trees[t].src, d.data(), m, bits, b.data(), nullptr);
        } else {
          fast.multicast(clock, trees[t], bits, a.data(), nullptr);
          traced.multicast(clock, traced_trees[t], bits, b.data(), nullptr);
        }
        mismatches += a != b;
      }
      ++checks;
    }
    const std::vector<arch::GatedInterval>& a = fast.gated();
    const std::vector<arch::GatedInterval>& b = traced.gated();
    bool same = a.size() == b.size();
    for (size_t k = 0; same && k < a.size(); ++k)
      same = a[k].begin == b[k].begin && a[k].end == b[k].end && a[k].unit == b[k].unit &&
             a[k].woke == b[k].woke;
    const std::vector<double> x = fast.stat_values(), y = traced.stat_values();
    std::ostringstream o;
    o << checks << " " << mismatches << " " << same << (a.size() > 3000) << " "
      << (std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0) << " "
      << (trees[0].runs.size() > 1) << (traced_trees[0].runs.size() > 1);
    return o.str();
  });
  EXPECT_EQ(got, "4000 0 11 1 11");
}

TEST(ScAdcBank, PowerGatingOffIntervalAndWakeUp) {
  // One conversion round at 0 (38.4 ns), the next at 5 us: the bank is off from 1 us after the
  // first until 5 us, and the second round starts 20 ns late; closing at 8 us adds an off
  // interval without a wake-up.
  arch::AdcBankSpec b = hermes_bank();
  b.gating = {true, 1000000, 20000};
  const std::string got = sim::run_isolated([&] {
    arch::ScAdcBank bank("bank", b);
    const Ps first = bank.convert(0, 256, nullptr, nullptr);
    const Ps second = bank.convert(5000000, 256, nullptr, nullptr);
    bank.close(8000000);
    const std::vector<arch::GatedInterval>& g = bank.gated();
    std::ostringstream o;
    o << first << " " << second << " " << g.size() << " " << g[0].begin << " " << g[0].end << " "
      << g[0].woke << " " << g[1].begin << " " << g[1].end << " " << g[1].woke << " "
      << bank.stat_values()[1];
    return o.str();
  });
  EXPECT_EQ(got, "38400 5058400 2 1038400 5000000 1 6058400 8000000 0 1");
}

TEST(ScDpu, OperationLatencyIsLanesAndCycles) {
  arch::DpuSpec s;
  s.lanes = 64;
  s.exp_cycles = 4;
  arch::DpuWork w;
  w.adds = 128;  // 2 vector ops x 1 cycle
  w.exps = 65;   // 2 vector ops x 4 cycles
  const double got = isolated([&] {
    arch::ScDpu dpu("dpu", s);
    dpu.run(0, w, nullptr, "a");
    return static_cast<double>(dpu.run(0, w, nullptr, "b"));  // queues behind the first
  });
  EXPECT_EQ(got, 2 * (2 + 8) * 1000);
}

TEST(ScMemory, BandwidthAndLatency) {
  arch::MemorySpec m;
  m.bandwidth_gbps = 64;  // 64 bytes per ns
  m.latency_ps = 100000;
  const double got = isolated([&] {
    arch::ScMemory mem("dram", m);
    mem.access(0, 64 * 8 * 10, nullptr, "a");  // 10 ns of transfer
    return static_cast<double>(mem.access(0, 64 * 8 * 10, nullptr, "b"));
  });
  EXPECT_EQ(got, 20000 + 100000);
}

}  // namespace
}  // namespace aimc

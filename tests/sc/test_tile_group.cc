// Unit tier: a chip's tiles and ADC banks as one SystemC component each (arch::ScTileGroup,
// arch::ScAdcBankGroup), their units' objects made on demand. Against tiles and banks built
// alone and read the same way: the groups' statistics, busy time, units, per-instance busy
// times and names, and closed power gating, bit for bit; which units' objects were made; the
// trace tracks; busy time credited per instance. Each check runs in a forked child
// (sim::run_isolated): a process elaborates SystemC modules only once.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "arch/sc_tile_group.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

using arch::Ps;

struct Case {
  bool gated = false;  // tiles and banks power-gated
  int per = 1;         // tiles per bank (and ADC groups per bank)
  bool analog = true;
};

arch::TileSpec tile_spec(const Case& c) {
  arch::TileSpec s;
  s.analog = c.analog;
  s.integrations = 2;
  s.t_integration_ps = 128000;
  s.t_overhead_ps = 5000;
  s.t_post_ps = 4000;
  s.gating = c.gated;
  s.gate_after_ps = 1000000;
  s.wake_up_ps = 10000;
  return s;
}

arch::AdcBankSpec bank_spec(const Case& c) {
  arch::AdcBankSpec b;
  b.adcs_per_group = 128;
  b.groups = c.per;
  b.t_conversion_ps = 38400;
  b.gating = {c.gated, 2000000, 20000};
  return b;
}

// Tiles and banks of one case: the groups over a TileArray, and references built alone.
struct Bench {
  arch::TileArray array;
  std::unique_ptr<arch::ScTileGroup> tiles;
  std::unique_ptr<arch::ScAdcBankGroup> banks;
  std::vector<std::unique_ptr<arch::ScAdcBank>> ref_banks;
  std::vector<std::unique_ptr<arch::ScTile>> ref_tiles;

  Bench(const Case& c, int n, const std::string& tag) {
    const int nb = (n + c.per - 1) / c.per;
    array.init_tiles(tile_spec(c), n);
    array.init_banks(bank_spec(c), nb, c.per);
    tiles = std::make_unique<arch::ScTileGroup>((tag + "tiles").c_str(), "chip.", tile_spec(c), n,
                                                &array);
    banks = std::make_unique<arch::ScAdcBankGroup>((tag + "banks").c_str(), "chip.", bank_spec(c),
                                                   nb, &array);
    tiles->bind(banks.get(), c.per);
    for (int b = 0; b < nb; ++b)
      ref_banks.push_back(std::make_unique<arch::ScAdcBank>("ref", bank_spec(c)));
    for (int t = 0; t < n; ++t)
      ref_tiles.push_back(
          std::make_unique<arch::ScTile>("ref", tile_spec(c), ref_banks[t / c.per].get()));
  }
};

// Sums of the references' statistics in unit order, as the chip summed its units.
template <class Units>
std::vector<double> summed(const Units& units) {
  std::vector<double> s;
  for (const auto& u : units) {
    const std::vector<double> v = u->stat_values();
    s.resize(v.size(), 0);
    for (size_t i = 0; i < v.size(); ++i) s[i] += v[i];
  }
  return s;
}

// Mismatches between the groups and the references after the same reads.
int mismatches(Bench& b, Ps end) {
  int bad = 0;
  arch::GatedTime gt[2], ga[2], rt[2], ra[2];
  b.tiles->close(end, end / 2, gt);
  b.banks->close(end, end / 2, ga);
  double busy = 0;
  for (int t = 0; t < b.tiles->count(); ++t) {
    arch::ScTile& r = *b.ref_tiles[t];
    if (r.reads() > 0) {
      r.close(end);
      r.split_gated(end / 2, rt);
    }
    bad += b.tiles->instance_busy_ps(t) != r.busy_ps();
    bad += b.tiles->instance_units(t) != 1;
    bad += b.tiles->instance_basename(t) != "tile" + std::to_string(t);
    busy += r.busy_ps();
  }
  bad += b.tiles->busy_ps() != busy;
  bad += b.tiles->stat_values() != summed(b.ref_tiles);
  bad += b.tiles->reads() != summed(b.ref_tiles)[0];
  busy = 0;
  for (int k = 0; k < b.banks->count(); ++k) {
    arch::ScAdcBank& r = *b.ref_banks[k];
    r.close(end);
    arch::split_gated(r.gated(), end / 2, ra);
    bad += b.banks->instance_busy_ps(k) != r.busy_ps();
    bad += b.banks->instance_units(k) != r.units();
    busy += r.busy_ps();
  }
  bad += b.banks->busy_ps() != busy;
  bad += b.banks->units() != b.banks->count() * b.ref_banks[0]->units();
  bad += b.banks->stat_values() != summed(b.ref_banks);
  for (int p = 0; p < 2; ++p) {
    bad += gt[p].off_s != rt[p].off_s || gt[p].wake_ups != rt[p].wake_ups;
    bad += ga[p].off_s != ra[p].off_s || ga[p].wake_ups != ra[p].wake_ups;
  }
  return bad;
}

TEST(ScTileGroup, ReportsAsItsTilesAndBanksBuiltAlone) {
  // Seeded random reads, with gaps that gate units off, through the fast path (TileArray::read)
  // and, for a fifth of them, through the tile's own object (made then, mid-run, from the
  // state in the array). Power gating and banks of several groups make every unit's object
  // when the banks are bound; otherwise only the tiles read through their objects (and their
  // banks) are made.
  const std::string got = sim::run_isolated([] {
    std::mt19937_64 rng(7);
    std::ostringstream o;
    int k = 0;
    for (const Case& c : {Case{false, 1, true}, Case{true, 1, true}, Case{false, 3, true},
                          Case{true, 1, false}, Case{false, 1, false}}) {
      const int n = 12;
      Bench b(c, n, "c" + std::to_string(k++));
      Ps now = 0;
      for (int r = 0; r < 2000; ++r) {
        now += rng() % 8 == 0 ? static_cast<Ps>(rng() % 4000000) : static_cast<Ps>(rng() % 60000);
        // Tiles 0..5 through the array only; tiles 6..11 also through their objects.
        const int t = static_cast<int>(rng() % n);
        const int rows = 1 + static_cast<int>(rng() % 256),
                  cols = 1 + static_cast<int>(rng() % 256);
        const Ps ready = now - static_cast<Ps>(rng() % 30000);
        arch::ActionCounts ca, cr;
        const Ps a = t >= 6 && rng() % 5 == 0 ? b.tiles->tile(t).read(ready, rows, cols, &ca)
                                              : b.array.read(t, ready, rows, cols, &ca);
        if (a != b.ref_tiles[t]->read(ready, rows, cols, &cr)) o << "read ";
      }
      int made = 0;
      for (int t = 0; t < n; ++t) made += b.tiles->made(t);
      o << mismatches(b, now + 5000000) << "/" << made << " ";
    }
    return o.str();
  });
  // Made: every unit when gated or with shared banks (3 groups); else tiles 6..11.
  EXPECT_EQ(got, "0/6 0/12 0/12 0/12 0/6 ");
}

// Records the tracks registered, in order.
class Tracks : public arch::SpanSink {
 public:
  bool wants(const std::string&) const override { return true; }
  void span(int, const char*, Ps, Ps) override { ++spans; }
  int track(const std::string& name) override {
    names += name + " ";
    return n++;
  }
  std::string names;
  int n = 0, spans = 0;
};

TEST(ScTileGroup, TracingMakesEveryUnitItsOwnTrackInUnitOrder) {
  const std::string got = sim::run_isolated([] {
    Bench b(Case{}, 3, "");
    const bool before = b.tiles->made(0) || b.banks->made(0);
    Tracks sink;
    b.tiles->set_trace(&sink);
    b.banks->set_trace(&sink);
    b.tiles->tile(2).read(0, 10, 10, nullptr);  // a read span, a convert span per integration
    std::ostringstream o;
    o << sink.names << before << b.tiles->made(0) << b.banks->made(1) << " " << sink.spans;
    return o.str();
  });
  EXPECT_EQ(got,
            "chip.tile0 chip.tile1 chip.tile2 chip.adc_bank0 chip.adc_bank1 chip.adc_bank2 011 3");
}

TEST(ScTileGroup, BusyTimeIsCreditedToOneInstance) {
  const std::string got = sim::run_isolated([] {
    Bench b(Case{}, 3, "");
    b.tiles->add_instance_busy(1, 250);
    b.banks->add_instance_busy(2, 125);
    std::ostringstream o;
    o << b.tiles->instance_busy_ps(0) << " " << b.tiles->instance_busy_ps(1) << " "
      << b.tiles->busy_ps() << " " << b.tiles->made(1) << " " << b.banks->busy_ps() << " "
      << b.banks->instances() << " " << b.banks->instance_basename(2) << " ";
    try {
      b.tiles->add_busy(1);
    } catch (const std::logic_error&) {
      o << "thrown";
    }
    return o.str();
  });
  EXPECT_EQ(got, "0 250 250 0 125 3 adc_bank2 thrown");
}

}  // namespace
}  // namespace aimc

// Regression tier: configs/hermes.pbtxt on its peak workload (all 64 cores doing back-to-back
// 256x256 8-bit reads) gives the published figures (Le Gallo et al., Nature Electronics 2023)
// within 2 %, with one set of energy parameters: only the number of read phases changes.
#include <gtest/gtest.h>

#include <cstdio>

#include "sc_test_util.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

sim::PeakResult peak(int phases) {
  proto::ChipConfig chip = sim::testing::preset("hermes");
  chip.mutable_tile()->mutable_dac()->set_read_phases(phases);
  return sim::run_peak_workload(chip, 1000);
}

TEST(HermesPeak, OnePhaseMode) {
  const sim::PeakResult p = peak(1);
  RecordProperty("tops", std::to_string(p.tops));
  RecordProperty("tops_per_w", std::to_string(p.tops_per_w));
  std::printf("HERMES 1-phase: %.2f TOPS, %.3f TOPS/W (published 63.1, 9.76)\n", p.tops,
              p.tops_per_w);
  EXPECT_NEAR(p.tops, 63.1, 0.02 * 63.1);
  EXPECT_NEAR(p.tops_per_w, 9.76, 0.02 * 9.76);
  EXPECT_NEAR(p.read_interval_ns, 133, 1);
}

TEST(HermesPeak, FourPhaseMode) {
  const sim::PeakResult p = peak(4);
  RecordProperty("tops", std::to_string(p.tops));
  RecordProperty("tops_per_w", std::to_string(p.tops_per_w));
  std::printf("HERMES 4-phase: %.2f TOPS, %.3f TOPS/W (published 16.1, 2.48)\n", p.tops,
              p.tops_per_w);
  EXPECT_NEAR(p.tops, 16.1, 0.02 * 16.1);
  EXPECT_NEAR(p.tops_per_w, 2.48, 0.02 * 2.48);
}

}  // namespace
}  // namespace aimc

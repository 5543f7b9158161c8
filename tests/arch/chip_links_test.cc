// Chip-to-chip links against closed forms: one transfer = latency + bits / bandwidth, transfers
// over one link serialize, opposite directions do not, routes per topology.
#include <gtest/gtest.h>

#include <vector>

#include "arch/chip_links.h"

namespace aimc::arch {
namespace {

ChipLinkSpec spec(int chips, Topology t, int mx = 1, int my = 1) {
  ChipLinkSpec s;
  s.chips = chips;
  s.topology = t;
  s.mesh_x = mx;
  s.mesh_y = my;
  s.bandwidth_gbps = 25;  // 25 bytes per ns: 1 KiB in 40.96 ns
  s.latency_ns = 100;
  s.e_pj_per_bit = 2;
  return s;
}

TEST(ChipLinks, OneTransferIsLatencyPlusBytesOverBandwidth) {
  ChipLinks links(spec(4, Topology::kRing));
  const double bits = 8.0 * 1000;  // 1000 bytes: 40 ns at 25 GB/s
  EXPECT_EQ(links.transfer(0, 0, 1, bits), 100'000 + 40'000);
  EXPECT_EQ(links.unloaded_ps(1, bits), 140'000);
  EXPECT_DOUBLE_EQ(links.bit_links(), bits);
  EXPECT_DOUBLE_EQ(links.energy_pj(), bits * 2);
  // Same chip: free and instantaneous.
  EXPECT_EQ(links.transfer(5, 2, 2, bits), 5);
  EXPECT_DOUBLE_EQ(links.bit_links(), bits);
}

// Link by link (as the timed run books a route, each link when the head reaches it): one idle
// link is latency + bits / bandwidth; two transfers over one link serialize; a two-hop route on
// idle links is transfer()'s cut-through closed form, 2 x latency + bits / bandwidth.
TEST(ChipLinks, BookedLinkByLinkTheClosedFormsHold) {
  ChipLinks links(spec(4, Topology::kRing));
  const double bits = 8.0 * 1000;  // 40 ns at 25 GB/s
  const std::vector<int> one = links.route(0, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(links.link_owner(one[0]), 0);
  const Ps start = links.book_link(0, one[0], bits);
  EXPECT_EQ(start + links.latency_ps() + links.occupancy_ps(bits), 140'000);
  const Ps second = links.book_link(0, one[0], bits);
  EXPECT_EQ(second, 40'000);  // waits for the first's serialization
  EXPECT_EQ(second + links.latency_ps() + links.occupancy_ps(bits), 180'000);
  const std::vector<int> two = links.route(1, 3);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(links.link_owner(two[0]), 1);
  EXPECT_EQ(links.link_owner(two[1]), 2);
  const Ps s0 = links.book_link(1000, two[0], bits);
  const Ps s1 = links.book_link(s0 + links.latency_ps(), two[1], bits);
  EXPECT_EQ(s1 + links.latency_ps() + links.occupancy_ps(bits) - 1000, links.unloaded_ps(2, bits));
  EXPECT_DOUBLE_EQ(links.bit_links(), 4 * bits);
}

TEST(ChipLinks, TwoTransfersOverOneLinkSerialize) {
  ChipLinks links(spec(4, Topology::kRing));
  const double bits = 8.0 * 1000;
  const Ps first = links.transfer(0, 0, 1, bits);
  const Ps second = links.transfer(0, 0, 1, bits);
  EXPECT_EQ(first, 140'000);
  // The second waits for the link (busy until 40 ns), then takes latency + serialization.
  EXPECT_EQ(second, 40'000 + 140'000);
  // The opposite direction is another link: not delayed.
  EXPECT_EQ(links.transfer(0, 1, 0, bits), 140'000);
  // A transfer ready after the link is free is not delayed either.
  EXPECT_EQ(links.transfer(1'000'000, 0, 1, bits), 1'140'000);
}

TEST(ChipLinks, MultiHopIsCutThrough) {
  ChipLinks links(spec(8, Topology::kRing));
  const double bits = 8.0 * 1000;
  // 0 -> 3: three hops forward; 0 -> 6: two hops backward.
  EXPECT_EQ(links.hops(0, 3), 3);
  EXPECT_EQ(links.hops(0, 6), 2);
  EXPECT_EQ(links.hops(0, 4), 4);  // tie: forward
  EXPECT_EQ(links.route(0, 4)[0], links.route(0, 1)[0]);
  EXPECT_EQ(links.transfer(0, 0, 3, bits), 3 * 100'000 + 40'000);
  EXPECT_DOUBLE_EQ(links.bit_links(), 3 * bits);
}

TEST(ChipLinks, MeshTorusAndSwitchRoutes) {
  ChipLinks mesh(spec(16, Topology::kMesh2d, 4, 4));
  EXPECT_EQ(mesh.hops(0, 15), 6);  // (0,0) -> (3,3)
  EXPECT_EQ(mesh.hops(5, 6), 1);
  ChipLinks torus(spec(16, Topology::kTorus2d, 4, 4));
  EXPECT_EQ(torus.hops(0, 15), 2);  // wrap in x and in y
  EXPECT_EQ(torus.hops(0, 10), 4);  // (2,2): ties go forward
  ChipLinks sw(spec(8, Topology::kSwitch));
  EXPECT_EQ(sw.hops(3, 7), 2);
  // Two chips sending to one chip share its downlink: they serialize there.
  const double bits = 8.0 * 1000;
  const Ps a = sw.transfer(0, 1, 0, bits);
  const Ps b = sw.transfer(0, 2, 0, bits);
  EXPECT_EQ(a, 2 * 100'000 + 40'000);
  EXPECT_EQ(b, a + 40'000);
  EXPECT_EQ(sw.link_name(sw.route(1, 0)[0]), "chip 1 -> switch");
  EXPECT_EQ(sw.link_name(sw.route(1, 0)[1]), "switch -> chip 0");
}

TEST(ChipLinks, BusyTimeAndBitsPerLink) {
  ChipLinks links(spec(3, Topology::kRing));
  const double bits = 8.0 * 500;  // 20 ns
  links.transfer(0, 0, 1, bits);
  links.transfer(0, 0, 1, bits);
  const int l = links.route(0, 1)[0];
  EXPECT_DOUBLE_EQ(links.link_bits(l), 2 * bits);
  EXPECT_DOUBLE_EQ(links.link_busy_ps(l), 40'000);
  EXPECT_EQ(links.link_name(l), "chip 0 -> chip 1");
}

// A chip of a 2 x 2 mesh has a port per direction: transfers that leave by the same port (0 -> 1
// and 0 -> 3, both +x first) serialize there; one leaving by another port (0 -> 2, +y) does not.
TEST(ChipLinks, TransfersLeavingByOnePortSerializeOthersDoNot) {
  ChipLinks links(spec(4, Topology::kMesh2d, 2, 2));
  const double bits = 8.0 * 1000;  // 40 ns
  const std::vector<int> to1 = links.route(0, 1), to2 = links.route(0, 2), to3 = links.route(0, 3);
  EXPECT_EQ(links.direction_of(to1[0]), 0);     // +x
  EXPECT_EQ(links.direction_of(to2[0]), 2);     // +y
  EXPECT_EQ(to3[0], to1[0]);                    // X first: the +x port
  EXPECT_EQ(links.entry_direction(to1[0]), 1);  // enters chip 1 by its -x port
  EXPECT_EQ(links.transfer(0, 0, 1, bits), 100'000 + 40'000);
  EXPECT_EQ(links.transfer(0, 0, 2, bits), 100'000 + 40'000);
  // Waits 40 ns for the +x port, then two hops cut-through.
  EXPECT_EQ(links.transfer(0, 0, 3, bits), 40'000 + 2 * 100'000 + 40'000);
  // Port nodes of an 8 x 4 mesh: middle of the east, west, south and north edges.
  EXPECT_EQ(port_node(Topology::kMesh2d, 0, 8, 4), 23);
  EXPECT_EQ(port_node(Topology::kMesh2d, 1, 8, 4), 16);
  EXPECT_EQ(port_node(Topology::kMesh2d, 2, 8, 4), 28);
  EXPECT_EQ(port_node(Topology::kMesh2d, 3, 8, 4), 4);
  EXPECT_EQ(port_node(Topology::kSwitch, 1, 8, 4), 23);  // one port
}

// Every link of every route reaches the next chip of the route (the last one the destination;
// a switch's uplink the switch), and a link sent on alone takes latency + serialization, waits
// for that link only and counts as transfer() does.
TEST(ChipLinks, LinkEndsFollowTheRoutesAndOneLinkTransfersLikeARouteOfOne) {
  for (const ChipLinkSpec& s : {spec(5, Topology::kRing), spec(6, Topology::kMesh2d, 3, 2),
                                spec(12, Topology::kTorus2d, 4, 3), spec(4, Topology::kSwitch)}) {
    const ChipLinks links(s);
    for (int a = 0; a < s.chips; ++a)
      for (int b = 0; b < s.chips; ++b) {
        const std::vector<int> r = links.route(a, b);
        for (size_t k = 0; k < r.size(); ++k) {
          const int end = links.link_end(r[k]);
          if (s.topology == Topology::kSwitch && k == 0) {
            EXPECT_EQ(end, -1);
          } else if (k + 1 == r.size()) {
            EXPECT_EQ(end, b) << a << " -> " << b;
          } else {
            ASSERT_GE(end, 0);
            // The next link leaves from where this one ends.
            EXPECT_EQ(links.route(end, b), std::vector<int>(r.begin() + k + 1, r.end()));
          }
        }
      }
  }
  ChipLinks links(spec(4, Topology::kRing));
  const double bits = 8.0 * 1000;
  const int l01 = links.route(0, 1)[0], l12 = links.route(1, 2)[0];
  EXPECT_EQ(links.transfer_link(0, l01, bits), 140'000);
  EXPECT_EQ(links.transfer_link(0, l01, bits), 40'000 + 140'000);  // waits for the link
  EXPECT_EQ(links.transfer_link(0, l12, bits), 140'000);           // another link does not
  EXPECT_DOUBLE_EQ(links.link_bits(l01), 2 * bits);
  EXPECT_DOUBLE_EQ(links.link_busy_ps(l01), 80'000);
  EXPECT_DOUBLE_EQ(links.bit_links(), 3 * bits);
}

TEST(LinkChannel, LatencyPlusBytesOverBandwidthAndTransfersSerialize) {
  LinkChannel host(16, 1000);    // 16 bytes per ns
  const double bits = 8.0 * 64;  // 64 bytes: 4 ns
  EXPECT_EQ(host.unloaded_ps(bits), 1'004'000);
  EXPECT_EQ(host.transfer(0, bits), 1'004'000);
  // The second, ready at once, waits for the first's serialization only (the latency is the
  // pipe's, it does not occupy the sender).
  EXPECT_EQ(host.transfer(0, bits), 4'000 + 1'004'000);
  // Ready after the channel is free: not delayed.
  EXPECT_EQ(host.transfer(2'000'000, bits), 3'004'000);
  EXPECT_DOUBLE_EQ(host.bits(), 3 * bits);
  EXPECT_DOUBLE_EQ(host.busy_ps(), 3 * 4'000.0);
  EXPECT_EQ(host.transfers(), 3);
  // 4 bytes at 16 GB/s: 0.25 ns.
  EXPECT_EQ(host.serialize_ps(32), 250);
}

}  // namespace
}  // namespace aimc::arch

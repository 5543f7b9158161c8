// Quiet replay of the mesh and the tile array: horizon() bounds every free time they hold, a
// group of operations captured from one quiet start and applied at another leaves them as
// running the operations there does (against a component that runs them, bit for bit), and the
// touch hook fires before every operation while armed.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "arch/sc_adc_bank.h"
#include "arch/sc_noc.h"
#include "arch/sc_tile.h"
#include "arch/sc_tile_array.h"

namespace aimc::arch {
namespace {

// Distinct module names across the tests of one process.
std::string uniq(const std::string& base) {
  static int n = 0;
  return base + std::to_string(++n);
}

NocSpec mesh_spec() {
  NocSpec n;
  n.mesh_x = 16;
  n.mesh_y = 8;
  n.link_width_bits = 256;
  n.cycle_ps = 1000;
  n.hop_latency_cycles = 2;
  return n;
}

// ---- The mesh ----

// One operation of a workload on a chip's mesh: partial outputs to a DPU column (through runs
// over exit links), multicasts along registered trees (from their flow or the tree), reductions,
// any unicast, an unregistered multicast, a tree registered now, a free time read.
struct NocOp {
  enum Kind { kToDpu, kFlow, kTree, kReduce, kUnicast, kFreeMulticast, kNewTree, kFreeAt } kind;
  int src = 0, dst = 0, tree = 0;
  std::vector<int> nodes;
  Ps off = 0;  // ready = start + off (reductions: source k at start + off + k * 700)
  double bits = 256;
};

// One multicast along each of the first `trees` registered trees (a warm-up's last operations:
// every plan compiled).
void add_flow_multicasts(std::vector<NocOp>* ops, int trees) {
  for (int t = 0; t < trees; ++t) {
    NocOp op;
    op.kind = NocOp::kFlow;
    op.tree = t;
    ops->push_back(op);
  }
}

struct NocRig {
  NocSpec spec = mesh_spec();
  int nodes() const { return spec.mesh_x * spec.mesh_y; }
  int dpu_col = 9;
  std::vector<std::vector<int>> tree_dsts;  // per registered tree (the same in every mesh)
  std::vector<int> tree_src;

  std::unique_ptr<ScNoc> make(std::vector<McTree>* trees) const {
    auto noc = std::make_unique<ScNoc>(uniq("noc").c_str(), spec);
    trees->assign(tree_dsts.size(), McTree{});
    for (size_t t = 0; t < tree_dsts.size(); ++t)
      noc->build_tree(tree_src[t], tree_dsts[t].data(), static_cast<int>(tree_dsts[t].size()),
                      &(*trees)[t]);
    return noc;
  }

  // A random operation of the first `kinds` kinds (4: a group's mix, see below).
  NocOp random_op(std::mt19937_64& rng, int kinds, int trees) const {
    NocOp op;
    if (kinds == 4) {
      // A group: mostly partial outputs, then multicasts, a few reductions, and transfers
      // along a row that end before its exit link or start past it.
      const int w = static_cast<int>(rng() % 20);
      op.kind = w < 11   ? NocOp::kToDpu
                : w < 14 ? NocOp::kFlow
                : w < 17 ? NocOp::kTree
                : w < 18 ? NocOp::kReduce
                         : NocOp::kUnicast;
    } else {
      op.kind = static_cast<NocOp::Kind>(rng() % kinds);
    }
    op.off = static_cast<Ps>(rng() % 30000);
    op.bits = 256.0 * (1 + (rng() % 6 == 0 ? rng() % 40 : rng() % 4));
    switch (op.kind) {
      case NocOp::kToDpu:
        op.src = static_cast<int>(rng() % nodes());
        op.dst = static_cast<int>(rng() % spec.mesh_y) * spec.mesh_x + dpu_col;
        break;
      case NocOp::kFlow:
      case NocOp::kTree:
        op.tree = static_cast<int>(rng() % trees);
        break;
      case NocOp::kReduce:
        // (A group's from nodes of the DPUs' column: reductions pin the row links they take,
        // which are then never lazy.)
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k)
          op.nodes.push_back(kinds == 4
                                 ? static_cast<int>(rng() % spec.mesh_y) * spec.mesh_x + dpu_col
                                 : static_cast<int>(rng() % nodes()));
        op.dst = static_cast<int>(rng() % spec.mesh_y) * spec.mesh_x + dpu_col;
        break;
      case NocOp::kUnicast:
        op.src = static_cast<int>(rng() % nodes());
        op.dst = static_cast<int>(rng() % nodes());
        if (kinds == 4) op.dst = op.src - op.src % spec.mesh_x + op.dst % spec.mesh_x;
        break;
      case NocOp::kFreeMulticast:
      case NocOp::kNewTree:
        op.src = static_cast<int>(rng() % nodes());
        for (int k = 1 + static_cast<int>(rng() % 6); k > 0; --k)
          op.nodes.push_back(static_cast<int>(rng() % nodes()));
        break;
      case NocOp::kFreeAt:
        op.src = static_cast<int>(rng() % (4 * nodes()));
        break;
    }
    return op;
  }

  // Runs `op` from `start`; appends what it returns to `out`.
  void run(ScNoc& noc, std::vector<McTree>& trees, const NocOp& op, Ps start,
           std::vector<Ps>* out) const {
    const Ps ready = start + op.off;
    switch (op.kind) {
      case NocOp::kToDpu:
      case NocOp::kUnicast:
        out->push_back(noc.unicast(ready, op.src, op.dst, op.bits, nullptr));
        break;
      case NocOp::kFlow:
      case NocOp::kTree: {
        const McTree& t = trees[op.tree];
        std::vector<Ps> a(t.dsts.size());
        if (op.kind == NocOp::kFlow && noc.runs_flows() && t.owner == &noc)
          noc.multicast_flow(ready, t.flow, op.bits, a.data(), nullptr);
        else
          noc.multicast(ready, t, op.bits, a.data(), nullptr);
        out->insert(out->end(), a.begin(), a.end());
        break;
      }
      case NocOp::kReduce: {
        std::vector<Ps> at;
        for (size_t k = 0; k < op.nodes.size(); ++k) at.push_back(ready + 700 * k);
        out->push_back(noc.reduce(at.data(), op.nodes.data(), static_cast<int>(op.nodes.size()),
                                  op.dst, op.bits, 16, nullptr));
        break;
      }
      case NocOp::kFreeMulticast: {
        std::vector<Ps> a(op.nodes.size());
        noc.multicast(ready, op.src, op.nodes.data(), static_cast<int>(op.nodes.size()), op.bits,
                      a.data(), nullptr);
        out->insert(out->end(), a.begin(), a.end());
        break;
      }
      case NocOp::kNewTree:
        trees.emplace_back();
        noc.build_tree(op.src, op.nodes.data(), static_cast<int>(op.nodes.size()), &trees.back());
        break;
      case NocOp::kFreeAt:
        out->push_back(noc.free_at(op.src));
        break;
    }
  }
};

// Every link's free time (deferred records settled), the statistics and the horizon.
std::vector<double> noc_state(ScNoc& noc) {
  std::vector<double> v;
  for (int l = 0; l < noc.links(); ++l) v.push_back(static_cast<double>(noc.free_at(l)));
  v.push_back(noc.bit_hops());
  v.push_back(noc.busy_ps());
  v.push_back(noc.adds());
  v.push_back(static_cast<double>(noc.horizon()));
  return v;
}

TEST(QuietReplay, MeshHorizonBoundsEveryFreeTime) {
  // Seeded random operations of every kind on a mesh with exit links and registered trees (its
  // free times deferred and shadowed), on one with gated routers and on a traced one; after
  // each, every link's free time, settled, of a mesh that reserves every link as crossed (the
  // shadowed links' true free times) and of the mesh itself is at most its horizon, and the
  // horizon never decreases.
  struct NoSpans : SpanSink {
    bool wants(const std::string&) const override { return false; }
    void span(int, const char*, Ps, Ps) override {}
    int track(const std::string&) override { return 0; }
  } sink;
  NocRig rig;
  std::mt19937_64 rng(5);
  for (int k = 0; k < 10; ++k) {
    rig.tree_src.push_back(static_cast<int>(rng() % 8) * rig.spec.mesh_x + rig.dpu_col);
    std::vector<int> d;
    for (int j = 2 + static_cast<int>(rng() % 8); j > 0; --j)
      d.push_back(static_cast<int>(rng() % rig.nodes()));
    rig.tree_dsts.push_back(d);
  }
  for (int variant = 0; variant < 3; ++variant) {
    NocRig r = rig;
    if (variant == 1) r.spec.router_gating = {true, 5000, 3000};
    std::vector<McTree> trees, plain_trees;
    auto noc = r.make(&trees);
    if (variant == 2) noc->set_trace(&sink);
    ScNoc plain(uniq("plain").c_str(), r.spec);
    plain.set_exit_links(false);
    if (variant == 1) plain.set_trace(&sink);
    for (size_t t = 0; t < trees.size(); ++t) {
      // Unregistered copies of the trees (same links, no shadowing).
      plain_trees.emplace_back(trees[t]);
      plain_trees.back().owner = nullptr;
      plain_trees.back().flow = -1;
    }
    long long violations = 0, checks = 0, shadowed = 0, deferred = 0;
    Ps clock = 0, last_h = 0;
    std::vector<Ps> out, out_plain;
    for (int i = 0; i < 1500; ++i) {
      clock += static_cast<Ps>(rng() % 3000);
      NocOp op = r.random_op(rng, 8, static_cast<int>(trees.size()));
      // (No free_at: a shadowed link has no free time of its own to return; no new trees.)
      if (op.kind == NocOp::kNewTree || op.kind == NocOp::kFreeAt ||
          (i < 700 && op.kind != NocOp::kFlow && op.kind != NocOp::kTree))
        op = r.random_op(rng, 1, 1);
      r.run(*noc, trees, op, clock - 20000, &out);
      r.run(plain, plain_trees, op, clock - 20000, &out_plain);
      shadowed = std::max<long long>(shadowed, noc->shadowed_links());
      deferred = noc->deferred_runs();
      if (i % 7 != 0) continue;
      const Ps h = noc->horizon();
      violations += h < last_h;
      last_h = h;
      for (int l = 0; l < noc->links(); ++l) {
        violations += noc->free_at(l) > h;
        violations += plain.free_at(l) > h;
        ++checks;
      }
    }
    EXPECT_EQ(violations, 0) << "variant " << variant;
    EXPECT_EQ(out, out_plain) << "variant " << variant;
    EXPECT_GT(checks, 10000);
    if (variant == 0) {
      EXPECT_GT(shadowed, 20);
      EXPECT_GT(deferred, 100);
    }
  }
}

// A mesh rig with trees from DPUs in column 9 to tiles anywhere, and the group: partial outputs,
// multicasts along the trees (from their flows), reductions.
NocRig group_rig(std::mt19937_64& rng) {
  NocRig rig;
  for (int k = 0; k < 12; ++k) {
    rig.tree_src.push_back(static_cast<int>(rng() % 8) * rig.spec.mesh_x + rig.dpu_col);
    std::vector<int> d;
    for (int j = 2 + static_cast<int>(rng() % 10); j > 0; --j)
      d.push_back(static_cast<int>(rng() % rig.nodes()));
    rig.tree_dsts.push_back(d);
  }
  return rig;
}

// History of a mesh: the operations of `shape` (their kinds and nodes), each at the next time of
// a clock driven by `times` and with bits from it, so that meshes with the same shape and other
// times change their structure (flows, pins, shadowed links) alike. Returns the clock.
Ps run_history(const NocRig& rig, ScNoc& noc, std::vector<McTree>& trees,
               const std::vector<NocOp>& shape, std::mt19937_64& times, Ps clock) {
  std::vector<Ps> out;
  for (NocOp op : shape) {
    clock += static_cast<Ps>(times() % 4000);
    op.bits = 256.0 * (1 + times() % 5);
    rig.run(noc, trees, op, clock, &out);
  }
  return clock;
}

TEST(QuietReplay, MeshDeltaAppliedEqualsTheOperationsRunShifted) {
  // A group (partial outputs to the DPUs' column, crossing exit links lazily, multicasts along
  // registered trees over shadowed links, reductions) run on mesh A from a quiet start t0 and
  // captured; mesh B, with another history (the same structure, other times and bits, ending
  // with deferred records pending), quiet at t1, takes the delta; mesh C, B's twin, runs the
  // group from t1. Every link's free time (settled), the statistics and the horizon of B and C
  // are equal, C's results are A's shifted by t1 - t0, and a further random batch of every kind
  // of operation (from t1 on, overlapping the group's own traffic: its shadowed links' implied
  // free times and the plans' last starts matter) gives the same results and state on B and C,
  // bit for bit. Also with A = B (the delta captured on B itself earlier in its history, as the
  // controller replays a chip's group). Every case captures.
  long long cases = 0, captured = 0, mismatches = 0, links_changed = 0, starts_changed = 0;
  for (int seed = 1; seed <= 24; ++seed) {
    std::mt19937_64 rng(seed);
    NocRig rig = group_rig(rng);
    const bool self = seed % 3 == 0;  // the capture on B itself
    // The group, and the warm-up that gives each mesh the group's structure first (its
    // reductions' pins, the links its unicasts unshadow, the plans then rebuilt).
    std::vector<NocOp> group;
    for (int k = 0; k < 40; ++k) group.push_back(rig.random_op(rng, 4, 12));
    std::vector<NocOp> warm = group;
    for (int k = 0; k < 300; ++k) warm.push_back(rig.random_op(rng, 4, 12));
    add_flow_multicasts(&warm, 12);
    // The end of the history: partial outputs only (segments lazy again, records pending).
    std::vector<NocOp> tail;
    for (int k = 0; k < 1500; ++k) tail.push_back(rig.random_op(rng, 1, 12));

    std::vector<McTree> ta, tb, tc;
    auto a = rig.make(&ta);
    auto b = rig.make(&tb);
    auto c = rig.make(&tc);
    std::mt19937_64 times_a(100 + seed), times_b(200 + seed), times_c(200 + seed);
    NocDelta d;
    std::vector<Ps> out_a, out_c;
    Ps t0 = 0;
    bool ok = false;
    if (!self) {
      Ps clock = run_history(rig, *a, ta, warm, times_a, 0);
      clock = run_history(rig, *a, ta, tail, times_a, clock);
      t0 = std::max(clock, a->horizon()) + static_cast<Ps>(rng() % 2) * 1000;
      a->capture_begin();
      for (const NocOp& op : group) rig.run(*a, ta, op, t0, &out_a);
      ok = a->capture_end(t0, &d);
    }
    Ps clock_b = run_history(rig, *b, tb, warm, times_b, 0);
    Ps clock_c = run_history(rig, *c, tc, warm, times_c, 0);
    if (self) {
      // B's own history holds the group, captured, and more traffic after it.
      t0 = std::max(clock_b, b->horizon()) + 3000;
      b->capture_begin();
      for (const NocOp& op : group) rig.run(*b, tb, op, t0, &out_a);
      ok = b->capture_end(t0, &d);
      std::vector<Ps> ignored;
      for (const NocOp& op : group) rig.run(*c, tc, op, t0, &ignored);
      clock_b = clock_c = std::max(clock_b, t0 + 40000);
    }
    clock_b = run_history(rig, *b, tb, tail, times_b, clock_b);
    clock_c = run_history(rig, *c, tc, tail, times_c, clock_c);
    ++cases;
    if (!ok) continue;
    ++captured;
    links_changed += static_cast<long long>(d.links.size());
    starts_changed += static_cast<long long>(d.starts.size());
    // Quiet at t1 (sometimes exactly at the horizon).
    const Ps t1 = std::max(clock_b, b->horizon()) + static_cast<Ps>(rng() % 3) * 777;
    b->apply(d, t1);
    for (const NocOp& op : group) rig.run(*c, tc, op, t1, &out_c);
    for (size_t i = 0; i < out_a.size() && i < out_c.size(); ++i)
      mismatches += out_c[i] != out_a[i] + (t1 - t0);
    mismatches += out_a.size() != out_c.size();
    mismatches += noc_state(*b) != noc_state(*c);
    // The further batch, from t1 on (overlapping the group's traffic): partial outputs first
    // (through runs over the links the group left busy), then every kind.
    std::vector<Ps> fb, fc;
    Ps clock = t1;
    for (int k = 0; k < 600; ++k) {
      clock += static_cast<Ps>(rng() % (k < 300 ? 200 : 1500));
      const NocOp op = rig.random_op(rng, k < 300 ? 1 : 8, static_cast<int>(tb.size()));
      rig.run(*b, tb, op, clock, &fb);
      rig.run(*c, tc, op, clock, &fc);
    }
    mismatches += fb != fc;
    mismatches += noc_state(*b) != noc_state(*c);
    mismatches += b->shadowed_links() != c->shadowed_links();
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(captured, cases);
  EXPECT_GT(links_changed, 24 * 40);
  EXPECT_GT(starts_changed, 24 * 10);
}

TEST(QuietReplay, MeshCaptureFailsWhenTheStructureChanges) {
  // A tree registered, a shadowed link made ordinary (a unicast over it), a link pinned (a
  // reduction over a row's links), exit links switched: each between capture_begin and
  // capture_end makes capture_end false; an operation ready before t0 too, and a mesh not quiet
  // at t0. Partial outputs alone capture.
  std::mt19937_64 rng(3);
  NocRig rig = group_rig(rng);
  std::vector<std::string> got;
  for (int what = 0; what < 7; ++what) {
    std::vector<McTree> trees;
    auto noc = rig.make(&trees);
    const int shadowed = noc->shadowed_links();
    std::vector<Ps> out;
    NocOp dpu;
    dpu.kind = NocOp::kToDpu;
    dpu.src = 2 * rig.spec.mesh_x + 1;
    dpu.dst = 2 * rig.spec.mesh_x + rig.dpu_col;
    rig.run(*noc, trees, dpu, 0, &out);
    const Ps t0 = noc->horizon() + 1000;
    noc->capture_begin();
    const uint64_t epoch = noc->structure_epoch();
    rig.run(*noc, trees, dpu, t0, &out);
    std::vector<int> d = {3, 77};
    McTree extra;
    switch (what) {
      case 1:
        noc->build_tree(5, d.data(), 2, &extra);
        break;
      case 2:
        // Every link once, some of them shadowed.
        for (int n = 0; n < rig.nodes(); ++n)
          noc->unicast(t0, n, rig.nodes() - 1 - n, 256, nullptr);
        break;
      case 3: {
        std::vector<Ps> at = {t0, t0};
        std::vector<int> src = {16 * 5 + 0, 16 * 5 + 15};
        noc->reduce(at.data(), src.data(), 2, 16 * 5 + 7, 256, 8, nullptr);
        break;
      }
      case 4:
        noc->set_exit_links(false);
        break;
      case 5:
        noc->unicast(t0 - 5000, 0, 15, 256, nullptr);
        break;
      default:
        break;
    }
    NocDelta delta;
    const bool ok = noc->capture_end(what == 6 ? t0 - 1500 : t0, &delta);
    got.push_back(std::to_string(ok) + (noc->structure_epoch() != epoch ? "e" : "-"));
    if (what == 2) {
      EXPECT_LT(noc->shadowed_links(), shadowed);
    }
  }
  EXPECT_EQ(got, (std::vector<std::string>{"1-", "0e", "0e", "0e", "0e", "0-", "0-"}));
}

TEST(QuietReplay, MeshApplyNeedsAQuietMeshOfTheSameEpoch) {
  std::mt19937_64 rng(4);
  NocRig rig = group_rig(rng);
  std::vector<McTree> trees;
  auto noc = rig.make(&trees);
  std::vector<Ps> out;
  NocOp op;
  op.kind = NocOp::kFlow;
  // Every plan once first (trees registered after it may have made links of its tree ordinary:
  // its first run rebuilds it, a change of structure).
  for (op.tree = 0; op.tree < 12; ++op.tree) rig.run(*noc, trees, op, 0, &out);
  op.tree = 2;
  const Ps t0 = noc->horizon() + 1000;
  noc->capture_begin();
  rig.run(*noc, trees, op, t0, &out);
  NocDelta d;
  ASSERT_TRUE(noc->capture_end(t0, &d));
  // It applies from when the links it writes are free (held_by), not before.
  const Ps h = noc->horizon(), held = noc->held_by(d);
  EXPECT_GT(held, t0);
  EXPECT_LE(held, h);
  EXPECT_THROW(noc->apply(d, held - 1), std::logic_error);
  noc->apply(d, held);
  EXPECT_EQ(noc->horizon(), std::max(h, held + (h - t0)));
  McTree extra;
  std::vector<int> dst = {1, 2};
  noc->build_tree(40, dst.data(), 2, &extra);
  EXPECT_EQ(noc->held_by(d), std::numeric_limits<Ps>::max());
  EXPECT_THROW(noc->apply(d, noc->horizon()), std::logic_error);
}

// A rig whose trees 0-5 lie in rows 0-3 and trees 6-11 in rows 4-7 (sources in the DPUs'
// column), and operations confined to one of those halves (`half` 0 or 1) or anywhere (2).
NocRig split_rig(std::mt19937_64& rng) {
  NocRig rig;
  for (int k = 0; k < 12; ++k) {
    const int lo = k < 6 ? 0 : 4;
    rig.tree_src.push_back((lo + static_cast<int>(rng() % 4)) * rig.spec.mesh_x + rig.dpu_col);
    std::vector<int> d;
    for (int j = 2 + static_cast<int>(rng() % 6); j > 0; --j)
      d.push_back((lo + static_cast<int>(rng() % 4)) * rig.spec.mesh_x +
                  static_cast<int>(rng() % rig.spec.mesh_x));
    rig.tree_dsts.push_back(d);
  }
  return rig;
}

NocOp split_op(const NocRig& rig, std::mt19937_64& rng, int kinds, int half) {
  NocOp op = rig.random_op(rng, kinds, 12);
  if (half == 2) return op;
  const int mx = rig.spec.mesh_x, lo = 4 * half;
  auto node = [&](int n) { return (lo + (n / mx) % 4) * mx + n % mx; };
  op.src = node(op.src);
  if (op.kind == NocOp::kUnicast)
    op.dst = kinds == 4 ? op.src - op.src % mx + op.dst % mx : node(op.dst);
  if (op.kind == NocOp::kToDpu || op.kind == NocOp::kReduce) op.dst = node(op.dst);
  for (int& n : op.nodes) n = node(n);
  op.tree = 6 * half + op.tree % 6;
  if (op.kind == NocOp::kFreeAt) op.src = 0;
  return op;
}

TEST(QuietReplay, MeshDeltaAppliedAmongOtherTransfersEqualsTheOperationsRun) {
  // Footprint replay: a group in the mesh's upper half (partial outputs, multicasts along its
  // trees, reductions) captured on A from a quiet t0; twins B and C whose history ends with
  // other transfers that hold links past t1 (the mesh is not quiet at t1): in the lower half,
  // or anywhere. When B.held_by(d) <= t1, B takes the delta with its guard armed while a
  // further batch from t1 on runs (in the lower half or anywhere): the operations the guard
  // lets through run on B before the delta is applied, the first it stops applies it (the
  // controller materializes there) and runs after it; C runs the group at t1, then the batch.
  // Results and states are equal bit for bit, C's group results are A's shifted. When
  // held_by(d) > t1 the group run from t1 is sometimes not a shift of A's (the condition is
  // needed), and the batch run before the group (a guard letting everything through) sometimes
  // gives other results (so is the guard).
  long long footprint = 0, held = 0, held_differs = 0, through = 0, stopped = 0, mismatches = 0,
            unguarded_differs = 0;
  for (int seed = 1; seed <= 16; ++seed) {
    std::mt19937_64 rng(seed);
    NocRig rig = split_rig(rng);
    std::vector<NocOp> group, other;
    for (int k = 0; k < 30; ++k) group.push_back(split_op(rig, rng, 4, 0));
    for (int k = 0; k < 16; ++k) other.push_back(split_op(rig, rng, 2, k < 12 ? 1 : 2));
    // The warm-up gives every mesh the structure of the group and of the other transfers.
    std::vector<NocOp> warm = group;
    warm.insert(warm.end(), other.begin(), other.end());
    for (int k = 0; k < 300; ++k) warm.push_back(split_op(rig, rng, 4, k % 2));
    add_flow_multicasts(&warm, 12);
    std::vector<McTree> ta;
    auto a = rig.make(&ta);
    std::mt19937_64 times_a(100 + seed);
    const Ps end_a = run_history(rig, *a, ta, warm, times_a, 0);
    const Ps t0 = std::max(end_a, a->horizon()) + 1000;
    std::vector<Ps> out_a;
    a->capture_begin();
    for (const NocOp& op : group) rig.run(*a, ta, op, t0, &out_a);
    NocDelta d;
    ASSERT_TRUE(a->capture_end(t0, &d));
    for (int variant = 0; variant < 8; ++variant) {
      std::vector<McTree> tb, tc, te;
      auto b = rig.make(&tb);
      auto c = rig.make(&tc);
      auto e = rig.make(&te);
      std::mt19937_64 times_b(200 + seed), times_c(200 + seed), times_e(200 + seed);
      const Ps clock = run_history(rig, *b, tb, warm, times_b, 0);
      run_history(rig, *c, tc, warm, times_c, 0);
      run_history(rig, *e, te, warm, times_e, 0);
      // The other transfers (those anywhere in odd variants), some of them long, after the
      // horizon; t1 among them.
      const Ps start = std::max(clock, b->horizon()) + 1000;
      std::vector<NocOp> hold;
      for (size_t k = 0; k < other.size(); ++k) {
        if (k >= 12 && variant % 2 == 0) break;
        NocOp op = other[k];
        op.bits *= 1 + static_cast<int>(rng() % 8);
        op.off = static_cast<Ps>(rng() % 20000);
        hold.push_back(op);
      }
      std::vector<Ps> ob, oc, oe;
      for (const NocOp& op : hold) {
        rig.run(*b, tb, op, start, &ob);
        rig.run(*c, tc, op, start, &oc);
        rig.run(*e, te, op, start, &oe);
      }
      const Ps t1 = start + 2000 * variant + static_cast<Ps>(rng() % 2000);
      if (b->held_by(d) > t1) {
        ++held;
        std::vector<Ps> out_c;
        for (const NocOp& op : group) rig.run(*c, tc, op, t1, &out_c);
        bool differs = out_c.size() != out_a.size();
        for (size_t i = 0; i < out_c.size() && !differs; ++i)
          differs = out_c[i] != out_a[i] + (t1 - t0);
        held_differs += differs;
        continue;
      }
      footprint += b->horizon() > t1;
      // The batch: every kind but new trees and free-time reads, from t1 on, overlapping the
      // group's traffic and the other transfers'.
      std::vector<NocOp> batch;
      for (int k = 0; k < 60; ++k) {
        NocOp op = k < 20 ? split_op(rig, rng, 2, 1)
                          : split_op(rig, rng, 4 + 2 * (k % 2), variant < 4 || k % 3 ? 1 : 2);
        op.off = static_cast<Ps>(rng() % 40000);
        batch.push_back(op);
      }
      struct Hook {
        ScNoc* noc;
        const NocDelta* d;
        Ps t;
        bool applied = false;
      } hook{b.get(), &d, t1};
      b->set_touch_hook(
          [](void* p) {
            Hook& h = *static_cast<Hook*>(p);
            h.noc->guard(nullptr);
            h.noc->arm_touch_hook(false);
            h.noc->apply(*h.d, h.t);
            h.applied = true;
          },
          &hook);
      std::vector<uint64_t> fp;
      b->footprint(d, &fp);
      b->arm_touch_hook(true);
      b->guard(fp.data());
      std::vector<Ps> fb, fc, gc, fe;
      for (const NocOp& op : batch) {
        const bool was = hook.applied;
        rig.run(*b, tb, op, t1, &fb);
        through += !hook.applied;
        stopped += hook.applied && !was;
      }
      if (!hook.applied) {
        b->guard(nullptr);
        b->arm_touch_hook(false);
        b->apply(d, t1);
      }
      for (const NocOp& op : group) rig.run(*c, tc, op, t1, &gc);
      for (size_t i = 0; i < gc.size() && i < out_a.size(); ++i)
        mismatches += gc[i] != out_a[i] + (t1 - t0);
      mismatches += gc.size() != out_a.size();
      for (const NocOp& op : batch) rig.run(*c, tc, op, t1, &fc);
      mismatches += fb != fc;
      mismatches += noc_state(*b) != noc_state(*c);
      // The batch before the group, as a replay without the guard would have it.
      for (const NocOp& op : batch) rig.run(*e, te, op, t1, &fe);
      unguarded_differs += fe != fc;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(footprint, 10);  // applied while the mesh was not quiet
  EXPECT_GT(through, 300);   // operations away from the group's links ran before it
  EXPECT_GT(stopped, 10);
  EXPECT_GT(held, 10);
  EXPECT_GT(held_differs, 0);
  EXPECT_GT(unguarded_differs, 0);
}

TEST(QuietReplay, MeshTouchHookFiresFirstInEveryOperationWhileArmed) {
  // Armed, the hook runs once before each public operation that reads or changes links (and
  // sees the mesh as it was before it); it runs disarmed (the unicast it sends itself does not
  // call it again) and may disarm it for good. Disarmed, never.
  std::mt19937_64 rng(6);
  NocRig rig = group_rig(rng);
  std::vector<McTree> trees;
  auto noc = rig.make(&trees);
  struct Ctx {
    ScNoc* noc;
    int calls = 0;
    long long bit_hops_seen = -1;
    bool send = false, disarm = false;
  } ctx{noc.get()};
  noc->set_touch_hook(
      [](void* p) {
        Ctx& c = *static_cast<Ctx*>(p);
        ++c.calls;
        c.bit_hops_seen = static_cast<long long>(c.noc->bit_hops());
        if (c.send) c.noc->unicast(0, 0, 5, 256, nullptr);
        if (c.disarm) c.noc->arm_touch_hook(false);
      },
      &ctx);
  std::vector<Ps> a(64);
  const std::vector<int> d = {3, 40, 77};
  const std::vector<Ps> at = {0, 0};
  const std::vector<int> srcs = {1, 100};
  McTree t;
  std::vector<std::function<void()>> ops = {
      [&] { noc->unicast(0, 1, 2, 256, nullptr); },
      [&] { noc->multicast(0, 7, d.data(), 3, 256, a.data(), nullptr); },
      [&] { noc->build_tree(8, d.data(), 3, &t); },
      [&] { noc->multicast(0, trees[0], 256, a.data(), nullptr); },
      [&] { noc->multicast_flow(0, trees[1].flow, 256, a.data(), nullptr); },
      [&] { noc->reduce(at.data(), srcs.data(), 2, 50, 256, 8, nullptr); },
      [&] { noc->free_at(3); },
      [&] { noc->set_exit_links(true); },
      [&] { noc->close(1000000); },
      [&] { noc->set_trace(nullptr); }};
  for (const auto& op : ops) op();
  EXPECT_EQ(ctx.calls, 0);
  noc->arm_touch_hook(true);
  int expect = 0;
  for (const auto& op : ops) {
    const long long before = static_cast<long long>(noc->bit_hops());
    op();
    ++expect;
    EXPECT_EQ(ctx.calls, expect);
    EXPECT_EQ(ctx.bit_hops_seen, before);
  }
  // Re-entrant: the hook's own unicast does not call it again.
  ctx.send = true;
  noc->unicast(0, 1, 2, 256, nullptr);
  EXPECT_EQ(ctx.calls, expect + 1);
  ctx.send = false;
  // Disarmed from inside: once more, then never.
  ctx.disarm = true;
  noc->unicast(0, 1, 2, 256, nullptr);
  noc->unicast(0, 1, 2, 256, nullptr);
  EXPECT_EQ(ctx.calls, expect + 2);
  EXPECT_FALSE(noc->touch_hook_armed());
  noc->arm_touch_hook(true);
  ctx.disarm = false;
  noc->arm_touch_hook(false);
  for (const auto& op : ops) op();
  EXPECT_EQ(ctx.calls, expect + 2);
}

// ---- The tile array ----

struct TileRig {
  TileSpec tile;
  AdcBankSpec bank;
  int tiles = 24, per = 1;
  std::vector<std::vector<Ps>> more;  // the banks' further groups
  // With gating, the tiles and banks themselves (their records of off intervals).
  std::vector<std::unique_ptr<ScTile>> tile_modules;
  std::vector<std::unique_ptr<ScAdcBank>> bank_modules;

  std::unique_ptr<TileArray> make() {
    auto a = std::make_unique<TileArray>();
    a->init_tiles(tile, tiles);
    a->init_banks(bank, tiles / per, per);
    more.emplace_back();
    more.back().assign(static_cast<size_t>(tiles / per) * std::max(0, bank.groups - 1), 0);
    for (int b = 0; b < tiles / per; ++b)
      a->bank_slot(b)->more_free = more.back().data() + b * std::max(0, bank.groups - 1);
    if (tile.gating || bank.gating.enabled) {
      for (int b = 0; b < tiles / per; ++b) {
        bank_modules.push_back(
            std::make_unique<ScAdcBank>(uniq("bank").c_str(), bank, a->bank_slot(b)));
        a->set_bank(b, bank_modules.back().get());
      }
      for (int t = 0; t < tiles; ++t) {
        tile_modules.push_back(std::make_unique<ScTile>(
            uniq("tile").c_str(), tile,
            bank_modules[bank_modules.size() - tiles / per + t / per].get(), a->tile_slot(t)));
        a->set_tile(t, tile_modules.back().get());
      }
    }
    return a;
  }
};

TileRig tile_rig(int kind) {
  TileRig r;
  r.tile.integrations = 1;
  r.tile.t_integration_ps = 128000;
  r.tile.t_overhead_ps = 5000;
  r.tile.t_post_ps = 4000;
  r.bank.adcs_per_group = 128;
  r.bank.t_conversion_ps = 38400;
  if (kind == 1) r.tile.integrations = 4, r.tile.double_buffered = false;
  if (kind == 2) r.tile.integrations = 3, r.tile.t_integration_ps = 9000, r.tile.shift_add = true;
  if (kind == 3) r.tile.analog = false;
  if (kind == 4) r.per = 3;  // banks shared by three tiles (one group)
  if (kind >= 5) r.per = 2, r.bank.groups = 2;
  if (kind == 6) {
    // Gated tiles and banks of two groups: the bank's wake-up delays a read's first conversion,
    // not its second (on the other group), so that the first ends last (in its slot).
    r.tile.integrations = 2, r.tile.t_integration_ps = 9000;
    r.tile.gating = true, r.tile.gate_after_ps = 30000, r.tile.wake_up_ps = 4000;
    r.bank.gating = {true, 20000, 25000};
    r.bank.t_conversion_ps = 5000;  // (shorter than the wake-up)
  }
  return r;
}

std::vector<double> tile_state(TileArray& a, const TileRig& r) {
  std::vector<double> v;
  for (int t = 0; t < r.tiles; ++t) {
    const TileState& s = *a.tile_slot(t);
    for (Ps x : {s.integrator_free, s.slot_free[0], s.slot_free[1], s.last_end})
      v.push_back(static_cast<double>(x));
    v.push_back(s.reads);
    v.push_back(s.busy_ps);
    v.push_back(s.next_slot);
  }
  for (int b = 0; b < r.tiles / r.per; ++b) {
    const AdcBankState& s = *a.bank_slot(b);
    v.push_back(static_cast<double>(s.group_free));
    v.push_back(s.busy_ps);
    v.push_back(s.conversions);
  }
  v.push_back(static_cast<double>(a.horizon()));
  return v;
}

struct TileOp {
  int tile, rows, cols;
  Ps off;
};

TileOp random_read(std::mt19937_64& rng, int tiles) {
  return {static_cast<int>(rng() % tiles), 1 + static_cast<int>(rng() % 256),
          1 + static_cast<int>(rng() % 300), static_cast<Ps>(rng() % 60000)};
}

TEST(QuietReplay, TileArrayHorizonBoundsEveryBusyTime) {
  // Seeded random reads on every kind of tile and bank (PWM, single-buffered, bit-serial,
  // digital, shared banks of one and of two groups): after each, every tile's integrator, slot
  // and last end and every group of every bank is free by the horizon, which never decreases.
  for (int kind = 0; kind < 7; ++kind) {
    TileRig r = tile_rig(kind);
    auto a = r.make();
    std::mt19937_64 rng(kind + 1);
    long long violations = 0;
    Ps clock = 0, last = 0;
    for (int i = 0; i < 3000; ++i) {
      clock += static_cast<Ps>(rng() % 50000);
      const TileOp op = random_read(rng, r.tiles);
      a->read(op.tile, clock - op.off, op.rows, op.cols, nullptr);
      const Ps h = a->horizon();
      violations += h < last;
      last = h;
      for (int t = 0; t < r.tiles; ++t) {
        const TileState& s = *a->tile_slot(t);
        violations += std::max({s.integrator_free, s.slot_free[0], s.slot_free[1], s.last_end}) > h;
      }
      for (int b = 0; b < r.tiles / r.per; ++b) {
        violations += a->bank_slot(b)->group_free > h;
        for (int g = 1; g < r.bank.groups; ++g) violations += a->bank_slot(b)->more_free[g - 1] > h;
      }
    }
    EXPECT_EQ(violations, 0) << "kind " << kind;
  }
}

TEST(QuietReplay, TileDeltaAppliedEqualsTheReadsRunShifted) {
  // Reads of a group (several per tile) on array A from a quiet t0, captured; arrays B and C
  // with another history (other reads, so that many tiles are at the other double-buffer
  // parity than in A), quiet at t1: B takes the delta, C runs the reads from t1. Every tile's
  // and bank's state and the horizon are equal, C's ends are A's shifted, and a further batch of
  // reads from t1 on gives the same ends and state on B and C. On every kind of tile with one
  // group per bank; both parities met.
  long long mismatches = 0, flipped = 0, same = 0;
  for (int kind = 0; kind < 5; ++kind) {
    for (int seed = 0; seed < 6; ++seed) {
      TileRig r = tile_rig(kind);
      auto a = r.make();
      auto b = r.make();
      auto c = r.make();
      std::mt19937_64 rng(seed * 10 + kind), ha(seed + 50), hb(seed + 70);
      std::vector<TileOp> group;
      for (int k = 0; k < 60; ++k) group.push_back(random_read(rng, r.tiles));
      Ps clock_a = 0, clock_b = 0;
      for (int k = 0; k < 200; ++k) {
        const TileOp op = random_read(ha, r.tiles);
        clock_a += static_cast<Ps>(ha() % 40000);
        a->read(op.tile, clock_a, op.rows, op.cols, nullptr);
      }
      for (int k = 0; k < 250; ++k) {
        const TileOp op = random_read(hb, r.tiles);
        clock_b += static_cast<Ps>(hb() % 40000);
        b->read(op.tile, clock_b, op.rows, op.cols, nullptr);
        c->read(op.tile, clock_b, op.rows, op.cols, nullptr);
      }
      const Ps t0 = std::max(clock_a, a->horizon()) + static_cast<Ps>(seed % 2) * 500;
      a->capture_begin();
      std::vector<Ps> out_a, out_c;
      for (const TileOp& op : group)
        out_a.push_back(a->read(op.tile, t0 + op.off, op.rows, op.cols, nullptr));
      TileDelta d;
      ASSERT_TRUE(a->capture_end(t0, &d)) << "kind " << kind;
      for (const TileDelta::Tile& e : d.tiles)
        if (b->tile_slot(e.tile)->next_slot != e.parity) {
          ++flipped;
        } else {
          ++same;
        }
      const Ps t1 = std::max(clock_b, b->horizon()) + static_cast<Ps>(seed % 3) * 300;
      b->apply(d, t1);
      for (const TileOp& op : group)
        out_c.push_back(c->read(op.tile, t1 + op.off, op.rows, op.cols, nullptr));
      for (size_t i = 0; i < out_a.size(); ++i) mismatches += out_c[i] != out_a[i] + (t1 - t0);
      mismatches += tile_state(*b, r) != tile_state(*c, r);
      Ps clock = t1;
      for (int k = 0; k < 300; ++k) {
        const TileOp op = random_read(rng, r.tiles);
        clock += static_cast<Ps>(rng() % 20000);
        mismatches += b->read(op.tile, clock, op.rows, op.cols, nullptr) !=
                      c->read(op.tile, clock, op.rows, op.cols, nullptr);
      }
      mismatches += tile_state(*b, r) != tile_state(*c, r);
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(flipped, 100);
  EXPECT_GT(same, 100);
}

TEST(QuietReplay, TileArrayCaptureAndApplyRefuseWhatTheyCannotReplay) {
  // Banks of two groups (which group a conversion takes depends on the free times before the
  // group): capture_end is false and apply throws. A read before t0, or an array not quiet at
  // t0: false. Apply before the horizon: throws.
  TileRig r = tile_rig(5);
  auto two = r.make();
  two->capture_begin();
  two->read(0, 1000, 10, 10, nullptr);
  TileDelta d;
  EXPECT_FALSE(two->capture_end(1000, &d));
  EXPECT_THROW(two->apply(TileDelta{}, two->horizon()), std::logic_error);

  TileRig p = tile_rig(0);
  auto a = p.make();
  a->read(0, 0, 10, 10, nullptr);
  const Ps h = a->horizon();
  a->capture_begin();
  a->read(1, h, 10, 10, nullptr);
  EXPECT_FALSE(a->capture_end(h + 100000000, &d));  // busy until before t0
  a->capture_begin();
  a->read(1, a->horizon(), 10, 10, nullptr);
  EXPECT_FALSE(a->capture_end(a->horizon() - 1, &d));  // not quiet at t0
  const Ps t0 = a->horizon();
  a->capture_begin();
  a->read(3, t0, 10, 10, nullptr);
  ASSERT_TRUE(a->capture_end(t0, &d));
  EXPECT_THROW(a->apply(d, a->horizon() - 1), std::logic_error);
  const Ps at = a->horizon();
  a->apply(d, at);
  EXPECT_EQ(a->horizon(), at + (at - t0));
}

TEST(QuietReplay, TileArrayTouchHookFiresFirstInEveryReadWhileArmed) {
  TileRig r = tile_rig(0);
  auto a = r.make();
  struct Ctx {
    TileArray* a;
    int calls = 0;
    double reads_seen = -1;
    bool read = false, disarm = false;
  } ctx{a.get()};
  a->set_touch_hook(
      [](void* p) {
        Ctx& c = *static_cast<Ctx*>(p);
        ++c.calls;
        c.reads_seen = c.a->tile_slot(0)->reads;
        if (c.read) c.a->read(1, 0, 1, 1, nullptr);
        if (c.disarm) c.a->arm_touch_hook(false);
      },
      &ctx);
  a->read(0, 0, 1, 1, nullptr);
  EXPECT_EQ(ctx.calls, 0);
  a->arm_touch_hook(true);
  a->read(0, 0, 1, 1, nullptr);
  EXPECT_EQ(ctx.calls, 1);
  EXPECT_EQ(ctx.reads_seen, 1);  // before the read
  ctx.read = true;
  a->read(0, 0, 1, 1, nullptr);
  EXPECT_EQ(ctx.calls, 2);
  EXPECT_EQ(a->tile_slot(1)->reads, 1);
  ctx.read = false;
  ctx.disarm = true;
  a->read(0, 0, 1, 1, nullptr);
  a->read(0, 0, 1, 1, nullptr);
  EXPECT_EQ(ctx.calls, 3);
  EXPECT_FALSE(a->touch_hook_armed());
}

}  // namespace
}  // namespace aimc::arch

// libsystemc asks for sc_main; the modules here are built and never simulated.
int sc_main(int, char**) {
  return 0;
}

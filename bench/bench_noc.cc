// Simulation speed of the mesh, the hot path of a timed run of a large chip (docs/performance.md):
// a layer part's input multicast to its tiles and their partial outputs' unicasts to the DPU,
// on the 64 x 64 mesh of the HERMES-class preset chip (configs/systems/chips/hermes-4k.pbtxt).
// Reported per link reserved (items).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "arch/sc_noc.h"

namespace {

constexpr int kSide = 64;

// Mesh 0 for unicasts and unregistered trees; mesh 1 for the registered tree alone (its links
// untouched by anything else, so that those only it enters are shadowed, as on a chip).
aimc::arch::ScNoc& mesh(int which = 0) {
  aimc::arch::NocSpec s;
  s.mesh_x = kSide;
  s.mesh_y = kSide;
  s.link_width_bits = 256;
  s.hop_latency_cycles = 1;
  static aimc::arch::ScNoc* noc[2] = {new aimc::arch::ScNoc("noc", s),
                                      new aimc::arch::ScNoc("noc_trees", s)};  // one elaboration
  return *noc[which];
}

// 22 destinations spread over the mesh (a row group's tiles), a source near the middle.
std::vector<int> destinations() {
  std::mt19937 rng(3);
  std::vector<int> d;
  for (int k = 0; k < 22; ++k) d.push_back(static_cast<int>(rng() % (kSide * kSide)));
  return d;
}

void BM_MulticastTree(benchmark::State& state) {
  aimc::arch::ScNoc& noc = mesh(static_cast<int>(state.range(0)));
  const std::vector<int> d = destinations();
  const int src = kSide * kSide / 2 + kSide / 2;
  aimc::arch::McTree tree;
  noc.build_tree(src, d.data(), static_cast<int>(d.size()), &tree);
  std::vector<aimc::arch::Ps> arrivals(d.size());
  aimc::arch::ActionCounts c;
  aimc::arch::Ps t = 0;
  for (auto _ : state) {
    if (state.range(0))
      noc.multicast(t, tree, 2048, arrivals.data(), &c);
    else
      noc.multicast(t, src, d.data(), static_cast<int>(d.size()), 2048, arrivals.data(), &c);
    benchmark::DoNotOptimize(arrivals.data());
    t += 100000;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<long long>(tree.hops.size()));
  state.SetLabel(state.range(0) ? "tree built once, registered (shadowed links skipped)"
                                : "tree built per call");
}
BENCHMARK(BM_MulticastTree)->Arg(0)->Arg(1);

void BM_PartialOutputs(benchmark::State& state) {
  // Every destination above sends 4096 bits back to the source (the DPU); with the mesh's exit
  // links (1, the default) or every link reserved as crossed (0).
  aimc::arch::ScNoc& noc = mesh();
  noc.set_exit_links(state.range(0) != 0);
  const std::vector<int> d = destinations();
  const int dpu = kSide * kSide / 2 + kSide / 2;
  long long hops = 0;
  for (int n : d) hops += noc.hops(n, dpu);
  aimc::arch::ActionCounts c;
  aimc::arch::Ps t = 0;
  for (auto _ : state) {
    for (int n : d) benchmark::DoNotOptimize(noc.unicast(t, n, dpu, 4096, &c));
    t += 100000;
  }
  state.SetItemsProcessed(state.iterations() * hops);
  state.SetLabel(state.range(0) ? "exit links" : "link by link");
  noc.set_exit_links(true);
}
BENCHMARK(BM_PartialOutputs)->Arg(0)->Arg(1);

void BM_RowGroupOutputs(benchmark::State& state) {
  // As on the HERMES-class preset: the DPUs in column 32, one per row; 16 rows of tiles (all 63
  // of each row but the DPU's node) read at once, each sending 4096 bits to the DPU of its
  // row, so that each row's links toward column 32 are shared by 32 or 31 transfers at a time.
  // Per link reserved; exit links (1, the default) or every link reserved as crossed (0).
  aimc::arch::NocSpec s;
  s.mesh_x = kSide;
  s.mesh_y = kSide;
  static aimc::arch::ScNoc* noc = new aimc::arch::ScNoc("noc_rows", s);
  noc->set_exit_links(state.range(0) != 0);
  std::vector<std::pair<int, int>> sends;
  long long hops = 0;
  for (int r = 0; r < 16; ++r)
    for (int x = 0; x < kSide; ++x) {
      const int dpu = r * kSide + kSide / 2, tile = r * kSide + x;
      if (tile == dpu) continue;
      sends.emplace_back(tile, dpu);
      hops += noc->hops(tile, dpu);
    }
  aimc::arch::Ps t = 0;
  for (auto _ : state) {
    for (const auto& [tile, dpu] : sends)
      benchmark::DoNotOptimize(noc->unicast(t, tile, dpu, 4096, nullptr));
    t += 100000;
  }
  state.SetItemsProcessed(state.iterations() * hops);
  state.SetLabel(state.range(0) ? "exit links" : "link by link");
  noc->set_exit_links(true);
}
BENCHMARK(BM_RowGroupOutputs)->Arg(0)->Arg(1);

}  // namespace

// libsystemc calls sc_main from its own main(); this program has its own main() and never starts
// the kernel (the mesh's transfers are plain calls).
extern "C" int sc_main(int, char*[]) {
  return 0;
}

BENCHMARK_MAIN();

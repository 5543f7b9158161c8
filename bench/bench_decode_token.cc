// Simulation speed of the timing model: one decode token of a shape-only Llama-3.2-1B on a
// HERMES-like chip large enough to hold all its linear layers (goal: at most 20 ms of wall time
// per simulated decode token on the 2-core reference machine; docs/performance.md).
//
// Each iteration forks a child (sim::simulate, one SystemC elaboration per process) that
// prefills one token and decodes kDecode tokens; the iteration time reported is the child's
// wall time per decode token (elaboration and prefill excluded).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "mapping/mapper.h"
#include "proto/chip_config_io.h"
#include "sim/chip/timing_run.h"
#include "sim/report/sim_report.h"
#include "workloads/shape_cards.h"

namespace {

constexpr int kDecode = 8;

// The source tree: this file's folder's parent (bench/CMakeLists.txt defines no source path).
std::string source_dir() {
  std::string f = __FILE__;
  const size_t cut = f.rfind("/bench/");
  return cut == std::string::npos ? std::string(".") : f.substr(0, cut);
}

// configs/hermes.pbtxt grown to the smallest square mesh of tiles that holds every linear layer
// including lm_head (138 x 138 for Llama-3.2-1B), with 64 DPUs and 64 MiB of KV SRAM.
aimc::proto::ChipConfig big_hermes(const aimc::workloads::ModelConfig& model) {
  aimc::proto::ChipConfig c = aimc::proto::load_chip_config(source_dir() + "/configs/hermes.pbtxt");
  c.mutable_mapping()->set_lm_head_on_tiles(true);  // the whole model on tiles
  const long long need = aimc::mapping::tiles_needed(model, c);
  const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(need))));
  c.set_name("hermes-" + std::to_string(side * side));
  c.mutable_tile()->set_count(side * side);
  c.mutable_noc()->set_mesh_x(side);
  c.mutable_noc()->set_mesh_y(side);
  c.mutable_dpu()->set_count(64);
  c.mutable_memory()->set_kv_sram_bytes(64ull << 20);
  return c;
}

void BM_DecodeToken(benchmark::State& state) {
  const aimc::workloads::ModelConfig model = aimc::workloads::shape_card("llama-3.2-1b");
  const aimc::proto::ChipConfig chip = big_hermes(model);
  const aimc::proto::MappingPlan plan = aimc::mapping::make_plan(model, chip, "dense");
  aimc::sim::SimOptions o;
  o.prompt_tokens = 1;
  o.decode_tokens = kDecode;
  aimc::proto::SimReport r;
  for (auto _ : state) {
    r = aimc::sim::simulate(chip, model, plan, o);
    state.SetIterationTime(r.wall_s_per_decode_token());
  }
  if (std::getenv("AIMC_BENCH_SUMMARY")) std::printf("%s", aimc::sim::format_summary(r).c_str());
  state.counters["tiles"] = chip.tile().count();
  state.counters["wall_ms_per_token"] = r.wall_s_per_decode_token() * 1e3;
  state.counters["cpu_ms_per_token"] = r.cpu_s_per_decode_token() * 1e3;
  state.counters["sim_decode_us_per_token"] = r.decode_latency_ns() * 1e-3;
  state.counters["tile_reads_per_wall_s"] = r.tile_reads_per_wall_s();
  state.counters["decode_uJ_per_token"] = r.decode().total_nj_per_token() * 1e-3;
}
BENCHMARK(BM_DecodeToken)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

// Statistics of a batch (latency percentiles, KV-cache capacity, bottleneck of the decode phase)
// and of a serving run's requests.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "arch/energy_model.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/timed_run.h"

namespace aimc::sim::detail {
namespace {

// Nearest-rank percentile (p in 0..100) of `v`; 0 when empty.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

// The most sequences of `positions` positions whose KV caches every chip holds (each chip the
// KV of its own blocks, beside the weights its DRAM streams); 0 = unbounded.
long long run_max_batch(const Run& run, int positions, std::string* limit) {
  const workloads::ModelConfig& model = *run.model;
  if (!run.multi())
    return max_batch(run.config(), model, positions, run.options->dram_capacity_bytes,
                     dram_weight_bytes(run.config(), model), limit);
  return system_max_batch(*run.system, *run.chip_plans, model, positions, limit);
}

}  // namespace

void report_kv_and_batch(const Run& run, const Phases& ph, proto::SimReport* r) {
  const Controller& ctl = *run.ctl;
  proto::KvPlacement* kv = r->mutable_kv_cache();
  const long long positions = ph.P + ph.D;
  kv->set_bytes_per_token(ctl.kv_bytes_per_token());
  const long long sram_positions = ctl.kv_sram_tokens_per_sequence();
  kv->set_sram_capacity_tokens(sram_positions);
  kv->set_first_dram_token(positions > sram_positions ? sram_positions : -1);
  kv->set_tokens_in_sram(std::min(positions, sram_positions));
  kv->set_tokens_in_dram(std::max(0LL, positions - sram_positions));
  if (ph.B <= 1) return;
  const std::vector<TokenRecord>& tok = ctl.tokens();
  const int B = ph.B, N = ph.N, P = ph.P, D = ph.D;
  proto::BatchReport* br = r->mutable_batch();
  br->set_batch(static_cast<uint32_t>(B));
  const double decode_s = static_cast<double>(ph.total - ph.prefill_end) * 1e-12;
  br->set_decode_tokens_per_s(decode_s > 0 ? B * D / decode_s : 0);
  std::vector<double> ttfts, tpots;
  for (int seq = 0; seq < B; ++seq) {
    Ps last = tok[seq * N + P - 1].end;
    ttfts.push_back(last * 1e-3);
    for (int k = 0; k < D; ++k) {
      const Ps end = tok[seq * N + P + k].end;
      tpots.push_back((end - last) * 1e-3);
      last = end;
    }
  }
  br->set_ttft_p50_ns(percentile(ttfts, 50));
  br->set_ttft_p90_ns(percentile(ttfts, 90));
  br->set_ttft_p99_ns(percentile(ttfts, 99));
  br->set_tpot_p50_ns(percentile(tpots, 50));
  br->set_tpot_p90_ns(percentile(tpots, 90));
  br->set_tpot_p99_ns(percentile(tpots, 99));
  double sum_tpot = 0;
  for (double v : tpots) sum_tpot += v;
  br->set_tpot_mean_ns(tpots.empty() ? 0 : sum_tpot / tpots.size());
  br->set_kv_bytes_per_sequence(static_cast<double>(ctl.kv_bytes_per_token()) * N);
  std::string limit;
  br->set_max_batch(static_cast<uint64_t>(run_max_batch(run, N, &limit)));
  br->set_batch_limit(limit);
  br->set_kv_sram_positions_per_sequence(static_cast<uint64_t>(sram_positions));
  const auto top = busiest(run, static_cast<double>(ph.total - ph.prefill_end), true);
  br->set_bottleneck(top.first);
  br->set_bottleneck_utilization(top.second);
}

namespace {

// Energy of the whole run (every phase's dynamic energy and all leakage), in pJ.
double run_energy_pj(const Run& run, const Phases& ph) {
  double pj = 0;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    arch::ActionCounts all = run.ctl->chip_counts(0, chip);
    all += run.ctl->chip_counts(1, chip);
    pj += arch::price(all, energy_spec(run.config(chip)), chip_leakage(run, chip), ph.total * 1e-12)
              .total_pj();
  }
  if (run.multi()) {
    const proto::ChipLinkConfig& lc = run.system->links();
    pj += (run.ctl->link_bit_hops(0) + run.ctl->link_bit_hops(1)) * lc.e_pj_per_bit() +
          lc.p_port_static_mw() * 1e-3 * static_cast<double>(run.chips.size()) *
              (ph.total * 1e-12) * 1e12;
  }
  return pj;
}

}  // namespace

void report_requests(const Run& run, const Phases& ph, proto::SimReport* r) {
  const SimOptions& options = *run.options;
  const Controller& ctl = *run.ctl;
  const std::vector<TokenRecord>& tok = ctl.tokens();
  proto::RequestReport* rr = r->mutable_requests();
  const int n = ctl.sequences();
  rr->set_requests(static_cast<uint32_t>(n));
  rr->set_max_batch(static_cast<uint32_t>(options.max_batch));
  rr->set_policy(
      "continuous batching, first come first served admission, prefill and decode "
      "tokens interleaved as their steps become ready");
  const double first_arrival = options.requests.front().arrival_ns;
  double last = 0, latency = 0, wait = 0, outputs = 0;
  std::vector<double> ttfts, tpots;
  std::vector<std::pair<double, int>> events;  // (time, +1 arrival / -1 departure)
  for (int q = 0; q < n; ++q) {
    const SimOptions::Request& req = options.requests[q];
    const double first_token =
        tok[ctl.sequence_first_token(q) + ctl.sequence_prompt(q) - 1].end * 1e-3;
    const double done = ctl.finished()[q] * 1e-3;
    proto::RequestTiming* t = rr->add_timings();
    t->set_arrival_ns(req.arrival_ns);
    t->set_admitted_ns(ctl.admitted()[q] * 1e-3);
    t->set_first_token_ns(first_token);
    t->set_finished_ns(done);
    t->set_prompt_tokens(static_cast<uint32_t>(req.prompt_tokens));
    t->set_decode_tokens(static_cast<uint32_t>(req.decode_tokens));
    ttfts.push_back(first_token - req.arrival_ns);
    if (req.decode_tokens > 0) tpots.push_back((done - first_token) / req.decode_tokens);
    latency += done - req.arrival_ns;
    wait += std::max(0.0, ctl.admitted()[q] * 1e-3 - req.arrival_ns);  // ps rounding
    outputs += req.decode_tokens + 1;
    last = std::max(last, done);
    events.push_back({req.arrival_ns, +1});
    events.push_back({done, -1});
  }
  const double makespan = last - first_arrival;
  rr->set_makespan_ns(makespan);
  rr->set_output_tokens_per_s(makespan > 0 ? outputs / (makespan * 1e-9) : 0);
  rr->set_ttft_p50_ns(percentile(ttfts, 50));
  rr->set_ttft_p90_ns(percentile(ttfts, 90));
  rr->set_ttft_p99_ns(percentile(ttfts, 99));
  rr->set_tpot_p50_ns(percentile(tpots, 50));
  rr->set_tpot_p90_ns(percentile(tpots, 90));
  rr->set_tpot_p99_ns(percentile(tpots, 99));
  rr->set_latency_mean_ns(latency / n);
  rr->set_wait_mean_ns(wait / n);
  // Time average of the requests in the system, from the arrival and departure events.
  std::sort(events.begin(), events.end());
  double area = 0, at = first_arrival;
  int in_system = 0;
  for (const auto& [time, delta] : events) {
    area += in_system * (time - at);
    at = time;
    in_system += delta;
  }
  rr->set_mean_in_system(makespan > 0 ? area / makespan : 0);
  rr->set_completed_requests_per_s(makespan > 0 ? n / (makespan * 1e-9) : 0);
  const double arrivals_ns = options.requests.back().arrival_ns - first_arrival;
  rr->set_offered_requests_per_s(arrivals_ns > 0 ? (n - 1) / (arrivals_ns * 1e-9) : 0);
  rr->set_nj_per_output_token(outputs > 0 ? run_energy_pj(run, ph) * 1e-3 / outputs : 0);
  const auto top = busiest(run, static_cast<double>(ph.total), false);
  rr->set_bottleneck(top.first);
  rr->set_bottleneck_utilization(top.second);
}

}  // namespace aimc::sim::detail

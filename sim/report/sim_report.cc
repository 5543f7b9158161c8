// SimReport as JSON and as a summary table.
#include "sim/report/sim_report.h"
#include "sim/report/text_lines.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace aimc::sim {
namespace {

void line(std::string* out, const std::string& name, const std::string& value) {
  aligned_line(out, name, value, 28);
}

void phase(std::string* out, const char* title, const proto::PhaseEnergy& p, int top) {
  *out += std::string(title) + " (" + std::to_string(p.tokens()) + " tokens)\n";
  line(out, "energy per token", fmt("%.4g uJ", p.total_nj_per_token() * 1e-3));
  line(out, "TOPS / TOPS/W", fmt("%.4g", p.tops()) + " / " + fmt("%.4g", p.tops_per_w()));
  const double total = std::max(p.total_nj_per_token(), 1e-30);
  for (const proto::EnergyEntry& e : p.by_component())
    if (e.nj_per_token() > 0)
      line(out, "  " + e.name(),
           fmt("%10.4g nJ", e.nj_per_token()) + fmt("  %5.1f %%", 100 * e.nj_per_token() / total));
  std::vector<proto::EnergyEntry> layers(p.by_layer().begin(), p.by_layer().end());
  std::sort(layers.begin(), layers.end(),
            [](const auto& a, const auto& b) { return a.nj_per_token() > b.nj_per_token(); });
  *out += "  top layers (dynamic energy per token)\n";
  for (int i = 0; i < top && i < static_cast<int>(layers.size()); ++i)
    if (layers[i].nj_per_token() > 0)
      line(out, "  " + layers[i].name(), fmt("%10.4g nJ", layers[i].nj_per_token()));
}

// "NAME  p50 / p90 / p99 us" from three times in ns.
void percentiles(std::string* out, const std::string& name, double p50_ns, double p90_ns,
                 double p99_ns) {
  line(out, name,
       fmt("%.4g", p50_ns * 1e-3) + " / " + fmt("%.4g", p90_ns * 1e-3) + " / " +
           fmt("%.4g us", p99_ns * 1e-3));
}

void utilization(std::string* out, const proto::Utilization& u) {
  *out += "utilization\n";
  line(out, "tiles / ADCs",
       fmt("%.3g %%", 100 * u.tiles()) + " / " + fmt("%.3g %%", 100 * u.adcs()));
  line(out, "DPUs / links",
       fmt("%.3g %%", 100 * u.dpus()) + " / " + fmt("%.3g %%", 100 * u.links()));
  line(out, "KV SRAM / DRAM",
       fmt("%.3g %%", 100 * u.kv_sram()) + " / " + fmt("%.3g %%", 100 * u.dram()));
}

void kv_cache(std::string* out, const proto::KvPlacement& kv) {
  *out += "KV cache\n";
  line(out, "bytes per token", fmt("%.0f", static_cast<double>(kv.bytes_per_token())));
  line(out, "SRAM capacity", fmt("%.0f tokens", static_cast<double>(kv.sram_capacity_tokens())));
  line(out, "spills to DRAM from token",
       kv.first_dram_token() < 0 ? std::string("never")
                                 : fmt("%.0f", static_cast<double>(kv.first_dram_token())));
}

void batch(std::string* out, const proto::BatchReport& b) {
  *out += "batch of " + std::to_string(b.batch()) +
          " sequences (static batching: all prefills, then decode together; figures above "
          "are sequence 0's, energies per token of any sequence)\n";
  line(out, "decode throughput (batch)", fmt("%.4g tokens/s", b.decode_tokens_per_s()));
  percentiles(out, "TTFT p50 / p90 / p99", b.ttft_p50_ns(), b.ttft_p90_ns(), b.ttft_p99_ns());
  percentiles(out, "TPOT p50 / p90 / p99", b.tpot_p50_ns(), b.tpot_p90_ns(), b.tpot_p99_ns());
  line(out, "bottleneck",
       b.bottleneck() + fmt(" (%.3g %% busy)", 100 * b.bottleneck_utilization()));
  line(out, "KV positions per sequence in SRAM",
       fmt("%.0f", static_cast<double>(b.kv_sram_positions_per_sequence())));
  line(out, "batch limit", b.batch_limit());
}

void requests(std::string* out, const proto::RequestReport& q) {
  *out += std::to_string(q.requests()) + " requests, " + q.policy() + ", at most " +
          std::to_string(q.max_batch()) + " in flight (figures above are request 0's)\n";
  line(out, "makespan", fmt("%.4g us", q.makespan_ns() * 1e-3));
  line(out, "offered / completed requests",
       fmt("%.4g", q.offered_requests_per_s()) + " / " +
           fmt("%.4g requests/s", q.completed_requests_per_s()));
  line(out, "output throughput", fmt("%.4g tokens/s", q.output_tokens_per_s()));
  percentiles(out, "TTFT p50 / p90 / p99", q.ttft_p50_ns(), q.ttft_p90_ns(), q.ttft_p99_ns());
  percentiles(out, "TPOT p50 / p90 / p99", q.tpot_p50_ns(), q.tpot_p90_ns(), q.tpot_p99_ns());
  line(out, "mean latency / wait",
       fmt("%.4g", q.latency_mean_ns() * 1e-3) + " / " + fmt("%.4g us", q.wait_mean_ns() * 1e-3));
  line(out, "mean requests in system", fmt("%.4g", q.mean_in_system()));
  line(out, "energy per output token", fmt("%.4g nJ", q.nj_per_output_token()));
  line(out, "bottleneck",
       q.bottleneck() + fmt(" (%.3g %% busy)", 100 * q.bottleneck_utilization()));
}

void datasheet(std::string* out, const proto::ChipDatasheet& d) {
  *out += "chip datasheet (peak workload simulated; aimcsim peak for the whole sheet)\n";
  line(out, "TOPS / TOPS/W / TOPS/mm2",
       fmt("%.4g", d.tops()) + " / " + fmt("%.4g", d.tops_per_w()) + " / " +
           fmt("%.4g", d.tops_per_mm2()));
  line(out, "power / area", fmt("%.4g W", d.power_w()) + " / " + fmt("%.4g mm2", d.area_mm2()));
  line(out, "read interval",
       fmt("%.4g ns", d.read().simulated_ns()) + ", bound by " + d.read().bound());
}

// A system run: per chip (stage, tiles, busy tiles, energy, busiest part), the links that
// carried data, the link energy and the bottleneck.
void system_block(std::string* out, const proto::SystemReport& s) {
  *out += "system of " + std::to_string(s.chips()) + " chips in " + std::to_string(s.stages()) +
          " pipeline stages (figures above are of the whole system, links included)\n";
  line(out, "bottleneck",
       s.bottleneck() + fmt(" (%.3g %% busy)", 100 * s.bottleneck_utilization()));
  line(out, "link energy (run)",
       fmt("%.4g nJ", s.link_energy_nj()) +
           fmt(" (%.4g bit-hops)", s.prefill_link_bit_hops() + s.decode_link_bit_hops()));
  *out += "  chip  stage  tiles  tile util  energy (run)  busiest\n";
  for (const proto::ChipUsage& c : s.chip_usage())
    *out += fmt("  %4.0f", static_cast<double>(c.chip())) +
            fmt("  %5.0f", static_cast<double>(c.stage())) +
            fmt("  %5.0f", static_cast<double>(c.tiles_used())) +
            fmt("  %7.3g %%", 100 * c.utilization().tiles()) +
            fmt("  %9.4g nJ", c.dynamic_nj() + c.leakage_nj()) + "  " + c.busiest() +
            fmt(" (%.3g %%)", 100 * c.busiest_utilization()) + "\n";
  double busiest = 0;
  std::string name = "none";
  for (const proto::LinkUsage& l : s.links())
    if (l.utilization() > busiest) busiest = l.utilization(), name = l.name();
  line(out, "links used / busiest",
       std::to_string(s.links_size()) + " / " + name + fmt(" (%.3g %% busy)", 100 * busiest));
}

}  // namespace

std::string report_to_json(const google::protobuf::Message& report) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(report, &out, o);
  return out;
}

std::string format_summary(const proto::SimReport& r, int top) {
  std::string out;
  out += "model " + r.model() + (r.has_system() ? " on system " : " on chip ") + r.chip() + ": " +
         std::to_string(r.prompt_tokens()) + " prompt + " + std::to_string(r.decode_tokens()) +
         " decode tokens\n";
  line(&out, "time to first token", fmt("%.4g us", r.ttft_ns() * 1e-3));
  line(&out, "decode latency", fmt("%.4g us/token", r.decode_latency_ns() * 1e-3));
  line(&out, "decode throughput", fmt("%.4g tokens/s", r.decode_tokens_per_s()));
  line(&out, "simulated time", fmt("%.4g us", r.total_time_ns() * 1e-3));
  phase(&out, "prefill", r.prefill(), top);
  phase(&out, "decode", r.decode(), top);
  utilization(&out, r.utilization());
  kv_cache(&out, r.kv_cache());
  if (r.has_batch()) batch(&out, r.batch());
  if (r.has_requests()) requests(&out, r.requests());
  if (r.has_system()) system_block(&out, r.system());
  if (r.has_host_link()) {
    const proto::HostLinkUsage& h = r.host_link();
    line(&out, "host link in / out",
         fmt("%.4g B", h.bytes_in()) + fmt(" (%.3g %% busy)", 100 * h.utilization_in()) + " / " +
             fmt("%.4g B", h.bytes_out()) + fmt(" (%.3g %% busy)", 100 * h.utilization_out()) +
             fmt(", %.4g nJ", h.energy_nj()));
  }
  out += "weight programming (once, not in the figures above)\n";
  line(&out, "cells / time / energy",
       fmt("%.4g", r.programming().cells()) + " / " + fmt("%.4g s", r.programming().time_s()) +
           " / " + fmt("%.4g uJ", r.programming().energy_uj()));
  if (r.has_datasheet()) datasheet(&out, r.datasheet());
  out += "simulation\n";
  line(&out, "wall time", fmt("%.4g s", r.wall_s()));
  line(&out, "wall per decode token", fmt("%.4g ms", r.wall_s_per_decode_token() * 1e3));
  line(&out, "tile reads per wall second", fmt("%.4g", r.tile_reads_per_wall_s()));
  return out;
}

proto::BatchCurvePoint batch_curve_point(const proto::SimReport& r) {
  proto::BatchCurvePoint p;
  if (r.has_batch()) {
    const proto::BatchReport& b = r.batch();
    p.set_batch(b.batch());
    p.set_decode_tokens_per_s(b.decode_tokens_per_s());
    p.set_ttft_p50_ns(b.ttft_p50_ns());
    p.set_tpot_p50_ns(b.tpot_p50_ns());
    p.set_tpot_p90_ns(b.tpot_p90_ns());
    p.set_tpot_p99_ns(b.tpot_p99_ns());
    p.set_bottleneck(b.bottleneck());
  } else {
    std::vector<double> v(r.decode_token_latency_ns().begin(), r.decode_token_latency_ns().end());
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) {
      if (v.empty()) return 0.0;
      const size_t rank = static_cast<size_t>(std::ceil(q / 100.0 * static_cast<double>(v.size())));
      return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
    };
    p.set_batch(1);
    p.set_decode_tokens_per_s(r.decode_tokens_per_s());
    p.set_ttft_p50_ns(r.ttft_ns());
    p.set_tpot_p50_ns(pct(50));
    p.set_tpot_p90_ns(pct(90));
    p.set_tpot_p99_ns(pct(99));
  }
  p.set_decode_nj_per_token(r.decode().total_nj_per_token());
  double leak = 0;
  for (const proto::EnergyEntry& e : r.decode().by_component())
    if (e.name().find("leakage") != std::string::npos || e.name() == "chip_static")
      leak += e.nj_per_token();
  p.set_decode_leakage_nj_per_token(leak);
  return p;
}

std::string format_batch_curve(const proto::SimReport& r) {
  if (r.batch_curve_size() == 0) return "";
  std::vector<std::vector<std::string>> rows = {{"batch", "decode tokens/s", "TPOT p50 us",
                                                 "TPOT p90 us", "decode nJ/token", "of it leakage",
                                                 "bottleneck"}};
  for (const proto::BatchCurvePoint& p : r.batch_curve()) {
    rows.push_back({std::to_string(p.batch()), fmt("%.4g", p.decode_tokens_per_s()),
                    fmt("%.4g", p.tpot_p50_ns() * 1e-3), fmt("%.4g", p.tpot_p90_ns() * 1e-3),
                    fmt("%.4g", p.decode_nj_per_token()),
                    fmt("%.4g", p.decode_leakage_nj_per_token()), p.bottleneck()});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out = "batch curve (time and energy only):\n";
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c)
      line += " " + row[c] + std::string(width[c] - row[c].size() + 1, ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace aimc::sim

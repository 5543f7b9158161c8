// report.html: headline figures and five SVG charts of one run (chart primitives in
// sim/report/charts.h).
#include "sim/report/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace aimc::sim {

namespace {

using html::escape;
using html::num;

std::string card(const std::string& value, const std::string& key) {
  return "<div class=\"card\"><div class=\"v\">" + escape(value) + "</div><div class=\"k\">" +
         escape(key) + "</div></div>\n";
}

// A time in the unit that keeps it readable.
std::string time_text(double ns) {
  if (ns >= 1e6) return num(ns * 1e-6) + " ms";
  if (ns >= 1e3) return num(ns * 1e-3) + " us";
  return num(ns) + " ns";
}

// Energy per component, prefill and decode side by side (components with energy only).
std::string energy_by_component(const proto::SimReport& r) {
  html::BarChart c;
  c.title = "Energy per token by component";
  c.value_label = "energy per token (nJ)";
  c.series = {"prefill", "decode"};
  std::vector<std::string> names;
  std::map<std::string, std::vector<double>> values;
  for (int phase = 0; phase < 2; ++phase) {
    const proto::PhaseEnergy& p = phase == 0 ? r.prefill() : r.decode();
    for (const proto::EnergyEntry& e : p.by_component()) {
      if (!values.count(e.name())) {
        names.push_back(e.name());
        values[e.name()] = {0, 0};
      }
      values[e.name()][static_cast<size_t>(phase)] = e.nj_per_token();
    }
  }
  for (const std::string& n : names) {
    if (values[n][0] > 0 || values[n][1] > 0) {
      c.labels.push_back(n);
      c.values.push_back(values[n]);
    }
  }
  return html::svg_bar_chart(c);
}

// The chip datasheet: power at peak and area by component kind, and its figures.
std::string datasheet_panels(const proto::ChipDatasheet& d) {
  html::BarChart power;
  power.title = "Power at peak by component";
  power.value_label = "power (mW)";
  power.series = {"chip"};
  for (const proto::PowerEntry& e : d.power_by_component()) {
    if (e.mw() <= 0) continue;
    power.labels.push_back(e.name());
    power.values.push_back({e.mw()});
  }
  html::BarChart area;
  area.title = "Area by component";
  area.value_label = "area (mm2)";
  area.series = {"chip"};
  for (const proto::AreaEntry& e : d.area_by_component()) {
    if (e.mm2() <= 0) continue;
    area.labels.push_back(e.name());
    area.values.push_back({e.mm2()});
  }
  if (d.area_overhead_mm2() > 0) {
    area.labels.push_back("overhead");
    area.values.push_back({d.area_overhead_mm2()});
  }
  if (d.area_other_mm2() > 0) {
    area.labels.push_back("other");
    area.values.push_back({d.area_other_mm2()});
  }
  const proto::ReadInterval& rd = d.read();
  std::string t = "<table><tr><th class=\"l\">figure</th><th>chip</th><th>one tile</th></tr>\n";
  t += "<tr><td class=\"l\">TOPS</td><td>" + html::num(d.tops()) + "</td><td>" +
       html::num(d.tile_tops()) + "</td></tr>\n";
  t += "<tr><td class=\"l\">power</td><td>" + html::num(d.power_w()) + " W</td><td>" +
       html::num(d.tile_power_mw()) + " mW</td></tr>\n";
  t += "<tr><td class=\"l\">TOPS/W</td><td>" + html::num(d.tops_per_w()) + "</td><td>" +
       html::num(d.tile_tops_per_w()) + "</td></tr>\n";
  t += "<tr><td class=\"l\">area</td><td>" + html::num(d.area_mm2()) + " mm2</td><td>" +
       html::num(d.tile_area_mm2()) + " mm2</td></tr>\n";
  t += "<tr><td class=\"l\">TOPS/mm2</td><td>" + html::num(d.tops_per_mm2()) + "</td><td>" +
       html::num(d.tile_tops_per_mm2()) + "</td></tr>\n</table>";
  t += "<p class=\"note\">Peak workload simulated: " + std::to_string(d.reads_per_tile()) +
       " back-to-back reads per tile. Read interval " + html::num(rd.simulated_ns()) +
       " ns (integration side " + html::num(rd.integration_ns()) + " ns, conversion side " +
       html::num(rd.conversion_ns()) + " ns), bound by " + html::escape(rd.bound()) + ".</p>";
  return "<div class=\"grid\"><div class=\"panel\">" + html::svg_bar_chart(power) +
         "</div><div class=\"panel\">" + html::svg_bar_chart(area) + "</div><div>" + t +
         "</div></div>\n";
}

// The `top` layers by decode energy, prefill and decode side by side.
std::string energy_by_layer(const proto::SimReport& r, int top) {
  std::map<std::string, std::vector<double>> values;
  for (const auto& e : r.prefill().by_layer())
    values[e.name()].resize(2), values[e.name()][0] = e.nj_per_token();
  for (const auto& e : r.decode().by_layer())
    values[e.name()].resize(2), values[e.name()][1] = e.nj_per_token();
  std::vector<std::pair<std::string, std::vector<double>>> rows(values.begin(), values.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second[1] + 1e-9 * a.second[0] > b.second[1] + 1e-9 * b.second[0];
  });
  html::BarChart c;
  c.title = "Dynamic energy per token by layer (top " + std::to_string(top) + " by decode)";
  c.value_label = "dynamic energy per token (nJ)";
  c.series = {"prefill", "decode"};
  for (int i = 0; i < top && i < static_cast<int>(rows.size()); ++i) {
    c.labels.push_back(rows[static_cast<size_t>(i)].first);
    c.values.push_back(rows[static_cast<size_t>(i)].second);
  }
  return html::svg_bar_chart(c);
}

// The run's timeline as one stacked bar (prefill up to TTFT, then the decode), and each
// decode token's latency over its position.
std::string latency_breakdown(const proto::SimReport& r) {
  const double total = std::max(r.total_time_ns(), r.ttft_ns());
  const double decode = std::max(0.0, total - r.ttft_ns());
  const int width = 640, height = 120;
  const double left = 20, w = width - 40, top = 44, bar_h = 30;
  std::string s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  std::to_string(width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" role=\"img\" aria-label=\"latency breakdown\">\n"
                  "<text class=\"title\" x=\"8\" y=\"18\">Latency breakdown: time to first token "
                  "vs decode (simulated time)</text>\n";
  const double wp = total > 0 ? w * r.ttft_ns() / total : 0;
  s += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(top) + "\" width=\"" +
       num(wp) + "\" height=\"" + std::to_string(bar_h) + "\" fill=\"" + html::colour(0) +
       "\"><title>prefill (TTFT) " + time_text(r.ttft_ns()) + "</title></rect>";
  s += "<rect x=\"" + num(left + wp) + "\" y=\"" + std::to_string(top) + "\" width=\"" +
       num(w - wp) + "\" height=\"" + std::to_string(bar_h) + "\" fill=\"" + html::colour(1) +
       "\"><title>decode " + time_text(decode) + "</title></rect>\n";
  s += "<text class=\"small\" x=\"" + num(left) + "\" y=\"" + num(top + bar_h + 16) +
       "\">0</text><text class=\"small\" text-anchor=\"end\" x=\"" + num(left + w) + "\" y=\"" +
       num(top + bar_h + 16) + "\">" + time_text(total) + " total</text>\n";
  const double legend_y = top + bar_h + 40;
  s += "<rect x=\"20\" y=\"" + num(legend_y - 10) + "\" width=\"12\" height=\"12\" fill=\"" +
       html::colour(0) + "\"/><text class=\"legend\" x=\"38\" y=\"" + num(legend_y) +
       "\">prefill of " + std::to_string(r.prompt_tokens()) + " tokens (TTFT " +
       time_text(r.ttft_ns()) + ")</text>";
  s += "<rect x=\"330\" y=\"" + num(legend_y - 10) + "\" width=\"12\" height=\"12\" fill=\"" +
       html::colour(1) + "\"/><text class=\"legend\" x=\"348\" y=\"" + num(legend_y) +
       "\">decode of " + std::to_string(r.decode_tokens()) + " tokens (" + time_text(decode) +
       ")</text>\n</svg>\n";

  html::XyChart c;
  c.title = "Decode latency per token over position";
  c.x_label = "decode token position (prompt tokens + i)";
  c.y_label = "latency (us)";
  c.integer_x = true;
  html::XySeries se;
  se.name = "latency of each decode token";
  se.colour = html::colour(1);
  se.line = true;
  se.markers = r.decode_token_latency_ns_size() <= 64;
  for (int i = 0; i < r.decode_token_latency_ns_size(); ++i) {
    se.x.push_back(r.prompt_tokens() + i);
    se.y.push_back(r.decode_token_latency_ns(i) * 1e-3);
  }
  c.series.push_back(se);
  c.refs.push_back({"mean", r.decode_latency_ns() * 1e-3, html::colour(6), true});
  return s + "</div><div class=\"panel\">" + html::svg_xy_chart(c);
}

const proto::AccuracyRow* find_row(const proto::AccuracyReport& a, const std::string& backend) {
  for (const proto::AccuracyRow& row : a.rows())
    if (row.backend() == backend) return &row;
  return nullptr;
}

// Perplexity of every chip instance, their mean and +-1 std, and the FP32 and W4A8 lines.
std::string accuracy_spread(const proto::AccuracyReport& a) {
  const proto::AccuracyRow* analog = find_row(a, "analog");
  const proto::AccuracyRow* fp32 = find_row(a, "FP32");
  const proto::AccuracyRow* w4a8 = find_row(a, "W4A8");
  html::XyChart c;
  c.title = "Accuracy spread over chip instances (perplexity, lower is better)";
  c.x_label = "chip instance (index of its noise seed)";
  c.y_label = "perplexity";
  c.integer_x = true;
  if (analog != nullptr) {
    html::XySeries se;
    se.name = "analog, one per seed";
    se.colour = html::colour(0);
    for (int i = 0; i < analog->run_perplexity_size(); ++i) {
      se.x.push_back(i);
      se.y.push_back(analog->run_perplexity(i));
      se.tooltips.push_back(
          "chip instance " + std::to_string(i) +
          (i < analog->seeds_size() ? " (seed " + std::to_string(analog->seeds(i)) + ")" : "") +
          ": perplexity " + num(analog->run_perplexity(i)));
    }
    c.series.push_back(se);
    const double m = analog->perplexity().mean(), sd = analog->perplexity().std();
    c.refs.push_back({"analog mean", m, html::colour(0), false});
    if (sd > 0) {
      c.refs.push_back({"mean + std", m + sd, "#9db4d6", true});
      c.refs.push_back({"mean - std", m - sd, "#9db4d6", true});
    }
  }
  if (fp32 != nullptr) c.refs.push_back({"FP32", fp32->perplexity().mean(), html::colour(2), true});
  if (w4a8 != nullptr) c.refs.push_back({"W4A8", w4a8->perplexity().mean(), html::colour(5), true});
  return html::svg_xy_chart(c);
}

// White (0) to dark blue (1): the colour of a tile's cell utilization.
std::string shade(double u) {
  const double v = std::clamp(u, 0.0, 1.0);
  const int rr = static_cast<int>(247 - v * (247 - 33));
  const int gg = static_cast<int>(251 - v * (251 - 81));
  const int bb = static_cast<int>(255 - v * (255 - 140));
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rr, gg, bb);
  return std::string(buf);
}

// The mesh of the heat map: its size, and per node the summed cell utilization of the blocks
// placed on its tile (-1: no tile there) and the layers they belong to.
struct MeshCells {
  int mx = 1, my = 1;
  std::vector<double> util;
  std::vector<std::string> layers_of;
};

MeshCells mesh_cells(const proto::SimReport& r, const proto::MappingPlan& plan) {
  MeshCells m;
  m.mx = static_cast<int>(std::max(1u, plan.mesh_x()));
  m.my = static_cast<int>(std::max(1u, plan.mesh_y()));
  const int nodes = m.mx * m.my;
  const int tiles =
      r.has_resolved_config() ? static_cast<int>(r.resolved_config().tile().count()) : nodes;
  m.util.assign(static_cast<size_t>(nodes), -1);
  for (int t = 0; t < tiles && t < nodes; ++t) m.util[static_cast<size_t>(t)] = 0;
  m.layers_of.resize(static_cast<size_t>(nodes));
  for (const proto::BlockPlacement& b : plan.blocks()) {
    if (b.tile() >= m.util.size()) continue;
    m.util[b.tile()] = std::max(0.0, m.util[b.tile()]) + b.cell_utilization();
    if (m.layers_of[b.tile()].size() < 120) m.layers_of[b.tile()] += " " + b.layer();
  }
  return m;
}

// One square per mesh node, shaded by its tile's cell utilization, with a tooltip.
std::string mesh_squares(const MeshCells& m, double left, double top, double cell) {
  std::string s;
  const bool outline = cell >= 8;
  for (int y = 0; y < m.my; ++y) {
    for (int x = 0; x < m.mx; ++x) {
      const int node = y * m.mx + x;
      const double u = m.util[static_cast<size_t>(node)];
      const std::string fill = u < 0 ? "#d9d9d9" : shade(u);
      s += "<rect x=\"" + num(left + x * cell) + "\" y=\"" + num(top + y * cell) + "\" width=\"" +
           num(cell) + "\" height=\"" + num(cell) + "\" fill=\"" + fill + "\"" +
           (outline ? " stroke=\"#fff\" stroke-width=\"1\"" : "") + "><title>node " +
           std::to_string(node) + " (" + std::to_string(x) + "," + std::to_string(y) + "): " +
           (u < 0 ? std::string("no tile")
                  : "tile " + std::to_string(node) + ", " + num(100 * u) + " % of cells" +
                        escape(m.layers_of[static_cast<size_t>(node)])) +
           "</title></rect>";
      if (outline || x == m.mx - 1) s += "\n";
    }
  }
  return s;
}

// The heat map's legend at x = lx: the colour scale and the special nodes.
std::string heat_map_legend(double lx, double top) {
  std::string s =
      "<defs><linearGradient id=\"util-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
      "<stop offset=\"0\" stop-color=\"" +
      shade(0) + "\"/><stop offset=\"1\" stop-color=\"" + shade(1) + "\"/></linearGradient></defs>";
  s += "<text class=\"legend\" x=\"" + num(lx) + "\" y=\"" + num(top + 8) +
       "\">cells used (%)</text>";
  s += "<rect x=\"" + num(lx) + "\" y=\"" + num(top + 16) +
       "\" width=\"16\" height=\"100\" fill=\"url(#util-scale)\" stroke=\"#999\"/>";
  s += "<text class=\"small\" x=\"" + num(lx + 22) + "\" y=\"" + num(top + 24) + "\">100</text>";
  s += "<text class=\"small\" x=\"" + num(lx + 22) + "\" y=\"" + num(top + 70) + "\">50</text>";
  s += "<text class=\"small\" x=\"" + num(lx + 22) + "\" y=\"" + num(top + 116) + "\">0</text>\n";
  s += "<rect x=\"" + num(lx) + "\" y=\"" + num(top + 132) +
       "\" width=\"12\" height=\"12\" fill=\"#d9d9d9\"/><text class=\"legend\" x=\"" +
       num(lx + 18) + "\" y=\"" + num(top + 143) + "\">no tile</text>";
  s += "<circle cx=\"" + num(lx + 6) + "\" cy=\"" + num(top + 160) +
       "\" r=\"4\" fill=\"#ee6677\"/><text class=\"legend\" x=\"" + num(lx + 18) + "\" y=\"" +
       num(top + 164) + "\">DPU</text>\n";
  return s;
}

// Cell utilization of each tile at its mesh node; DPU nodes marked.
std::string tile_heat_map(const proto::SimReport& r, const proto::MappingPlan& plan) {
  const MeshCells m = mesh_cells(r, plan);
  const int mx = m.mx, my = m.my;
  const double cell = std::max(4.0, std::min(26.0, 600.0 / std::max(mx, my)));
  const double left = 40, top = 36;
  const int width = std::max(520, static_cast<int>(left + cell * mx + 170));
  const int height = static_cast<int>(std::max(top + cell * my + 40, top + 200.0));
  std::string s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  std::to_string(width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" role=\"img\" aria-label=\"tile utilization\">\n<text class=\"title\" x=\"8\" "
                  "y=\"18\">Tile cell utilization on the " +
                  std::to_string(mx) + " x " + std::to_string(my) + " mesh (" +
                  escape(plan.strategy()) + " mapping)</text>\n";
  s += mesh_squares(m, left, top, cell);
  for (uint32_t node : plan.dpu_nodes()) {
    if (static_cast<int>(node) >= mx * my) continue;
    const int x = static_cast<int>(node) % mx, y = static_cast<int>(node) / mx;
    s += "<circle cx=\"" + num(left + (x + 0.5) * cell) + "\" cy=\"" + num(top + (y + 0.5) * cell) +
         "\" r=\"" + num(std::max(1.5, cell * 0.18)) +
         "\" fill=\"#ee6677\" stroke=\"#fff\" stroke-width=\"0.5\"><title>DPU at node " +
         std::to_string(node) + "</title></circle>\n";
  }
  // Axis labels: mesh x along the top, y down the left.
  s += "<text class=\"small\" x=\"" + num(left) + "\" y=\"" + num(top - 4) + "\">x = 0</text>";
  s += "<text class=\"small\" text-anchor=\"end\" x=\"" + num(left + mx * cell) + "\" y=\"" +
       num(top - 4) + "\">x = " + std::to_string(mx - 1) + "</text>";
  s += "<text class=\"small\" text-anchor=\"end\" x=\"" + num(left - 4) + "\" y=\"" + num(top + 9) +
       "\">y=0</text>";
  s += "<text class=\"small\" text-anchor=\"end\" x=\"" + num(left - 4) + "\" y=\"" +
       num(top + my * cell) + "\">" + std::to_string(my - 1) + "</text>\n";
  s += heat_map_legend(left + mx * cell + 24, top);
  s += "</svg>\n";
  return s;
}

// The batch curve's table: one row per batch.
std::string batch_curve_table(const proto::SimReport& r) {
  std::string t =
      "<table><tr><th>batch</th><th>decode tokens/s</th><th>TTFT p50 (us)</th><th>TPOT p50 "
      "(us)</th><th>TPOT p90 (us)</th><th>decode uJ/token</th><th>of it leakage</th><th "
      "class=\"l\">bottleneck</th></tr>\n";
  for (const proto::BatchCurvePoint& p : r.batch_curve()) {
    t += "<tr><td>" + std::to_string(p.batch()) + "</td><td>" + num(p.decode_tokens_per_s()) +
         "</td><td>" + num(p.ttft_p50_ns() * 1e-3) + "</td><td>" + num(p.tpot_p50_ns() * 1e-3) +
         "</td><td>" + num(p.tpot_p90_ns() * 1e-3) + "</td><td>" +
         num(p.decode_nj_per_token() * 1e-3) + "</td><td>" +
         num(p.decode_leakage_nj_per_token() * 1e-3) + "</td><td class=\"l\">" +
         escape(p.bottleneck()) + "</td></tr>\n";
  }
  return t + "</table>";
}

// A system run: the bottleneck, per chip its stage, tiles, utilization, energy and busiest
// component, per directed link that carried data its bytes, utilization and energy.
std::string system_panels(const proto::SystemReport& s) {
  std::string b = "<p class=\"note\">" + std::to_string(s.chips()) + " chips in " +
                  std::to_string(s.stages()) + " pipeline stages; bottleneck " +
                  escape(s.bottleneck()) + " (" + num(100 * s.bottleneck_utilization()) +
                  " % busy); link energy " + num(s.link_energy_nj() * 1e-3) +
                  " uJ over the run. The mapping below is chip 0's.</p>\n";
  b += "<div class=\"grid\"><div><table><tr><th>chip</th><th>stage</th><th>tiles</th><th>tile "
       "util %</th><th>DPU util %</th><th>dynamic (uJ)</th><th>leakage (uJ)</th><th "
       "class=\"l\">busiest</th></tr>\n";
  for (const proto::ChipUsage& c : s.chip_usage()) {
    b += "<tr><td>" + std::to_string(c.chip()) + "</td><td>" + std::to_string(c.stage()) +
         "</td><td>" + std::to_string(c.tiles_used()) + "</td><td>" +
         num(100 * c.utilization().tiles()) + "</td><td>" + num(100 * c.utilization().dpus()) +
         "</td><td>" + num(c.dynamic_nj() * 1e-3) + "</td><td>" + num(c.leakage_nj() * 1e-3) +
         "</td><td class=\"l\">" + escape(c.busiest()) + " (" + num(100 * c.busiest_utilization()) +
         " %)</td></tr>\n";
  }
  b += "</table></div><div><table><tr><th class=\"l\">link</th><th>bytes</th><th>util "
       "%</th><th>energy (uJ)</th></tr>\n";
  for (const proto::LinkUsage& l : s.links()) {
    b += "<tr><td class=\"l\">" + escape(l.name()) + "</td><td>" + num(l.bytes()) + "</td><td>" +
         num(100 * l.utilization()) + "</td><td>" + num(l.energy_nj() * 1e-3) + "</td></tr>\n";
  }
  return b + "</table></div></div>\n";
}

}  // namespace

std::vector<html::XyChart> batch_curve_charts(const proto::SimReport& r) {
  if (r.batch_curve_size() < 2) return {};
  html::XyChart tl;
  tl.title = "Decode throughput against time per output token";
  tl.x_label = "time per output token (us)";
  tl.y_label = "decode tokens per s (whole batch)";
  tl.y_from_zero = true;
  html::XySeries p50 = html::series("p50", html::colour(0)),
                 p90 = html::series("p90", html::colour(0));
  p50.line = p90.line = true;
  p90.dashed = p90.hollow = true;
  html::XyChart eb;
  eb.title = "Decode energy per token against batch";
  eb.x_label = "batch (sequences)";
  eb.y_label = "decode energy per token (uJ)";
  eb.integer_x = true;
  eb.y_from_zero = true;
  html::XySeries total = html::series("total", html::colour(1)),
                 leak = html::series("of it leakage", html::colour(2));
  total.line = leak.line = true;
  leak.dashed = true;
  for (const proto::BatchCurvePoint& p : r.batch_curve()) {
    const double b = p.batch();
    const std::string label = "B=" + std::to_string(p.batch());
    p50.x.push_back(p.tpot_p50_ns() * 1e-3);
    p50.y.push_back(p.decode_tokens_per_s());
    p50.point_labels.push_back(label);
    p90.x.push_back(p.tpot_p90_ns() * 1e-3);
    p90.y.push_back(p.decode_tokens_per_s());
    total.x.push_back(b);
    total.y.push_back(p.decode_nj_per_token() * 1e-3);
    total.point_labels.push_back(label);
    leak.x.push_back(b);
    leak.y.push_back(p.decode_leakage_nj_per_token() * 1e-3);
  }
  tl.series = {p50, p90};
  eb.series = {total, leak};
  return {tl, eb};
}

std::string render_report_html(const proto::SimReport& r, const proto::MappingPlan& plan) {
  const std::string model = r.model().substr(r.model().find_last_of('/') + 1);
  const std::string title = "aimcsim: " + model + " on " + r.chip();
  std::string b = "<h1>" + escape(title) + "</h1>\n<div class=\"sub\">" + escape(r.model()) +
                  " on chip <b>" + escape(r.chip()) + "</b>: " + std::to_string(r.prompt_tokens()) +
                  " prompt + " + std::to_string(r.decode_tokens()) + " decode tokens, " +
                  escape(plan.strategy()) + " mapping, " +
                  std::to_string(plan.summary().tiles_used()) + " of " +
                  std::to_string(plan.summary().tiles_available()) + " tiles used</div>\n";

  b += "<div class=\"cards\">\n";
  b += card(time_text(r.ttft_ns()), "time to first token");
  b += card(time_text(r.decode_latency_ns()), "decode latency per token");
  b += card(num(r.decode_tokens_per_s()), "decode tokens / s");
  b += card(num(r.prefill().total_nj_per_token() * 1e-3) + " uJ", "energy / token, prefill");
  b += card(num(r.decode().total_nj_per_token() * 1e-3) + " uJ", "energy / token, decode");
  b += card(num(r.prefill().tops_per_w()) + " / " + num(r.decode().tops_per_w()),
            "TOPS/W prefill / decode");
  b += card(std::to_string(plan.summary().tiles_used()) + " / " +
                std::to_string(plan.summary().tiles_available()),
            "tiles used / available");
  const proto::AccuracyRow* analog = find_row(r.accuracy(), "analog");
  const proto::AccuracyRow* fp32 = find_row(r.accuracy(), "FP32");
  const proto::AccuracyRow* w4a8 = find_row(r.accuracy(), "W4A8");
  if (analog != nullptr) {
    b += card(num(analog->perplexity().mean()) + " \u00b1 " + num(analog->perplexity().std()),
              "analog perplexity (" + std::to_string(analog->runs()) + " chips)");
    b += card(num(100 * analog->top1().mean()) + " %", "analog top-1 accuracy");
  }
  if (fp32 != nullptr) b += card(num(fp32->perplexity().mean()), "FP32 perplexity");
  if (w4a8 != nullptr) b += card(num(w4a8->perplexity().mean()), "W4A8 perplexity");
  b += "</div>\n";

  b += "<h2>Energy</h2>\n<div class=\"grid\"><div class=\"panel\">" + energy_by_component(r) +
       "</div><div class=\"panel\">" + energy_by_layer(r, 10) + "</div></div>\n";
  b += "<h2>Latency</h2>\n<div class=\"grid\"><div class=\"panel\">" + latency_breakdown(r) +
       "</div></div>\n";
  if (r.has_system()) b += "<h2>System</h2>\n" + system_panels(r.system());
  const std::vector<html::XyChart> curve = batch_curve_charts(r);
  if (!curve.empty()) {
    b += "<h2>Batch curve</h2>\n<div class=\"grid\"><div class=\"panel\">" +
         html::svg_xy_chart(curve[0]) + "</div><div class=\"panel\">" +
         html::svg_xy_chart(curve[1]) + "</div><div>" + batch_curve_table(r) + "</div></div>\n";
  }
  b += "<h2>Accuracy</h2>\n";
  if (r.accuracy().rows_size() > 0) {
    const proto::AccuracyReport& a = r.accuracy();
    b += "<div class=\"grid\"><div class=\"panel\">" + accuracy_spread(a) + "</div>";
    b += "<div><table><tr><th class=\"l\">backend</th><th>runs</th><th>perplexity</th>"
         "<th>top-1</th><th>KL (nats/token)</th></tr>\n";
    for (const proto::AccuracyRow& row : a.rows()) {
      b += "<tr><td class=\"l\">" + escape(row.backend()) + "</td><td>" +
           std::to_string(row.runs()) + "</td><td>" + num(row.perplexity().mean()) + " \u00b1 " +
           num(row.perplexity().std()) + "</td><td>" + num(row.top1().mean()) + "</td><td>" +
           num(row.kl().mean()) + "</td></tr>\n";
    }
    b += "</table><p class=\"note\">" + escape(a.data()) + ": " + std::to_string(a.windows()) +
         " windows (W = " + std::to_string(a.window_length()) + ", " +
         escape(a.windowing().empty() ? std::string("disjoint") : a.windowing()) +
         " windowing): " + std::to_string(a.tokens_read()) + " tokens read, " +
         std::to_string(a.predictions()) + " predictions per run, " +
         std::to_string(a.tokens_unused()) + " tokens unused; input ranges " +
         escape(a.input_ranges()) + "</p></div></div>\n";
  } else {
    b += "<p class=\"note\">No accuracy evaluation: the model is a shape card without weights, "
         "or the run used --no-accuracy.</p>\n";
  }
  b += "<h2>Mapping</h2>\n<div class=\"grid\"><div class=\"panel\">" + tile_heat_map(r, plan) +
       "</div></div>\n";
  if (r.has_datasheet()) b += "<h2>Chip datasheet</h2>\n" + datasheet_panels(r.datasheet());
  return html::page(title, b);
}

}  // namespace aimc::sim

// The sweep page: the points table, energy per token against accuracy (or latency) and against
// chip area with their Pareto fronts, and the serving curves of a sweep over batch or rate.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "sim/report/charts.h"
#include "sim/report/sweep_labels.h"
#include "sim/report/sweep_report.h"

namespace aimc::sim {

using detail::point_label;
using detail::setting_labels;
using detail::setting_of;
using detail::short_model;

namespace {

// What the page adapts to: which columns vary and whether accuracy was measured.
struct SweepShape {
  bool vary_model = false, vary_mapping = false, any_accuracy = false;
  int ok = 0, failed = 0;
};

SweepShape sweep_shape(const proto::SweepResults& results) {
  SweepShape s;
  for (const proto::SweepRow& row : results.rows()) {
    s.vary_model |= row.model() != results.rows(0).model();
    s.vary_mapping |= row.mapping() != results.rows(0).mapping();
    s.any_accuracy |= row.status() == "ok" && row.has_ppl_analog_mean();
  }
  for (const proto::SweepRow& row : results.rows()) (row.status() == "ok" ? s.ok : s.failed)++;
  return s;
}

// The points of the scatter and which of them form the Pareto front.
struct SweepScatter {
  std::vector<double> xs, ys;
  std::vector<const proto::SweepRow*> plotted;
  std::vector<size_t> front;
};

// Scatter: decode energy per token against analog perplexity (or decode latency).
SweepScatter sweep_scatter(const proto::SweepResults& results, bool any_accuracy) {
  SweepScatter p;
  for (const proto::SweepRow& row : results.rows()) {
    if (row.status() != "ok" || (any_accuracy && !row.has_ppl_analog_mean())) continue;
    p.xs.push_back(row.decode_nj_per_token() * 1e-3);
    // Without accuracy: 1 / decode throughput (the decode latency at batch 1; with a batch, the
    // time per token of the whole batch), so energy per token is plotted against tokens/s.
    p.ys.push_back(any_accuracy                    ? row.ppl_analog_mean()
                   : row.decode_tokens_per_s() > 0 ? 1e6 / row.decode_tokens_per_s()
                                                   : row.decode_latency_us());
    p.plotted.push_back(&row);
  }
  p.front = pareto_front(p.xs, p.ys);
  return p;
}

void add_scatter_point(const SweepScatter& p, size_t i, const SweepShape& shape,
                       const std::string& x_unit, html::XySeries* s) {
  s->x.push_back(p.xs[i]);
  s->y.push_back(p.ys[i]);
  s->point_labels.push_back(p.plotted[i]->id());
  s->tooltips.push_back(p.plotted[i]->id() + ": " +
                        point_label(*p.plotted[i], shape.vary_model, shape.vary_mapping) + "; " +
                        html::num(p.xs[i]) + " " + x_unit + ", " + html::num(p.ys[i]));
}

// A scatter and its Pareto front: dominated points hollow, the front joined by a line; each point
// labelled with its id, its tooltip naming its inputs and values (x in `x_unit`).
html::XyChart front_chart(const SweepScatter& p, const SweepShape& shape, const std::string& title,
                          const std::string& x_label, const std::string& x_unit,
                          const std::string& y_label) {
  html::XyChart c;
  c.title = title;
  c.x_label = x_label;
  c.y_label = y_label;
  c.width = 760;
  c.height = 380;
  html::XySeries dominated;
  dominated.name = "dominated point";
  dominated.colour = html::colour(0);
  dominated.hollow = true;
  html::XySeries pareto;
  pareto.name = "Pareto front";
  pareto.colour = html::colour(1);
  pareto.line = true;
  std::vector<bool> on_front(p.xs.size(), false);
  for (size_t i : p.front) on_front[i] = true;
  for (size_t i = 0; i < p.xs.size(); ++i) {
    if (!on_front[i]) add_scatter_point(p, i, shape, x_unit, &dominated);
  }
  for (size_t i : p.front) add_scatter_point(p, i, shape, x_unit, &pareto);
  c.series = {dominated, pareto};
  return c;
}

// Decode energy per token against accuracy (or decode latency).
html::XyChart pareto_chart(const SweepScatter& p, const SweepShape& shape) {
  return front_chart(
      p, shape,
      shape.any_accuracy ? "Decode energy per token against accuracy (lower left is better)"
                         : "Decode energy per token against decode latency (lower left is better)",
      "decode energy per token (uJ)", "uJ",
      shape.any_accuracy ? "analog perplexity (mean over seeds)"
                         : "1 / decode tokens per s (us/token; decode latency at batch 1)");
}

// The same figure of merit (perplexity, else decode energy per token) against chip area, with
// its Pareto front; empty when no point has an area.
std::string area_chart(const proto::SweepResults& results, const SweepShape& shape) {
  SweepScatter p;
  for (const proto::SweepRow& row : results.rows()) {
    if (row.status() != "ok" || !row.has_area_mm2()) continue;
    if (shape.any_accuracy && !row.has_ppl_analog_mean()) continue;
    p.xs.push_back(row.area_mm2());
    p.ys.push_back(shape.any_accuracy ? row.ppl_analog_mean() : row.decode_nj_per_token() * 1e-3);
    p.plotted.push_back(&row);
  }
  if (p.xs.empty()) return "";
  p.front = pareto_front(p.xs, p.ys);
  const html::XyChart c = front_chart(
      p, shape,
      std::string(shape.any_accuracy ? "Accuracy" : "Decode energy per token") +
          " against chip area (lower left is better)",
      "chip area (mm2)", "mm2",
      shape.any_accuracy ? "analog perplexity (mean over seeds)" : "decode energy per token (uJ)");
  return "<h2>" + std::string(shape.any_accuracy ? "Accuracy" : "Energy") +
         " against area</h2>\n<div class=\"grid\"><div class=\"panel\">" + html::svg_xy_chart(c) +
         "</div></div>";
}

// One row of the points table; a failed point spans the result columns with its error.
std::string point_row(const proto::SweepRow& row, const std::vector<std::string>& labels,
                      bool is_front) {
  using html::escape;
  using html::num;
  const bool good = row.status() == "ok";
  std::string b = std::string("<tr") +
                  (!good      ? " class=\"bad\""
                   : is_front ? " class=\"front\""
                              : "") +
                  "><td>" + escape(row.id()) + "</td><td class=\"l\">" +
                  escape(short_model(row.model())) + "</td><td class=\"l\">" +
                  escape(row.mapping()) + "</td>";
  for (const std::string& l : labels) b += "<td>" + escape(setting_of(row, l)) + "</td>";
  if (!good) {
    b += "<td class=\"l\" colspan=\"16\" style=\"white-space:normal\">" + escape(row.status()) +
         ": " + escape(row.error()) + "</td></tr>\n";
    return b;
  }
  auto cell = [&](bool has, double v) {
    return "<td>" + (has ? num(v) : std::string("")) + "</td>";
  };
  b += "<td class=\"l\">ok" + std::string(is_front ? " (Pareto)" : "") + "</td>" +
       cell(true, row.ttft_us()) + cell(true, row.decode_latency_us()) +
       cell(true, row.decode_tokens_per_s()) + cell(true, row.prefill_nj_per_token()) +
       cell(true, row.decode_nj_per_token()) + cell(true, row.decode_tops_per_w()) + "<td>" +
       std::to_string(row.tiles_used()) + " / " + std::to_string(row.tiles_available()) + "</td>" +
       cell(row.has_area_mm2(), row.area_mm2()) + cell(row.has_tops_per_mm2(), row.tops_per_mm2());
  b += "<td>" +
       (row.has_ppl_analog_mean()
            ? num(row.ppl_analog_mean()) + " \u00b1 " + num(row.ppl_analog_std())
            : std::string("")) +
       "</td>" + cell(row.has_top1_analog_mean(), row.top1_analog_mean()) +
       cell(row.has_kl_analog_mean(), row.kl_analog_mean()) +
       cell(row.has_ppl_fp32(), row.ppl_fp32()) + cell(row.has_ppl_w4a8(), row.ppl_w4a8()) +
       cell(true, row.wall_s()) + "</tr>\n";
  return b;
}

// Every point of the sweep, Pareto points highlighted.
std::string points_table(const proto::SweepResults& results, const SweepScatter& p,
                         const SweepShape& shape) {
  using html::escape;
  std::string b = "\n<h2>Points</h2>\n<div style=\"overflow-x:auto\"><table>\n<tr><th>id</th>";
  const std::vector<std::string> labels = setting_labels(results);
  if (shape.vary_model || results.rows_size() > 0) b += "<th class=\"l\">model</th>";
  b += "<th class=\"l\">mapping</th>";
  for (const std::string& l : labels) b += "<th>" + escape(l) + "</th>";
  b += "<th class=\"l\">status</th><th>TTFT (us)</th><th>decode (us/token)</th><th>tokens/s</th>"
       "<th>prefill (nJ/token)</th><th>decode (nJ/token)</th><th>TOPS/W decode</th>"
       "<th>tiles used</th><th>area (mm2)</th><th>peak TOPS/mm2</th><th>ppl analog</th><th>top-1 "
       "analog</th><th>KL</th><th>ppl FP32</th>"
       "<th>ppl W4A8</th><th>wall (s)</th></tr>\n";
  std::vector<std::string> front_ids;
  for (size_t i : p.front) front_ids.push_back(p.plotted[i]->id());
  for (const proto::SweepRow& row : results.rows()) {
    const bool is_front =
        std::find(front_ids.begin(), front_ids.end(), row.id()) != front_ids.end();
    b += point_row(row, labels, is_front);
  }
  b += "</table></div>\n";
  return b;
}

}  // namespace

ServingCurves serving_curves(const proto::SweepResults& results) {
  ServingCurves out;
  for (const proto::SweepRow& row : results.rows())
    out.by_rate |= row.status() == "ok" && row.has_request_rate_per_s();
  std::vector<const proto::SweepRow*> rows;
  for (const proto::SweepRow& row : results.rows()) {
    if (row.status() != "ok" || !row.has_tpot_p50_us()) continue;
    if (out.by_rate ? !row.has_request_rate_per_s() : !row.has_sequences()) continue;
    rows.push_back(&row);
  }
  auto load = [&](const proto::SweepRow& row) {
    return out.by_rate ? row.request_rate_per_s() : static_cast<double>(row.sequences());
  };
  // The load's own column: a setting whose value is the load on every such row.
  std::vector<std::string> other;
  for (const std::string& label : setting_labels(results)) {
    bool is_load = !rows.empty();
    for (const proto::SweepRow* row : rows) {
      const std::string v = setting_of(*row, label);
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      is_load &= !v.empty() && end != v.c_str() && *end == '\0' && x == load(*row);
    }
    if (!is_load) other.push_back(label);
  }
  std::vector<std::string> keys;
  std::vector<std::vector<const proto::SweepRow*>> members;
  for (const proto::SweepRow* row : rows) {
    std::string key;
    const auto add = [&](const std::string& part) { key += (key.empty() ? "" : " ") + part; };
    add(short_model(row->model()));
    add(row->mapping());
    for (const std::string& l : other) add(l + "=" + setting_of(*row, l));
    const size_t k = std::find(keys.begin(), keys.end(), key) - keys.begin();
    if (k == keys.size()) {
      keys.push_back(key);
      members.emplace_back();
    }
    members[k].push_back(row);
  }
  bool any_curve = false;
  for (size_t k = 0; k < keys.size(); ++k) {
    std::stable_sort(
        members[k].begin(), members[k].end(),
        [&](const proto::SweepRow* a, const proto::SweepRow* b) { return load(*a) < load(*b); });
    ServingCurve c;
    c.name = keys.size() > 1 ? keys[k] : "";
    for (const proto::SweepRow* row : members[k]) {
      c.ids.push_back(row->id());
      c.load.push_back(load(*row));
      c.tokens_per_s.push_back(out.by_rate ? row->output_tokens_per_s()
                                           : row->decode_tokens_per_s());
      c.tpot_p50_us.push_back(row->tpot_p50_us());
      c.tpot_p90_us.push_back(row->tpot_p90_us());
      c.uj_per_token.push_back(
          (out.by_rate ? row->nj_per_output_token() : row->decode_nj_per_token()) * 1e-3);
    }
    any_curve |= c.load.size() >= 2;
    out.curves.push_back(std::move(c));
  }
  if (!any_curve) out.curves.clear();
  return out;
}

namespace {

// Throughput against time per output token, energy per token against the load, and energy per
// token against throughput with its Pareto front; empty without serving curves.
std::string serving_charts(const ServingCurves& sc) {
  if (sc.curves.empty()) return "";
  using html::num;
  const std::string load_name = sc.by_rate ? "request rate" : "batch";
  auto load_text = [&](double v) { return sc.by_rate ? num(v) + "/s" : "B=" + num(v); };
  html::XyChart tl;
  tl.title = "Throughput against time per output token (p50 solid, p90 dashed)";
  tl.x_label = "time per output token (us)";
  tl.y_label = sc.by_rate ? "output tokens per s" : "decode tokens per s (whole batch)";
  tl.y_from_zero = true;
  html::XyChart eb;
  eb.title = "Energy per token against " + load_name;
  eb.x_label = sc.by_rate ? "requests per s" : "batch (sequences)";
  eb.y_label = sc.by_rate ? "energy per output token (uJ)" : "decode energy per token (uJ)";
  eb.integer_x = !sc.by_rate;
  eb.y_from_zero = true;
  html::XyChart et;
  et.title = "Energy per token against throughput (lower right is better)";
  et.x_label = tl.y_label;
  et.y_label = eb.y_label;
  std::vector<double> all_e, all_neg_t;
  std::vector<std::string> all_ids;
  for (size_t k = 0; k < sc.curves.size(); ++k) {
    const ServingCurve& c = sc.curves[k];
    const std::string colour = html::colour(static_cast<int>(k));
    const std::string name = c.name.empty() ? "" : c.name + ", ";
    html::XySeries p50 = html::series(name + "p50", colour, c.tpot_p50_us, c.tokens_per_s);
    html::XySeries p90 = html::series(name + "p90", colour, c.tpot_p90_us, c.tokens_per_s);
    p50.line = p90.line = true;
    p90.dashed = p90.hollow = true;
    for (size_t i = 0; i < c.load.size(); ++i) {
      p50.point_labels.push_back(load_text(c.load[i]));
      p50.tooltips.push_back(c.ids[i] + ": " + load_text(c.load[i]) + ", " +
                             num(c.tokens_per_s[i]) + " tokens/s, p50 " + num(c.tpot_p50_us[i]) +
                             " us");
      p90.tooltips.push_back(c.ids[i] + ": p90 " + num(c.tpot_p90_us[i]) + " us");
      all_e.push_back(c.uj_per_token[i]);
      all_neg_t.push_back(-c.tokens_per_s[i]);
      all_ids.push_back(c.ids[i]);
    }
    tl.series.push_back(p50);
    tl.series.push_back(p90);
    html::XySeries e =
        html::series(c.name.empty() ? "energy per token" : c.name, colour, c.load, c.uj_per_token);
    e.line = true;
    for (size_t i = 0; i < c.load.size(); ++i) e.point_labels.push_back(c.ids[i]);
    eb.series.push_back(e);
    html::XySeries pts =
        html::series(c.name.empty() ? "point" : c.name, colour, c.tokens_per_s, c.uj_per_token);
    pts.hollow = true;
    pts.point_labels = c.ids;
    et.series.push_back(pts);
  }
  html::XySeries front =
      html::series("Pareto front", html::colour(static_cast<int>(sc.curves.size())));
  front.line = true;
  for (size_t i : pareto_front(all_e, all_neg_t)) {
    front.x.push_back(-all_neg_t[i]);
    front.y.push_back(all_e[i]);
    front.tooltips.push_back(all_ids[i]);
  }
  et.series.push_back(front);
  return "<h2>Serving: throughput, latency and energy against " + load_name +
         "</h2>\n<div class=\"grid\"><div class=\"panel\">" + html::svg_xy_chart(tl) +
         "</div><div class=\"panel\">" + html::svg_xy_chart(eb) + "</div><div class=\"panel\">" +
         html::svg_xy_chart(et) + "</div></div>\n";
}

}  // namespace

std::string render_sweep_html(const proto::SweepResults& results) {
  using html::escape;
  using html::num;
  const SweepShape shape = sweep_shape(results);
  const SweepScatter p = sweep_scatter(results, shape.any_accuracy);

  std::string b = "<h1>" + escape("aimcsim sweep: " + results.name()) +
                  "</h1>\n<div class=\"sub\">" + escape(results.sweep_file()) + " (" +
                  escape(results.mode()) + "): " + std::to_string(results.rows_size()) + " of " +
                  std::to_string(results.points()) + " points finished, " +
                  std::to_string(shape.ok) + " ok, " + std::to_string(shape.failed) +
                  " failed</div>\n";
  b += "<h2>Energy against " + std::string(shape.any_accuracy ? "accuracy" : "latency") +
       "</h2>\n<div class=\"grid\"><div class=\"panel\">" +
       html::svg_xy_chart(pareto_chart(p, shape)) + "</div>";
  b += "<div class=\"note\" style=\"max-width:420px\"><p>Each marker is a point of the sweep, "
       "labelled with its id (the table below). The Pareto front joins the points that no other "
       "point beats on both axes.</p><p>Pareto points, by energy:</p><ul>";
  for (size_t i : p.front) {
    b += "<li><b>" + escape(p.plotted[i]->id()) + "</b> " +
         escape(point_label(*p.plotted[i], shape.vary_model, shape.vary_mapping)) + ": " +
         num(p.xs[i]) + " uJ, " + num(p.ys[i]) + "</li>";
  }
  b += "</ul></div></div>\n";
  b += serving_charts(serving_curves(results));
  b += area_chart(results, shape);
  b += points_table(results, p, shape);
  b += "<p class=\"note\">Files: sweep.csv and sweep.json (every input and result), "
       "points/&lt;id&gt;/ (each point's chip config, report.json, report.html and output).</p>\n";
  return html::page("aimcsim sweep: " + results.name(), b);
}

}  // namespace aimc::sim

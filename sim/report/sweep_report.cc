// Sweep results: CSV, JSON, the HTML page and the terminal table.
#include "sim/report/sweep_report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "proto/user_error.h"
#include "sim/report/charts.h"

namespace aimc::sim {
namespace {

using google::protobuf::FieldDescriptor;

// SweepRow fields in column order; "settings" expands into one column per swept field.
const std::vector<std::string>& column_fields() {
  static const std::vector<std::string> fields = {"index",
                                                  "id",
                                                  "model",
                                                  "mapping",
                                                  "settings",
                                                  "status",
                                                  "ttft_us",
                                                  "decode_latency_us",
                                                  "decode_tokens_per_s",
                                                  "prefill_nj_per_token",
                                                  "decode_nj_per_token",
                                                  "prefill_tops_per_w",
                                                  "decode_tops_per_w",
                                                  "tiles_used",
                                                  "tiles_available",
                                                  "area_mm2",
                                                  "peak_tops",
                                                  "peak_tops_per_w",
                                                  "tops_per_mm2",
                                                  "ppl_analog_mean",
                                                  "ppl_analog_std",
                                                  "top1_analog_mean",
                                                  "kl_analog_mean",
                                                  "ppl_fp32",
                                                  "ppl_w4a8",
                                                  "seeds",
                                                  "output_tokens_per_s",
                                                  "ttft_p50_us",
                                                  "ttft_p99_us",
                                                  "tpot_p50_us",
                                                  "tpot_p90_us",
                                                  "tpot_p99_us",
                                                  "nj_per_output_token",
                                                  "arrival_rate_per_s",
                                                  "request_rate_per_s",
                                                  "sequences",
                                                  "wall_s",
                                                  "finished_at",
                                                  "error",
                                                  "inputs_key"};
  return fields;
}

std::string value_text(const proto::SweepRow& row, const FieldDescriptor* f) {
  const auto* r = row.GetReflection();
  if (!r->HasField(row, f)) return "";
  char buf[64];
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      std::snprintf(buf, sizeof buf, "%.6g", r->GetDouble(row, f));
      return buf;
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(r->GetUInt32(row, f));
    case FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(row, f);
    default:
      return "";
  }
}

std::vector<std::string> setting_labels(const proto::SweepResults& results) {
  std::vector<std::string> labels;
  for (const proto::SweepRow& row : results.rows()) {
    for (const proto::SweepSetting& s : row.settings()) {
      if (std::find(labels.begin(), labels.end(), s.field()) == labels.end())
        labels.push_back(s.field());
    }
  }
  return labels;
}

std::string setting_of(const proto::SweepRow& row, const std::string& label) {
  for (const proto::SweepSetting& s : row.settings())
    if (s.field() == label) return s.value();
  return "";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string short_model(const std::string& model) {
  const auto slash = model.find_last_of('/');
  return slash == std::string::npos ? model : model.substr(slash + 1);
}

// A short description of a point's inputs: its swept values, and model/mapping when they vary.
std::string point_label(const proto::SweepRow& row, bool with_model, bool with_mapping) {
  std::string s;
  if (with_model) s += short_model(row.model());
  if (with_mapping) s += (s.empty() ? "" : " ") + row.mapping();
  for (const auto& v : row.settings()) s += (s.empty() ? "" : " ") + v.field() + "=" + v.value();
  return s;
}

}  // namespace

void fill_row_results(const proto::SimReport& report, proto::SweepRow* row) {
  row->set_ttft_us(report.ttft_ns() * 1e-3);
  row->set_decode_latency_us(report.decode_latency_ns() * 1e-3);
  // A batched run: the throughput of the whole batch.
  row->set_decode_tokens_per_s(report.has_batch() ? report.batch().decode_tokens_per_s()
                                                  : report.decode_tokens_per_s());
  row->set_prefill_nj_per_token(report.prefill().total_nj_per_token());
  row->set_decode_nj_per_token(report.decode().total_nj_per_token());
  row->set_prefill_tops_per_w(report.prefill().tops_per_w());
  row->set_decode_tops_per_w(report.decode().tops_per_w());
  row->set_tiles_used(report.mapping().summary().tiles_used());
  if (report.has_requests()) {
    const proto::RequestReport& q = report.requests();
    row->set_output_tokens_per_s(q.output_tokens_per_s());
    row->set_ttft_p50_us(q.ttft_p50_ns() * 1e-3);
    row->set_ttft_p99_us(q.ttft_p99_ns() * 1e-3);
    row->set_tpot_p50_us(q.tpot_p50_ns() * 1e-3);
    row->set_tpot_p90_us(q.tpot_p90_ns() * 1e-3);
    row->set_tpot_p99_us(q.tpot_p99_ns() * 1e-3);
    row->set_nj_per_output_token(q.nj_per_output_token());
    row->set_arrival_rate_per_s(q.arrival_rate_per_s());
  } else if (report.has_batch()) {
    const proto::BatchReport& b = report.batch();
    row->set_sequences(b.batch());
    row->set_tpot_p50_us(b.tpot_p50_ns() * 1e-3);
    row->set_tpot_p90_us(b.tpot_p90_ns() * 1e-3);
    row->set_tpot_p99_us(b.tpot_p99_ns() * 1e-3);
  } else if (report.decode_token_latency_ns_size() > 0) {
    // One sequence: its decode tokens' latencies (nearest rank, as the batch report's).
    std::vector<double> v(report.decode_token_latency_ns().begin(),
                          report.decode_token_latency_ns().end());
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
      const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
      return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1] * 1e-3;
    };
    row->set_sequences(1);
    row->set_tpot_p50_us(pct(50));
    row->set_tpot_p90_us(pct(90));
    row->set_tpot_p99_us(pct(99));
  }
  row->set_tiles_available(report.mapping().summary().tiles_available());
  if (report.has_datasheet()) {
    row->set_area_mm2(report.datasheet().area_mm2());
    row->set_peak_tops(report.datasheet().tops());
    row->set_peak_tops_per_w(report.datasheet().tops_per_w());
    row->set_tops_per_mm2(report.datasheet().tops_per_mm2());
  }
  for (const proto::AccuracyRow& a : report.accuracy().rows()) {
    if (a.backend() == "analog") {
      row->set_ppl_analog_mean(a.perplexity().mean());
      row->set_ppl_analog_std(a.perplexity().std());
      row->set_top1_analog_mean(a.top1().mean());
      row->set_kl_analog_mean(a.kl().mean());
      row->set_seeds(a.runs());
    } else if (a.backend() == "FP32") {
      row->set_ppl_fp32(a.perplexity().mean());
    } else if (a.backend() == "W4A8") {
      row->set_ppl_w4a8(a.perplexity().mean());
    }
  }
}

std::string sweep_csv(const proto::SweepResults& results) {
  const std::vector<std::string> labels = setting_labels(results);
  const auto* d = proto::SweepRow::descriptor();
  std::string out;
  for (const std::string& name : column_fields()) {
    if (name == "settings") {
      for (const std::string& l : labels) out += csv_field(l) + ",";
    } else {
      out += name + (name == column_fields().back() ? "\n" : ",");
    }
  }
  for (const proto::SweepRow& row : results.rows()) {
    for (const std::string& name : column_fields()) {
      if (name == "settings") {
        for (const std::string& l : labels) out += csv_field(setting_of(row, l)) + ",";
      } else {
        out += csv_field(value_text(row, d->FindFieldByName(name))) +
               (name == column_fields().back() ? "\n" : ",");
      }
    }
  }
  return out;
}

std::string sweep_json(const proto::SweepResults& results) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  google::protobuf::util::MessageToJsonString(results, &json, options);
  return json;
}

proto::SweepResults parse_sweep_json(const std::string& json, const std::string& source) {
  proto::SweepResults results;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, &results, options).ok()) {
    throw UserError(source + ": not a sweep result file (move it away to start the sweep over)");
  }
  return results;
}

std::vector<size_t> pareto_front(const std::vector<double>& xs, const std::vector<double>& ys) {
  std::vector<size_t> order(xs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return xs[a] != xs[b] ? xs[a] < xs[b] : ys[a] < ys[b]; });
  std::vector<size_t> front;
  double best_y = std::numeric_limits<double>::infinity();
  for (size_t i : order) {
    if (ys[i] < best_y) {
      front.push_back(i);
      best_y = ys[i];
    }
  }
  return front;
}

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
    html::XySeries p50{name + "p50", colour, c.tpot_p50_us, c.tokens_per_s};
    html::XySeries p90{name + "p90", colour, c.tpot_p90_us, c.tokens_per_s};
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
    html::XySeries e{c.name.empty() ? "energy per token" : c.name, colour, c.load, c.uj_per_token};
    e.line = true;
    for (size_t i = 0; i < c.load.size(); ++i) e.point_labels.push_back(c.ids[i]);
    eb.series.push_back(e);
    html::XySeries pts{c.name.empty() ? "point" : c.name, colour, c.tokens_per_s, c.uj_per_token};
    pts.hollow = true;
    pts.point_labels = c.ids;
    et.series.push_back(pts);
  }
  html::XySeries front{"Pareto front", html::colour(static_cast<int>(sc.curves.size()))};
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

std::string format_sweep_table(const proto::SweepResults& results) {
  const std::vector<std::string> labels = setting_labels(results);
  bool vary_model = false, vary_mapping = false;
  for (const proto::SweepRow& row : results.rows()) {
    vary_model |= row.model() != results.rows(0).model();
    vary_mapping |= row.mapping() != results.rows(0).mapping();
  }
  std::vector<std::string> header = {"id"};
  if (vary_model) header.push_back("model");
  if (vary_mapping) header.push_back("mapping");
  for (const auto& l : labels) header.push_back(l);
  for (const char* h : {"status", "TTFT us", "decode us/tok", "prefill nJ/tok", "decode nJ/tok",
                        "TOPS/W dec", "tiles", "ppl analog", "ppl FP32", "ppl W4A8"})
    header.push_back(h);
  std::vector<std::vector<std::string>> rows = {header};
  for (const proto::SweepRow& row : results.rows()) {
    std::vector<std::string> r = {row.id()};
    if (vary_model) r.push_back(short_model(row.model()));
    if (vary_mapping) r.push_back(row.mapping());
    for (const auto& l : labels) r.push_back(setting_of(row, l));
    r.push_back(row.status());
    if (row.status() == "ok") {
      r.push_back(html::num(row.ttft_us()));
      r.push_back(html::num(row.decode_latency_us()));
      r.push_back(html::num(row.prefill_nj_per_token()));
      r.push_back(html::num(row.decode_nj_per_token()));
      r.push_back(html::num(row.decode_tops_per_w()));
      r.push_back(std::to_string(row.tiles_used()));
      r.push_back(row.has_ppl_analog_mean()
                      ? html::num(row.ppl_analog_mean()) + " +- " + html::num(row.ppl_analog_std())
                      : "-");
      r.push_back(row.has_ppl_fp32() ? html::num(row.ppl_fp32()) : "-");
      r.push_back(row.has_ppl_w4a8() ? html::num(row.ppl_w4a8()) : "-");
    }
    rows.push_back(r);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i] + std::string(width[i] - r[i].size() + 2, ' ');
    }
    if (k > 0 && results.rows(static_cast<int>(k - 1)).status() != "ok") {
      line += results.rows(static_cast<int>(k - 1)).error();
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace aimc::sim

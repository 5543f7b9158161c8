// Sweep results: the headline results of a point, CSV, JSON, the Pareto front and the terminal
// table (the HTML page is sweep_page.cc).
#include "sim/report/sweep_report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "proto/user_error.h"
#include "sim/report/charts.h"
#include "sim/report/sweep_labels.h"

namespace aimc::sim {

using detail::setting_labels;
using detail::setting_of;
using detail::short_model;

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
                                                  "request_rate_per_s",
                                                  "offered_requests_per_s",
                                                  "completed_requests_per_s",
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

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
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
    row->set_offered_requests_per_s(q.offered_requests_per_s());
    row->set_completed_requests_per_s(q.completed_requests_per_s());
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

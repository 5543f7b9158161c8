// Sweep results as files: sweep.csv (one row per point, one column per input and headline
// result), sweep.json (proto/sweep.proto SweepResults in the protobuf JSON mapping; read back
// to resume), sweep.html (the table and energy per token against accuracy with the Pareto
// front), and the text table printed at the end of a sweep.
#pragma once

#include <string>
#include <vector>

#include "proto/sim_report.pb.h"
#include "proto/sweep.pb.h"

namespace aimc::sim {

/// Fills the headline results of `row` from a point's report.
void fill_row_results(const proto::SimReport& report, proto::SweepRow* row);

/// CSV with a header line; swept fields are columns between the inputs and the results.
std::string sweep_csv(const proto::SweepResults& results);

/// JSON of `results` (field names as in the .proto).
std::string sweep_json(const proto::SweepResults& results);

/// Parses sweep_json() output; throws UserError naming `source` when it is not one.
proto::SweepResults parse_sweep_json(const std::string& json, const std::string& source);

/// Points on the Pareto front of (x, y), both minimized: indices into xs, in increasing x.
std::vector<size_t> pareto_front(const std::vector<double>& xs, const std::vector<double>& ys);

/// One curve of a sweep over run.batch or run.rate: the ok points that share every other input
/// (model, mapping, the other swept values), in increasing load.
struct ServingCurve {
  std::string name;  ///< the other inputs ("" when they do not vary)
  std::vector<std::string> ids;
  std::vector<double> load;          ///< batch, or configured requests per second
  std::vector<double> tokens_per_s;  ///< decode tokens/s of the batch, or output tokens/s
  std::vector<double> tpot_p50_us, tpot_p90_us;
  std::vector<double> uj_per_token;  ///< decode energy per token, or per output token
};
/// The serving curves of a sweep: by request rate when any ok point served requests, else by
/// batch; no curves unless some curve has two loads or more.
struct ServingCurves {
  bool by_rate = false;
  std::vector<ServingCurve> curves;
};
ServingCurves serving_curves(const proto::SweepResults& results);

/// The sweep page: table of every row, and the scatter of decode energy per token against
/// analog perplexity (against decode latency when no point has accuracy) with the Pareto front;
/// for a sweep over run.batch or run.rate also throughput against time per output token, energy
/// per token against the batch (or rate) and energy per token against tokens/s with its front.
std::string render_sweep_html(const proto::SweepResults& results);

/// Aligned text table of the rows (inputs, status, main results) for the terminal.
std::string format_sweep_table(const proto::SweepResults& results);

}  // namespace aimc::sim

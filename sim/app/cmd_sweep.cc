// `aimcsim sweep SWEEP.pbtxt [-j N] [--out DIR]`: a grid or list of points over chip-config
// fields, models and mappings (proto/sweep.proto), each run as its own `aimcsim run` process;
// one row per point in DIR/sweep.csv and sweep.json, and DIR/sweep.html. Under an MPI launcher
// (`mpirun -n N aimcsim sweep ...`) the points are spread over the N processes and rank 0 writes
// the same files.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sim/app/commands.h"
#include "sim/app/flags.h"
#include "sim/common/progress_line.h"
#include "sim/report/sweep_report.h"
#include "sim/sweep/mpi.h"
#include "sim/sweep/sweep.h"
#include "sim/sweep/sweep_runner.h"

namespace aimc::sim {

namespace {

// The flags of `aimcsim sweep`.
po::options_description sweep_flags() {
  po::options_description options("sweep flags");
  options.add_options()("sweep", po::value<std::string>(),
                        "sweep file (.pbtxt, proto/sweep.proto)")(
      "jobs,j", po::value<int>()->default_value(1), "points run in parallel (processes)")(
      "out", po::value<std::string>(),
      "results folder (default: sweep-NAME in the current folder); an earlier sweep there "
      "resumes")("list", po::bool_switch(), "print the points and exit without running them");
  return options;
}

// --list: one line per point (its settings and fingerprint).
void list_points(const SweepPlan& plan, std::ostream& out) {
  for (const SweepPoint& p : plan.points) {
    out << p.id << "  model=" << p.model << " mapping=" << p.mapping;
    for (const auto& s : p.settings) out << " " << s.field() << "=" << s.value();
    out << "  (key " << p.inputs_key << ")\n";
  }
}

// The rows of the finished sweep, read back from DIR/sweep.json.
proto::SweepResults read_results(const std::string& out_dir) {
  const std::string json = out_dir + "/sweep.json";
  std::ifstream in(json);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep_json(text.str(), json);
}

// Exit status of a sweep whose every point ran: 2 (UserError) when every point failed; 0
// otherwise, with the failures said on stderr when some points failed.
int failures_status(const proto::SweepResults& results, const std::string& out_dir) {
  int ok = 0;
  std::string first_error;
  for (const proto::SweepRow& row : results.rows()) {
    if (row.status() == "ok") ++ok;
    if (row.status() != "ok" && first_error.empty()) {
      first_error = "point " + row.id() + ": " + row.error();
    }
  }
  if (results.rows_size() > 0 && ok == 0) {
    throw UserError("every one of the " + std::to_string(results.rows_size()) +
                    " points of the sweep failed (" + first_error + ")");
  }
  if (ok < results.rows_size()) {
    // Some points ran: the sweep succeeds (exit 0), but the failures are said on stderr too,
    // where a script or a user scanning the output sees them.
    std::cerr << "aimcsim: warning: " << results.rows_size() - ok << " of " << results.rows_size()
              << " points of the sweep failed (first: " << first_error
              << "); their rows, with status and error, are in " << out_dir
              << "/sweep.csv and sweep.json; exit status 0 since the other points ran\n";
  }
  return 0;
}

}  // namespace

int cmd_sweep(const std::vector<std::string>& args, std::ostream& out) {
  const po::options_description options = sweep_flags();
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_flags("sweep", "SWEEP.pbtxt [-j N] [--out DIR] [--list]", options, positional, args,
                   &vm, out)) {
    return 0;
  }
  if (!vm.count("sweep")) {
    throw UserError(
        "aimcsim sweep: missing the sweep file (usage: aimcsim sweep SWEEP.pbtxt "
        "[-j N] [--out DIR])");
  }
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 1 || jobs > 1024)
    throw UserError("--jobs must be in 1..1024, got " + std::to_string(jobs));
  // Under mpirun/srun the points are spread over the processes (sim/sweep/task_farm.h).
  const mpi::MaybeSession session("sweep");
  const mpi::Comm* comm = mpi::world();
  const SweepPlan plan = load_sweep(vm["sweep"].as<std::string>());
  if (vm["list"].as<bool>()) {
    if (comm == nullptr || comm->root()) list_points(plan, out);
    return 0;
  }
  SweepRunnerOptions runner;
  runner.out_dir = vm.count("out") ? vm["out"].as<std::string>() : "sweep-" + plan.spec.name();
  runner.jobs = jobs;
  runner.progress = stderr_is_tty();
  runner.comm = comm;
  // One sweep at a time in a results folder: a second one would mix its rows into these.
  std::optional<proto::FolderLock> lock;
  if (comm == nullptr || comm->root()) lock.emplace(runner.out_dir, "sweep");
  const SweepOutcome outcome = run_sweep(plan, runner, out);
  if (comm != nullptr && !comm->root()) return outcome.interrupted ? 130 : 0;

  const proto::SweepResults results = read_results(runner.out_dir);
  out << "\n" << format_sweep_table(results) << "\n";
  out << outcome.points << " points: " << outcome.kept << " resumed, " << outcome.ran << " run, "
      << outcome.failed << " failed; wall time " << static_cast<int>(outcome.wall_s * 10) / 10.0
      << " s\nresults: " << runner.out_dir << "/sweep.csv, sweep.json, sweep.html\n";
  if (outcome.interrupted) {
    out << "stopped before every point ran (interrupted";
    if (comm != nullptr) out << ", or a process of the MPI job died: see the launcher's message";
    out << "); the " << (outcome.kept + outcome.ran) << " finished rows are in " << runner.out_dir
        << "/sweep.json: run the same command again to resume the remaining points\n";
    return 130;
  }
  return failures_status(results, runner.out_dir);
}

}  // namespace aimc::sim

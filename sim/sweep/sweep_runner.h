// Running a sweep: each point is a separate `aimcsim run` process (fork and exec of this
// program, /proc/self/exe), at most `jobs` at a time on each process of the sweep (one, or
// every rank of an MPI job: sim/task_farm.h hands the points out), so a point that crashes or
// runs out of memory only fails its own row. A point gets DIR/points/<id>/ with its chip config
// (chip.pbtxt), its run's outputs (report.json, report.html, ...) and its stdout/stderr.
//
// After every finished point DIR/sweep.csv, sweep.json and sweep.html are rewritten atomically
// with the finished rows in point order. Resuming: a row already in DIR/sweep.json whose
// inputs_key matches a point (same resolved chip, model, mapping and run options) is kept
// unless it "crashed"; only the other points run.
#pragma once

#include <iosfwd>
#include <string>

#include "sim/sweep/mpi.h"
#include "sim/sweep/sweep.h"

namespace aimc::sim {

struct SweepRunnerOptions {
  std::string out_dir;    ///< DIR
  int jobs = 1;           ///< points running at once
  bool progress = false;  ///< progress line on stderr (a terminal)
  /// The MPI job to spread the points over (null: this process alone). Rank 0 writes the
  /// result files and prints; the other ranks only run points.
  const mpi::Comm* comm = nullptr;
};

/// What a sweep did.
struct SweepOutcome {
  int points = 0;            ///< points of the sweep
  int kept = 0;              ///< rows kept from an earlier run (resumed)
  int ran = 0;               ///< points run now
  int failed = 0;            ///< rows (kept or new) whose status is not "ok"
  bool interrupted = false;  ///< stopped by SIGINT/SIGTERM before every point ran
  double wall_s = 0;
};

/// Runs the points of `plan` that have no row yet; writes the result files; prints one line per
/// finished point on `out`. Throws UserError when DIR cannot be written or its sweep.json is not
/// a result file.
SweepOutcome run_sweep(const SweepPlan& plan, const SweepRunnerOptions& options, std::ostream& out);

}  // namespace aimc::sim

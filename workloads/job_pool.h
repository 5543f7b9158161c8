// A small pool for independent jobs (chip instances, window ranges) whose results must not
// depend on the number of threads: each job writes only its own slot, and errors are reported
// for the lowest-numbered failed job.
#pragma once

#include <functional>

namespace aimc::workloads {

/// Cores this process may run on: its CPU affinity mask (taskset, cgroups of a batch system, an
/// MPI launcher's binding), else the machine's hardware threads; at least 1.
int usable_cores();

/// `requested` when positive, else usable_cores().
int resolve_threads(int requested);

/// Runs fn(job) for job = 0 .. jobs-1 on up to `threads` threads. Rethrows the exception of the
/// lowest-numbered failed job, so the error reported does not depend on scheduling either.
void run_jobs(int jobs, int threads, const std::function<void(int)>& fn);

}  // namespace aimc::workloads

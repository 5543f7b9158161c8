// MPI for sweeps and multi-seed evaluation across machines. The program works the
// same without MPI: this header compiles in every build, and when the build has no MPI
// (AIMCSIM_WITH_MPI=OFF or libopenmpi-dev absent) no session can start.
//
// Only `aimcsim sweep`, `eval` and `ttc` use MPI, and only when an MPI launcher (mpirun,
// mpiexec, srun) started the process: a plain `aimcsim sweep` never calls MPI_Init. Processes
// talk with point-to-point messages of bytes (MPI_BYTE) and tags; the MPI library is called from
// the main thread only (MPI_THREAD_FUNNELED).
#pragma once

#include <csignal>
#include <string>

namespace aimc::sim::mpi {

/// True when this build links MPI.
bool built_with_mpi();

/// World size announced by the environment of an MPI launcher (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
/// SLURM_STEP_NUM_TASKS with PMIX_RANK), 0 when no launcher started this process, -1 when one
/// did but the size is not in the environment.
int launcher_size();

/// Throws UserError when an MPI launcher started more than one copy of `command` but this
/// command (or this build) cannot use them: every copy would do the same work and write the same
/// files.
void refuse_launcher(const std::string& command, const std::string& why);

/// The processes of one MPI job (MPI_COMM_WORLD) while a Session is alive.
class Comm {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Processes of the job on this machine (MPI_COMM_TYPE_SHARED), for the thread count.
  int local_size() const { return local_size_; }
  bool root() const { return rank_ == 0; }

  /// Sends `bytes` to `dest` with `tag` (blocking; small messages return at once).
  void send(int dest, int tag, const std::string& bytes) const;
  /// A message waiting from anyone (any tag): true and its source and tag, or false.
  bool probe(int* source, int* tag) const;
  /// Receives the message from `source` with `tag` (blocking). Use after probe().
  std::string recv(int source, int tag) const;
  /// Root's `bytes` on every process.
  void broadcast(std::string* bytes) const;
  /// Stops every process of the job with exit status `code` (MPI_Abort).
  [[noreturn]] void abort(int code) const;

 private:
  friend class Session;
  int rank_ = 0;
  int size_ = 1;
  int local_size_ = 1;
};

/// MPI_Init_thread on construction, MPI_Finalize on destruction. At most one at a time.
class Session {
 public:
  /// Starts MPI for `command`; throws UserError when this build has no MPI.
  explicit Session(const std::string& command);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  const Comm& comm() const { return comm_; }

 private:
  Comm comm_;
};

/// The job of the live Session, or null (no launcher, or a single process on its own).
const Comm* world();

/// Starts a Session when an MPI launcher started this process; a single-process job runs as
/// if there were no MPI. Returns null when no session was started.
class MaybeSession {
 public:
  explicit MaybeSession(const std::string& command);
  ~MaybeSession();
  MaybeSession(const MaybeSession&) = delete;
  MaybeSession& operator=(const MaybeSession&) = delete;

 private:
  Session* session_ = nullptr;
};

/// True for an environment entry ("NAME=value") set by an MPI launcher (OMPI_*, PMIX_*, PMI_*,
/// MPI_LOCALNRANKS, ...). A rank drops them from the environment of the processes it starts, so
/// that those run as plain programs and never join the job.
bool is_launcher_variable(const char* entry);

}  // namespace aimc::sim::mpi

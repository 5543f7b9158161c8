// Dynamic work distribution: tasks (sweep points, chip instances of an evaluation) are handed
// out one at a time to whichever process has a free slot, so a slow task never leaves the others
// idle. Every process runs tasks with its own TaskWorker (child processes for sweep points,
// threads for evaluation runs); rank 0 also hands the tasks out and receives every result.
//
// Without MPI (comm == null) the same loop runs the tasks on this process alone, which is how a
// local `aimcsim sweep -j N` runs: the local and the MPI sweep share every line of this code
// except the messages.
//
// Protocol (tags): a worker rank sends REQUEST when it has a free slot and waits for ASSIGN
// (task number) or DONE (no more tasks: it finishes what it runs and returns); it sends RESULT
// (task number + result bytes) when a task ends. Rank 0 answers requests in the order they
// arrive and hands tasks out in the order given.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/sweep/mpi.h"

namespace aimc::sim {

/// What one process does with the tasks it gets.
class TaskWorker {
 public:
  virtual ~TaskWorker() = default;
  /// Tasks this process runs at once (at least 1).
  virtual int slots() const = 0;
  /// Starts `task`; returns at once (it runs in the background).
  virtual void start(int task) = 0;
  /// Tasks started and not yet returned by wait_one().
  virtual int running() const = 0;
  /// Waits at most `timeout` for a task to end: the task and its result bytes, or nothing.
  virtual std::optional<std::pair<int, std::string>> wait_one(
      std::chrono::milliseconds timeout) = 0;
  /// Stops the running tasks (on an interrupt) and waits for them.
  virtual void cancel() = 0;
};

/// A TaskWorker that runs `compute(task)` on its own threads, `slots` at a time; the result
/// bytes are what compute returns. An exception in compute is rethrown by wait_one().
class ThreadTaskWorker : public TaskWorker {
 public:
  ThreadTaskWorker(int slots, std::function<std::string(int task)> compute);
  ~ThreadTaskWorker() override;
  int slots() const override { return slots_; }
  void start(int task) override;
  int running() const override;
  std::optional<std::pair<int, std::string>> wait_one(std::chrono::milliseconds timeout) override;
  void cancel() override;

 private:
  struct State;
  int slots_;
  std::function<std::string(int)> compute_;
  std::shared_ptr<State> state_;
};

struct TaskFarmOptions {
  /// Set by a signal handler: stop handing out, cancel the running tasks, return false.
  const volatile std::sig_atomic_t* stop = nullptr;
  /// Rank 0: called after a task starts or ends, and about once a second, with the tasks
  /// running on all processes.
  std::function<void(int running)> tick;
};

/// Runs `tasks` (rank 0's list; other ranks ignore it) on every process of `comm` (only this one
/// when null). On rank 0, `on_result(task, bytes)` is called once per task in the order results
/// arrive. Returns false when stopped by options.stop before every task ended.
bool run_task_farm(const std::vector<int>& tasks, TaskWorker* worker, const mpi::Comm* comm,
                   const std::function<void(int task, const std::string& bytes)>& on_result,
                   const TaskFarmOptions& options = {});

/// Runs `one(r)` for r = 0 .. runs-1 spread over every rank of `comm` (on `threads` threads
/// per rank, handed out by the farm) and returns every result, in run order, on every rank.
/// How `aimcsim eval` and `aimcsim ttc` spread their chip instances.
std::vector<std::string> gather_runs(const mpi::Comm& comm, int threads, int runs,
                                     const std::function<std::string(int run)>& one);

/// Threads per rank for gather_runs when the user gave none (`requested` <= 0): the rank's
/// cores (its CPU affinity), shared with the other ranks on the machine when it is not bound.
int threads_per_rank(const mpi::Comm& comm, int requested);

}  // namespace aimc::sim

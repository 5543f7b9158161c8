// The farm loop of rank 0 (hand out, run locally, collect) and of the other ranks (ask, run,
// report).
#include "sim/sweep/task_farm.h"

#include "proto/wire.pb.h"
#include "workloads/job_pool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace aimc::sim {
namespace {

enum Tag : int { kRequest = 1, kAssign = 2, kDone = 3, kResult = 4 };

std::string encode_task(int task, const std::string& result = {}) {
  proto::FarmTask m;
  m.set_task(task);
  if (!result.empty()) m.set_result(result);
  return m.SerializeAsString();
}

proto::FarmTask decode_task(const std::string& bytes) {
  proto::FarmTask m;
  if (!m.ParseFromString(bytes) || !m.has_task())
    throw std::runtime_error("task farm: a task message that does not parse");
  return m;
}

bool stopped(const TaskFarmOptions& o) {
  return o.stop != nullptr && *o.stop;
}

bool run_root(const std::vector<int>& tasks, TaskWorker* worker, const mpi::Comm* comm,
              const std::function<void(int, const std::string&)>& on_result,
              const TaskFarmOptions& options) {
  size_t next = 0;
  int remote_running = 0;
  int workers_left = comm != nullptr ? comm->size() - 1 : 0;
  auto last_tick = std::chrono::steady_clock::now();
  auto tick = [&] {
    if (options.tick) options.tick(worker->running() + remote_running);
    last_tick = std::chrono::steady_clock::now();
  };
  while (true) {
    if (stopped(options)) {
      worker->cancel();
      return false;
    }
    bool busy = false;
    while (worker->running() < worker->slots() && next < tasks.size()) {
      worker->start(tasks[next++]);
      tick();
      busy = true;
    }
    int source = 0, tag = 0;
    while (comm != nullptr && comm->probe(&source, &tag)) {
      const std::string bytes = comm->recv(source, tag);
      busy = true;
      if (tag == kRequest) {
        if (next < tasks.size()) {
          comm->send(source, kAssign, encode_task(tasks[next++]));
          ++remote_running;
        } else {
          comm->send(source, kDone, {});
          --workers_left;
        }
        tick();
      } else if (tag == kResult) {
        --remote_running;
        const proto::FarmTask done = decode_task(bytes);
        on_result(done.task(), done.result());
        tick();
      } else {
        throw std::runtime_error("task farm: unexpected message tag " + std::to_string(tag) +
                                 " from rank " + std::to_string(source));
      }
    }
    if (next == tasks.size() && worker->running() == 0 && remote_running == 0 &&
        workers_left == 0) {
      return true;
    }
    // Wait for a local task briefly; poll the other ranks often while they need answers.
    const auto wait =
        busy ? std::chrono::milliseconds(0) : std::chrono::milliseconds(comm != nullptr ? 2 : 50);
    if (worker->running() > 0) {
      if (auto done = worker->wait_one(wait)) {
        on_result(done->first, done->second);
        tick();
      }
    } else if (!busy) {
      std::this_thread::sleep_for(wait);
    }
    if (std::chrono::steady_clock::now() - last_tick > std::chrono::seconds(1)) tick();
  }
}

bool run_worker(TaskWorker* worker, const mpi::Comm& comm, const TaskFarmOptions& options) {
  bool done = false;
  while (true) {
    if (stopped(options)) {
      worker->cancel();
      return false;
    }
    while (!done && worker->running() < worker->slots()) {
      comm.send(0, kRequest, {});
      std::string reply;
      // Rank 0 answers every request; the reply is ASSIGN or DONE.
      int source = 0, tag = 0;
      while (true) {
        if (stopped(options)) {
          worker->cancel();
          return false;
        }
        if (comm.probe(&source, &tag)) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      reply = comm.recv(source, tag);
      if (tag == kDone) {
        done = true;
      } else if (tag == kAssign) {
        worker->start(decode_task(reply).task());
      } else {
        throw std::runtime_error("task farm: unexpected message tag " + std::to_string(tag));
      }
    }
    if (worker->running() == 0) return true;
    if (auto finished = worker->wait_one(std::chrono::milliseconds(50))) {
      comm.send(0, kResult, encode_task(finished->first, finished->second));
    }
  }
}

}  // namespace

struct ThreadTaskWorker::State {
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0;
  std::deque<std::pair<int, std::string>> finished;
  std::exception_ptr error;
  std::vector<std::thread> threads;
};

ThreadTaskWorker::ThreadTaskWorker(int slots, std::function<std::string(int)> compute)
    : slots_(std::max(1, slots)), compute_(std::move(compute)), state_(std::make_shared<State>()) {}

ThreadTaskWorker::~ThreadTaskWorker() {
  cancel();
}

void ThreadTaskWorker::start(int task) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  ++state_->running;
  state_->threads.emplace_back([state = state_, compute = compute_, task] {
    std::string result;
    std::exception_ptr error;
    try {
      result = compute(task);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    if (error && !state->error) state->error = error;
    state->finished.emplace_back(task, std::move(result));
    state->changed.notify_all();
  });
}

int ThreadTaskWorker::running() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->running;
}

std::optional<std::pair<int, std::string>> ThreadTaskWorker::wait_one(
    std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->changed.wait_for(lock, timeout, [&] { return !state_->finished.empty(); });
  if (state_->error) {
    const std::exception_ptr error = state_->error;
    lock.unlock();
    cancel();
    std::rethrow_exception(error);
  }
  if (state_->finished.empty()) return std::nullopt;
  auto done = std::move(state_->finished.front());
  state_->finished.pop_front();
  --state_->running;
  return done;
}

void ThreadTaskWorker::cancel() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    threads.swap(state_->threads);
  }
  for (std::thread& t : threads)
    if (t.joinable()) t.join();
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->running = 0;
  state_->finished.clear();
}

bool run_task_farm(const std::vector<int>& tasks, TaskWorker* worker, const mpi::Comm* comm,
                   const std::function<void(int, const std::string&)>& on_result,
                   const TaskFarmOptions& options) {
  if (worker->slots() < 1) throw std::logic_error("task farm: a worker without slots");
  if (comm == nullptr || comm->root()) return run_root(tasks, worker, comm, on_result, options);
  return run_worker(worker, *comm, options);
}

std::vector<std::string> gather_runs(const mpi::Comm& comm, int threads, int runs,
                                     const std::function<std::string(int)>& one) {
  std::vector<std::string> results(static_cast<size_t>(runs));
  ThreadTaskWorker worker(threads, one);
  std::vector<int> tasks(static_cast<size_t>(runs));
  for (int r = 0; r < runs; ++r) tasks[static_cast<size_t>(r)] = r;
  run_task_farm(tasks, &worker, &comm, [&](int r, const std::string& bytes) {
    results.at(static_cast<size_t>(r)) = bytes;
  });
  // Rank 0 has every result: send them all to every rank.
  std::string all;
  if (comm.root()) {
    proto::GatheredRuns gathered;
    for (const std::string& r : results) gathered.add_results(r);
    all = gathered.SerializeAsString();
  }
  comm.broadcast(&all);
  proto::GatheredRuns gathered;
  if (!gathered.ParseFromString(all) || gathered.results_size() != runs)
    throw std::runtime_error("gather_runs: a broadcast that does not parse");
  for (int r = 0; r < runs; ++r) results[static_cast<size_t>(r)] = gathered.results(r);
  return results;
}

int threads_per_rank(const mpi::Comm& comm, int requested) {
  if (requested > 0) return requested;
  const int cores = workloads::usable_cores();
  const bool unbound = cores >= static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, unbound ? cores / comm.local_size() : cores);
}

}  // namespace aimc::sim

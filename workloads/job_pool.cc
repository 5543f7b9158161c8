// The job pool shared by evaluation and generation.
#include "workloads/job_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace aimc::workloads {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int resolve_threads(int requested) {
  return requested > 0 ? requested : usable_cores();
}

void run_jobs(int jobs, int threads, const std::function<void(int)>& fn) {
  std::vector<std::exception_ptr> errors(jobs);
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int j = next++; j < jobs; j = next++) {
      try {
        fn(j);
      } catch (...) {
        errors[j] = std::current_exception();
      }
    }
  };
  const int n = std::max(1, std::min(threads, jobs));
  if (n == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < n; ++i) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace aimc::workloads

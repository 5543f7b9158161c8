// The task farm on one process (the local sweep's scheduler): every task runs once, results
// arrive once each, the slots bound the tasks in flight, a stop cancels, errors propagate.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <stdexcept>
#include <thread>

#include "sim/sweep/task_farm.h"

namespace aimc::sim {
namespace {

TEST(TaskFarm, EveryTaskOnceWithAtMostSlotsInFlight) {
  std::atomic<int> in_flight{0}, most{0};
  ThreadTaskWorker worker(3, [&](int task) {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    // Uneven durations: results arrive out of task order.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * (12 - task)));
    --in_flight;
    return std::to_string(task * task);
  });
  std::vector<int> tasks;
  for (int t = 0; t < 12; ++t) tasks.push_back(t);
  std::map<int, std::string> results;
  int ticks = 0;
  TaskFarmOptions options;
  options.tick = [&](int running) {
    EXPECT_LE(running, 3);
    ++ticks;
  };
  ASSERT_TRUE(run_task_farm(
      tasks, &worker, nullptr,
      [&](int task, const std::string& bytes) {
        EXPECT_TRUE(results.emplace(task, bytes).second) << "task " << task << " twice";
      },
      options));
  ASSERT_EQ(results.size(), 12u);
  for (int t = 0; t < 12; ++t) EXPECT_EQ(results[t], std::to_string(t * t));
  EXPECT_EQ(most.load(), 3);
  EXPECT_GT(ticks, 0);
}

TEST(TaskFarm, StopCancelsAndReportsIncomplete) {
  volatile std::sig_atomic_t stop = 0;
  ThreadTaskWorker worker(1, [&](int task) {
    if (task == 2) stop = 1;  // as if SIGINT arrived while task 2 ran
    return std::string();
  });
  std::vector<int> tasks = {0, 1, 2, 3, 4, 5};
  int results = 0;
  TaskFarmOptions options;
  options.stop = &stop;
  EXPECT_FALSE(run_task_farm(
      tasks, &worker, nullptr, [&](int, const std::string&) { ++results; }, options));
  EXPECT_GE(results, 2);
  EXPECT_LT(results, 6);
}

TEST(TaskFarm, AnErrorInATaskIsRethrown) {
  ThreadTaskWorker worker(2, [](int task) -> std::string {
    if (task == 3) throw std::runtime_error("task 3 failed");
    return "ok";
  });
  std::vector<int> tasks = {0, 1, 2, 3, 4};
  EXPECT_THROW(run_task_farm(tasks, &worker, nullptr, [](int, const std::string&) {}),
               std::runtime_error);
}

}  // namespace
}  // namespace aimc::sim

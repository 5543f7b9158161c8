// Unit tier: the controller's four-ary event heap pops in the order of std::priority_queue.
#include <gtest/gtest.h>

#include <functional>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "sim/chip/event_heap.h"

namespace aimc {
namespace {

using Key = std::pair<long long, long long>;  // (ready time, issue sequence): unique keys

struct Less {
  bool operator()(const Key& a, const Key& b) const { return a < b; }
};

TEST(QuadHeap, PopsInTheOrderOfAPriorityQueueUnderInterleavedPushes) {
  // Seeded pushes with many equal times (ties broken by the sequence) interleaved with pops,
  // the heap growing to thousands and draining: every popped key equals std::priority_queue's.
  std::mt19937 rng(11);
  sim::QuadHeap<Key, Less> heap;
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> want;
  long long seq = 0, popped = 0, mismatches = 0;
  for (int round = 0; round < 20000; ++round) {
    const int pushes = static_cast<int>(rng() % 4), pops = static_cast<int>(rng() % 3);
    for (int k = 0; k < pushes; ++k) {
      const Key key{static_cast<long long>(rng() % 50), seq++};
      heap.push(key);
      want.push(key);
    }
    for (int k = 0; k < pops && !want.empty(); ++k) {
      ASSERT_FALSE(heap.empty());
      mismatches += heap.top() != want.top();
      heap.pop();
      want.pop();
      ++popped;
    }
    ASSERT_EQ(heap.size(), want.size());
  }
  while (!want.empty()) {
    mismatches += heap.top() != want.top();
    heap.pop();
    want.pop();
    ++popped;
  }
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(popped, seq);
  EXPECT_EQ(mismatches, 0);
}

TEST(QuadHeap, ReplacingTheTopPopsAsPopThenPush) {
  // As the controller's bursts: the popped top is often replaced by a later key (its burst's
  // next output) instead of popped; pops and replacements interleaved with pushes give the
  // same keys in the same order as std::priority_queue doing pop then push.
  std::mt19937 rng(5);
  sim::QuadHeap<Key, Less> heap;
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> want;
  long long seq = 0, popped = 0, replaced = 0, mismatches = 0;
  for (int round = 0; round < 20000; ++round) {
    for (int k = static_cast<int>(rng() % 3); k > 0; --k) {
      const Key key{static_cast<long long>(rng() % 200), seq++};
      heap.push(key);
      want.push(key);
    }
    if (want.empty()) continue;
    mismatches += heap.top() != want.top();
    const Key top = want.top();
    want.pop();
    ++popped;
    if (rng() % 3) {
      const Key later{top.first + static_cast<long long>(rng() % 30), seq++};
      heap.replace_top(later);
      want.push(later);
      ++replaced;
    } else {
      heap.pop();
    }
    ASSERT_EQ(heap.size(), want.size());
  }
  while (!want.empty()) {
    mismatches += heap.top() != want.top();
    heap.pop();
    want.pop();
  }
  EXPECT_TRUE(heap.empty());
  EXPECT_GT(replaced, 5000);
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace aimc

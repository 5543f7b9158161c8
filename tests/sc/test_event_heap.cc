// Unit tier: the controller's four-ary event heap pops in the order of std::priority_queue; its
// radix sort of bursts sorts as std::sort.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "sim/chip/event_heap.h"
#include "sim/chip/radix_sort.h"

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

TEST(QuadHeap, AReplacementThatStaysEarliestAndOneThatDoesNotPopInOrder) {
  // The earliest key is kept apart from the others: a replacement earlier than every other key
  // stays on top, a later one gives way to the others' earliest, a push earlier than the top
  // takes its place; pops then drain in key order.
  sim::QuadHeap<Key, Less> heap;
  for (long long t : {50, 20, 90, 70, 30}) heap.push({t, t});
  EXPECT_EQ(heap.top(), Key(20, 20));
  heap.replace_top({25, 100});  // still before 30
  EXPECT_EQ(heap.top(), Key(25, 100));
  heap.replace_top({60, 101});  // after 30 and 50
  EXPECT_EQ(heap.top(), Key(30, 30));
  heap.push({10, 102});
  EXPECT_EQ(heap.top(), Key(10, 102));
  std::vector<long long> order;
  while (!heap.empty()) {
    order.push_back(heap.top().first);
    heap.pop();
  }
  EXPECT_EQ(order, (std::vector<long long>{10, 30, 50, 60, 70, 90}));
  EXPECT_EQ(heap.size(), 0u);
}

TEST(RadixSort, SortsPackedTimesAndIndicesAsStdSort) {
  // As a burst's keys: a time (from the earliest) above the index of each output, many times
  // equal; random sizes and time ranges of 0 to 40 bits (passes skipped where a digit is the
  // same in every key, partial last digits). The radix sort sees only the time bits; the result
  // equals std::sort of the whole keys.
  std::mt19937_64 rng(17);
  std::vector<uint64_t> keys, want, scratch;
  int differ = 0, checked = 0;
  for (int round = 0; round < 3000; ++round) {
    const int n = static_cast<int>(rng() % 1500);
    int index_bits = 1;
    while ((1 << index_bits) < n) ++index_bits;
    const int time_bits = static_cast<int>(rng() % 41);
    const uint64_t distinct = 1 + rng() % (n + 1);  // few distinct times: many ties
    std::vector<uint64_t> times(distinct);
    for (uint64_t& t : times) t = time_bits == 0 ? 0 : rng() & ((uint64_t{1} << time_bits) - 1);
    keys.resize(n);
    for (int i = 0; i < n; ++i)
      keys[i] = (times[rng() % distinct] << index_bits) | static_cast<uint64_t>(i);
    want = keys;
    std::sort(want.begin(), want.end());
    sim::radix_sort(&keys, index_bits, index_bits + time_bits, &scratch);
    differ += keys != want;
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
  EXPECT_EQ(differ, 0);
}

TEST(RadixSort, SortsWholeKeysOfAnyWidthAsStdSort) {
  // From bit 0: every bit sorted, widths 1 to 64 (eight passes at 64), duplicates included.
  std::mt19937_64 rng(3);
  std::vector<uint64_t> keys, want, scratch;
  int differ = 0;
  for (int bits = 1; bits <= 64; ++bits) {
    for (int n : {0, 1, 2, 7, 100, 1000}) {
      keys.resize(n);
      for (uint64_t& k : keys) k = bits == 64 ? rng() : rng() & ((uint64_t{1} << bits) - 1);
      if (n > 10) keys[n / 2] = keys[n / 3];
      want = keys;
      std::sort(want.begin(), want.end());
      sim::radix_sort(&keys, 0, bits, &scratch);
      differ += keys != want;
    }
  }
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace aimc

// A four-ary min-heap: the controller's queue of steps and jobs by ready time. Keys are unique
// (ready time, then issue sequence), so it pops in the same order as any other priority queue,
// with half the levels of a binary heap and each node's children on one or two cache lines.
#pragma once

#include <cstddef>
#include <vector>

namespace aimc::sim {

/// Min-heap of T ordered by `Before` (a strict weak order; ties pop in no particular order).
template <typename T, typename Before>
class QuadHeap {
 public:
  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  const T& top() const { return v_.front(); }

  void push(const T& x) {
    size_t i = v_.size();
    v_.push_back(x);
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!before_(x, v_[parent])) break;
      v_[i] = v_[parent];
      i = parent;
    }
    v_[i] = x;
  }

  void pop() {
    const T x = v_.back();
    v_.pop_back();
    if (!v_.empty()) sift_down(x);
  }

  /// pop() then push(x) in one pass (the same heap contents, so the same pop order).
  void replace_top(const T& x) { sift_down(x); }

 private:
  // Puts `x` at the root's place and moves it down to where it belongs.
  void sift_down(const T& x) {
    const size_t n = v_.size();
    size_t i = 0;
    for (;;) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      const size_t end = first + 4 < n ? first + 4 : n;
      size_t best = first;
      for (size_t c = first + 1; c < end; ++c)
        if (before_(v_[c], v_[best])) best = c;
      if (!before_(v_[best], x)) break;
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = x;
  }

  std::vector<T> v_;
  Before before_;
};

}  // namespace aimc::sim

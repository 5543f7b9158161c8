// A four-ary min-heap: the controller's queue of steps and jobs by ready time. Keys are unique
// (ready time, then issue sequence), so it pops in the same order as any other priority queue,
// with half the levels of a binary heap and each node's children on one or two cache lines.
// The earliest key is kept apart from the heap of the others: most of the controller's pops
// replace the top by its burst's next output, which is most often still the earliest (85 % of
// them on the 8B preset), and that costs one comparison with the others' earliest instead of a
// search of the root's four children.
#pragma once

#include <cstddef>
#include <vector>

namespace aimc::sim {

/// Min-heap of T ordered by `Before` (a strict weak order; ties pop in no particular order).
template <typename T, typename Before>
class QuadHeap {
 public:
  bool empty() const { return !has_top_; }
  size_t size() const { return v_.size() + (has_top_ ? 1 : 0); }
  const T& top() const { return top_; }
  // Every element, in no particular order.
  template <typename F>
  void for_each(F f) const {
    if (has_top_) f(top_);
    for (const T& x : v_) f(x);
  }

  void push(const T& x) {
    if (!has_top_) {
      top_ = x;
      has_top_ = true;
    } else if (before_(x, top_)) {
      push_rest(top_);
      top_ = x;
    } else {
      push_rest(x);
    }
  }

  void pop() {
    if (v_.empty()) {
      has_top_ = false;
      return;
    }
    top_ = v_.front();
    const T x = v_.back();
    v_.pop_back();
    if (!v_.empty()) sift_down(x);
  }

  /// pop() then push(x) in one pass (the same heap contents, so the same pop order).
  void replace_top(const T& x) {
    if (v_.empty() || !before_(v_.front(), x)) {
      top_ = x;  // still the earliest
      return;
    }
    top_ = v_.front();
    sift_down(x);
  }

 private:
  // The heap of the keys other than top_.
  void push_rest(const T& x) {
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

  T top_{};
  bool has_top_ = false;
  std::vector<T> v_;
  Before before_;
};

}  // namespace aimc::sim

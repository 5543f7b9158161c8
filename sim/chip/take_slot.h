// The controller's pools (joins, jobs, bursts, placeholders) reuse their freed slots.
#pragma once

#include <vector>

namespace aimc::sim {

/// A slot of `pool`: the last one freed (popped from `free`), or a new one at the end.
template <typename Pool>
int take_slot(Pool& pool, std::vector<int>& free) {
  if (free.empty()) {
    pool.emplace_back();
    return static_cast<int>(pool.size()) - 1;
  }
  const int k = free.back();
  free.pop_back();
  return k;
}

}  // namespace aimc::sim

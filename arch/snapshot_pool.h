// Room for the snapshots a component takes when a capture begins (ScNoc, TileArray: the quiet
// replay's recordings). Few chips record at a time, so a snapshot's room goes back to a pool of
// the thread when its capture ends and the next capture of any component of the kind takes it:
// a system of many chips holds a handful of snapshots instead of one per chip.
#pragma once

#include <utility>
#include <vector>

namespace aimc::arch {

template <typename T>
std::vector<std::vector<T>>& snapshot_pool() {
  static thread_local std::vector<std::vector<T>> pool;
  return pool;
}

/// Empties `*v`, with room from the pool when it has none.
template <typename T>
void take_room(std::vector<T>* v) {
  std::vector<std::vector<T>>& pool = snapshot_pool<T>();
  if (v->capacity() == 0 && !pool.empty()) {
    *v = std::move(pool.back());
    pool.pop_back();
  }
  v->clear();
}

/// `*to` = `from`, in room from the pool when `*to` has none.
template <typename T>
void take_snapshot(const std::vector<T>& from, std::vector<T>* to) {
  take_room(to);
  *to = from;
}

/// Gives the snapshot's room back to the pool (`*v` is left empty).
template <typename T>
void release_snapshot(std::vector<T>* v) {
  if (v->capacity() > 0) snapshot_pool<T>().push_back(std::move(*v));
  v->clear();
}

}  // namespace aimc::arch

// KV cache storage: growth keeps the committed rows so decoding can go on past the initial
// capacity.
#include "workloads/kv_cache.h"

#include <algorithm>
#include <stdexcept>

namespace aimc::workloads {

KvCache::KvCache(int num_blocks, int kv_dim, int capacity)
    : keys_(num_blocks), values_(num_blocks), kv_dim_(kv_dim) {
  for (int b = 0; b < num_blocks; ++b) {
    keys_[b].setZero(std::max(capacity, 0), kv_dim);
    values_[b].setZero(std::max(capacity, 0), kv_dim);
  }
}

void KvCache::reserve(int tokens) {
  const int have = capacity();
  if (tokens <= have) return;
  const int rows = std::max(tokens, 2 * have);
  for (size_t b = 0; b < keys_.size(); ++b) {
    // conservativeResize keeps the top-left block, i.e. the committed rows of every column.
    keys_[b].conservativeResize(rows, kv_dim_);
    values_[b].conservativeResize(rows, kv_dim_);
  }
}

void KvCache::commit(int tokens) {
  if (tokens < 0 || length_ + tokens > capacity()) {
    throw std::logic_error("KvCache::commit: positions beyond the capacity");
  }
  length_ += tokens;
}

}  // namespace aimc::workloads

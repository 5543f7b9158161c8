// The key/value cache of incremental decoding: per decoder block, the keys (after rotary
// embedding) and values of every position processed so far. Digital memory: FP32, no noise.
#pragma once

#include <vector>

#include "arch/linear_layer.h"

namespace aimc::workloads {

/// Keys and values of positions 0..length()-1 of every block, each a (capacity x kv_dim)
/// matrix whose first length() rows are valid (kv_dim = num_kv_heads * head_dim, head h in
/// columns h*head_dim .. h*head_dim + head_dim - 1).
///
/// A forward step over T new tokens writes rows length()..length()+T-1 of every block (the
/// attention of block b reads its own rows up to the current position), then commit(T) makes
/// them part of the cache. Capacity grows on demand (doubling), so rows stay valid.
class KvCache {
 public:
  KvCache() = default;
  /// An empty cache for `num_blocks` blocks of width `kv_dim`, with room for `capacity` tokens
  /// before it has to grow.
  KvCache(int num_blocks, int kv_dim, int capacity);

  int num_blocks() const { return static_cast<int>(keys_.size()); }
  int kv_dim() const { return kv_dim_; }
  /// Positions committed so far (the position of the next token).
  int length() const { return length_; }
  /// Rows allocated per block.
  int capacity() const { return keys_.empty() ? 0 : static_cast<int>(keys_[0].rows()); }

  /// Makes room for at least `tokens` positions in every block, keeping committed rows.
  void reserve(int tokens);
  /// Keys / values of block b; rows >= length() are scratch for the step in progress.
  arch::Matrix& keys(int block) { return keys_[block]; }
  arch::Matrix& values(int block) { return values_[block]; }
  const arch::Matrix& keys(int block) const { return keys_[block]; }
  const arch::Matrix& values(int block) const { return values_[block]; }
  /// Appends `tokens` positions written by the step just finished.
  void commit(int tokens);
  /// Forgets every position (keeps the allocation).
  void clear() { length_ = 0; }

 private:
  std::vector<arch::Matrix> keys_, values_;
  int kv_dim_ = 0;
  int length_ = 0;
};

}  // namespace aimc::workloads

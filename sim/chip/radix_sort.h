// A least-significant-digit radix sort of 64-bit keys, for the controller's bursts of partial
// outputs (hundreds of keys of a few tens of bits each, sorted once per layer read): a few
// passes over the keys without a branch that depends on them, where std::sort mispredicts about
// every other comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace aimc::sim {

/// Sorts `*keys` ascending. Every key must be below 2^bits, and keys equal in their bits from
/// `from_bit` up must already be in ascending order (a sequence number packed below `from_bit`,
/// say): only bits from_bit..bits-1 are sorted, stably, 8 bits a pass; a pass whose digit is the
/// same in every key is skipped. `*scratch` is working space (resized).
inline void radix_sort(std::vector<uint64_t>* keys, int from_bit, int bits,
                       std::vector<uint64_t>* scratch) {
  const size_t n = keys->size();
  if (n < 2 || bits <= from_bit) return;
  constexpr int kDigit = 8;
  constexpr int kBuckets = 1 << kDigit;
  const int passes = (bits - from_bit + kDigit - 1) / kDigit;  // at most 8
  uint32_t count[8][kBuckets];
  std::memset(count, 0, sizeof(count[0]) * static_cast<size_t>(passes));
  for (const uint64_t k : *keys) {
    const uint64_t v = k >> from_bit;
    for (int p = 0; p < passes; ++p) ++count[p][(v >> (kDigit * p)) & (kBuckets - 1)];
  }
  scratch->resize(n);
  uint64_t* src = keys->data();
  uint64_t* dst = scratch->data();
  for (int p = 0; p < passes; ++p) {
    const int shift = from_bit + kDigit * p;
    uint32_t* c = count[p];
    if (c[(src[0] >> shift) & (kBuckets - 1)] == n) continue;
    uint32_t sum = 0;
    for (int d = 0; d < kBuckets; ++d) {
      const uint32_t here = c[d];
      c[d] = sum;
      sum += here;
    }
    for (size_t i = 0; i < n; ++i) dst[c[(src[i] >> shift) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  if (src != keys->data()) keys->swap(*scratch);
}

}  // namespace aimc::sim

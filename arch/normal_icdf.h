// The inverse-CDF normal draws of Rng::fill_normal_icdf (rng.h), over the kLanes xoshiro256**
// lanes of an Rng: the kernels live in normal_icdf.cc, compiled for the baseline ISA, AVX2 and
// AVX-512 and chosen at run time; every level gives the same bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/rng.h"

namespace aimc::arch::detail {

/// out[0..n) = draws of successive lane steps (16 draws per step: lane l's word gives draws
/// 2l and 2l + 1 from its low and high 32 bits); the rest of the last step is dropped.
void fill_normal_icdf(uint64_t (*lane)[Rng::kLanes], float* out, size_t n);

/// One draw from a 32-bit word, the rule every kernel computes (exposed for tests).
float normal_icdf_draw(uint32_t word);

}  // namespace aimc::arch::detail

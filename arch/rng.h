// Deterministic random numbers for the numerics: xoshiro256** streams seeded via splitmix64,
// standard normal draws from our own Box-Muller with our own polynomial log/sin/cos, and
// derive_seed() that gives every (layer, tile, purpose) an independent stream. Nothing here uses
// the standard library's distributions or libm, so a seed gives bit-identical draws with any
// standard library, and draws never depend on threads (each stream belongs to one object).
#pragma once

#include <cstddef>
#include <cstdint>

// Kernels of arch/ (normal draws, the ADC readout, DAC codes) are compiled three times, for the
// baseline ISA, AVX2 and AVX-512, and chosen at run time (simd_level() below). The builds give
// bit-identical results: only IEEE +, -, *, /, sqrt, min, max and integer operations, no FMA
// (those files are compiled with -ffp-contract=off, so no a * b + c becomes an FMA).
#if defined(__GNUC__) && defined(__x86_64__)
#define AIMC_HAVE_AVX2_KERNELS 1
#define AIMC_ALWAYS_INLINE inline __attribute__((always_inline))
#define AIMC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define AIMC_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")))
#else
#define AIMC_HAVE_AVX2_KERNELS 0
#define AIMC_ALWAYS_INLINE inline
#endif

namespace aimc::arch {

/// splitmix64 finaliser: a bijective 64-bit mixer (Steele et al. 2014), used for seeding.
uint64_t mix64(uint64_t x);

/// Seed of an independent stream identified by (base, a, b), e.g. (layer seed, tile row, tile
/// column). Different tuples give unrelated seeds; the same tuple always gives the same seed.
uint64_t derive_seed(uint64_t base, uint64_t a, uint64_t b = 0);

/// A xoshiro256** generator (Blackman and Vigna 2018) with normal draws.
/// Invariant: the sequence of values depends only on the seed and the sequence of calls.
class Rng {
 public:
  /// State filled from four splitmix64 outputs of `seed` (never all zero).
  explicit Rng(uint64_t seed);

  /// Next 64 random bits.
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  /// One standard normal draw (float accuracy, about 1e-6 relative; tails reach 6.5 sigma).
  /// Draws come in Box-Muller pairs; the second of a pair is kept for the next call.
  float normal();

  /// Fills out[0..n) with standard normal draws, one 64-bit word per pair. The words come from
  /// kLanes interleaved xoshiro256** lanes (seeded from the seed, independent of the scalar
  /// stream above), so that the generator and the transform vectorise: about 1 ns per draw.
  /// Same distribution as normal(), a different sequence. Calls whose n is a multiple of
  /// kFillBlock continue the sequence exactly: fill_normal(a, k * kFillBlock) then
  /// fill_normal(a + k * kFillBlock, m) gives the draws of fill_normal(a, k * kFillBlock + m).
  void fill_normal(float* out, size_t n);

  /// Fills out[0..n) with standard normal draws by the tabulated inverse CDF (normal_icdf.cc:
  /// 31 random bits per draw, two draws per 64-bit word of the lanes' xoshiro256++ output,
  /// largest error 5.2e-7, tails to 6.23 sigma). Half the cost of fill_normal at the AVX-512
  /// level; at the AVX2 and baseline levels, whose table look-ups cost more, about 15 % and
  /// 35 % more (docs/performance.md). An Rng's stream uses one of the two methods. Calls whose n
  /// is a multiple of kIcdfStep continue the sequence exactly (a partial step's rest is dropped).
  void fill_normal_icdf(float* out, size_t n);

  static constexpr int kLanes = 8;
  /// Draws per step of the lanes in fill_normal_icdf.
  static constexpr size_t kIcdfStep = 2 * kLanes;
  /// Draws per block of fill_normal (kFillBlock / 2 words, cosine draws then sine draws).
  static constexpr size_t kFillBlock = 256;

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
  uint64_t lane_[4][kLanes];  ///< lane_[k][l]: state word k of lane l
  float spare_ = 0;
  bool has_spare_ = false;
};

/// Instruction sets the run-time dispatched kernels of arch/ can use. kAvx2 needs AVX2 and FMA,
/// kAvx512 AVX-512 F, VL, BW and DQ as well. Every build of a kernel gives bit-identical
/// results (tests run all of them): the readout, DAC and normal-draw kernels use only IEEE +, -,
/// *, /, sqrt, min, max and integer operations, no FMA; the product kernels (tile_gemm.h) use
/// one fused multiply-add per term in a fixed order, which every level computes exactly.
enum class SimdLevel { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

/// The highest level this CPU supports.
SimdLevel simd_supported();
/// Caps the level the kernels use (default kAvx512: whatever the CPU has). Tests lower it to
/// check that the builds agree. Not to be changed while another thread runs these kernels.
void set_simd_limit(SimdLevel limit);
/// The level the kernels use now: min(limit, simd_supported()).
SimdLevel simd_level();
/// "baseline", "avx2" or "avx512".
const char* simd_level_name(SimdLevel level);

/// Shorthands kept for the AVX2 switch: set_simd_avx2(true) lifts the cap, false caps at the
/// baseline; simd_avx2() is simd_level() >= kAvx2.
void set_simd_avx2(bool enabled);
bool simd_avx2();

}  // namespace aimc::arch

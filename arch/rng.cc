// xoshiro256** streams and Box-Muller normal draws built only from IEEE +, *, /, sqrt, so that
// the same seed gives the same bits with any libm (see rng.h).
#include "arch/rng.h"

#include "arch/normal_icdf.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace aimc::arch {
namespace {

uint64_t splitmix_next(uint64_t* state) {
  *state += 0x9e3779b97f4a7c15ULL;
  return mix64(*state);
}

/// ln(u) for u in (0, 1]: exponent from the float's bits, mantissa folded into
/// [sqrt(1/2), sqrt(2)), then ln(m) = 2 atanh((m-1)/(m+1)) as an odd series (error < 1e-9).
AIMC_ALWAYS_INLINE float log_unit(float u) {
  int32_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  int32_t e = ((bits >> 23) & 0xff) - 127;
  int32_t mbits = (bits & 0x007fffff) | 0x3f800000;
  const int32_t fold = mbits > 0x3fb504f3 ? 1 : 0;  // 0x3fb504f3 = sqrt(2) as float bits
  mbits -= fold << 23;                              // halve m without rounding
  e += fold;
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const float z = (m - 1.0f) / (m + 1.0f);
  const float z2 = z * z;
  const float series = 1.0f + z2 * (1.0f / 3 + z2 * (1.0f / 5 + z2 * (1.0f / 7 + z2 * (1.0f / 9))));
  return static_cast<float>(e) * 0.69314718f + 2.0f * z * series;
}

/// One Box-Muller pair from 64 random bits w, given as k31 = w >> 33 and lo = w & 0xffffff.
/// The radius uses the top 31 bits, u1 in (0, 1]; the angle uses the low 24 bits: 22 bits give
/// an angle a in (-pi/4, pi/4) (Taylor series of sin and cos, error < 2e-9) and 2 bits pick the
/// quadrant by exact rotations of 90 degrees.
AIMC_ALWAYS_INLINE void box_muller_bits(int32_t k31, int32_t lo, float* z0, float* z1) {
  const float u1 = (static_cast<float>(k31) + 1.0f) * 0x1.0p-31f;
  const float r = std::sqrt(-2.0f * log_unit(u1));
  const float frac = (static_cast<float>(lo & 0x3fffff) + 0.5f) * 0x1.0p-22f;  // (0, 1)
  const float a = (frac - 0.5f) * 1.57079633f;
  const float a2 = a * a;
  const float s =
      a *
      (1.0f + a2 * (-1.0f / 6 + a2 * (1.0f / 120 + a2 * (-1.0f / 5040 + a2 * (1.0f / 362880)))));
  const float c =
      1.0f + a2 * (-0.5f + a2 * (1.0f / 24 + a2 * (-1.0f / 720 +
                                                   a2 * (1.0f / 40320 + a2 * (-1.0f / 3628800)))));
  const bool swap = (lo >> 22) & 1;
  const float sign = ((lo >> 23) & 1) ? -1.0f : 1.0f;
  const float x = swap ? -s : c;
  const float y = swap ? c : s;
  *z0 = r * x * sign;
  *z1 = r * y * sign;
}

AIMC_ALWAYS_INLINE void box_muller(uint64_t w, float* z0, float* z1) {
  box_muller_bits(static_cast<int32_t>(w >> 33), static_cast<int32_t>(w & 0xffffff), z0, z1);
}

}  // namespace

uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t base, uint64_t a, uint64_t b) {
  // Each component goes through the mixer with a distinct odd offset, so (a, b) and (b, a),
  // or a seed and a neighbouring seed, give unrelated results.
  uint64_t h = mix64(base + 0x9e3779b97f4a7c15ULL);
  h = mix64(h ^ (a + 0xd1b54a32d192ed03ULL));
  h = mix64(h ^ (b + 0x8cb92ba72f3d8dd7ULL));
  return h;
}

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (auto& s : s_) s = splitmix_next(&state);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // xoshiro's one forbidden state
  for (int l = 0; l < kLanes; ++l) {
    uint64_t lane_state = derive_seed(seed, 0x6c616e65 /* "lane" */, l);
    for (int k = 0; k < 4; ++k) lane_[k][l] = splitmix_next(&lane_state);
    if ((lane_[0][l] | lane_[1][l] | lane_[2][l] | lane_[3][l]) == 0) lane_[0][l] = 1;
  }
}

namespace {

/// Lanes of 64 bits as GCC vectors (`kWide`: all kLanes in one, an AVX-512 register; else two
/// halves of four, one AVX2 or two SSE2 registers each), and their 32-bit fields.
typedef uint64_t U64x8 __attribute__((vector_size(64)));
typedef int32_t I32x8 __attribute__((vector_size(32)));
typedef uint64_t U64x4 __attribute__((vector_size(32)));
typedef int32_t I32x4 __attribute__((vector_size(16)));

/// One xoshiro256** step of the lanes in s0..s3, their words in w. Shifts and adds only
/// (x * 5 = (x << 2) + x, x * 9 = (x << 3) + x), so that the lanes run in SIMD even on SSE2,
/// which has no 64-bit multiply (plain loops were left scalar once inlined).
template <typename U>
AIMC_ALWAYS_INLINE void lanes_step(U& s0, U& s1, U& s2, U& s3, U& w) {
  const U m5 = (s1 << 2) + s1;
  const U r = (m5 << 7) | (m5 >> 57);
  w = (r << 3) + r;
  const U t = s1 << 17;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 45) | (s3 >> 19);
}

/// Writes words w as their two fields of box_muller_bits: hi31 = w >> 33, lo24 = w & 0xffffff.
/// With one vector of all lanes (AVX-512: a narrowing move) straight from the registers; with
/// halves (AVX2, SSE2, where the narrowing is a shuffle sequence) through memory and a loop.
template <typename U, typename I>
AIMC_ALWAYS_INLINE void split_words(const U& w, int32_t* hi31, int32_t* lo24) {
  if constexpr (sizeof(U) == 64) {
    const I hi = __builtin_convertvector(w >> 33, I);
    const I lo = __builtin_convertvector(w & 0xffffff, I);
    std::memcpy(hi31, &hi, sizeof hi);
    std::memcpy(lo24, &lo, sizeof lo);
  } else {
    uint64_t words[sizeof(U) / sizeof(uint64_t)];
    std::memcpy(words, &w, sizeof w);
    for (size_t k = 0; k < sizeof(U) / sizeof(uint64_t); ++k) {
      hi31[k] = static_cast<int32_t>(words[k] >> 33);
      lo24[k] = static_cast<int32_t>(words[k] & 0xffffff);
    }
  }
}

/// count / kLanes steps of the kLanes xoshiro256** lanes (count a multiple of kLanes; word
/// k + l from lane l, lane state lane[k][l] = word k of lane l), as the fields of lanes_step.
template <typename U, typename I>
AIMC_ALWAYS_INLINE void lanes_steps(uint64_t (*lane)[Rng::kLanes], int32_t* hi31, int32_t* lo24,
                                    size_t count) {
  constexpr int kVec = sizeof(U) / sizeof(uint64_t), kParts = Rng::kLanes / kVec;
  static_assert(Rng::kLanes % kVec == 0, "whole vectors of lanes");
  U s0[kParts], s1[kParts], s2[kParts], s3[kParts];
  for (int h = 0; h < kParts; ++h) {
    std::memcpy(&s0[h], &lane[0][kVec * h], sizeof(U));
    std::memcpy(&s1[h], &lane[1][kVec * h], sizeof(U));
    std::memcpy(&s2[h], &lane[2][kVec * h], sizeof(U));
    std::memcpy(&s3[h], &lane[3][kVec * h], sizeof(U));
  }
  for (size_t k = 0; k < count; k += Rng::kLanes) {
    for (int h = 0; h < kParts; ++h) {
      U w;
      lanes_step(s0[h], s1[h], s2[h], s3[h], w);
      split_words<U, I>(w, hi31 + k + kVec * h, lo24 + k + kVec * h);
    }
  }
  for (int h = 0; h < kParts; ++h) {
    std::memcpy(&lane[0][kVec * h], &s0[h], sizeof(U));
    std::memcpy(&lane[1][kVec * h], &s1[h], sizeof(U));
    std::memcpy(&lane[2][kVec * h], &s2[h], sizeof(U));
    std::memcpy(&lane[3][kVec * h], &s3[h], sizeof(U));
  }
}

/// The body of Rng::fill_normal, compiled once for the baseline ISA and once for AVX2.
template <bool kWide>
AIMC_ALWAYS_INLINE void fill_normal_kernel(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  // Words are drawn serially (the generator is a recurrence); the transform of a block of
  // words is a branch-free loop the compiler vectorises. A block yields kBlock cosine draws
  // followed by kBlock sine draws.
  constexpr size_t kBlock = Rng::kFillBlock / 2;  // a multiple of kLanes
  static_assert(kBlock % Rng::kLanes == 0, "whole lane steps per block");
  alignas(64) int32_t hi31[kBlock], lo24[kBlock];
  alignas(64) float tmp[2 * kBlock];
  while (n > 0) {
    const size_t pairs = n >= 2 * kBlock ? kBlock : (n + 1) / 2;
    // The words are split into their 32-bit fields as they are drawn, so the transform below
    // runs on full vectors of 32-bit lanes.
    const size_t words = (pairs + Rng::kLanes - 1) / Rng::kLanes * Rng::kLanes;
    if (kWide) {
      lanes_steps<U64x8, I32x8>(lane, hi31, lo24, words);
    } else {
      lanes_steps<U64x4, I32x4>(lane, hi31, lo24, words);
    }
    float* dst = n >= 2 * kBlock ? out : tmp;
    for (size_t k = 0; k < pairs; ++k) box_muller_bits(hi31[k], lo24[k], &dst[k], &dst[pairs + k]);
    const size_t produced = 2 * pairs < n ? 2 * pairs : n;
    if (dst == tmp) std::memcpy(out, tmp, produced * sizeof(float));
    out += produced;
    n -= produced;
  }
}

void fill_normal_base(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  fill_normal_kernel<false>(lane, out, n);
}

#if AIMC_HAVE_AVX2_KERNELS
AIMC_TARGET_AVX2 void fill_normal_avx2(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  fill_normal_kernel<false>(lane, out, n);
}

AIMC_TARGET_AVX512 void fill_normal_avx512(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  fill_normal_kernel<true>(lane, out, n);
}
#endif

}  // namespace

float Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  float z0;
  box_muller(next_u64(), &z0, &spare_);
  has_spare_ = true;
  return z0;
}

void Rng::fill_normal(float* out, size_t n) {
#if AIMC_HAVE_AVX2_KERNELS
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      fill_normal_avx512(lane_, out, n);
      return;
    case SimdLevel::kAvx2:
      fill_normal_avx2(lane_, out, n);
      return;
    default:
      break;
  }
#endif
  fill_normal_base(lane_, out, n);
}

void Rng::fill_normal_icdf(float* out, size_t n) {
  detail::fill_normal_icdf(lane_, out, n);
}

namespace {

SimdLevel cpu_level() {
#if AIMC_HAVE_AVX2_KERNELS
  __builtin_cpu_init();  // may run before libgcc's own initialiser (static initialisation)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    return SimdLevel::kBaseline;
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
    return SimdLevel::kAvx512;
  }
  return SimdLevel::kAvx2;
#else
  return SimdLevel::kBaseline;
#endif
}

// Read before its initialisation (another file's static initialiser) it is 0: the baseline
// kernels, which give the same bits.
std::atomic<int> g_level{static_cast<int>(cpu_level())};

}  // namespace

SimdLevel simd_supported() {
  static const SimdLevel level = cpu_level();
  return level;
}

void set_simd_limit(SimdLevel limit) {
  g_level.store(std::min(static_cast<int>(limit), static_cast<int>(simd_supported())),
                std::memory_order_relaxed);
}

SimdLevel simd_level() {
  return static_cast<SimdLevel>(g_level.load(std::memory_order_relaxed));
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    default:
      return "baseline";
  }
}

void set_simd_avx2(bool enabled) {
  set_simd_limit(enabled ? SimdLevel::kAvx512 : SimdLevel::kBaseline);
}

bool simd_avx2() {
  return simd_level() >= SimdLevel::kAvx2;
}

}  // namespace aimc::arch

// Normal draws by the inverse CDF, tabulated: a draw is +-Phi^-1(v) for a uniform v in (0, 0.5]
// made of 30 random bits, with Phi^-1 a polynomial in the mantissa of float(v) whose
// coefficients are looked up by its exponent (scripts/gen_normal_table.py: the tables, their
// layout and the largest error, 5.2e-7). No logarithm, square root or division: per 16 draws
// one xoshiro256++ step of the 8 lanes (9 vector operations) and about 22 more, with the tables
// in AVX-512 registers (two-register permutes; AVX2 permutes the 16 entries nearly all draws use
// and gathers for the rest). Every level computes the same IEEE operations in the same order (no
// FMA: this file is compiled with -ffp-contract=off), so the bits agree.
#include "arch/normal_icdf.h"

#include <cstring>

#if AIMC_HAVE_AVX2_KERNELS
// GCC 12 warns inside its own AVX-512 intrinsics, whose pass-through operand is left undefined
// (GCC bug 105593, fixed in GCC 13), and about the vector return of a function that only
// AVX-512 code calls; nothing of ours is uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include <immintrin.h>
#endif

namespace aimc::arch::detail {
namespace {

#include "arch/normal_table.inc"

constexpr int kFastTerms = sizeof(kNormalFast) / sizeof(kNormalFast[0]);
constexpr int kTailTerms = sizeof(kNormalTail) / sizeof(kNormalTail[0]);
constexpr uint32_t kKeep = 0x7ffffffe;   // bits 1..30 of a word: x = (w & kKeep) | 1
constexpr uint32_t kSign = 0x80000000;   // bit 31: the draw's sign
constexpr int32_t kTailBelow = 1 << 16;  // x below: the tail tables (whole binades)
constexpr uint32_t kOne = 0x3f800000;    // 1.0f
constexpr uint32_t kMant = 0x007fffff, kMantHalf = 0x003fffff;

AIMC_ALWAYS_INLINE uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

AIMC_ALWAYS_INLINE float float_of(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

/// The rule: x odd in [1, 2^31), b = bits of float(x) (rounded to nearest), v = float(x) 2^-32.
/// x >= 2^16: half binades, entry (b >> 22) mod 32, t = mantissa without its top bit - 1.25;
/// else whole binades, entry (b >> 23) mod 16, t = mantissa - 1.5. Horner from the highest
/// power, one rounding per multiply and add; the sign from bit 31 of the word.
AIMC_ALWAYS_INLINE float icdf_draw(uint32_t w) {
  const int32_t x = static_cast<int32_t>((w & kKeep) | 1u);
  const uint32_t b = bits_of(static_cast<float>(x));
  float acc;
  if (x < kTailBelow) {
    const uint32_t i = (b >> 23) & 15;
    const float t = float_of((b & kMant) | kOne) - 1.5f;
    acc = kNormalTail[kTailTerms - 1][i];
    for (int k = kTailTerms - 2; k >= 0; --k) acc = acc * t + kNormalTail[k][i];
  } else {
    const uint32_t i = (b >> 22) & 31;
    const float t = float_of((b & kMantHalf) | kOne) - 1.25f;
    acc = kNormalFast[kFastTerms - 1][i];
    for (int k = kFastTerms - 2; k >= 0; --k) acc = acc * t + kNormalFast[k][i];
  }
  return float_of(bits_of(acc) ^ (w & kSign));
}

typedef uint64_t U64x4 __attribute__((vector_size(32)));

/// One xoshiro256++ step of lanes s0..s3: the state update of xoshiro256** (Rng::fill_normal's
/// lanes), the output rotl(s0 + s3, 23) + s0, which needs fewer vector operations.
template <typename U>
AIMC_ALWAYS_INLINE U lanes_step(U& s0, U& s1, U& s2, U& s3) {
  const U sum = s0 + s3;
  const U w = ((sum << 23) | (sum >> 41)) + s0;
  const U t = s1 << 17;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 45) | (s3 >> 19);
  return w;
}

/// The baseline kernel: lane steps into a block of words, then the rule draw by draw.
void icdf_base(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  constexpr int kHalf = Rng::kLanes / 2;
  U64x4 s[4][2];
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) std::memcpy(&s[k][h], &lane[k][kHalf * h], sizeof(U64x4));
  }
  while (n > 0) {
    uint64_t words[Rng::kLanes];
    for (int h = 0; h < 2; ++h) {
      const U64x4 w = lanes_step(s[0][h], s[1][h], s[2][h], s[3][h]);
      std::memcpy(words + kHalf * h, &w, sizeof w);
    }
    uint32_t halves[2 * Rng::kLanes];
    std::memcpy(halves, words, sizeof halves);  // little-endian: low half first
    const size_t m = n < 2 * Rng::kLanes ? n : 2 * Rng::kLanes;
    for (size_t k = 0; k < m; ++k) out[k] = icdf_draw(halves[k]);
    out += m;
    n -= m;
  }
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) std::memcpy(&lane[k][kHalf * h], &s[k][h], sizeof(U64x4));
  }
}

#if AIMC_HAVE_AVX2_KERNELS
/// The tail rule for the lanes of b (float(x) bits) on AVX-512 (rare: 2^-15 per draw).
AIMC_TARGET_AVX512 __attribute__((noinline)) __m512 tail_avx512(__m512i b) {
  const __m512i idx = _mm512_srli_epi32(b, 23);  // the permute reads bits 0..3
  const __m512 t =
      _mm512_sub_ps(_mm512_castsi512_ps(_mm512_or_si512(
                        _mm512_and_si512(b, _mm512_set1_epi32(kMant)), _mm512_set1_epi32(kOne))),
                    _mm512_set1_ps(1.5f));
  __m512 acc = _mm512_permutexvar_ps(idx, _mm512_load_ps(kNormalTail[kTailTerms - 1]));
  for (int k = kTailTerms - 2; k >= 0; --k) {
    acc = _mm512_add_ps(_mm512_mul_ps(acc, t),
                        _mm512_permutexvar_ps(idx, _mm512_load_ps(kNormalTail[k])));
  }
  return acc;
}

AIMC_TARGET_AVX512 void icdf_avx512(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  __m512i s0 = _mm512_loadu_si512(lane[0]), s1 = _mm512_loadu_si512(lane[1]);
  __m512i s2 = _mm512_loadu_si512(lane[2]), s3 = _mm512_loadu_si512(lane[3]);
  __m512 lo[kFastTerms], hi[kFastTerms];  // the 32-entry tables, two registers each
#pragma GCC unroll 8
  for (int k = 0; k < kFastTerms; ++k) {
    lo[k] = _mm512_load_ps(kNormalFast[k]);
    hi[k] = _mm512_load_ps(kNormalFast[k] + 16);
  }
  const __m512i keep = _mm512_set1_epi32(static_cast<int>(kKeep)), one = _mm512_set1_epi32(1);
  const __m512i mant = _mm512_set1_epi32(kMantHalf), onef = _mm512_set1_epi32(kOne);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(kSign));
  const __m512i tail_below = _mm512_set1_epi32(kTailBelow);
  const __m512 mid = _mm512_set1_ps(1.25f);
  for (size_t i = 0; i < n; i += 16) {
    // xoshiro256++ (the output rotl(s0 + s3, 23) + s0), its state update in three-way xors.
    const __m512i w = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(s0, s3), 23), s0);
    const __m512i t17 = _mm512_slli_epi64(s1, 17);
    const __m512i n1 = _mm512_ternarylogic_epi64(s1, s2, s0, 0x96);  // s1 ^ s2 ^ s0
    const __m512i n0 = _mm512_ternarylogic_epi64(s0, s3, s1, 0x96);
    s2 = _mm512_ternarylogic_epi64(s2, s0, t17, 0x96);
    s3 = _mm512_rol_epi64(_mm512_xor_si512(s3, s1), 45);
    s0 = n0;
    s1 = n1;
    const __m512i x = _mm512_ternarylogic_epi32(w, keep, one, 0xEA);  // (w & keep) | 1
    const __m512i b = _mm512_castps_si512(_mm512_cvtepi32_ps(x));
    const __m512i idx = _mm512_srli_epi32(b, 22);  // the permutes read bits 0..4
    const __m512 t =
        _mm512_sub_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(b, mant, onef, 0xEA)), mid);
    __m512 acc = _mm512_permutex2var_ps(lo[kFastTerms - 1], idx, hi[kFastTerms - 1]);
#pragma GCC unroll 8
    for (int k = kFastTerms - 2; k >= 0; --k) {
      acc = _mm512_add_ps(_mm512_mul_ps(acc, t), _mm512_permutex2var_ps(lo[k], idx, hi[k]));
    }
    const __mmask16 tail = _mm512_cmplt_epi32_mask(x, tail_below);
    if (tail != 0) acc = _mm512_mask_mov_ps(acc, tail, tail_avx512(b));
    const __m512i z =
        _mm512_ternarylogic_epi32(_mm512_castps_si512(acc), w, sign, 0x78);  // a ^ (w & sign)
    if (i + 16 <= n) {
      _mm512_storeu_si512(out + i, z);
    } else {
      _mm512_mask_storeu_epi32(out + i, static_cast<__mmask16>((1u << (n - i)) - 1), z);
    }
  }
  _mm512_storeu_si512(lane[0], s0);
  _mm512_storeu_si512(lane[1], s1);
  _mm512_storeu_si512(lane[2], s2);
  _mm512_storeu_si512(lane[3], s3);
}

/// The rule for 8 words' halves on AVX2 by gathers (any lanes; used for rare vectors).
AIMC_TARGET_AVX2 __attribute__((noinline)) __m256 rule_avx2(__m256i x, __m256i b) {
  const __m256i onef = _mm256_set1_epi32(kOne);
  const __m256i idx = _mm256_and_si256(_mm256_srli_epi32(b, 22), _mm256_set1_epi32(31));
  const __m256 t = _mm256_sub_ps(
      _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(kMantHalf)), onef)),
      _mm256_set1_ps(1.25f));
  __m256 acc = _mm256_i32gather_ps(kNormalFast[kFastTerms - 1], idx, 4);
  for (int k = kFastTerms - 2; k >= 0; --k) {
    acc = _mm256_add_ps(_mm256_mul_ps(acc, t), _mm256_i32gather_ps(kNormalFast[k], idx, 4));
  }
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(kTailBelow), x);
  if (_mm256_testz_si256(tail, tail)) return acc;
  const __m256i ti = _mm256_and_si256(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(15));
  const __m256 tt = _mm256_sub_ps(
      _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(kMant)), onef)),
      _mm256_set1_ps(1.5f));
  __m256 ta = _mm256_i32gather_ps(kNormalTail[kTailTerms - 1], ti, 4);
  for (int k = kTailTerms - 2; k >= 0; --k) {
    ta = _mm256_add_ps(_mm256_mul_ps(ta, tt), _mm256_i32gather_ps(kNormalTail[k], ti, 4));
  }
  return _mm256_blendv_ps(acc, ta, _mm256_castsi256_ps(tail));
}

/// Fast-table entries [kCommonFirst, kCommonFirst + 16) are the half binades of float(x) in
/// [2^23, 2^31), where all 8 lanes of a vector are but for about 1 vector in 32: those take
/// two single-register permutes and a blend per coefficient, the others rule_avx2.
constexpr int kCommonFirst = 12;

/// kNormalFast[k][kCommonFirst + j], j < 16, aligned for AVX2 loads.
struct CommonTables {
  alignas(64) float c[kFastTerms][16];
  CommonTables() {
    for (int k = 0; k < kFastTerms; ++k) {
      for (int j = 0; j < 16; ++j) c[k][j] = kNormalFast[k][kCommonFirst + j];
    }
  }
};
const CommonTables kCommon;
constexpr int32_t kCommonBelow = 1 << 23, kCommonFrom = 0x7fffffc0;  // float(x) < 2^31 below

/// Coefficient k of common entries kCommonFirst + j (j < 16; upper: bit 3 of j in each sign).
AIMC_TARGET_AVX2 AIMC_ALWAYS_INLINE __m256 common_entry(int k, __m256i j, __m256 upper) {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_load_ps(kCommon.c[k]), j),
                          _mm256_permutevar8x32_ps(_mm256_load_ps(kCommon.c[k] + 8), j), upper);
}

/// The rule for 8 words' halves on AVX2.
AIMC_TARGET_AVX2 AIMC_ALWAYS_INLINE __m256 draws_avx2(__m256i w) {
  const __m256i x = _mm256_or_si256(_mm256_and_si256(w, _mm256_set1_epi32(static_cast<int>(kKeep))),
                                    _mm256_set1_epi32(1));
  const __m256i b = _mm256_castps_si256(_mm256_cvtepi32_ps(x));
  const __m256i rare = _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(kCommonBelow), x),
                                       _mm256_cmpgt_epi32(x, _mm256_set1_epi32(kCommonFrom - 1)));
  __m256 acc;
  if (_mm256_testz_si256(rare, rare)) {
    // (b >> 22) - 300 = entry - kCommonFirst: its bits 0..2 index a half, bit 3 picks it.
    const __m256i j = _mm256_sub_epi32(_mm256_srli_epi32(b, 22), _mm256_set1_epi32(300));
    const __m256 upper = _mm256_castsi256_ps(_mm256_slli_epi32(j, 28));
    const __m256 t = _mm256_sub_ps(
        _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(kMantHalf)),
                                            _mm256_set1_epi32(kOne))),
        _mm256_set1_ps(1.25f));
    acc = common_entry(kFastTerms - 1, j, upper);
    for (int k = kFastTerms - 2; k >= 0; --k) {
      acc = _mm256_add_ps(_mm256_mul_ps(acc, t), common_entry(k, j, upper));
    }
  } else {
    acc = rule_avx2(x, b);
  }
  const __m256i sign = _mm256_and_si256(w, _mm256_set1_epi32(static_cast<int>(kSign)));
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(acc), sign));
}

AIMC_TARGET_AVX2 void icdf_avx2(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
  constexpr int kHalf = Rng::kLanes / 2;
  U64x4 s[4][2];
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) std::memcpy(&s[k][h], &lane[k][kHalf * h], sizeof(U64x4));
  }
  for (size_t i = 0; i < n; i += 2 * Rng::kLanes) {
    __m256 z[2];
    for (int h = 0; h < 2; ++h) {
      const U64x4 w = lanes_step(s[0][h], s[1][h], s[2][h], s[3][h]);
      z[h] = draws_avx2(reinterpret_cast<__m256i>(w));
    }
    if (n - i >= 2 * Rng::kLanes) {
      _mm256_storeu_ps(out + i, z[0]);
      _mm256_storeu_ps(out + i + 8, z[1]);
    } else {
      alignas(32) float part[2 * Rng::kLanes];
      _mm256_store_ps(part, z[0]);
      _mm256_store_ps(part + 8, z[1]);
      std::memcpy(out + i, part, (n - i) * sizeof(float));
    }
  }
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) std::memcpy(&lane[k][kHalf * h], &s[k][h], sizeof(U64x4));
  }
}
#endif

}  // namespace

float normal_icdf_draw(uint32_t word) {
  return icdf_draw(word);
}

void fill_normal_icdf(uint64_t (*lane)[Rng::kLanes], float* out, size_t n) {
#if AIMC_HAVE_AVX2_KERNELS
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      icdf_avx512(lane, out, n);
      return;
    case SimdLevel::kAvx2:
      icdf_avx2(lane, out, n);
      return;
    default:
      break;
  }
#endif
  icdf_base(lane, out, n);
}

}  // namespace aimc::arch::detail

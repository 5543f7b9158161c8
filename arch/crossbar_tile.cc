// Programming and reading of crossbar tiles (crossbar_tile.h).
#include "arch/crossbar_tile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "arch/noise_model.h"
#include "arch/quantize.h"
#include "arch/tile_gemm.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

/// 1.5 * 2^52: (x + M) - M rounds |x| < 2^51 to an integer, ties to even (default rounding
/// mode), without a branch, so the ADC loop vectorises. Same rule as round_half_even().
constexpr double kRoundMagic = 0x1.8p52;
/// 1.5 * 2^23: the same for floats, |x| <= 2^22.
constexpr float kRoundMagicF = 0x1.8p23f;

/// Elements per pass of the ADC kernel (its scratch lives on the stack, in L1).
constexpr int kAdcChunk = 64;
/// Output-noise draws per pass of the readout: small enough to stay in L1 between the generator
/// and the ADC pass (NoiseCursor keeps the draws those of one call for the whole read).
constexpr size_t kNoiseChunk = 16 * Rng::kFillBlock;

/// Per-channel constants of the ADC kernel.
struct AdcChannel {
  float sd;     ///< output-noise std in accumulator units (unused without noise)
  float inv;    ///< fast path: float(out_res / den); 0 when the fast path is off for the channel
  float scale;  ///< code -> output units
  double den;   ///< exact rule: code = rhe(clamp(v * out_res / den, +-half))
  float clamp;  ///< ideal ADC: |v| is clamped to this (infinity: no clamp)
};

/// Constants shared by all channels of a tile.
struct AdcShared {
  double res, half;  ///< out_res, out_res / 2 (exact rule)
  float lim;         ///< half + 1: the fast path clamps its estimate to +-lim
  float half_f;      ///< half, as float
  float thr;         ///< the fast decision stands when |q - rne(q)| < thr, see adc_segment
};

/// Exact ADC code of one value v (accumulator units, noise included): numerics.md section 6,
/// one double division of exact products (v * out_res is exact: 24 + 17 bits), clamping to the
/// integer bound before rounding, which equals rounding then clamping.
AIMC_ALWAYS_INLINE float adc_exact(float v, double den, const AdcShared& k) {
  double q = static_cast<double>(v) * k.res / den;
  q = std::min(std::max(q, -k.half), k.half);
  return static_cast<float>((q + kRoundMagic) - kRoundMagic);
}

/// y[b] += code(a[b] + sd * nz[b]) * scale for b < n (no noise term when kNoise is false).
///
/// Fast path (ch.inv > 0). The exact code is rhe(clamp(q_d, +-H)) with q_d = fl64(v * res /
/// den), H = out_res / 2 integer. The kernel estimates q_f = fl32(v * inv), inv = fl32(fl64(
/// res / den)) a normal float. With Q = v * res / den in exact arithmetic:
///   q_d = Q (1 + e0), |e0| <= 2^-53;  inv = (res / den)(1 + e1)(1 + e2), |e1| <= 2^-53,
///   |e2| <= 2^-24;  q_f = v * inv * (1 + e3) (+ at most 2^-149 if it underflows), |e3| <= 2^-24;
/// so |q_f - q_d| <= |Q| * 2^-22.9 + 2^-149. Let L = H + 1 and q = clamp(q_f, +-L), r = the
/// nearest integer to q (float magic rounding, exact for |q| <= 2^22) and d = |q - r| (exact).
///  - |q_f| < L: then |Q| < 1.000001 L and |q_f - q_d| < L * 2^-22 < tol = L * 2^-20. If d < thr
///    = 0.5 - tol, the interval (q_f - tol, q_f + tol) holds no half-integer, so q_d rounds to r
///    too, and rhe(clamp(q_d, +-H)) = clamp(rhe(q_d), +-H) = clamp(r, +-H), the kernel's code.
///  - |q_f| >= L: q = r = +-L, d = 0; q_d has the sign of q_f and |q_d| >= L (1 - 2^-21) > H +
///    0.5 (L <= 2^19), so the exact code is +-H = clamp(r, +-H) as well.
/// Every other value (d >= thr, about 2 tol = 2.4e-4 of them for 8 bits, exact ties
/// included; NaN) is decided by adc_exact(). Hence the codes equal the exact rule's, always.
template <bool kNoise>
AIMC_ALWAYS_INLINE void adc_segment(const float* a, const float* nz, const AdcChannel& ch,
                                    const AdcShared& k, int n, float* y) {
  float v[kAdcChunk], code[kAdcChunk];
  for (int s = 0; s < n; s += kAdcChunk) {
    const int m = std::min(kAdcChunk, n - s);
    if (ch.inv > 0) {
      int bad = 0;
      for (int b = 0; b < m; ++b) {
        const float vb = kNoise ? a[s + b] + ch.sd * nz[s + b] : a[s + b];
        const float q = std::min(std::max(vb * ch.inv, -k.lim), k.lim);
        const float r = (q + kRoundMagicF) - kRoundMagicF;
        bad |= !(std::fabs(q - r) < k.thr);
        v[b] = vb;
        code[b] = std::min(std::max(r, -k.half_f), k.half_f);
      }
      if (bad) {
        for (int b = 0; b < m; ++b) {
          const float q = std::min(std::max(v[b] * ch.inv, -k.lim), k.lim);
          const float r = (q + kRoundMagicF) - kRoundMagicF;
          if (!(std::fabs(q - r) < k.thr)) code[b] = adc_exact(v[b], ch.den, k);
        }
      }
    } else {
      for (int b = 0; b < m; ++b) {
        const float vb = kNoise ? a[s + b] + ch.sd * nz[s + b] : a[s + b];
        code[b] = adc_exact(vb, ch.den, k);
      }
    }
    for (int b = 0; b < m; ++b) y[s + b] += code[b] * ch.scale;
  }
}

/// y[b] += clamp(a[b] + sd * nz[b], +-ch.clamp) * scale (ideal ADC; clamp infinite when off).
template <bool kNoise>
AIMC_ALWAYS_INLINE void ideal_segment(const float* a, const float* nz, const AdcChannel& ch, int n,
                                      float* y) {
  for (int b = 0; b < n; ++b) {
    const float vb = kNoise ? a[b] + ch.sd * nz[b] : a[b];
    y[b] += std::min(std::max(vb, -ch.clamp), ch.clamp) * ch.scale;
  }
}

/// Per-channel constants of a tile (arrays of channels()) and the shared ones.
struct AdcTile {
  const float* wmax;
  const float* sd;
  const float* inv;
  const float* scale;
  const double* den;
  const float* clamp;
  AdcShared k;
  bool adc;
};

/// One token (batch 1): element p is channel p, so the loop runs across channels with
/// per-channel constants (same decisions as adc_segment: channels without the fast path, inv = 0,
/// and values near a boundary take adc_exact; all-zero channels keep y). Elements [pos, pos + m)
/// with noise nz[p - pos] when kNoise. Every value computed, then selected, and restrict
/// pointers, so that the loops vectorise.
template <bool kNoise>
AIMC_ALWAYS_INLINE void adc_one_token(const AdcTile& t, const float* __restrict acc,
                                      const float* __restrict nz, size_t pos, size_t m,
                                      float* __restrict y) {
  const float* __restrict sd = t.sd;
  const float* __restrict inv = t.inv;
  const float* __restrict scale = t.scale;
  const float* __restrict wmax = t.wmax;
  const float lim = t.k.lim, thr = t.k.thr, half = t.k.half_f;
  for (size_t s = pos; s < pos + m; s += kAdcChunk) {
    const int n = static_cast<int>(std::min<size_t>(kAdcChunk, pos + m - s));
    float v[kAdcChunk], code[kAdcChunk];
    int bad = 0;
    for (int b = 0; b < n; ++b) {
      const size_t c = s + b;
      const float vb = kNoise ? acc[c] + sd[c] * nz[c - pos] : acc[c];
      const float ic = inv[c];
      const float q = std::min(std::max(vb * ic, -lim), lim);
      const float r = (q + kRoundMagicF) - kRoundMagicF;
      bad |= static_cast<int>(!(std::fabs(q - r) < thr)) | static_cast<int>(ic == 0.0f);
      v[b] = vb;
      code[b] = std::min(std::max(r, -half), half);
    }
    if (bad) {
      for (int b = 0; b < n; ++b) {
        const size_t c = s + b;
        const float q = std::min(std::max(v[b] * inv[c], -lim), lim);
        const float r = (q + kRoundMagicF) - kRoundMagicF;
        if (!(std::fabs(q - r) < thr) || inv[c] == 0) {
          code[b] = wmax[c] != 0 ? adc_exact(v[b], t.den[c], t.k) : 0.0f;
        }
      }
    }
    for (int b = 0; b < n; ++b) {
      const size_t c = s + b;
      const float updated = y[c] + code[b] * scale[c];
      y[c] = wmax[c] != 0 ? updated : y[c];
    }
  }
}

/// Elements [pos, pos + m) of the column-major (batch x channels) block: y[p] += output(acc[p])
/// with noise nz[p - pos] (none when nz is null), channel by channel.
AIMC_ALWAYS_INLINE void readout_range(const AdcTile& t, const float* acc, const float* nz,
                                      size_t pos, size_t m, int batch, float* y) {
  if (batch == 1 && t.adc) {
    if (nz != nullptr) {
      adc_one_token<true>(t, acc, nz, pos, m, y);
    } else {
      adc_one_token<false>(t, acc, nz, pos, m, y);
    }
    return;
  }
  for (size_t p = pos; p < pos + m;) {
    const size_t c = p / batch;
    const size_t len = std::min(static_cast<size_t>(batch) - p % batch, pos + m - p);
    if (t.wmax[c] != 0) {  // all-zero channel: output exactly 0
      const AdcChannel ch{t.sd[c], t.inv[c], t.scale[c], t.den[c], t.clamp[c]};
      const float* a = acc + p;
      const float* z = nz != nullptr ? nz + (p - pos) : nullptr;
      const int n = static_cast<int>(len);
      if (t.adc) {
        if (z != nullptr) {
          adc_segment<true>(a, z, ch, t.k, n, y + p);
        } else {
          adc_segment<false>(a, z, ch, t.k, n, y + p);
        }
      } else if (z != nullptr) {
        ideal_segment<true>(a, z, ch, n, y + p);
      } else {
        ideal_segment<false>(a, z, ch, n, y + p);
      }
    }
    p += len;
  }
}

void readout_range_base(const AdcTile& t, const float* acc, const float* nz, size_t pos, size_t m,
                        int batch, float* y) {
  readout_range(t, acc, nz, pos, m, batch, y);
}

#if AIMC_HAVE_AVX2_KERNELS
AIMC_TARGET_AVX2 void readout_range_avx2(const AdcTile& t, const float* acc, const float* nz,
                                         size_t pos, size_t m, int batch, float* y) {
  readout_range(t, acc, nz, pos, m, batch, y);
}

AIMC_TARGET_AVX512 void readout_range_avx512(const AdcTile& t, const float* acc, const float* nz,
                                             size_t pos, size_t m, int batch, float* y) {
  readout_range(t, acc, nz, pos, m, batch, y);
}
#endif

}  // namespace

void clip_rows(Matrix* w, double k_std) {
  const Eigen::Index n = w->cols();
  if (n < 2) return;
  for (Eigen::Index j = 0; j < w->rows(); ++j) {
    double sum = 0, sum_sq = 0;
    for (Eigen::Index i = 0; i < n; ++i) sum += (*w)(j, i);
    const double mean = sum / n;
    for (Eigen::Index i = 0; i < n; ++i) sum_sq += ((*w)(j, i) - mean) * ((*w)(j, i) - mean);
    const float bound = static_cast<float>(k_std * std::sqrt(sum_sq / (n - 1)));
    for (Eigen::Index i = 0; i < n; ++i) (*w)(j, i) = std::clamp((*w)(j, i), -bound, bound);
  }
}

double program_tile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& target,
                    uint64_t tile_seed, Eigen::Ref<Matrix> programmed, Vector* wmax) {
  // wmax_j = max_i |target(j, i)|, column by column (contiguous, so it vectorises).
  wmax->setZero(target.rows());
  float* m = wmax->data();
  for (Eigen::Index c = 0; c < target.cols(); ++c) {
    const float* col = target.data() + c * target.outerStride();
    for (Eigen::Index r = 0; r < target.rows(); ++r) m[r] = std::max(m[r], std::fabs(col[r]));
  }
  DeviceStreams streams(tile_seed);
  const ProgramResult r =
      numerics.noise->program(target, *wmax, numerics.t_inference_s, &streams, programmed);
  if (!numerics.drift_compensation || !(r.abs_sum_t > 0)) return 1.0;
  return r.abs_sum_t0 / r.abs_sum_t;
}

TileReadout::TileReadout(const TileNumerics& numerics, const Vector& wmax, float input_range,
                         double out_noise, double comp, uint64_t tile_seed)
    : out_res_(numerics.out_res),
      half_range_(numerics.out_res / 2),
      wmax_(wmax),
      noise_std_(wmax.size()),
      adc_den_(wmax.size()),
      adc_inv_(wmax.size()),
      out_scale_(wmax.size()),
      ideal_clamp_(wmax.size()),
      has_noise_(out_noise > 0),
      rng_(derive_seed(tile_seed, kOutputNoiseStream)) {
  const double ir = input_range;
  const bool dac = numerics.inp_res > 0;
  // Accumulator units: DAC codes x weights with a DAC (y = acc * 2 IR / inp_res), else y itself.
  const double in_step = dac ? 2.0 * ir / numerics.inp_res : 1.0;
  // The fast ADC decision (adc_segment) needs L = out_res / 2 + 1 <= 2^19.
  const bool fast_adc = out_res_ > 0 && half_range_ + 1 <= 0x1.0p19;
  for (Eigen::Index c = 0; c < wmax.size(); ++c) {
    const double w = wmax(c);
    noise_std_(c) =
        static_cast<float>(dac ? out_noise * w * numerics.inp_res / 2.0 : out_noise * w * ir);
    adc_inv_(c) = 0;
    if (out_res_ > 0) {
      // The one division of numerics.md section 6: with a DAC, y / step_j =
      // acc * out_res / (inp_res * out_bound * wmax_j); without, y * out_res / (2 bound IR wmax).
      adc_den_(c) =
          dac ? numerics.inp_res * numerics.out_bound * w : 2.0 * numerics.out_bound * ir * w;
      out_scale_(c) = static_cast<float>(2.0 * numerics.out_bound * ir * w / out_res_ * comp);
      const float inv = static_cast<float>(out_res_ / adc_den_(c));
      // Only a normal, finite float estimate carries the error bound of adc_segment.
      if (fast_adc && adc_den_(c) > 0 && std::isnormal(inv)) adc_inv_(c) = inv;
    } else {
      adc_den_(c) = 0;
      out_scale_(c) = static_cast<float>(in_step * comp);
    }
    // The bound-only ADC's clamp +-out_bound IR wmax_j, in accumulator units.
    ideal_clamp_(c) = out_res_ == 0 && numerics.ideal_adc_clamps
                          ? static_cast<float>(dac ? numerics.out_bound * w * numerics.inp_res / 2.0
                                                   : numerics.out_bound * ir * w)
                          : std::numeric_limits<float>::infinity();
  }
}

void NoiseCursor::start(Rng* rng, size_t total) {
  rng_ = rng;
  begin_ = end_ = 0;
  left_ = total;
}

const float* NoiseCursor::take(size_t m) {
  const size_t avail = end_ - begin_;
  if (avail < m) {
    // Keep the undelivered draws (fewer than one block) and draw whole blocks after them, or the
    // read's remainder: the calls of fill_normal continue one sequence (rng.h).
    const size_t need = m - avail;
    const size_t blocks = (need + Rng::kFillBlock - 1) / Rng::kFillBlock * Rng::kFillBlock;
    const size_t g = std::min(blocks, left_);
    if (buf_.size() < avail + g) buf_.resize(avail + g);
    std::copy(buf_.begin() + begin_, buf_.begin() + end_, buf_.begin());
    rng_->fill_normal_icdf(buf_.data() + avail, g);
    begin_ = 0;
    end_ = avail + g;
    left_ -= g;
  }
  const float* out = buf_.data() + begin_;
  begin_ += m;
  return out;
}

void TileReadout::accumulate(const float* acc, int batch, NoiseCursor* noise, float* y) {
  accumulate_channels(acc, batch, 0, channels(), noise, y);
}

void TileReadout::accumulate_channels(const float* acc, int batch, int c0, int c1,
                                      NoiseCursor* noise, float* y) {
  if (c0 == 0 && has_noise_) noise->start(&rng_, static_cast<size_t>(batch) * channels());
  const size_t total = static_cast<size_t>(batch) * (c1 - c0);
  if (total == 0) return;
  // The per-channel constants of channels c0.. (element p of the block is channel c0 + p / batch).
  AdcTile t;
  t.wmax = wmax_.data() + c0;
  t.sd = noise_std_.data() + c0;
  t.inv = adc_inv_.data() + c0;
  t.scale = out_scale_.data() + c0;
  t.den = adc_den_.data() + c0;
  t.clamp = ideal_clamp_.data() + c0;
  t.k.res = out_res_;
  t.k.half = half_range_;
  t.k.lim = static_cast<float>(half_range_ + 1);
  t.k.half_f = static_cast<float>(half_range_);
  t.k.thr = 0.5f - t.k.lim * 0x1.0p-20f;  // exact: lim is an integer <= 2^19
  t.adc = out_res_ > 0;
#if AIMC_HAVE_AVX2_KERNELS
  const SimdLevel level = simd_level();
  const auto range = level == SimdLevel::kAvx512 ? readout_range_avx512
                     : level == SimdLevel::kAvx2 ? readout_range_avx2
                                                 : readout_range_base;
#else
  const auto range = readout_range_base;
#endif
  if (!has_noise_) {
    range(t, acc, nullptr, 0, total, batch, y);
    return;
  }
  // Noise is drawn in L1-sized chunks that continue the read's sequence (channel-major, tokens
  // fastest) and is used while it is in L1.
  for (size_t pos = 0; pos < total; pos += kNoiseChunk) {
    const size_t m = std::min(kNoiseChunk, total - pos);
    range(t, acc, noise->take(m), pos, m, batch, y);
  }
}

bool TileReadout::read_fused(const float* x, int batch, const float* packed, int depth, int c0,
                             int c1, NoiseCursor* noise, float* y, bool assign) {
  if (out_res_ <= 0 || batch <= 4 || simd_level() == SimdLevel::kBaseline) return false;
  if (c0 == 0 && has_noise_) noise->start(&rng_, static_cast<size_t>(batch) * channels());
  FusedReadout r;
  r.sd = noise_std_.data() + c0;
  r.inv = adc_inv_.data() + c0;
  r.scale = out_scale_.data() + c0;
  r.den = adc_den_.data() + c0;
  r.wmax = wmax_.data() + c0;
  // The block's draws, generated before its product (the kernel reads them from L1/L2).
  r.noise = has_noise_ ? noise->take(static_cast<size_t>(batch) * (c1 - c0)) : nullptr;
  r.ld_noise = batch;
  r.res = out_res_;
  r.half = half_range_;
  r.lim = static_cast<float>(half_range_ + 1);
  r.half_f = static_cast<float>(half_range_);
  r.thr = 0.5f - r.lim * 0x1.0p-20f;  // as in accumulate_channels
  r.assign = assign;
  return packed_product_readout(x, batch, batch, packed, c1 - c0, depth, r, y, batch);
}

CrossbarTile::CrossbarTile(const TileNumerics& numerics, const Eigen::Ref<const Matrix>& weights,
                           float input_range, uint64_t seed, int layer_input_tiles)
    : inp_res_(numerics.inp_res),
      clamp_ideal_dac_(numerics.inp_res == 0 && numerics.ideal_dac_clamps),
      input_range_(input_range),
      programmed_(weights.rows(), weights.cols()),
      comp_(program_tile(numerics, weights, seed, programmed_, &wmax_)),
      packed_(packed_floats(static_cast<int>(weights.rows()), static_cast<int>(weights.cols()))),
      readout_(numerics, wmax_, input_range,
               numerics.out_noise_per_layer ? numerics.out_noise / std::sqrt(layer_input_tiles)
                                            : numerics.out_noise,
               comp_, seed) {
  if (!(input_range > 0) || !std::isfinite(input_range)) {
    throw UserError("crossbar tile: the input range must be positive and finite, got " +
                    std::to_string(input_range));
  }
  if (weights.rows() > numerics.cols || weights.cols() > numerics.rows) {
    throw std::invalid_argument("CrossbarTile: weight block larger than the tile");
  }
  pack_weights(programmed_, packed_.data());
}

void CrossbarTile::read(const Eigen::Ref<const Matrix>& x, Matrix* y) {
  if (x.cols() != rows_used()) {
    throw std::invalid_argument("CrossbarTile::read: x has " + std::to_string(x.cols()) +
                                " columns, the tile " + std::to_string(rows_used()) + " rows");
  }
  const int batch = static_cast<int>(x.rows());
  y->setZero(batch, cols_used());
  if (batch == 0) return;
  const float* in = x.data();
  int ld = static_cast<int>(x.outerStride());
  if (inp_res_ > 0) {
    codes_.resize(batch, x.cols());
    dac_codes(x, input_range_, inp_res_, codes_);
    in = codes_.data();
    ld = batch;
  } else if (clamp_ideal_dac_) {
    codes_ = x.cwiseMax(-input_range_).cwiseMin(input_range_);
    in = codes_.data();
    ld = batch;
  }
  const size_t n = static_cast<size_t>(batch) * cols_used();
  acc_.resize(n);
  packed_product(in, ld, batch, packed_.data(), cols_used(), rows_used(), acc_.data(), batch);
  readout_.accumulate(acc_.data(), batch, &noise_, y->data());
}

}  // namespace aimc::arch

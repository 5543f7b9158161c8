// The product of a crossbar read, acc = inputs x programmed^T, with the programmed weights packed
// once at programming time into panels the kernels stream without copying. Every accumulator is
// one chain of fused multiply-adds over the tile's rows in order, starting from +0:
//   acc(t, c) = fma(x(K-1, t), W(c, K-1), ... fma(x(1, t), W(c, 1), fma(x(0, t), W(c, 0), +0)))
// Each step rounds once (IEEE fused multiply-add), so the result is defined without reference to
// a CPU: the baseline, AVX2 and AVX-512 kernels (chosen at run time, rng.h simd_level()) and any
// batch size or blocking give the same bits, and so does every machine with IEEE floats.
#pragma once

#include <cstddef>

#include <Eigen/Dense>

#include "arch/linear_layer.h"
#include "arch/tile_gemm_fused.h"

namespace aimc::arch {

/// Output channels per panel of packed weights: a panel stores depth x kPanelChannels floats,
/// row k holding the weights of the panel's channels for input k (zero beyond the block).
inline constexpr int kPanelChannels = 16;

/// Floats of a packed block of `channels` x `depth` weights.
inline size_t packed_floats(int channels, int depth) {
  return static_cast<size_t>((channels + kPanelChannels - 1) / kPanelChannels) * kPanelChannels *
         static_cast<size_t>(depth);
}

/// Packs w (channels x depth: a tile's block of a weight (out x in)) into dst
/// (packed_floats(channels, depth) floats).
void pack_weights(const Eigen::Ref<const Matrix>& w, float* dst);

/// The inverse of pack_weights: w must be (channels x depth).
void unpack_weights(const float* packed, Eigen::Ref<Matrix> w);

/// acc[c * ld_acc + t] = the fused chain above for t < batch, c < channels, with inputs
/// x(k, t) = x[k * ld_x + t] (a column-major (batch x depth) block: tokens fastest) and weights
/// packed by pack_weights. With `accumulate`, the chains start from the values in acc instead
/// of +0, so a product split over blocks of rows, each block's call continuing the previous
/// one's accumulators, equals the chain over all rows. Uses the kernel of simd_level().
void packed_product(const float* x, int ld_x, int batch, const float* packed, int channels,
                    int depth, float* acc, int ld_acc, bool accumulate = false);

/// The product of packed_product (same chains, same bits) with the readout `r` applied to each
/// accumulator as it leaves the registers: y[c * ld_y + t] = y + output(acc(t, c)). Returns
/// false, doing nothing, where the level has no such kernel (the baseline, or batch <= 4): the
/// caller then runs packed_product and the readout.
bool packed_product_readout(const float* x, int ld_x, int batch, const float* packed, int channels,
                            int depth, const FusedReadout& r, float* y, int ld_y);

namespace detail {
/// The kernels of each level, for tests and for the dispatcher (same contract as
/// packed_product). The AVX2 and AVX-512 ones exist on x86-64 builds only and may be called only
/// where simd_supported() allows.
void packed_product_base(const float* x, int ld_x, int batch, const float* packed, int channels,
                         int depth, float* acc, int ld_acc, bool accumulate);
void packed_product_avx2(const float* x, int ld_x, int batch, const float* packed, int channels,
                         int depth, float* acc, int ld_acc, bool accumulate);
void packed_product_avx512(const float* x, int ld_x, int batch, const float* packed, int channels,
                           int depth, float* acc, int ld_acc, bool accumulate);
void packed_product_readout_avx2(const float* x, int ld_x, int batch, const float* packed,
                                 int channels, int depth, const FusedReadout& r, float* y,
                                 int ld_y);
void packed_product_readout_avx512(const float* x, int ld_x, int batch, const float* packed,
                                   int channels, int depth, const FusedReadout& r, float* y,
                                   int ld_y);
}  // namespace detail

}  // namespace aimc::arch

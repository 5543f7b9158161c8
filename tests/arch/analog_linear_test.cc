// AnalogLinear: exact FP32 result with every effect off (also for shapes that do not divide the
// tile), agreement with tile-by-tile reads, tiling, clipping, seeds and threads.
#include "arch/analog_linear.h"

#include <thread>

#include <gtest/gtest.h>

#include "arch/quantize.h"
#include "arch/tile_gemm.h"
#include "proto/user_error.h"
#include "test_util.h"

namespace aimc::arch {
namespace {

using testing::afm_numerics;
using testing::ideal_numerics;

std::vector<float> ranges_for(int in, int rows, float value = 3.0f) {
  return std::vector<float>(balanced_split(in, rows).size(), value);
}

TEST(AnalogLinear, IdealEqualsFp32) {
  for (auto [out, in] : {std::pair{300, 700}, {64, 64}, {257, 513}, {1, 1000}, {600, 256}}) {
    const TileNumerics n = ideal_numerics(256, 256);
    Matrix w = Matrix::Random(out, in);
    Vector b = Vector::Random(out);
    Matrix x = Matrix::Random(5, in);
    AnalogLinear layer(n, w, &b, ranges_for(in, 256), 1);
    Matrix y;
    layer.forward(x, &y);
    Matrix ref = x * w.transpose();
    ref.rowwise() += b.transpose();
    ASSERT_EQ(y.rows(), 5);
    ASSERT_EQ(y.cols(), out);
    EXPECT_LE((y - ref).norm() / ref.norm(), 1e-5) << out << "x" << in;
    EXPECT_LE((y - ref).cwiseAbs().maxCoeff() / ref.cwiseAbs().maxCoeff(), 1e-5);
  }
}

TEST(AnalogLinear, BalancedTiling) {
  const TileNumerics n = ideal_numerics(256, 256);
  Matrix w = Matrix::Random(300, 700);
  AnalogLinear layer(n, w, nullptr, ranges_for(700, 256), 1);
  ASSERT_EQ(layer.input_tiles(), 3);
  ASSERT_EQ(layer.output_tiles(), 2);
  EXPECT_EQ(layer.tile_rows(0), 234);
  EXPECT_EQ(layer.tile_rows(2), 233);
  EXPECT_EQ(layer.input_offset(2), 467);
  EXPECT_EQ(layer.tile_cols(1), 150);
  EXPECT_EQ(layer.output_offset(1), 150);
  EXPECT_EQ(layer.tile_weights(2, 1), w.block(150, 467, 150, 233));
  // The packed weights the read kernel streams (and bench_analog_linear's paired product) are
  // those tiles: unpacked, each equals its block of w.
  for (int i = 0; i < layer.input_tiles(); ++i) {
    for (int j = 0; j < layer.output_tiles(); ++j) {
      Matrix t(layer.tile_cols(j), layer.tile_rows(i));
      unpack_weights(layer.packed_tile(i, j), t);
      EXPECT_EQ(t, w.block(layer.output_offset(j), layer.input_offset(i), layer.tile_cols(j),
                           layer.tile_rows(i)))
          << i << ", " << j;
    }
  }
  EXPECT_THROW(AnalogLinear(n, w, nullptr, ranges_for(700, 512), 1), UserError);
  std::vector<float> bad = ranges_for(700, 256);
  bad[1] = 0;
  EXPECT_THROW(AnalogLinear(n, w, nullptr, bad, 1), UserError);
}

TEST(AnalogLinear, EqualsSumOfTileReads) {
  // Bit for bit: the layer reads its tiles in either order (output tiles outer while all its DAC
  // codes take at most 1 MB, input tiles outer otherwise: 1100 tokens x 250 inputs; in groups of
  // 11 output tiles of 80 columns at 1100 tokens, so 1000 outputs make two groups), each output
  // summing its input tiles in order, as the tiles read one by one and added here.
  TileNumerics n = afm_numerics(96, 80);
  n.out_noise = 0.04;
  for (auto [out, in] : {std::pair{170, 250}, std::pair{250, 170}, std::pair{1000, 250}}) {
    for (int batch : {7, 1100}) {
      Matrix w = Matrix::Random(out, in);
      const auto rows = balanced_split(in, 96), cols = balanced_split(out, 80);
      std::vector<float> ranges(rows.size());
      for (size_t i = 0; i < ranges.size(); ++i) ranges[i] = 0.9f + 0.2f * i;
      const uint64_t seed = 99;
      AnalogLinear layer(n, w, nullptr, ranges, seed);
      Matrix x = Matrix::Random(batch, in), y;
      layer.forward(x, &y);

      Matrix sum = Matrix::Zero(batch, out);
      const auto row_off = split_offsets(rows), col_off = split_offsets(cols);
      for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t j = 0; j < cols.size(); ++j) {
          CrossbarTile tile(n, w.block(col_off[j], row_off[i], cols[j], rows[i]), ranges[i],
                            derive_seed(seed, i, j));
          EXPECT_EQ(tile.programmed_weights(), layer.tile_weights(i, j));
          Matrix part;
          tile.read(x.middleCols(row_off[i], rows[i]), &part);
          sum.middleCols(col_off[j], cols[j]) += part;
        }
      }
      EXPECT_EQ(y, sum) << out << " x " << in << " batch " << batch;
    }
  }
}

TEST(AnalogLinear, QuantizedCloseToFp32) {
  TileNumerics n = ideal_numerics(128, 128);
  n.inp_res = 254;
  n.out_res = 254;
  n.out_bound = 14;
  Matrix w = Matrix::Random(200, 300);
  Matrix x = Matrix::Random(16, 300);  // |x| <= 1 = IR
  AnalogLinear layer(n, w, nullptr, ranges_for(300, 128, 1.0f), 1);
  Matrix y;
  layer.forward(x, &y);
  const Matrix ref = x * w.transpose();
  const double rel = (y - ref).norm() / ref.norm();
  EXPECT_LT(rel, 0.05);
  EXPECT_GT(rel, 1e-4);  // quantization is really on
}

TEST(AnalogLinear, ClippingOnWholeRows) {
  TileNumerics n = ideal_numerics(4, 4);
  n.clip = true;
  n.clip_k_std = 1.0;
  Matrix w(1, 8);
  w << 1, -1, 1, -1, 1, -1, 1, 20;  // row std over all 8 inputs, across both input tiles
  Matrix clipped = w;
  clip_rows(&clipped, 1.0);
  EXPECT_LT(clipped(0, 7), 20.0f);
  AnalogLinear layer(n, w, nullptr, {1.0f, 1.0f}, 1);
  EXPECT_EQ(layer.programmed_weights(), clipped);
}

TEST(AnalogLinear, SameSeedBitIdenticalOtherSeedDifferent) {
  const TileNumerics n = afm_numerics(256, 256);
  Matrix w = Matrix::Random(300, 700);
  Matrix x = Matrix::Random(9, 700);
  auto run = [&](uint64_t seed) {
    AnalogLinear layer(n, w, nullptr, ranges_for(700, 256, 1.0f), seed);
    Matrix y1, y2;
    layer.forward(x, &y1);
    layer.forward(x, &y2);  // a second read: fresh output noise
    EXPECT_NE(y1, y2);
    Matrix both(18, 300);
    both << y1, y2;
    return both;
  };
  const Matrix a = run(5), b = run(5), c = run(6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(AnalogLinear, IndependentOfThreads) {
  const TileNumerics n = afm_numerics(256, 256);
  Matrix w = Matrix::Random(300, 700);
  Matrix x = Matrix::Random(9, 700);
  auto run = [&](uint64_t seed, Matrix* y) {
    AnalogLinear layer(n, w, nullptr, ranges_for(700, 256, 1.0f), seed);
    layer.forward(x, y);
  };
  Matrix seq1, seq2, par1, par2;
  run(1, &seq1);
  run(2, &seq2);
  std::thread t1(run, 1, &par1), t2(run, 2, &par2);
  t1.join();
  t2.join();
  EXPECT_EQ(seq1, par1);
  EXPECT_EQ(seq2, par2);
  EXPECT_NE(seq1, seq2);
}

}  // namespace
}  // namespace aimc::arch

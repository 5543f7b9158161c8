// What `aimcsim eval --logits-out` and `aimcsim linear` write equals what the executor computes:
// the exported logits of FP32 and of an analog chip instance against Executor::prefill on the
// same windows, and one layer run from .npy files against the executor's layer (outputs, DAC
// codes, pre-ADC sums), bit for bit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "arch/analog_linear.h"
#include "arch/quantize.h"
#include "arch/rng.h"
#include "arch/tile_numerics.h"
#include "proto/chip_config_io.h"
#include "tests/cli/run_program.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"
#include "workloads/executor.h"
#include "workloads/npy.h"
#include "workloads/transformer_weights.h"

namespace aimc::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = AIMC_SOURCE_DIR;

std::string temp_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("aimcsim_export_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_npy(const std::string& path, const arch::Matrix& m) {
  std::vector<float> v(static_cast<size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) v[r * m.cols() + c] = m(r, c);
  }
  std::ofstream(path, std::ios::binary) << workloads::npy_bytes(
      {static_cast<size_t>(m.rows()), static_cast<size_t>(m.cols())}, v.data());
}

// The bundled model on the bundled chip with the ranges `aimcsim eval` resolves.
struct Bundled {
  workloads::TransformerWeights weights =
      workloads::load_transformer(kSource + "/workloads/models/tinyllama-bytes");
  proto::ChipConfig chip = proto::load_chip_config(kSource + "/configs/default.pbtxt");
  arch::TileNumerics numerics = arch::tile_numerics_from_config(chip);
  workloads::LayerInputRanges ranges;
  Bundled() {
    workloads::CalibrationOptions co;
    co.window = static_cast<int>(chip.numerics().input_range().calibration_window());
    co.batches = static_cast<int>(chip.numerics().input_range().calibration_batches());
    ranges = workloads::resolve_input_ranges(
        weights, numerics, workloads::load_tokens(kSource + "/workloads/data/kjv-calib.txt", 256),
        co, chip.mapping().lm_head_on_tiles());
  }
};

TEST(Export, EvalLogitsEqualExecutor) {
  const std::string dir = temp_dir("logits");
  const ProgramResult r =
      run_aimcsim_env("", "eval --seeds 2 --max-windows 3 --threads 2 --logits-out " + dir +
                              " --logits-positions 0,-1,5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("3 windows of 129 tokens (128 predictions each): 387 tokens read, 384 "
                       "predictions"),
            std::string::npos)
      << r.out;
  Bundled s;
  const auto windows = workloads::make_windows(
      workloads::load_tokens(kSource + "/workloads/data/kjv-eval.txt", 256), 128, 3, "eval");
  const int positions[] = {0, 127, 5};
  for (const auto& [file, backend, run] : {std::tuple{"fp32.npy", arch::Backend::kFp32, 0},
                                           {"analog_1.npy", arch::Backend::kAnalog, 1}}) {
    const workloads::NpyArray a = workloads::read_npy_floats(dir + "/" + file, file);
    ASSERT_EQ(a.shape, (std::vector<size_t>{3, 3, 256})) << file;
    workloads::ExecutorOptions eo;
    eo.backend = backend;
    eo.lm_head_on_backend = s.chip.mapping().lm_head_on_tiles();
    eo.chip_seed = arch::derive_seed(0, run);
    workloads::Executor exec(s.weights, s.numerics, s.ranges, eo);
    for (int w = 0; w < 3; ++w) {
      const arch::Matrix logits = exec.prefill(windows[w].tokens.data(), 128);
      for (int k = 0; k < 3; ++k) {
        for (int v = 0; v < 256; ++v) {
          ASSERT_EQ(a.data[(w * 3 + k) * 256 + v], logits(positions[k], v))
              << file << " window " << w << " position " << positions[k] << " token " << v;
        }
      }
    }
  }
  // A position outside the window is a user error.
  const ProgramResult bad = run_aimcsim_env(
      "", "eval --seeds 1 --max-windows 1 --logits-out " + dir + " --logits-positions 128");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("position 128"), std::string::npos) << bad.err;
}

// `run` takes the evaluation flags of `eval`: its exported logits are the same files, byte for
// byte, as eval's for the same seeds and windows.
TEST(Export, RunLogitsEqualEvalLogits) {
  const std::string eval_dir = temp_dir("eval_logits"), run_dir = temp_dir("run_logits");
  const std::string flags = " --seeds 2 --max-windows 2 --threads 2 --logits-positions 0,-1";
  const ProgramResult e = run_aimcsim_env("", "eval --logits-out " + eval_dir + flags);
  ASSERT_EQ(e.status, 0) << e.err;
  const ProgramResult r = run_aimcsim_env(
      "", "run --prompt-tokens 4 --decode-tokens 2 --logits-out " + run_dir + flags);
  ASSERT_EQ(r.status, 0) << r.err;
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const char* file : {"fp32.npy", "w4a8.npy", "analog_0.npy", "analog_1.npy"}) {
    const std::string a = bytes(eval_dir + "/" + file), b = bytes(run_dir + "/" + file);
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, b) << file << " differs between eval and run";
  }
}

TEST(Export, LinearCommandEqualsExecutorLayer) {
  Bundled s;
  // The input of block 1's layer 4 (gate) on the first 40 evaluation tokens, FP32 model.
  const workloads::TokenIds tokens =
      workloads::load_tokens(kSource + "/workloads/data/kjv-eval.txt", 256);
  const int block = 1, index = 4;
  arch::Matrix x;
  int ordinal = -1;
  workloads::Executor fp32(s.weights, s.numerics, s.ranges, workloads::ExecutorOptions{});
  fp32.set_linear_input_hook([&](const workloads::LinearSite& site, const arch::Matrix& in) {
    if (site.block == block && site.index == index) x = in, ordinal = site.ordinal;
  });
  fp32.prefill(tokens.data(), 40);
  ASSERT_GT(x.rows(), 0);
  const auto& lw = s.weights.blocks[block].linears[index];
  const std::vector<float>& ir = s.ranges.blocks[block][index];

  const uint64_t chip_seed = arch::derive_seed(0, 3);
  workloads::ExecutorOptions eo;
  eo.backend = arch::Backend::kAnalog;
  eo.chip_seed = chip_seed;
  workloads::Executor analog(s.weights, s.numerics, s.ranges, eo);
  arch::Matrix y;
  analog.run_linear(block, index, x, &y);

  const std::string dir = temp_dir("linear");
  write_npy(dir + "/w.npy", lw.weight);
  write_npy(dir + "/x.npy", x);
  std::ofstream(dir + "/r.npy", std::ios::binary) << workloads::npy_bytes({ir.size()}, ir.data());
  const uint64_t layer_seed = arch::derive_seed(chip_seed, ordinal);
  const ProgramResult p = run_aimcsim_env("", "linear --weights " + dir + "/w.npy --inputs " + dir +
                                                  "/x.npy --input-ranges " + dir +
                                                  "/r.npy --seed " + std::to_string(layer_seed) +
                                                  " --out " + dir + "/out --dac-codes --pre-adc");
  ASSERT_EQ(p.status, 0) << p.err;
  const workloads::NpyArray out = workloads::read_npy_floats(dir + "/out/outputs.npy", "out");
  ASSERT_EQ(out.shape, (std::vector<size_t>{40, static_cast<size_t>(lw.weight.rows())}));
  for (Eigen::Index b = 0; b < y.rows(); ++b) {
    for (Eigen::Index c = 0; c < y.cols(); ++c) {
      ASSERT_EQ(out.data[b * y.cols() + c], y(b, c)) << b << " " << c;
    }
  }
  // DAC codes by the one-division rule, per input tile's range.
  const auto sizes = arch::balanced_split(static_cast<int>(x.cols()), s.numerics.rows);
  const auto offs = arch::split_offsets(sizes);
  const workloads::NpyArray codes = workloads::read_npy_floats(dir + "/out/dac_codes.npy", "c");
  ASSERT_EQ(codes.shape, (std::vector<size_t>{40, static_cast<size_t>(x.cols())}));
  int nonzero = 0;
  for (size_t t = 0; t < sizes.size(); ++t) {
    for (int i = offs[t]; i < offs[t] + sizes[t]; ++i) {
      for (Eigen::Index b = 0; b < x.rows(); ++b) {
        const float c = codes.data[b * x.cols() + i];
        ASSERT_EQ(c, arch::dac_code(x(b, i), ir[t], s.numerics.inp_res));
        nonzero += c != 0;
      }
    }
  }
  EXPECT_GT(nonzero, 100);
  // Pre-ADC sums: DAC values times the programmed weights of the same chip instance.
  const arch::AnalogLinear layer(s.numerics, lw.weight, nullptr, ir, layer_seed);
  const workloads::NpyArray sums = workloads::read_npy_floats(dir + "/out/pre_adc.npy", "s");
  ASSERT_EQ(sums.shape, (std::vector<size_t>{sizes.size(), 40, static_cast<size_t>(y.cols())}));
  for (size_t t = 0; t < sizes.size(); ++t) {
    arch::Matrix c(40, sizes[t]);
    for (int b = 0; b < 40; ++b) {
      for (int i = 0; i < sizes[t]; ++i) c(b, i) = codes.data[b * x.cols() + offs[t] + i];
    }
    const arch::Matrix ref =
        (c * layer.programmed_weights().middleCols(offs[t], sizes[t]).transpose()) *
        (2.0f * ir[t] / s.numerics.inp_res);
    for (int b = 0; b < 40; ++b) {
      for (Eigen::Index o = 0; o < y.cols(); ++o) {
        const float got = sums.data[(t * 40 + b) * y.cols() + o];
        ASSERT_NEAR(got, ref(b, o), 1e-5f * (1 + std::abs(ref(b, o)))) << t << " " << b << " " << o;
      }
    }
  }
  // Missing ranges on a calibrating chip, and a wrong count, are user errors.
  const ProgramResult missing = run_aimcsim_env(
      "", "linear --weights " + dir + "/w.npy --inputs " + dir + "/x.npy --out " + dir + "/o2");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("--input-ranges"), std::string::npos) << missing.err;
  const ProgramResult wrong =
      run_aimcsim_env("", "linear --weights " + dir + "/w.npy --inputs " + dir +
                              "/r.npy --input-ranges " + dir + "/r.npy --out " + dir + "/o3");
  EXPECT_EQ(wrong.status, 2) << wrong.out;
  EXPECT_NE(wrong.err.find("features per token"), std::string::npos) << wrong.err;
}

// Calibration windows come off --data only when some range must be calibrated: a FIXED or
// DYNAMIC chip evaluates every window of a short file, a calibrating chip refuses it.
TEST(Export, CalibrationCarvedOnlyWhenNeeded) {
  const std::string dir = temp_dir("carve");
  const std::string text = slurp(kSource + "/workloads/data/kjv-eval.txt").substr(0, 600);
  std::ofstream(dir + "/short.txt") << text;
  const std::string config = slurp(kSource + "/configs/default.pbtxt");
  std::string fp32_line;
  for (const std::string policy : {"FIXED", "DYNAMIC"}) {
    std::string c = config;
    c.replace(c.find("CHECKPOINT_OR_CALIBRATE"), std::string("CHECKPOINT_OR_CALIBRATE").size(),
              policy);
    std::ofstream(dir + "/" + policy + ".pbtxt") << c;
    const ProgramResult r =
        run_aimcsim_env("", "eval --chip " + dir + "/" + policy + ".pbtxt --data " + dir +
                                "/short.txt --window 64 --max-windows 0 --seeds 1");
    ASSERT_EQ(r.status, 0) << policy << ": " << r.err;
    // 600 / 65 = 9 windows, nothing carved off.
    EXPECT_NE(r.out.find("9 windows of 65 tokens (64 predictions each): 585 tokens read, 576 "
                         "predictions, 15 tokens of the data unused"),
              std::string::npos)
        << r.out;
    const size_t at = r.out.find("\nFP32 ");
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at, r.out.find('\n', at + 1) - at);
    // The FP32 row does not depend on the range policy (wall time and tokens/s aside).
    const std::string metrics = line.substr(0, 90);
    if (fp32_line.empty()) {
      fp32_line = metrics;
    } else {
      EXPECT_EQ(metrics, fp32_line);
    }
  }
  const ProgramResult refused = run_aimcsim_env(
      "", "eval --data " + dir + "/short.txt --window 64 --max-windows 0 --seeds 1");
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("too short to carve"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace aimc::test

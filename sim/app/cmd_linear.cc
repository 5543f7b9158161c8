// `aimcsim linear`: one linear layer through a chip config's numerics, from .npy files, for a
// cross-check against PyTorch, AIHWKit or another simulator. Reads the weights (out x in), the
// inputs (tokens x in) and, unless the chip's input-range policy is DYNAMIC or FIXED, one input
// range per input tile; writes the outputs and, on request, each input tile's DAC codes and
// noise-free analog sums (docs/numerics.md, "One layer from files").
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "arch/analog_linear.h"
#include "arch/linear_layer.h"
#include "arch/quantize.h"
#include "arch/tile_numerics.h"
#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "workloads/npy.h"

namespace aimc::sim {
namespace {

// A 2-D (or 1-D: one row) .npy as a (rows x cols) matrix.
arch::Matrix matrix_of(const workloads::NpyArray& a, const std::string& flag,
                       const std::string& path) {
  if (a.shape.empty() || a.shape.size() > 2) {
    throw UserError(flag + " " + path + ": expected a 1-D or 2-D array, got " +
                    std::to_string(a.shape.size()) + " dimensions");
  }
  const size_t rows = a.shape.size() == 2 ? a.shape[0] : 1;
  const size_t cols = a.shape.back();
  arch::Matrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) m(r, c) = a.data[r * cols + c];
  }
  return m;
}

std::vector<float> row_major(const arch::Matrix& m) {
  std::vector<float> v(static_cast<size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) v[r * m.cols() + c] = m(r, c);
  }
  return v;
}

void write_matrix(const std::string& path, const arch::Matrix& m) {
  const std::vector<float> v = row_major(m);
  proto::write_file_atomic(
      path, workloads::npy_bytes({static_cast<size_t>(m.rows()), static_cast<size_t>(m.cols())},
                                 v.data()));
}

arch::Backend parse_backend(const std::string& name) {
  if (name == "analog") return arch::Backend::kAnalog;
  if (name == "w4a8") return arch::Backend::kW4A8;
  if (name == "fp32") return arch::Backend::kFp32;
  throw UserError("--backend: expected analog, w4a8 or fp32, got '" + name + "'");
}

// The flags of `aimcsim linear`.
po::options_description linear_flags() {
  po::options_description options("linear flags");
  options.add_options()("chip", po::value<std::string>()->default_value(bundled_chip_path()),
                        "chip config (.pbtxt) whose tile and numerics apply")(
      "weights", po::value<std::string>()->required(), "weights W (out x in), .npy float32/64")(
      "inputs", po::value<std::string>()->required(), "inputs x (tokens x in, or in), .npy")(
      "input-ranges", po::value<std::string>(),
      "one input range per input tile (balanced split of `in` by tile.rows), .npy; required "
      "unless the chip's input_range policy is DYNAMIC or FIXED")("bias", po::value<std::string>(),
                                                                  "bias (out), .npy")(
      "backend", po::value<std::string>()->default_value("analog"), "analog, w4a8 or fp32")(
      "seed", po::value<uint64_t>()->default_value(0),
      "the layer's seed (its tiles' programming noise); in a model, layer k of chip instance "
      "seed s uses derive_seed(s, k)")("out", po::value<std::string>()->required(),
                                       "output directory (created)")(
      "dac-codes", po::bool_switch()->default_value(false),
      "also write dac_codes.npy (tokens x in): each input's DAC code (analog)")(
      "pre-adc", po::bool_switch()->default_value(false),
      "also write pre_adc.npy (input tiles x tokens x out): each input tile's noise-free analog "
      "sums before output noise and ADC, in output units (analog)");
  return options;
}

// --bias: one value per output of the weights (empty without the flag).
arch::Vector read_bias(const po::variables_map& vm, const arch::Matrix& w) {
  arch::Vector bias;
  if (!vm.count("bias")) return bias;
  const std::string b_path = vm["bias"].as<std::string>();
  const workloads::NpyArray b = workloads::read_npy_floats(b_path, "--bias");
  if (b.size() != static_cast<size_t>(w.rows()) || b.shape.size() != 1) {
    throw UserError("--bias " + b_path + ": expected shape (" + std::to_string(w.rows()) + ",)");
  }
  bias = Eigen::Map<const arch::Vector>(b.data.data(), w.rows());
  return bias;
}

// The input range of each of the `tiles` input tiles: --input-ranges, or what the chip's
// input-range policy implies (DYNAMIC: unused, FIXED: its range); FP32 ignores them.
std::vector<float> input_ranges(const po::variables_map& vm, const arch::TileNumerics& numerics,
                                arch::Backend backend, size_t tiles, Eigen::Index inputs) {
  std::vector<float> ranges;
  if (vm.count("input-ranges")) {
    const std::string r_path = vm["input-ranges"].as<std::string>();
    const workloads::NpyArray r = workloads::read_npy_floats(r_path, "--input-ranges");
    if (r.size() != tiles) {
      throw UserError("--input-ranges " + r_path + ": " + std::to_string(r.size()) +
                      " ranges, the chip splits the " + std::to_string(inputs) + " inputs into " +
                      std::to_string(tiles) + " tiles of at most " + std::to_string(numerics.rows) +
                      " rows");
    }
    for (size_t t = 0; t < tiles; ++t) {
      if (!(r.data[t] > 0)) {
        throw UserError("--input-ranges " + r_path + ": range " + std::to_string(t) +
                        " must be positive, got " + std::to_string(r.data[t]));
      }
    }
    ranges = r.data;
  } else if (numerics.input_range_policy == arch::InputRangePolicy::kDynamic) {
    ranges.assign(tiles, 1.0f);
  } else if (numerics.input_range_policy == arch::InputRangePolicy::kFixed) {
    ranges.assign(tiles, static_cast<float>(numerics.fixed_input_range));
  } else if (backend != arch::Backend::kFp32) {
    throw UserError(
        "--input-ranges is required: the chip's input_range policy is neither "
        "DYNAMIC nor FIXED");
  }
  return ranges;
}

// --dac-codes and --pre-adc: each input tile's DAC codes and noise-free analog sums, probed on
// the analog layer.
void write_probes(const arch::AnalogLinear& analog, const arch::Matrix& x, Eigen::Index outputs,
                  bool want_codes, bool want_sums, const arch::TileNumerics& numerics,
                  const std::string& dir, std::ostream& out) {
  arch::Matrix codes(x.rows(), x.cols());
  std::vector<float> sums;
  for (int i = 0; i < analog.input_tiles(); ++i) {
    arch::Matrix values, part;
    arch::Vector token_ranges;
    analog.probe_tile(x, i, &values, &part, &token_ranges);
    codes.middleCols(analog.input_offset(i), analog.tile_rows(i)) = values;
    const std::vector<float> v = row_major(part);
    sums.insert(sums.end(), v.begin(), v.end());
  }
  if (want_codes) {
    write_matrix(dir + "/dac_codes.npy", codes);
    out << "dac_codes.npy: " << codes.rows() << " x " << codes.cols()
        << (numerics.inp_res > 0 ? " (integer DAC codes)" : " (ideal DAC: the inputs applied)")
        << "\n";
  }
  if (want_sums) {
    proto::write_file_atomic(
        dir + "/pre_adc.npy",
        workloads::npy_bytes({static_cast<size_t>(analog.input_tiles()),
                              static_cast<size_t>(x.rows()), static_cast<size_t>(outputs)},
                             sums.data()));
    out << "pre_adc.npy: " << analog.input_tiles() << " x " << x.rows() << " x " << outputs << "\n";
  }
}

}  // namespace

int cmd_linear(const std::vector<std::string>& args, std::ostream& out) {
  const po::options_description options = linear_flags();
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("linear", "--weights W.npy --inputs X.npy [--input-ranges R.npy] --out DIR",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  const proto::ChipConfig chip = chip_from_flags(vm);
  const arch::TileNumerics numerics = arch::tile_numerics_from_config(chip);
  const arch::Backend backend = parse_backend(vm["backend"].as<std::string>());
  const std::string w_path = vm["weights"].as<std::string>();
  const std::string x_path = vm["inputs"].as<std::string>();
  const arch::Matrix w =
      matrix_of(workloads::read_npy_floats(w_path, "--weights"), "--weights", w_path);
  const arch::Matrix x =
      matrix_of(workloads::read_npy_floats(x_path, "--inputs"), "--inputs", x_path);
  if (x.cols() != w.cols()) {
    throw UserError("--inputs " + x_path + ": " + std::to_string(x.cols()) +
                    " features per token, but the weights " + w_path + " have " +
                    std::to_string(w.cols()) + " inputs");
  }
  const arch::Vector bias = read_bias(vm, w);
  const size_t tiles = arch::balanced_split(static_cast<int>(w.cols()), numerics.rows).size();
  std::vector<float> ranges = input_ranges(vm, numerics, backend, tiles, w.cols());
  const bool want_codes = vm["dac-codes"].as<bool>();
  const bool want_sums = vm["pre-adc"].as<bool>();
  if ((want_codes || want_sums) && backend != arch::Backend::kAnalog) {
    throw UserError("--dac-codes and --pre-adc apply to --backend analog only");
  }
  const uint64_t seed = vm["seed"].as<uint64_t>();
  const std::string dir = vm["out"].as<std::string>();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw UserError("--out: cannot create directory " + dir + ": " + ec.message());

  if (ranges.empty()) ranges.assign(tiles, 1.0f);  // FP32 ignores them
  const auto layer =
      arch::make_linear(backend, numerics, w, bias.size() ? &bias : nullptr, ranges, seed);
  arch::Matrix y;
  layer->forward(x, &y);
  write_matrix(dir + "/outputs.npy", y);
  out << "outputs.npy: " << y.rows() << " x " << y.cols() << " (" << vm["backend"].as<std::string>()
      << ", " << tiles << " input tiles of at most " << numerics.rows << " rows, seed " << seed
      << ")\n";
  if (want_codes || want_sums) {
    write_probes(dynamic_cast<const arch::AnalogLinear&>(*layer), x, w.rows(), want_codes,
                 want_sums, numerics, dir, out);
  }
  return 0;
}

}  // namespace aimc::sim

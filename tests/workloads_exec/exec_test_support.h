// Helpers shared by the executor tests: fixture paths, the reference-logits reader and chip
// numerics built from a config snippet.
#pragma once

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "arch/tile_numerics.h"
#include "proto/chip_config_io.h"

namespace aimc::workloads::testing {

/// A path under the source tree.
inline std::string source_path(const std::string& relative) {
  return std::string(AIMC_SOURCE_DIR) + "/" + relative;
}

/// The bundled byte-level model (AIMC_BUNDLED_MODEL_DIR overrides it, e.g. to check a
/// retrained model before it replaces the bundled one).
inline std::string bundled_model_dir() {
  const char* dir = std::getenv("AIMC_BUNDLED_MODEL_DIR");
  return dir ? dir : source_path("workloads/models/tinyllama-bytes");
}

/// PyTorch reference: token ids and (tokens x vocab) logits (reference_logits.txt format).
struct ReferenceLogits {
  std::vector<int32_t> tokens;
  arch::Matrix logits;
};

inline ReferenceLogits read_reference_logits(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  ReferenceLogits r;
  std::string word;
  int n = 0, rows = 0, vocab = 0;
  in >> word >> n;
  if (word != "tokens") throw std::runtime_error(path + ": expected 'tokens'");
  r.tokens.resize(n);
  for (int& t : r.tokens) in >> t;
  in >> word >> rows >> vocab;
  if (word != "logits" || rows != n) throw std::runtime_error(path + ": bad logits header");
  r.logits.resize(rows, vocab);
  for (int t = 0; t < rows; ++t) {
    for (int v = 0; v < vocab; ++v) in >> r.logits(t, v);
  }
  if (!in) throw std::runtime_error(path + ": truncated");
  return r;
}

/// Tile numerics from a chip config snippet (defaults filled in, validated).
inline arch::TileNumerics numerics_from(const std::string& pbtxt) {
  return arch::tile_numerics_from_config(
      proto::parse_chip_config("schema_version: 1\n" + pbtxt, "test"));
}

/// Ideal converters, no noise: the analog backend must equal FP32 up to summation order.
inline arch::TileNumerics ideal_numerics(int rows) {
  return numerics_from("tile { rows: " + std::to_string(rows) +
                       " dac { ideal: true } adc { ideal: true } }"
                       " numerics { weight_noise { none {} } }");
}

}  // namespace aimc::workloads::testing

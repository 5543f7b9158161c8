// Chips and models for the mapping tests: valid chip configs built in code, and a chip sized to
// hold a given model.
#pragma once

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "mapping/mapper.h"
#include "proto/chip_config_io.h"
#include "workloads/model_config.h"

namespace aimc::mapping::testing {

/// A chip of `count` tiles of rows x cols cells on the smallest square mesh holding them, with
/// every other field at its default. Fails the test when the config is invalid.
inline proto::ChipConfig make_chip(int count, int rows, int cols, int cells_per_weight = 1,
                                   int dpus = 8) {
  proto::ChipConfig chip;
  chip.set_name("test-chip");
  chip.mutable_tile()->set_count(count);
  chip.mutable_tile()->set_rows(rows);
  chip.mutable_tile()->set_cols(cols);
  chip.mutable_tile()->set_cells_per_weight(cells_per_weight);
  chip.mutable_tile()->mutable_adc()->set_adcs_per_tile(std::max(1, cols / cells_per_weight));
  int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  while (side * side < count) ++side;
  chip.mutable_noc()->set_mesh_x(side);
  chip.mutable_noc()->set_mesh_y(side);
  chip.mutable_dpu()->set_count(std::min(dpus, side * side));
  proto::resolve_defaults(&chip);
  for (const auto& issue : proto::validate_chip_config(chip)) {
    ADD_FAILURE() << "invalid test chip: " << issue.path_string() << ": " << issue.message;
  }
  return chip;
}

/// Sets tile.count to what `model` needs (plus `slack` tiles) and grows the mesh to hold them.
inline void size_chip_for(const workloads::ModelConfig& model, proto::ChipConfig* chip,
                          int slack = 0) {
  const long long need = tiles_needed(model, *chip) + slack;
  int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(need))));
  while (static_cast<long long>(side) * side < need) ++side;
  chip->mutable_tile()->set_count(static_cast<uint32_t>(need));
  chip->mutable_noc()->set_mesh_x(side);
  chip->mutable_noc()->set_mesh_y(side);
  for (const auto& issue : proto::validate_chip_config(*chip)) {
    ADD_FAILURE() << "invalid sized chip: " << issue.path_string() << ": " << issue.message;
  }
}

}  // namespace aimc::mapping::testing

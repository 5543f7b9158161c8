// Helpers of the timing-model tests: chip presets and a tiny model that maps onto a few tiles.
#pragma once

#include <string>

#include "proto/chip_config_io.h"
#include "workloads/model_config.h"

namespace aimc::sim::testing {

/// A preset from configs/.
inline proto::ChipConfig preset(const std::string& name) {
  return proto::load_chip_config(std::string(AIMC_SOURCE_DIR) + "/configs/" + name + ".pbtxt");
}

/// A two-block Llama-like model of hidden size 256: 10 tiles per block on 256x256 tiles.
inline workloads::ModelConfig tiny_model() {
  workloads::ModelConfig m;
  m.name = "tiny";
  m.vocab_size = 512;
  m.hidden_size = 256;
  m.intermediate_size = 512;
  m.num_layers = 2;
  m.num_heads = 4;
  m.num_kv_heads = 2;
  m.head_dim = 64;
  m.max_positions = 4096;
  return m;
}

}  // namespace aimc::sim::testing

// Layer partition into crossbar blocks; the split itself is arch::balanced_split.
#include "mapping/partition.h"

#include "arch/quantize.h"

namespace aimc::mapping {

TileShape tile_shape(const proto::ChipConfig& chip) {
  return TileShape{static_cast<int>(chip.tile().rows()),
                   static_cast<int>(chip.tile().cols() / chip.tile().cells_per_weight())};
}

void split_layer(TileShape shape, LayerPartition* layer) {
  layer->on_tiles = true;
  layer->row_sizes = arch::balanced_split(layer->in, shape.rows);
  layer->row_offsets = arch::split_offsets(layer->row_sizes);
  layer->col_sizes = arch::balanced_split(layer->out, shape.cols);
  layer->col_offsets = arch::split_offsets(layer->col_sizes);
}

std::string role_name(workloads::LinearRole role) {
  using workloads::LinearRole;
  switch (role) {
    case LinearRole::kQ:
      return "q";
    case LinearRole::kK:
      return "k";
    case LinearRole::kV:
      return "v";
    case LinearRole::kQkv:
      return "qkv";
    case LinearRole::kO:
      return "o";
    case LinearRole::kGate:
      return "gate";
    case LinearRole::kUp:
      return "up";
    case LinearRole::kGateUp:
      return "gate_up";
    case LinearRole::kDown:
      return "down";
    case LinearRole::kLmHead:
      return "lm_head";
  }
  return "?";
}

std::vector<LayerPartition> partition_model(const workloads::ModelConfig& model, TileShape shape,
                                            bool lm_head_on_tiles) {
  std::vector<LayerPartition> layers;
  for (const workloads::LinearShape& l : workloads::linear_layers(model)) {
    LayerPartition p;
    p.name = l.name;
    p.block = l.block;
    p.role = role_name(l.role);
    p.in = l.in;
    p.out = l.out;
    if (l.role != workloads::LinearRole::kLmHead || lm_head_on_tiles) split_layer(shape, &p);
    layers.push_back(std::move(p));
  }
  return layers;
}

long long total_blocks(const std::vector<LayerPartition>& layers) {
  long long n = 0;
  for (const LayerPartition& l : layers) n += l.block_count();
  return n;
}

}  // namespace aimc::mapping

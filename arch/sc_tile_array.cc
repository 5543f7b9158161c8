// The state arrays of a chip's tiles and ADC banks.
#include "arch/sc_tile_array.h"

#include <algorithm>
#include <stdexcept>

namespace aimc::arch {

void TileArray::init_tiles(const TileSpec& spec, int tiles) {
  if (!tiles_.empty()) throw std::logic_error("TileArray: tiles initialised twice");
  tile_spec_ = spec;
  tiles_.assign(tiles, TileState{});
  tile_of_.assign(tiles, nullptr);
}

void TileArray::init_banks(const AdcBankSpec& spec, int banks, int tiles_per_bank) {
  if (!banks_.empty()) throw std::logic_error("TileArray: banks initialised twice");
  bank_spec_ = spec;
  per_ = static_cast<size_t>(tiles_per_bank < 1 ? 1 : tiles_per_bank);
  banks_.assign(banks, AdcBankState{});
  bank_of_.assign(banks, nullptr);
  bank_per_ = std::max(1, spec.adcs_per_group);
  plain_ = tile_spec_.analog && !tile_spec_.gating && spec.groups == 1 && !spec.gating.enabled;
}

}  // namespace aimc::arch

// The state arrays of a chip's tiles and ADC banks.
#include "arch/sc_tile_array.h"

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
}

}  // namespace aimc::arch

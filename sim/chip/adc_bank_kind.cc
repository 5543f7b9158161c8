// Component kind "adc_bank" (sim/chip/component_registry.h). The ADC banks: one per
// adc.tiles_per_bank consecutive tiles, bound to them (built after the tiles), their state in the
// chip's tile array.
#include <algorithm>
#include <memory>

#include "arch/sc_adc_bank.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"

namespace aimc::sim {
namespace {

void build(const proto::ChipConfig& config, Chip* chip) {
  const arch::AdcBankSpec spec = adc_bank_spec(config);
  const int tiles = chip->tile_count();
  const int per_bank = static_cast<int>(config.tile().adc().tiles_per_bank());
  const int banks = (tiles + per_bank - 1) / per_bank;
  arch::TileArray& array = chip->tile_array();
  array.init_banks(spec, banks, per_bank);
  for (int b = 0; b < banks; ++b) {
    auto* bank =
        chip->add("adc_bank", std::make_unique<arch::ScAdcBank>(
                                  instance_name("adc_bank", b).c_str(), spec, array.bank_slot(b)));
    array.set_bank(b, bank);
    for (int t = b * per_bank; t < std::min(tiles, (b + 1) * per_bank); ++t)
      chip->tile(t).bind(bank);
  }
}

}  // namespace

ComponentKind adc_bank_kind() {
  return {"adc_bank",
          "ADCs of adc.tiles_per_bank tiles, conversions first come first served",
          "ADC bank",
          &arch::ScAdcBank::traits(),
          /*summed=*/true,
          "adcs",
          build};
}

}  // namespace aimc::sim

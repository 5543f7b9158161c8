// Component kind "adc_bank" (sim/chip/component_registry.h). The ADC banks: one per
// adc.tiles_per_bank consecutive tiles, bound to them (built after the tiles), all of them one
// component (arch::ScAdcBankGroup), their state in the chip's tile array.
#include <memory>
#include <string>

#include "arch/sc_tile_group.h"
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
  auto* group =
      chip->add("adc_bank", std::make_unique<arch::ScAdcBankGroup>(
                                "adc_banks", std::string(chip->name()) + ".", spec, banks, &array));
  chip->tiles().bind(group, per_bank);
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

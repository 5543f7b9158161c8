// Action counts: accumulation and enumeration.
#include "arch/action_counts.h"

namespace aimc::arch {
namespace {

struct Field {
  const char* name;
  const char* unit;
  double ActionCounts::*member;
};

// The one list of fields, so that +=, sum() and for_each() cannot disagree.
constexpr Field kFields[] = {
    {"dac_drives", "count", &ActionCounts::dac_drives},
    {"cell_reads", "count", &ActionCounts::cell_reads},
    {"adc_conversions", "count", &ActionCounts::adc_conversions},
    {"tile_post_ops", "count", &ActionCounts::tile_post_ops},
    {"digital_tile_macs", "count", &ActionCounts::digital_tile_macs},
    {"dpu_adds", "count", &ActionCounts::dpu_adds},
    {"dpu_muls", "count", &ActionCounts::dpu_muls},
    {"dpu_exps", "count", &ActionCounts::dpu_exps},
    {"dpu_recips", "count", &ActionCounts::dpu_recips},
    {"dpu_rsqrts", "count", &ActionCounts::dpu_rsqrts},
    {"sram_bits", "bits", &ActionCounts::sram_bits},
    {"kv_sram_bits", "bits", &ActionCounts::kv_sram_bits},
    {"dram_bits", "bits", &ActionCounts::dram_bits},
    {"noc_bit_hops", "bit-hops", &ActionCounts::noc_bit_hops},
    {"cells_programmed", "count", &ActionCounts::cells_programmed},
    {"shift_adds", "count", &ActionCounts::shift_adds},
    {"noc_adds", "count", &ActionCounts::noc_adds},
};
static_assert(sizeof(kFields) / sizeof(kFields[0]) * sizeof(double) == sizeof(ActionCounts),
              "every ActionCounts field is in kFields");

}  // namespace

double ActionCounts::sum() const {
  double s = 0;
  for (const Field& f : kFields) s += this->*f.member;
  return s;
}

void ActionCounts::for_each(
    const std::function<void(const std::string&, const std::string&, double)>& fn) const {
  for (const Field& f : kFields) fn(f.name, f.unit, this->*f.member);
}

bool ActionCounts::set(const std::string& name, double value) {
  for (const Field& f : kFields) {
    if (name == f.name) {
      this->*f.member = value;
      return true;
    }
  }
  return false;
}

}  // namespace aimc::arch

// The registry of placement strategies: one line per strategy in AIMC_MAPPING_STRATEGIES. Each
// strategy's file defines `StrategyInfo NAME_strategy()`; the order here is the order of
// `aimcsim describe` and of the comparison table. (An explicit list rather than static
// self-registration: the linker drops unreferenced objects of a static library.)
#include <algorithm>

#include "mapping/placement_strategy.h"
#include "proto/user_error.h"

#define AIMC_MAPPING_STRATEGIES(X) \
  X(dense)                         \
  X(locality)                      \
  X(pipeline)                      \
  X(replicate)

namespace aimc::mapping {

#define AIMC_DECLARE_STRATEGY(name) StrategyInfo name##_strategy();
AIMC_MAPPING_STRATEGIES(AIMC_DECLARE_STRATEGY)
#undef AIMC_DECLARE_STRATEGY

const std::vector<StrategyInfo>& strategies() {
#define AIMC_LIST_STRATEGY(name) name##_strategy(),
  static const std::vector<StrategyInfo> list{AIMC_MAPPING_STRATEGIES(AIMC_LIST_STRATEGY)};
#undef AIMC_LIST_STRATEGY
  return list;
}

const StrategyInfo& find_strategy(const std::string& name) {
  for (const StrategyInfo& s : strategies()) {
    if (s.name == name) return s;
  }
  std::string known;
  for (const StrategyInfo& s : strategies()) known += (known.empty() ? "" : ", ") + s.name;
  throw UserError("unknown mapping strategy '" + name + "' (known: " + known + ")");
}

}  // namespace aimc::mapping

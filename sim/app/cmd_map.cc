// `aimcsim map`: map a model onto a chip with one strategy (summary, optionally the plan as
// text or JSON), or compare every strategy side by side (--compare).
#include <iomanip>
#include <ostream>

#include "mapping/mapper.h"
#include "mapping/plan_io.h"
#include "proto/chip_config_io.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/report/summary.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {

int cmd_map(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("map flags");
  add_chip_model_flags(&options, true);
  options.add_options()("compare", po::bool_switch(), "compare every strategy side by side")(
      "out", po::value<std::string>(), "write the plan (.pbtxt text, or .json)");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("map", "[--chip CONFIG] [--model NAME|PATH] [--mapping NAME] [--compare]",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  const proto::ChipConfig chip = chip_from_flags(vm);
  const workloads::ModelConfig model = workloads::resolve_model(model_from_flags(vm));
  if (vm["compare"].as<bool>()) {
    out << mapping::compare_strategies_table(model, chip);
    return 0;
  }
  const proto::MappingPlan plan = mapping::make_plan(model, chip, vm["mapping"].as<std::string>());
  out << format_plan_summary(plan);
  if (vm.count("out")) {
    mapping::write_plan(plan, vm["out"].as<std::string>());
    out << "plan written to " << vm["out"].as<std::string>() << "\n";
  }
  return 0;
}

}  // namespace aimc::sim

// `aimcsim peak --chip CONFIG [--json FILE]`: the chip's datasheet from its simulated peak
// workload (sim/chip/datasheet.h).
#include <ostream>

#include "proto/chip_config_io.h"
#include "sim/app/commands.h"
#include "sim/app/flags.h"
#include "sim/chip/datasheet.h"
#include "sim/report/datasheet.h"

namespace aimc::sim {

int cmd_peak(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("peak flags");
  options.add_options()("chip", po::value<std::string>()->required(), "chip config (.pbtxt)")(
      "json", po::value<std::string>(), "also write the datasheet as JSON to this file")(
      "reads", po::value<int>()->default_value(1000), "back-to-back reads per tile");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("peak", "--chip CONFIG [--json FILE] [--reads N]", options, positional, args,
                   &vm, out)) {
    return 0;
  }
  const int reads = vm["reads"].as<int>();
  if (reads < 1 || reads > 1000000) throw UserError("--reads must be in 1..1000000");
  const proto::ChipConfig chip = proto::load_chip_config(vm["chip"].as<std::string>());
  const proto::ChipDatasheet d = chip_datasheet(chip, reads, /*isolate=*/false);
  out << format_datasheet(d);
  if (vm.count("json")) {
    proto::write_file_atomic(vm["json"].as<std::string>(), datasheet_to_json(d));
    out << "datasheet written to " << vm["json"].as<std::string>() << "\n";
  }
  return 0;
}

}  // namespace aimc::sim

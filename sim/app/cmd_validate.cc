// `aimcsim validate CONFIG`: parse, resolve defaults, validate, print the resolved config and the
// cost fields the converter cost model derives.
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "arch/chip_costs.h"
#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "sim/app/commands.h"
#include "sim/app/flags.h"

namespace aimc::sim {

int cmd_validate(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("validate flags");
  options.add_options()("config", po::value<std::string>()->required(),
                        "chip or system config (.pbtxt)");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse_flags("validate", "CONFIG", options, positional, args, &vm, out)) return 0;
  const std::string path = vm["config"].as<std::string>();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (in && proto::looks_like_system_config(text.str())) {
    const proto::SystemConfig system = proto::load_system_config(path);
    out << "# " << path << ": valid system of " << proto::chip_count(system)
        << " chips; resolved with every default filled in and every chip inline\n"
        << proto::to_text(system);
    return 0;
  }
  const proto::ChipConfig config = proto::load_chip_config(path);
  out << "# " << path << ": valid; resolved with every default filled in\n"
      << proto::to_text(config);
  const auto derived = arch::derived_values(config);
  if (!derived.empty()) {
    out << "# derived by the cost model (fields left out; set one to override it):\n";
    for (const arch::DerivedValue& d : derived) {
      char value[64];
      std::snprintf(value, sizeof value, "%.6g", d.value);
      out << "#   " << d.field << ": " << value << "  (" << d.formula << ")\n";
    }
  }
  return 0;
}

}  // namespace aimc::sim

// Flag parsing shared by every subcommand.
#include "sim/app/flags.h"

#include <cstdint>
#include <ostream>

#include "proto/user_error.h"

namespace aimc::sim {

bool parse_flags(const std::string& command, const std::string& usage,
                 const po::options_description& options,
                 const po::positional_options_description& positional,
                 const std::vector<std::string>& args, po::variables_map* vm, std::ostream& out) {
  po::options_description all(options);
  all.add_options()("help,h", "print this help");
  try {
    const po::parsed_options parsed =
        po::command_line_parser(args).options(all).positional(positional).run();
    // Boost reads "-5" as an unsigned number (2^64 - 5): a sign is refused for unsigned flags.
    for (const po::option& o : parsed.options) {
      const po::option_description* d = all.find_nothrow(o.string_key, false);
      if (d == nullptr) continue;
      const po::value_semantic* sem = d->semantic().get();
      const bool is_unsigned = dynamic_cast<const po::typed_value<uint64_t>*>(sem) != nullptr ||
                               dynamic_cast<const po::typed_value<uint32_t>*>(sem) != nullptr;
      for (const std::string& v : o.value) {
        if (is_unsigned && v.find('-') != std::string::npos) {
          throw UserError("aimcsim " + command + ": --" + o.string_key +
                          " must be a non-negative integer, got '" + v + "'");
        }
      }
    }
    po::store(parsed, *vm);
    if (vm->count("help")) {
      out << "usage: aimcsim " << command << " " << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(*vm);
    if (vm->count("threads") && (*vm)["threads"].as<int>() < 0) {
      throw UserError("aimcsim " + command + ": --threads must be 0 (all cores) or more, got " +
                      std::to_string((*vm)["threads"].as<int>()));
    }
  } catch (const po::error& e) {
    throw UserError("aimcsim " + command + ": " + e.what() + " (see aimcsim " + command +
                    " --help)");
  }
  return true;
}

}  // namespace aimc::sim

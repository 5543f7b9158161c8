// Flag parsing shared by every subcommand.
#include "sim/app/flags.h"

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
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), *vm);
    if (vm->count("help")) {
      out << "usage: aimcsim " << command << " " << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    throw UserError("aimcsim " + command + ": " + e.what() + " (see aimcsim " + command +
                    " --help)");
  }
  return true;
}

}  // namespace aimc::sim

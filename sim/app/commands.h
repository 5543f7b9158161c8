// One function per aimcsim subcommand. Each parses its own flags (Boost.Program_options),
// throws UserError on user mistakes, and returns an exit status.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace aimc::sim {

/// A subcommand: name, one-line summary, and its entry point (args exclude the name).
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, std::ostream& out);
};

/// Every subcommand, in the order `aimcsim --help` lists them.
const std::vector<Command>& commands();

int cmd_validate(const std::vector<std::string>& args, std::ostream& out);
int cmd_peak(const std::vector<std::string>& args, std::ostream& out);
int cmd_describe(const std::vector<std::string>& args, std::ostream& out);
int cmd_map(const std::vector<std::string>& args, std::ostream& out);
int cmd_eval(const std::vector<std::string>& args, std::ostream& out);
int cmd_run(const std::vector<std::string>& args, std::ostream& out);
int cmd_sweep(const std::vector<std::string>& args, std::ostream& out);
int cmd_ttc(const std::vector<std::string>& args, std::ostream& out);
int cmd_linear(const std::vector<std::string>& args, std::ostream& out);

}  // namespace aimc::sim

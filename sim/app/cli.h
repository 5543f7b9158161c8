// The command-line interface of aimcsim: subcommands, their flags, and the mapping of errors to
// exit statuses (0 success, 2 user mistake, 1 internal failure).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace aimc::sim {

/// Runs the program with the given arguments; returns the exit status.
int run_cli(int argc, char** argv);

/// Runs one subcommand with its own arguments (args[0] is the subcommand name), writing
/// results to `out`. Throws UserError for user mistakes. Used by run_cli and by tests.
int run_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace aimc::sim

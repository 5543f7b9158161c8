// Shared flag parsing for the subcommands: --help on each, and bad flags turned into UserError.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace aimc::sim {

namespace po = boost::program_options;

/// Parses `args` against `options` (plus --help) and `positional`. Returns false after printing
/// the usage when --help was given. Throws UserError naming the bad flag otherwise.
bool parse_flags(const std::string& command, const std::string& usage,
                 const po::options_description& options,
                 const po::positional_options_description& positional,
                 const std::vector<std::string>& args, po::variables_map* vm, std::ostream& out);

}  // namespace aimc::sim

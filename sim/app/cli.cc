// Subcommand dispatch and the mapping of exceptions to exit statuses.
#include "sim/app/cli.h"

#include <cstdlib>
#include <exception>
#include <iostream>

#include "proto/user_error.h"
#include "sim/app/commands.h"
#include "sim/app/version.h"
#include "sim/sweep/mpi.h"

namespace aimc::sim {
namespace {

void print_usage(std::ostream& out) {
  out << "aimcsim " << AIMCSIM_VERSION
      << ": how accurate, how fast and how energy-efficient is this LLM on that analog chip?\n\n"
         "usage: aimcsim COMMAND [FLAGS]   (aimcsim COMMAND --help for its flags)\n\ncommands:\n";
  for (const Command& c : commands()) {
    out << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  out << "\n  --version   print the version and the git commit\n";
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run",
       "the main job: map, evaluate accuracy, simulate time and energy, report (a chip or a "
       "system of chips)",
       cmd_run},
      {"validate", "check a chip or system config and print it with every default filled in",
       cmd_validate},
      {"peak",
       "the chip's (or system's) datasheet: simulated peak TOPS, TOPS/W, TOPS/mm2, power, area",
       cmd_peak},
      {"describe", "list noise models, tile kinds, presets and shape cards with their parameters",
       cmd_describe},
      {"map",
       "map a model onto a chip with a placement strategy, or across a system's chips; "
       "compare strategies",
       cmd_map},
      {"eval", "accuracy table: FP32 / W4A8 / analog over chip instances (noise seeds)", cmd_eval},
      {"sweep",
       "run a grid of points over chip or system fields, models, mappings, batch, request rate; "
       "CSV/JSON/HTML",
       cmd_sweep},
      {"ttc", "test-time compute: accuracy of majority votes over N sampled answers vs energy",
       cmd_ttc},
      {"linear",
       "one linear layer from .npy files through the chip's numerics: outputs, DAC codes, sums",
       cmd_linear},
  };
  return list;
}

int run_command(const std::vector<std::string>& args, std::ostream& out) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(out);
    return 0;
  }
  if (args[0] == "--version") {
    out << "aimcsim " << AIMCSIM_VERSION << " (git " << AIMCSIM_GIT_COMMIT << ", MPI "
        << (mpi::built_with_mpi() ? "on" : "off") << ")\n";
    return 0;
  }
  for (const Command& c : commands()) {
    if (args[0] != c.name) continue;
    if (args[0] != "sweep" && args[0] != "eval" && args[0] != "ttc") {
      mpi::refuse_launcher(args[0], "only `aimcsim sweep`, `eval` and `ttc` use MPI");
    }
    return c.run({args.begin() + 1, args.end()}, out);
  }
  std::string names;
  for (const Command& c : commands()) names += (names.empty() ? "" : ", ") + std::string(c.name);
  throw UserError("unknown command '" + args[0] + "' (commands: " + names + ")");
}

namespace {

// An error on one process of an MPI job stops the whole job: the others may wait for it.
void stop_mpi_job(int code) {
  const mpi::Comm* comm = mpi::world();
  if (comm == nullptr) return;
  std::cerr << "aimcsim: (MPI rank " << comm->rank() << " of " << comm->size()
            << ") stopping the job\n";
  std::cerr.flush();
  comm->abort(code);
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run_command(args, std::cout);
  } catch (const UserError& e) {
    std::cout.flush();
    std::cerr << "aimcsim: error: " << e.what() << "\n";
    stop_mpi_job(2);
    return 2;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "aimcsim: internal error: " << e.what() << "\n";
    stop_mpi_job(1);
    return 1;
  }
}

}  // namespace aimc::sim

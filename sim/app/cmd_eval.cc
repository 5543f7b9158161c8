// `aimcsim eval`: how accurate is this model on that chip? One table, rows FP32 / W4A8 / the
// chip (analog over N chip instances), columns perplexity, bits per byte, top-1 accuracy and
// KL from FP32 with their spread over seeds, plus wall time.
#include <ostream>

#include "proto/chip_config_io.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/app/eval_job.h"
#include "sim/report/sim_report.h"
#include "sim/sweep/mpi.h"

namespace aimc::sim {

int cmd_eval(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("eval flags");
  add_chip_model_flags(&options, false);
  add_eval_flags(&options);
  options.add_options()(
      "json", po::value<std::string>(),
      "also write the table as JSON here (the accuracy section of run's report.json)");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("eval", "[--chip CONFIG] [--model PATH] [--data FILE] [--seeds N] ...", options,
                   positional, args, &vm, out)) {
    return 0;
  }
  // Under mpirun/srun the chip instances are spread over the processes; rank 0 prints and
  // writes, and its table is the one a single process computes.
  const mpi::MaybeSession session("eval");
  const mpi::Comm* comm = mpi::world();
  if (vm.count("json")) proto::check_output_file(vm["json"].as<std::string>(), "--json");
  const proto::ChipConfig chip = chip_from_flags(vm);
  const EvalJob job = eval_job_from_flags(vm, chip);
  const workloads::EvalTable table = run_eval_job(job, chip);
  if (comm != nullptr && !comm->root()) return 0;
  out << "chip " << chip.name() << " (" << vm["chip"].as<std::string>() << ")\n"
      << workloads::format_eval_table(table);
  if (vm.count("json")) {
    proto::write_file_atomic(vm["json"].as<std::string>(),
                             report_to_json(accuracy_report(table, job.data)));
  }
  return 0;
}

}  // namespace aimc::sim

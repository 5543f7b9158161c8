// `aimcsim map`: map a model onto a chip with one strategy (summary, optionally the plan as
// text or JSON), or compare every strategy side by side (--compare); or across the chips of a
// system (a system config, or --chips N|auto with a chip config).
#include <iomanip>
#include <ostream>

#include "mapping/mapper.h"
#include "mapping/plan_io.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/safe_output.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "sim/app/bundle.h"
#include "sim/app/commands.h"
#include "sim/report/summary.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {

namespace {

// The flags of `aimcsim map`.
po::options_description map_flags() {
  po::options_description options("map flags");
  add_chip_model_flags(&options, true, true);
  options.add_options()("compare", po::bool_switch(), "compare every strategy side by side")(
      "out", po::value<std::string>(), "write the plan (.pbtxt text, or .json)")(
      "chips", po::value<std::string>(),
      "map across chips: N = a system of N chips like --chip (with a system config: at most N "
      "of its chips), auto = the fewest that hold the model")(
      "split", po::value<std::string>()->default_value("auto"),
      "across chips, how a layer of a block larger than a chip is cut: auto, output, input")(
      "lm-head", po::value<std::string>()->default_value("chip"),
      "across chips, where lm_head runs: chip (mapping.lm_head_on_tiles), tiles, dram");
  return options;
}

// One chip: the strategies side by side (--compare), or one plan's summary (and file), with
// the host link's bound when a one-chip system file has one.
void map_on_chip(const po::variables_map& vm, const workloads::ModelConfig& model,
                 const proto::ChipConfig& chip, const proto::HostLinkConfig& host,
                 std::ostream& out) {
  if (vm["compare"].as<bool>()) {
    out << mapping::compare_strategies_table(model, chip);
    return;
  }
  const proto::MappingPlan plan = mapping::make_plan(model, chip, vm["mapping"].as<std::string>());
  out << format_plan_summary(plan);
  if (host.enabled()) {
    // Bytes over GB/s is ns; one 32-bit id per prompt token in and per generated token out.
    const double ns = 4.0 / host.bandwidth_gbps();
    out << "host link: " << std::setprecision(4) << ns << " ns per token id each way (at most "
        << 1e9 / ns << " tokens/s in or out), plus " << host.latency_ns()
        << " ns latency per transfer\n";
  }
  if (vm.count("out")) {
    mapping::write_plan(plan, vm["out"].as<std::string>());
    out << "plan written to " << vm["out"].as<std::string>() << "\n";
  }
}

// Across the chips of a system: the system plan's summary (and file).
void map_across_chips(const po::variables_map& vm, const workloads::ModelConfig& model,
                      proto::SystemConfig system, std::ostream& out) {
  if (vm["compare"].as<bool>()) {
    throw UserError(vm.count("chips")
                        ? "--compare compares placement strategies on one chip; leave out --chips"
                        : "--compare compares placement strategies on one chip; --chip " +
                              vm["chip"].as<std::string>() + " is a system of " +
                              std::to_string(proto::chip_count(system)) +
                              " chips (give one of its chip configs)");
  }
  mapping::SystemMapOptions options;
  options.split = mapping::parse_split_kind(vm["split"].as<std::string>());
  options.lm_head = mapping::parse_lm_head_placement(vm["lm-head"].as<std::string>());
  if (vm.count("chips")) apply_chips_flag(vm["chips"].as<std::string>(), model, &system, &options);
  const proto::SystemPlan plan = mapping::make_system_plan(model, system, options);
  out << mapping::format_system_plan_summary(plan);
  if (vm.count("out")) {
    mapping::write_plan(plan, vm["out"].as<std::string>());
    out << "plan written to " << vm["out"].as<std::string>() << "\n";
  }
}

}  // namespace

int cmd_map(const std::vector<std::string>& args, std::ostream& out) {
  const po::options_description options = map_flags();
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("map",
                   "[--chip CONFIG|SYSTEM] [--model NAME|PATH] [--mapping NAME] [--compare] "
                   "[--chips N|auto] [--split auto|output|input] [--lm-head chip|tiles|dram]",
                   options, positional, args, &vm, out)) {
    return 0;
  }
  if (vm["compare"].as<bool>()) {
    if (!vm["mapping"].defaulted()) {
      throw UserError("--mapping has no effect with --compare, which compares every strategy");
    }
    if (vm.count("out")) throw UserError("--out writes one plan; --compare writes none");
  }
  if (vm.count("out")) proto::check_output_file(vm["out"].as<std::string>(), "--out");
  const proto::SystemConfig system = system_from_flags(vm);
  const workloads::ModelConfig model = workloads::resolve_model(model_from_flags(vm));
  if (proto::is_single_chip(system) && !vm.count("chips")) {
    map_on_chip(vm, model, proto::chip_config(system, 0), system.host(), out);
  } else {
    map_across_chips(vm, model, system, out);
  }
  return 0;
}

}  // namespace aimc::sim

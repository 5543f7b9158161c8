// The flags that select the chip, model and mapping.
#include "sim/app/bundle.h"

#include <exception>
#include <filesystem>
#include <string>

#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "sim/common/bundled.h"

namespace aimc::sim {

void add_chip_model_flags(po::options_description* options, bool with_mapping, bool takes_system) {
  options->add_options()("chip", po::value<std::string>()->default_value(bundled_chip_path()),
                         takes_system ? "chip config or system config (.pbtxt, docs/systems.md)"
                                      : "chip config (.pbtxt)")(
      "model", po::value<std::string>()->default_value(bundled_model_path()),
      "shape card name (see aimcsim describe) or Hugging Face model folder");
  if (with_mapping) {
    options->add_options()("mapping", po::value<std::string>()->default_value("dense"),
                           "placement strategy (see aimcsim describe)");
  }
}

proto::ChipConfig chip_from_flags(const po::variables_map& vm) {
  const std::string path = vm["chip"].as<std::string>();
  const proto::SystemConfig system = proto::load_system_config(path);
  if (!proto::is_single_chip(system)) {
    throw UserError(
        "--chip " + path + ": a system of " + std::to_string(proto::chip_count(system)) +
        " chips; this command takes one chip (`aimcsim run`, `map` and `peak` take a system)");
  }
  return proto::chip_config(system, 0);
}

proto::SystemConfig system_from_flags(const po::variables_map& vm) {
  return proto::load_system_config(vm["chip"].as<std::string>());
}

std::string model_from_flags(const po::variables_map& vm) {
  const std::string model = vm["model"].as<std::string>();
  // A model folder's config.json names the folder (its weights lie beside it).
  const std::filesystem::path p(model);
  std::error_code ec;
  if (p.filename() == "config.json" && std::filesystem::is_regular_file(p, ec)) {
    const std::string folder = p.parent_path().string();
    return folder.empty() ? "." : folder;
  }
  return model;
}

bool is_bundled_model(const std::string& model) {
  std::error_code ec;
  return std::filesystem::equivalent(model, bundled_model_path(), ec);
}

void apply_chips_flag(const std::string& chips, const workloads::ModelConfig& model,
                      proto::SystemConfig* system, mapping::SystemMapOptions* options) {
  if (chips == "auto") {
    options->chips = -1;
    if (proto::is_single_chip(*system)) {
      // A system of as many chips like this one as the model needs.
      const int n = mapping::chips_needed(model, proto::chip_config(*system, 0), *options);
      if (n > 1) system->mutable_chips(0)->set_count(static_cast<uint32_t>(n));
    }
    return;
  }
  int n = 0;
  try {
    size_t used = 0;
    n = std::stoi(chips, &used);
    if (used != chips.size()) n = 0;
  } catch (const std::exception&) {
    n = 0;
  }
  if (n < 1 || n > 65536) {
    throw UserError("--chips: expected a number of chips (1..65536) or auto, got '" + chips + "'");
  }
  if (proto::is_single_chip(*system)) {
    system->mutable_chips(0)->set_count(static_cast<uint32_t>(n));
  } else {
    options->chips = n;
  }
}

}  // namespace aimc::sim

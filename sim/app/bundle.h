// The common flags that pick the chip, model and mapping (defaults: sim/common/bundled.h), shared
// by `aimcsim run`, `eval` and `map` so every subcommand spells them the same way.
#pragma once

#include <string>

#include "mapping/system_mapper.h"
#include "proto/chip_config.pb.h"
#include "proto/system_config.pb.h"
#include "sim/app/flags.h"
#include "sim/common/bundled.h"
#include "workloads/model_config.h"

namespace aimc::sim {

/// Adds --chip, --model (and --mapping when `with_mapping`) with their bundled defaults; --chip's
/// help names system configs when the command takes one (`takes_system`).
void add_chip_model_flags(po::options_description* options, bool with_mapping,
                          bool takes_system = false);

/// The chip config named by --chip (loaded, resolved and validated); a system config of one
/// chip gives that chip, one of several chips is a UserError.
proto::ChipConfig chip_from_flags(const po::variables_map& vm);

/// The system named by --chip: a system config, or a chip config as a one-chip system.
proto::SystemConfig system_from_flags(const po::variables_map& vm);

/// `--chips N|auto` of `map` and `run`: with a chip config, a system of N such chips (auto: as
/// many as hold the model, found with `options`' lm_head placement and split); with a system
/// config, at most N of its chips (auto: the fewest that hold the model).
void apply_chips_flag(const std::string& chips, const workloads::ModelConfig& model,
                      proto::SystemConfig* system, mapping::SystemMapOptions* options);

/// The --model value: a shape card name or a model folder.
std::string model_from_flags(const po::variables_map& vm);

/// True when `model` is the bundled model folder (so the bundled texts apply by default).
bool is_bundled_model(const std::string& model);

}  // namespace aimc::sim

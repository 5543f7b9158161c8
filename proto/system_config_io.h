// Reading, resolving and validating system configurations (several chips joined by links). A
// chip config file is read as a one-chip system, so every command that takes a system takes a
// chip config as before.
#pragma once

#include <string>
#include <vector>

#include "proto/chip_config_io.h"
#include "proto/system_config.pb.h"

namespace aimc::proto {

/// Checks a system whose chips are all inline (as resolve gives them): the (range) option of
/// every field, each chip with validate_chip_config() (paths prefixed with chips[i].config),
/// and the rules of the system: at least one chip, mesh_x * mesh_y equal to the chip count
/// for MESH_2D and TORUS_2D, and one tile geometry and numerics for every chip. Empty = valid.
std::vector<ConfigIssue> validate_system_config(const SystemConfig& system);

/// Parses, resolves and validates a system from text. Chips given by config_path are read
/// relative to `base_dir` (their own errors name their own file) and put inline; every default
/// is filled in, and mesh_x / mesh_y of a mesh or torus are set. Throws UserError
/// "SOURCE:LINE: path: message" as parse_chip_config does.
SystemConfig parse_system_config(const std::string& text, const std::string& source,
                                 const std::string& base_dir = ".");

/// True when `text` is a system config rather than a chip config: one of its top-level fields
/// belongs to SystemConfig and not to ChipConfig (chips, links, host).
bool looks_like_system_config(const std::string& text);

/// Reads a system config, or a chip config as a one-chip system (system_of_chip). Errors as
/// parse_system_config / load_chip_config.
SystemConfig load_system_config(const std::string& path);

/// The one-chip system of `chip`: its name, one group of one chip, default links, no host link
/// (host.enabled false).
SystemConfig system_of_chip(const ChipConfig& chip);

/// True when the system is one chip (whatever its links say).
bool is_single_chip(const SystemConfig& system);

/// Number of chips (sum of the groups' counts).
int chip_count(const SystemConfig& system);

/// The config of chip `index` (0-based, groups expanded by their counts).
const ChipConfig& chip_config(const SystemConfig& system, int index);

/// The DRAM of chip `index`.
const ChipDramConfig& chip_dram(const SystemConfig& system, int index);

/// Columns and rows of a MESH_2D / TORUS_2D of `chips` chips as `links` gives or implies them
/// (0 = chosen: rows the largest divisor of chips not above its square root).
void topology_shape(const ChipLinkConfig& links, int chips, int* mesh_x, int* mesh_y);

}  // namespace aimc::proto

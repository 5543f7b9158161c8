// Reading a sweep file (proto/sweep.proto) and expanding it into points: one resolved,
// validated chip config (or system config, when the base is a system) per combination of axis
// values, crossed with models and mappings.
// Every user mistake (bad field path, a value of the wrong type, an invalid combination, an
// unknown model or strategy) is a UserError naming the sweep file, the line (FILE:LINE) and the
// axis, found before anything runs.
#pragma once

#include <google/protobuf/text_format.h>

#include <memory>
#include <string>
#include <vector>

#include "proto/chip_config.pb.h"
#include "proto/sweep.pb.h"
#include "proto/system_config.pb.h"
#include "sim/sweep/field_paths.h"

namespace aimc::sim {

/// One point of a sweep: what `aimcsim run` gets for it.
struct SweepPoint {
  int index = 0;                              ///< position in point order
  std::string id;                             ///< folder name under DIR/points/ ("000", "001", ...)
  std::string model;                          ///< shape card name or absolute model folder
  std::string mapping;                        ///< placement strategy
  std::vector<proto::SweepSetting> settings;  ///< swept fields (label, value as written)
  proto::ChipConfig chip;                     ///< base chip with the settings applied, resolved
  /// A sweep over a system (its base a system config): the system with the settings applied,
  /// resolved (every chip inline); `chip` is then unused.
  bool is_system = false;
  proto::SystemConfig system;
  std::string inputs_key;  ///< fingerprint of chip, model, mapping, run options
  int batch = 1;           ///< `run --batch` (axis "run.batch")
  double rate = 0;         ///< requests per second of a serving point (axis "run.rate"); 0 = none
};

/// A sweep file with its points.
struct SweepPlan {
  std::string path;  ///< the sweep file as given
  proto::Sweep spec;
  /// Where each field of `spec` stands in the file (lines of errors, `FILE:LINE: ...`).
  std::shared_ptr<google::protobuf::TextFormat::ParseInfoTree> locations;
  bool system = false;  ///< the base (`chip`) is a system config: axes are SystemConfig paths
  std::vector<SweepPoint> points;
  std::string data;   ///< run.data resolved against the sweep's folder ("" = default)
  std::string calib;  ///< run.calib likewise
};

/// Reads `path`, checks it, and expands it into points (see the file comment).
SweepPlan load_sweep(const std::string& path);

/// The config text a point's run reads (`--chip`): its system config, or its chip config.
std::string point_config_text(const SweepPoint& point);

/// Arguments of `aimcsim run` for `point` (without the program name), writing into `out_dir`
/// with the chip (or system) config at `chip_path`; `threads` is the --threads value.
std::vector<std::string> run_arguments(const SweepPlan& plan, const SweepPoint& point,
                                       const std::string& chip_path, const std::string& out_dir,
                                       int threads);

}  // namespace aimc::sim

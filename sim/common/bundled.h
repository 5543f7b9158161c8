// Where the bundled chip, model and texts live: the one place that knows the data folder, shared
// by the sweep (its defaults) and the program (its flags' defaults).
#pragma once

#include <string>

namespace aimc::sim {

/// Folder holding the bundled configs/, workloads/models/ and workloads/data/: $AIMCSIM_HOME
/// when set, else the source tree this program was built from.
std::string data_root();

/// configs/default.pbtxt under data_root().
std::string bundled_chip_path();
/// The bundled byte-level model folder under data_root().
std::string bundled_model_path();
/// The bundled held-out evaluation text and its disjoint calibration text.
std::string bundled_eval_text_path();
std::string bundled_calib_text_path();

}  // namespace aimc::sim

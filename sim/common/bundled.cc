// Paths of the bundled chip, model and texts.
#include "sim/common/bundled.h"

#include <cstdlib>

namespace aimc::sim {

std::string data_root() {
  const char* home = std::getenv("AIMCSIM_HOME");
  return home != nullptr && *home != '\0' ? std::string(home) : std::string(AIMCSIM_SOURCE_DIR);
}

std::string bundled_chip_path() {
  return data_root() + "/configs/default.pbtxt";
}
std::string bundled_model_path() {
  return data_root() + "/workloads/models/tinyllama-bytes";
}
std::string bundled_eval_text_path() {
  return data_root() + "/workloads/data/kjv-eval.txt";
}
std::string bundled_calib_text_path() {
  return data_root() + "/workloads/data/kjv-calib.txt";
}

}  // namespace aimc::sim

// Built-in model descriptions ("shape cards") with the published hyper-parameters of a few
// well-known checkpoints, so that mapping and performance studies need no weights on disk.
#pragma once

#include <string>
#include <vector>

#include "workloads/model_config.h"

namespace aimc::workloads {

/// Card names in a fixed order: "llama-3.2-1b", "llama-3.1-8b", "phi-3-mini-4k",
/// "qwen2.5-0.5b", "gpt2".
std::vector<std::string> shape_card_names();

/// The card called `name` (case-insensitive). Throws UserError listing the known names.
ModelConfig shape_card(const std::string& name);

/// A card when `name_or_path` names one (case-insensitive); else the config.json of the folder
/// `name_or_path` (or the config.json file itself). Throws UserError naming the known cards
/// when it is neither.
ModelConfig resolve_model(const std::string& name_or_path);

}  // namespace aimc::workloads

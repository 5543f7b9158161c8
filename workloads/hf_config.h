// Reading of a Hugging Face config.json into a ModelConfig, for the families aimcsim executes
// (llama and mistral, qwen2, phi3, gpt2). Everything else is rejected with a UserError that names
// the file and the key, so a run never starts on a half-understood model.
#pragma once

#include <string>
#include <vector>

#include "workloads/model_config.h"

namespace aimc::workloads {

/// Reads and validates the config.json at `path`. The returned config's `name` is the folder
/// holding the file. Throws UserError naming `path` and the key at fault for: unreadable file,
/// malformed JSON, missing required keys, wrong JSON types, non-positive sizes, hidden size not
/// divisible by the heads (without head_dim), heads not divisible by key/value heads, an
/// unsupported model_type, hidden_act or rope_scaling.
ModelConfig read_hf_config(const std::string& path);

/// The same, from the text of a config.json; `source` names it in error messages.
ModelConfig parse_hf_config(const std::string& json_text, const std::string& source);

/// The model_type values read_hf_config accepts, e.g. "llama", "mistral", "qwen2".
std::vector<std::string> supported_model_types();

}  // namespace aimc::workloads

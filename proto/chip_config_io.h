// Reading, resolving and validating chip configurations (protobuf text format).
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include "proto/chip_config.pb.h"
#include "proto/safe_output.h"
#include "proto/user_error.h"

namespace aimc::proto {

/// One step of a field path: a field and, for repeated fields, the element index (else -1).
struct PathStep {
  const google::protobuf::FieldDescriptor* field;
  int index;
};

/// One invalid value: where it is and what is wrong with it.
struct ConfigIssue {
  std::vector<PathStep> path;
  std::string message;
  /// Dotted field path, e.g. "tile.adc.bits" or "dpu.nodes[2]".
  std::string path_string() const;
};

/// Checks every value of a config: the (range) option of each numeric field and the rules that
/// tie fields together. Returns the issues found, in field order; empty means valid.
std::vector<ConfigIssue> validate_chip_config(const ChipConfig& config);

/// Sets every unset singular field of `message` (recursively) to its declared default; a oneof
/// with no member set gets its first member. Fields marked (derived) stay unset: their values
/// come from the cost model (arch/chip_costs.h) unless given. The result prints every other
/// parameter in force.
void resolve_defaults(google::protobuf::Message* message);

/// Parses, resolves and validates a config from text. `source` names it in errors. Throws
/// UserError "SOURCE:LINE:COL: message" for syntax errors (unknown field, wrong type, garbage)
/// and "SOURCE:LINE: path: message" for invalid values (LINE left out when the field is absent).
ChipConfig parse_chip_config(const std::string& text, const std::string& source);

/// Reads a .pbtxt file and parses it as parse_chip_config does.
ChipConfig load_chip_config(const std::string& path);

/// The (range) checks of validate_chip_config() on any config message: every numeric field,
/// recursively; paths relative to `message`.
std::vector<ConfigIssue> check_field_ranges(const google::protobuf::Message& message);

/// Parses `text` into `message` with unknown fields rejected and the location of every field
/// recorded in `tree`; throws UserError for a binary or empty file, a syntax error
/// ("SOURCE:LINE:COL: message") or a missing schema_version (when the message has one).
void parse_config_text(const std::string& text, const std::string& source,
                       google::protobuf::Message* message,
                       google::protobuf::TextFormat::ParseInfoTree* tree);

/// Throws UserError "SOURCE:LINE: path: message" for the first of `issues` (LINE from `tree`,
/// left out when the field is absent), naming up to three more; returns when there are none.
void throw_first_issue(const std::vector<ConfigIssue>& issues,
                       const google::protobuf::TextFormat::ParseInfoTree* tree,
                       const std::string& source);

/// Protobuf text format of a message, every set field printed.
std::string to_text(const google::protobuf::Message& message);

/// Reads a whole file meant to be text of at most `max_bytes` (a folder, a missing file or a
/// larger file is a UserError naming `what`, e.g. "config file", and the OS reason).
std::string read_text_file(const std::string& path, const std::string& what, size_t max_bytes);

}  // namespace aimc::proto

// Reading and writing mapping plans (a chip's MappingPlan, a system's SystemPlan): protobuf text
// format (.pbtxt, .txt) or JSON (.json), chosen by the file extension. Written atomically, so a
// plan on disk is always whole.
#pragma once

#include <string>

#include "proto/mapping_plan.pb.h"

namespace aimc::mapping {

/// The plan as protobuf text format.
std::string plan_to_text(const google::protobuf::Message& plan);

/// The plan as JSON (proto3 JSON mapping: field names as in the .proto, 64-bit integers as
/// strings), indented.
std::string plan_to_json(const google::protobuf::Message& plan);

/// Parses a plan from text format or JSON; `source` names it in errors. Throws UserError on
/// malformed input or unknown fields.
proto::MappingPlan plan_from_text(const std::string& text, const std::string& source);
proto::MappingPlan plan_from_json(const std::string& json, const std::string& source);

/// Writes `plan` to `path`: JSON when the name ends in .json, else text format. Throws
/// UserError when the folder is not writable.
void write_plan(const google::protobuf::Message& plan, const std::string& path);

/// Reads a plan written by write_plan (format by extension, as there). Throws UserError.
proto::MappingPlan read_plan(const std::string& path);

}  // namespace aimc::mapping

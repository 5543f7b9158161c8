// Plan files: text format via TextFormat, JSON via protobuf's JSON mapping.
#include "mapping/plan_io.h"

#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include "proto/chip_config_io.h"
#include "proto/first_error.h"
#include "proto/user_error.h"

namespace aimc::mapping {
namespace {

bool is_json_path(const std::string& path) {
  const std::string ext = ".json";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

}  // namespace

std::string plan_to_text(const google::protobuf::Message& plan) {
  return proto::to_text(plan);
}

std::string plan_to_json(const google::protobuf::Message& plan) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(plan, &json, options);
  if (!status.ok()) throw std::runtime_error("plan to JSON: " + status.ToString());
  return json;
}

proto::MappingPlan plan_from_text(const std::string& text, const std::string& source) {
  proto::MappingPlan plan;
  google::protobuf::TextFormat::Parser parser;
  proto::FirstError errors(source);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &plan)) {
    throw UserError(errors.first().empty() ? source + ": not a mapping plan" : errors.first());
  }
  return plan;
}

proto::MappingPlan plan_from_json(const std::string& json, const std::string& source) {
  proto::MappingPlan plan;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &plan, options);
  if (!status.ok()) {
    throw UserError(source + ": not a mapping plan (" + std::string(status.message()) + ")");
  }
  return plan;
}

void write_plan(const google::protobuf::Message& plan, const std::string& path) {
  proto::write_file_atomic(path, is_json_path(path) ? plan_to_json(plan) : plan_to_text(plan));
}

proto::MappingPlan read_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot read mapping plan '" + path + "': no such file or unreadable");
  std::ostringstream contents;
  contents << in.rdbuf();
  return is_json_path(path) ? plan_from_json(contents.str(), path)
                            : plan_from_text(contents.str(), path);
}

}  // namespace aimc::mapping

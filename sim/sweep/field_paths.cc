// Chip-config fields by dotted path (field_paths.h).
#include "sim/sweep/field_paths.h"

#include <google/protobuf/text_format.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "proto/first_error.h"
#include "proto/user_error.h"

namespace aimc::sim {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;

std::string field_names(const Descriptor* d) {
  std::string names;
  for (int i = 0; i < d->field_count(); ++i) names += (i ? ", " : "") + d->field(i)->name();
  return names;
}

std::string enum_names(const google::protobuf::EnumDescriptor* e) {
  std::string names;
  for (int i = 0; i < e->value_count(); ++i) names += (i ? ", " : "") + e->value(i)->name();
  return names;
}

// What a value of `f`'s type is, for the error.
std::string expected_value(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return "a 32-bit integer";
    case FieldDescriptor::CPPTYPE_INT64:
      return "a 64-bit integer";
    case FieldDescriptor::CPPTYPE_UINT32:
      return "an unsigned 32-bit integer";
    case FieldDescriptor::CPPTYPE_UINT64:
      return "an unsigned 64-bit integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "one of " + enum_names(f->enum_type());
    default:
      return std::string("a ") + f->type_name();
  }
}

void set_scalar(Message* m, const FieldDescriptor* f, const std::string& value,
                const std::string& path) {
  const Reflection* r = m->GetReflection();
  auto bad = [&](const std::string& expected) {
    throw UserError(path + ": '" + value + "' is not " + expected);
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(m, f, value);
      return;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      // A whole message (e.g. a oneof member "numerics.weight_noise.hermes") takes its body in
      // text format: "" or "{}" for all defaults, "devices_per_polarity: 2" for some fields.
      std::string body = value;
      const auto first = body.find_first_not_of(" \t");
      const auto last = body.find_last_not_of(" \t");
      if (first != std::string::npos && body[first] == '{' && body[last] == '}') {
        body = body.substr(first + 1, last - first - 1);
      }
      std::unique_ptr<Message> parsed(r->GetMessage(*m, f).New());
      TextFormat::Parser parser;
      proto::FirstError errors(path);
      parser.RecordErrorsTo(&errors);
      if (!parser.ParseFromString(body, parsed.get())) {
        throw UserError(path + ": '" + value + "' is not a " + f->message_type()->name() +
                        " in text format (" + errors.first() + ")");
      }
      r->MutableMessage(m, f)->CopyFrom(*parsed);
      return;
    }
    default:
      break;
  }
  // Numbers, bools and enums: protobuf's own parser of one text-format field value, so a swept
  // value reads exactly as it would in a config file (no "1e3" for an integer, exact bounds).
  TextFormat::Parser parser;
  proto::FirstError errors(path);
  parser.RecordErrorsTo(&errors);
  if (value.empty() || !parser.ParseFieldValueFromString(value, f, m)) bad(expected_value(f));
  const bool real = f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ||
                    f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
  if (real && !std::isfinite(f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ? r->GetDouble(*m, f)
                                                                              : r->GetFloat(*m, f)))
    bad(expected_value(f));
}

}  // namespace

namespace {

// One step of a field path: a field name and, for an element of a repeated message field, its
// index ("chips[0]" -> "chips", 0; -1 without brackets). False when the brackets are malformed.
bool split_step(const std::string& step, std::string* name, long* index) {
  *index = -1;
  const auto open = step.find('[');
  *name = step.substr(0, open);
  if (open == std::string::npos) return true;
  if (step.back() != ']' || open + 2 >= step.size()) return false;
  const std::string digits = step.substr(open + 1, step.size() - open - 2);
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *index = std::stol(digits);
  return true;
}

std::vector<std::string> path_steps(const std::string& path) {
  std::vector<std::string> names;
  std::stringstream steps(path);
  std::string name;
  while (std::getline(steps, name, '.')) names.push_back(name);
  if (path.back() == '.') names.push_back("");
  return names;
}

// The message element `index` of repeated message field `f` of `m`, for step `walked`.
Message* repeated_element(Message* m, const FieldDescriptor* f, long index, const std::string& path,
                          const std::string& walked) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    throw UserError(path + ": " + walked + " is a repeated value, which a sweep cannot set");
  }
  const int size = m->GetReflection()->FieldSize(*m, f);
  if (index >= size) {
    throw UserError(path + ": " + walked + " has no element " + std::to_string(index) +
                    " (it has " + std::to_string(size) + ")");
  }
  return m->GetReflection()->MutableRepeatedMessage(m, f, static_cast<int>(index));
}

}  // namespace

void set_message_field(Message* root, const std::string& path, const std::string& value) {
  if (path.empty()) throw UserError("empty field path");
  Message* m = root;
  std::string walked;
  const std::vector<std::string> names = path_steps(path);
  for (size_t i = 0; i < names.size(); ++i) {
    const Descriptor* d = m->GetDescriptor();
    std::string name;
    long index = -1;
    if (!split_step(names[i], &name, &index)) {
      throw UserError(path + ": '" + names[i] + "' is not NAME or NAME[INDEX]");
    }
    const FieldDescriptor* f = d->FindFieldByName(name);
    walked += (i ? "." : "") + names[i];
    if (f == nullptr) {
      throw UserError(path + ": no field '" + name + "' in " + d->name() +
                      (i == 0 ? "" : " (at " + walked + ")") + "; fields: " + field_names(d));
    }
    if (f->is_repeated() && (index < 0 || i + 1 == names.size())) {
      throw UserError(path + ": " + walked + " is a repeated field, which a sweep cannot set" +
                      (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                           ? " (name a field of one element: " + name + "[INDEX].FIELD)"
                           : ""));
    }
    if (!f->is_repeated() && index >= 0) {
      throw UserError(path + ": " + name + " is not a repeated field; drop the [" +
                      std::to_string(index) + "]");
    }
    if (i + 1 == names.size()) {
      set_scalar(m, f, value, path);
      return;
    }
    if (f->is_repeated()) {
      m = repeated_element(m, f, index, path, walked);
      continue;
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      throw UserError(path + ": " + walked + " is a value, not a message with fields");
    }
    // Selects the member when `f` is in a oneof.
    m = m->GetReflection()->MutableMessage(m, f);
  }
}

void set_config_field(proto::ChipConfig* config, const std::string& path,
                      const std::string& value) {
  set_message_field(config, path, value);
}

std::vector<std::pair<std::string, std::string>> oneofs_on_path(const std::string& path,
                                                                const Descriptor* root) {
  std::vector<std::pair<std::string, std::string>> out;
  const Descriptor* d = root != nullptr ? root : proto::ChipConfig::descriptor();
  std::stringstream steps(path);
  std::string step, walked;
  while (d != nullptr && std::getline(steps, step, '.')) {
    std::string name;
    long index = -1;
    if (!split_step(step, &name, &index)) break;
    const FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) break;
    const std::string prefix = walked.empty() ? "" : walked + ".";
    if (const google::protobuf::OneofDescriptor* o = f->real_containing_oneof())
      out.emplace_back(prefix + o->name(), prefix + step);
    walked = prefix + step;
    d = f->message_type();
  }
  return out;
}

}  // namespace aimc::sim

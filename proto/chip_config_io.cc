// Reading, resolving and validating chip configurations. The single validation function is
// validate_chip_config(): generic range checks driven by the (range) field option, then the
// rules that relate several fields.
#include "proto/chip_config_io.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/first_error.h"

namespace aimc::proto {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Numeric value of a scalar field (element `index` of a repeated one), for range checks.
bool numeric_value(const Message& m, const FieldDescriptor* f, int index, double* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      *out = rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      *out = static_cast<double>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      *out = rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      *out = static_cast<double>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      *out = rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
      return true;
    case FieldDescriptor::CPPTYPE_FLOAT:
      *out = rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
      return true;
    default:
      return false;
  }
}

std::string range_text(const FieldRange& range) {
  std::string lo = range.has_min() ? format_number(range.min()) : "-inf";
  std::string hi = range.has_max() ? format_number(range.max()) : "inf";
  return std::string(range.min_exclusive() ? "(" : "") + lo + ".." + hi +
         (range.min_exclusive() ? ")" : "");
}

bool is_derived(const FieldDescriptor* f) {
  return f->options().GetExtension(derived);
}

// Walks every field, checking the (range) option (of a derived field only when it is set); the
// values a field takes when unset are its
// declared defaults, which are checked too (a default outside its own range is a schema bug).
void check_ranges(const Message& m, std::vector<PathStep>* prefix,
                  std::vector<ConfigIssue>* issues) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int k = 0; k < n; ++k) {
      prefix->push_back({f, f->is_repeated() ? k : -1});
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (f->is_repeated()) {
          check_ranges(r->GetRepeatedMessage(m, f, k), prefix, issues);
        } else if (r->HasField(m, f)) {
          check_ranges(r->GetMessage(m, f), prefix, issues);
        }
      } else if (f->options().HasExtension(range) &&
                 (!is_derived(f) || f->is_repeated() || r->HasField(m, f))) {
        const FieldRange& rg = f->options().GetExtension(range);
        double v = 0;
        if (numeric_value(m, f, k, &v)) {
          bool ok = std::isfinite(v);
          if (rg.has_min()) ok = ok && (rg.min_exclusive() ? v > rg.min() : v >= rg.min());
          if (rg.has_max()) ok = ok && v <= rg.max();
          if (!ok) {
            issues->push_back(
                {*prefix, "must be in " + range_text(rg) + ", got " + format_number(v)});
          }
        }
      }
      prefix->pop_back();
    }
  }
}

const FieldDescriptor* field_of(const Message& m, const char* name) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr) throw std::logic_error(std::string("no field ") + name);
  return f;
}

// Builds a path from (message, field name) pairs, top-down.
class PathBuilder {
 public:
  PathBuilder& add(const Message& m, const char* name, int index = -1) {
    steps_.push_back({field_of(m, name), index});
    return *this;
  }
  std::vector<PathStep> steps() const { return steps_; }

 private:
  std::vector<PathStep> steps_;
};

void resolve_message(Message* m) {
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  for (int i = 0; i < d->oneof_decl_count(); ++i) {
    const auto* oneof = d->oneof_decl(i);
    if (!r->HasOneof(*m, oneof) && oneof->field_count() > 0 &&
        oneof->field(0)->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      r->MutableMessage(m, oneof->field(0));
    }
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int k = 0; k < r->FieldSize(*m, f); ++k) {
          resolve_message(r->MutableRepeatedMessage(m, f, k));
        }
      }
      continue;
    }
    if (f->containing_oneof() != nullptr && !r->HasField(*m, f)) continue;
    if (is_derived(f)) continue;  // left to the cost model when absent
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        resolve_message(r->MutableMessage(m, f));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        if (!r->HasField(*m, f)) r->SetInt32(m, f, f->default_value_int32());
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        if (!r->HasField(*m, f)) r->SetInt64(m, f, f->default_value_int64());
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        if (!r->HasField(*m, f)) r->SetUInt32(m, f, f->default_value_uint32());
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        if (!r->HasField(*m, f)) r->SetUInt64(m, f, f->default_value_uint64());
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        if (!r->HasField(*m, f)) r->SetDouble(m, f, f->default_value_double());
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        if (!r->HasField(*m, f)) r->SetFloat(m, f, f->default_value_float());
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!r->HasField(*m, f)) r->SetBool(m, f, f->default_value_bool());
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        if (!r->HasField(*m, f)) r->SetEnum(m, f, f->default_value_enum());
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        if (!r->HasField(*m, f)) r->SetString(m, f, f->default_value_string());
        break;
    }
  }
}

// Line (1-based) of the innermost field of `path` in the parsed text, or 0 when it is absent.
// Index of a path step for the location tree: a repeated field named as a whole (index -1)
// is located at its first element.
int tree_index(const PathStep& step) {
  return step.field->is_repeated() && step.index < 0 ? 0 : step.index;
}

int line_of(const TextFormat::ParseInfoTree* tree, const std::vector<PathStep>& path) {
  int line = 0;
  for (size_t i = 0; i < path.size() && tree != nullptr; ++i) {
    const auto loc = tree->GetLocation(path[i].field, tree_index(path[i]));
    if (loc.line < 0) break;
    line = loc.line + 1;
    if (i + 1 < path.size()) tree = tree->GetTreeForNested(path[i].field, tree_index(path[i]));
  }
  return line;
}

bool is_absent_or_partial(const TextFormat::ParseInfoTree* tree, const std::vector<PathStep>& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (tree == nullptr) return true;
    if (tree->GetLocation(p[i].field, tree_index(p[i])).line < 0) return true;
    if (i + 1 < p.size()) tree = tree->GetTreeForNested(p[i].field, tree_index(p[i]));
  }
  return false;
}

// Offset of the first byte that cannot be in a text file (control characters other than
// whitespace, or bytes that do not form valid UTF-8), or npos.
size_t first_binary_byte(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch < 0x80) {
      if (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') return i;
      ++i;
      continue;
    }
    const int extra = (ch & 0xE0) == 0xC0   ? 1
                      : (ch & 0xF0) == 0xE0 ? 2
                      : (ch & 0xF8) == 0xF0 ? 3
                                            : -1;
    if (extra < 0) return i;
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
        return i;
    }
    i += extra + 1;
  }
  return std::string::npos;
}

}  // namespace

std::string ConfigIssue::path_string() const {
  std::string s;
  for (const PathStep& step : path) {
    if (!s.empty()) s += '.';
    s += step.field->name();
    if (step.index >= 0) s += "[" + std::to_string(step.index) + "]";
  }
  return s;
}

std::vector<ConfigIssue> validate_chip_config(const ChipConfig& c) {
  std::vector<ConfigIssue> issues;
  std::vector<PathStep> prefix;
  check_ranges(c, &prefix, &issues);
  auto add = [&](const PathBuilder& p, const std::string& message) {
    issues.push_back({p.steps(), message});
  };

  const TileConfig& tile = c.tile();
  if (tile.cols() % tile.cells_per_weight() != 0) {
    add(PathBuilder().add(c, "tile").add(tile, "cols"),
        "must be a multiple of tile.cells_per_weight (" + std::to_string(tile.cells_per_weight()) +
            "), got " + std::to_string(tile.cols()));
  }
  // b bits give 2^b - 2 quantization levels: a 1-bit converter has none besides zero.
  if (tile.dac().bits() == 1 && !tile.dac().ideal()) {
    add(PathBuilder().add(c, "tile").add(tile, "dac").add(tile.dac(), "bits"),
        "must be at least 2 for a non-ideal DAC (2^bits - 2 levels), got 1");
  }
  if (tile.adc().bits() == 1 && !tile.adc().ideal()) {
    add(PathBuilder().add(c, "tile").add(tile, "adc").add(tile.adc(), "bits"),
        "must be at least 2 for a non-ideal ADC (2^bits - 2 levels), got 1");
  }
  const uint64_t weight_cols = tile.cols() / tile.cells_per_weight();
  const uint64_t adc_cols = uint64_t{tile.adc().adcs_per_tile()} * tile.adc().cols_per_adc();
  if (adc_cols < weight_cols) {
    add(PathBuilder().add(c, "tile").add(tile, "adc").add(tile.adc(), "adcs_per_tile"),
        "adcs_per_tile * cols_per_adc (" + std::to_string(adc_cols) +
            ") must cover the tile's weight columns (" + std::to_string(weight_cols) + ")");
  }
  if (tile.count() % tile.adc().tiles_per_bank() != 0) {
    add(PathBuilder().add(c, "tile").add(tile, "adc").add(tile.adc(), "tiles_per_bank"),
        "must divide tile.count (" + std::to_string(tile.count()) + "), got " +
            std::to_string(tile.adc().tiles_per_bank()));
  }
  const uint64_t nodes = uint64_t{c.noc().mesh_x()} * c.noc().mesh_y();
  if (tile.count() > nodes) {
    add(PathBuilder().add(c, "tile").add(tile, "count"),
        "must not exceed the mesh nodes noc.mesh_x * noc.mesh_y (" + std::to_string(nodes) +
            "), got " + std::to_string(tile.count()));
  }
  const DpuConfig& dpu = c.dpu();
  if (dpu.count() > nodes) {
    add(PathBuilder().add(c, "dpu").add(dpu, "count"), "must not exceed the mesh nodes (" +
                                                           std::to_string(nodes) + "), got " +
                                                           std::to_string(dpu.count()));
  }
  if (dpu.nodes_size() != 0 && static_cast<uint32_t>(dpu.nodes_size()) != dpu.count()) {
    add(PathBuilder().add(c, "dpu").add(dpu, "nodes"),
        "must list one node per DPU (" + std::to_string(dpu.count()) + ") or none, got " +
            std::to_string(dpu.nodes_size()));
  }
  for (int i = 0; i < dpu.nodes_size(); ++i) {
    if (dpu.nodes(i) >= nodes) {
      add(PathBuilder().add(c, "dpu").add(dpu, "nodes", i), "must be a mesh node index below " +
                                                                std::to_string(nodes) + ", got " +
                                                                std::to_string(dpu.nodes(i)));
    }
  }
  return issues;
}

void resolve_defaults(Message* message) {
  resolve_message(message);
}

std::vector<ConfigIssue> check_field_ranges(const Message& message) {
  std::vector<ConfigIssue> issues;
  std::vector<PathStep> prefix;
  check_ranges(message, &prefix, &issues);
  return issues;
}

void parse_config_text(const std::string& text, const std::string& source, Message* message,
                       TextFormat::ParseInfoTree* tree) {
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    throw UserError(source +
                    ": starts with a UTF-8 byte-order mark (bytes EF BB BF); save the file as "
                    "UTF-8 without BOM");
  }
  if (text.compare(0, 2, "\xFF\xFE") == 0 || text.compare(0, 2, "\xFE\xFF") == 0) {
    throw UserError(source + ": is UTF-16 text; save the file as UTF-8");
  }
  const size_t bad = first_binary_byte(text);
  if (bad != std::string::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(text[bad]));
    throw UserError(source + ": not a text config (binary byte 0x" + hex + " at offset " +
                    std::to_string(bad) + ")");
  }
  bool has_content = false;
  {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      const auto pos = line.find_first_not_of(" \t\r");
      if (pos != std::string::npos && line[pos] != '#') {
        has_content = true;
        break;
      }
    }
  }
  if (!has_content) {
    throw UserError(source + ": empty config file (expected at least schema_version: 1)");
  }
  TextFormat::Parser parser;
  FirstError errors(source);
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(tree);
  if (!parser.ParseFromString(text, message)) {
    throw UserError(errors.first().empty() ? source + ": could not parse config" : errors.first());
  }
  const FieldDescriptor* version = message->GetDescriptor()->FindFieldByName("schema_version");
  if (version != nullptr && !message->GetReflection()->HasField(*message, version)) {
    throw UserError(source + ": schema_version: missing (this program reads schema_version 1)");
  }
}

void throw_first_issue(const std::vector<ConfigIssue>& issues,
                       const TextFormat::ParseInfoTree* tree, const std::string& source) {
  if (issues.empty()) return;
  const ConfigIssue& first = issues.front();
  const int line = line_of(tree, first.path);
  std::string where = source + (line > 0 ? ":" + std::to_string(line) : "");
  std::string msg = where + ": " + first.path_string() + ": " + first.message;
  if (line > 0 && is_absent_or_partial(tree, first.path)) msg += " (default value)";
  if (issues.size() > 1) {
    msg += " (and " + std::to_string(issues.size() - 1) + " more: ";
    for (size_t i = 1; i < issues.size() && i < 4; ++i) {
      msg += (i > 1 ? "; " : "") + issues[i].path_string() + ": " + issues[i].message;
    }
    msg += issues.size() > 4 ? "; ...)" : ")";
  }
  throw UserError(msg);
}

ChipConfig parse_chip_config(const std::string& text, const std::string& source) {
  ChipConfig config;
  TextFormat::ParseInfoTree tree;
  parse_config_text(text, source, &config, &tree);
  ChipConfig resolved = config;
  resolve_defaults(&resolved);
  throw_first_issue(validate_chip_config(resolved), &tree, source);
  return resolved;
}

ChipConfig load_chip_config(const std::string& path) {
  return parse_chip_config(read_text_file(path, "config file", 64 << 20), path);
}

std::string read_text_file(const std::string& path, const std::string& what, size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw UserError("cannot read " + what + " '" + path + "': it is a folder, not a file");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw UserError("cannot open " + what + " '" + path + "'" +
                    (err != 0 ? ": " + os_error_text(err) : std::string()));
  }
  std::string data;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      throw UserError(what + " '" + path + "' is larger than " + std::to_string(max_bytes >> 20) +
                      " MiB; this is not a " + what);
    }
  }
  if (in.bad()) throw UserError("cannot read " + what + " '" + path + "': read error");
  return data;
}

std::string to_text(const Message& message) {
  std::string out;
  TextFormat::Printer printer;
  printer.PrintToString(message, &out);
  return out;
}

}  // namespace aimc::proto

// Sweep files: parsing, checking the axes (their field paths by field_paths.h), expansion into
// points.
#include "sim/sweep/sweep.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "mapping/mapper.h"
#include "mapping/system_mapper.h"
#include "proto/chip_config_io.h"
#include "proto/first_error.h"
#include "proto/limits.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "sim/common/bundled.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {
namespace {

namespace fs = std::filesystem;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool is_shape_card(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto names = workloads::shape_card_names();
  return std::find(names.begin(), names.end(), lower) != names.end();
}

std::string relative_to(const fs::path& dir, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (dir / path).lexically_normal().string();
}

// A run.batch or run.rate value, read by protobuf's parser of one text-format field value as
// the SweepRow field it ends up in (`sequences`, `request_rate_per_s`) would be read, like the
// chip fields of set_config_field. False when the text is no such value.
bool parse_run_value(const char* row_field, const std::string& text, proto::SweepRow* row) {
  TextFormat::Parser parser;
  proto::FirstError errors(row_field);
  parser.RecordErrorsTo(&errors);
  const FieldDescriptor* f = proto::SweepRow::descriptor()->FindFieldByName(row_field);
  return !text.empty() && parser.ParseFieldValueFromString(text, f, row);
}

// The value of a run.batch axis: an integer in 1..65536.
int batch_value(const std::string& text, const std::string& where) {
  proto::SweepRow row;
  if (!parse_run_value("sequences", text, &row) || row.sequences() < 1 || row.sequences() > 65536)
    throw UserError(where + ": run.batch: expected an integer in 1..65536, got '" + text + "'");
  return static_cast<int>(row.sequences());
}

// The value of a run.rate axis: requests per second, a finite number > 0.
double rate_value(const std::string& text, const std::string& where) {
  proto::SweepRow row;
  if (!parse_run_value("request_rate_per_s", text, &row) ||
      !std::isfinite(row.request_rate_per_s()) || !(row.request_rate_per_s() > 0))
    throw UserError(where + ": run.rate: expected requests per second > 0, got '" + text + "'");
  return row.request_rate_per_s();
}

std::string format_settings(const std::vector<proto::SweepSetting>& settings) {
  std::string s;
  for (const auto& v : settings) s += (s.empty() ? "" : ", ") + v.field() + "=" + v.value();
  return s;
}

// One step of a field path in the sweep file: a field of the message at that depth, and the
// element of a repeated field (-1 for a singular field).
struct Step {
  const char* field;
  int index;
};

// "FILE:LINE" of the deepest field of `steps` that the sweep file writes (1-based), or "FILE"
// when it writes none of them (a default). An element of a repeated scalar field written as one
// list (`values: ["6", "7"]`) is located at its list.
std::string at(const SweepPlan& plan, std::initializer_list<Step> steps) {
  const TextFormat::ParseInfoTree* tree = plan.locations.get();
  const google::protobuf::Descriptor* d = proto::Sweep::descriptor();
  int line = 0;
  for (auto s = steps.begin(); s != steps.end() && tree != nullptr && d != nullptr; ++s) {
    const FieldDescriptor* f = d->FindFieldByName(s->field);
    if (f == nullptr || f->is_repeated() != (s->index >= 0)) break;
    auto loc = tree->GetLocation(f, s->index);
    if (loc.line < 0 && f->is_repeated() && f->message_type() == nullptr) {
      // Located per element when every element was written alone, else only a single list is
      // unambiguous.
      int records = 0;
      while (tree->GetLocation(f, records).line >= 0) ++records;
      if (records == 1) loc = tree->GetLocation(f, 0);
    }
    if (loc.line < 0) break;
    line = loc.line + 1;
    if (f->message_type() == nullptr) break;
    tree = tree->GetTreeForNested(f, s->index);
    d = f->message_type();
  }
  return plan.path + (line > 0 ? ":" + std::to_string(line) : "");
}

// "FILE:LINE: axis N (FIELD)" of axis `a`, at the line of its value `v` (or of the axis).
std::string axis_where(const SweepPlan& plan, int a, int v = -1) {
  const std::string label =
      ": axis " + std::to_string(a + 1) + " (" + plan.spec.axis(a).field() + ")";
  return (v < 0 ? at(plan, {{"axis", a}}) : at(plan, {{"axis", a}, {"values", v}})) + label;
}

}  // namespace

// Checks the sweep's name and run options, naming the sweep file, the line and the field.
static void check_sweep_fields(const SweepPlan& plan) {
  const proto::Sweep& spec = plan.spec;
  const std::string& name = spec.name();
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name[0] == '.' || name.size() > 200) {
    throw UserError(at(plan, {{"name", -1}}) + ": name: '" + name +
                    "' must be a plain name (no '/', not starting with '.', at most 200 "
                    "characters): it names the default results folder sweep-NAME");
  }
  const proto::SweepRunOptions& run = spec.run();
  constexpr uint64_t kIntMax = 2147483647;
  auto check = [&](const char* field, uint64_t value, uint64_t min) {
    if (value < min || value > kIntMax) {
      throw UserError(at(plan, {{"run", -1}, {field, -1}}) + ": run." + field + ": must be in " +
                      std::to_string(min) + ".." + std::to_string(kIntMax) + ", got " +
                      std::to_string(value));
    }
  };
  check("prompt_tokens", run.prompt_tokens(), 1);
  check("decode_tokens", run.decode_tokens(), 0);
  check("seeds", run.seeds(), 1);
  check("window", run.window(), 1);
  check("max_windows", run.max_windows(), 0);
  check("threads", run.threads(), 0);
  // The system mapper's options, read as `run --split` and `--lm-head` read them.
  try {
    mapping::parse_split_kind(run.split());
  } catch (const UserError& e) {
    throw UserError(at(plan, {{"run", -1}, {"split", -1}}) + ": run.split: " + e.what());
  }
  try {
    mapping::parse_lm_head_placement(run.lm_head());
  } catch (const UserError& e) {
    throw UserError(at(plan, {{"run", -1}, {"lm_head", -1}}) + ": run.lm_head: " + e.what());
  }
}

// run.split or run.lm_head set to other than its default: the system mapper's options, which a
// point of one chip cannot take. "" when neither is.
static std::string system_map_option(const proto::SweepRunOptions& run) {
  if (run.split() != "auto") return "run.split";
  if (run.lm_head() != "chip") return "run.lm_head";
  return "";
}

namespace {

// Reads and parses the sweep file, and checks its name and run options.
SweepPlan parse_sweep_file(const std::string& path) {
  const std::string text = proto::read_text_file(path, "sweep file", 16 << 20);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    throw UserError(path +
                    ": starts with a UTF-8 byte-order mark (bytes EF BB BF); save the "
                    "file as UTF-8 without BOM");
  }

  SweepPlan plan;
  plan.path = path;
  plan.locations = std::make_shared<TextFormat::ParseInfoTree>();
  TextFormat::Parser parser;
  proto::FirstError errors(path);
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(plan.locations.get());
  if (!parser.ParseFromString(text, &plan.spec)) {
    throw UserError(errors.first().empty() ? path + ": could not parse sweep" : errors.first());
  }
  check_sweep_fields(plan);
  return plan;
}

// The config every point starts from: the sweep's `chip` (relative to its folder; a chip config
// or a system config, which sets plan->system) or the bundled default chip. Returns the base
// system (a one-chip system of the base chip when it is a chip config) and the base chip.
proto::SystemConfig load_base(SweepPlan* plan, const fs::path& dir, proto::ChipConfig* chip) {
  const std::string chip_path =
      plan->spec.has_chip() ? relative_to(dir, plan->spec.chip()) : bundled_chip_path();
  try {
    if (plan->spec.has_chip() && fs::is_regular_file(chip_path) &&
        proto::looks_like_system_config(
            proto::read_text_file(chip_path, "system config", 16 << 20))) {
      plan->system = true;
      proto::SystemConfig system = proto::load_system_config(chip_path);
      proto::resolve_defaults(&system);
      return system;
    }
    *chip = proto::load_chip_config(chip_path);
    return proto::system_of_chip(*chip);
  } catch (const UserError& e) {
    throw UserError(at(*plan, {{"chip", -1}}) + ": chip: " + e.what());
  }
}

// run.data and run.calib, relative to the sweep's folder; each must be a regular file.
void resolve_run_files(SweepPlan* plan, const fs::path& dir) {
  plan->data = relative_to(dir, plan->spec.run().data());
  plan->calib = relative_to(dir, plan->spec.run().calib());
  for (const auto& [field, file] :
       {std::pair<const char*, std::string>{"data", plan->data}, {"calib", plan->calib}}) {
    if (file.empty()) continue;
    const std::string where = at(*plan, {{"run", -1}, {field, -1}}) + ": run." + field;
    std::error_code ec;
    const fs::file_status st = fs::status(file, ec);
    if (!fs::exists(st)) throw UserError(where + ": no file '" + file + "'");
    if (!fs::is_regular_file(st)) {
      throw UserError(where + ": '" + file + "' is not a regular file");
    }
  }
}

// The fields the axes set so far, to refuse a field set twice or two members of one oneof.
struct AxisFields {
  std::map<std::string, std::string> set_by;  // field path -> the axis that sets it
  // oneof path -> (its member set by an axis, the field path that sets it)
  std::map<std::string, std::pair<std::string, std::string>> oneof_member;
};

// Records the fields axis `a` sets (its own and the linked ones). A field set by two axes (or
// twice by one) would take one value while the results were labelled with another.
void add_axis_fields(const SweepPlan& plan, int a, const google::protobuf::Descriptor* root,
                     AxisFields* seen) {
  const proto::SweepAxis& axis = plan.spec.axis(a);
  std::vector<std::string> fields = {axis.field()};
  for (const proto::LinkedField& linked : axis.linked()) fields.push_back(linked.field());
  for (size_t k = 0; k < fields.size(); ++k) {
    const std::string& f = fields[k];
    const std::string where =
        k == 0 ? axis_where(plan, a)
               : at(plan, {{"axis", a}, {"linked", static_cast<int>(k - 1)}}) + ": axis " +
                     std::to_string(a + 1) + " (" + axis.field() + ")";
    const auto it = seen->set_by.find(f);
    if (it != seen->set_by.end()) {
      throw UserError(where + ": field " + f + " is already set by " + it->second);
    }
    seen->set_by[f] =
        k == 0 ? "axis " + std::to_string(a + 1) : "axis " + std::to_string(a + 1) + " (linked)";
    // Two members of one oneof: setting the second clears the first, so the point would run
    // only one of the two settings its row is labelled with.
    for (const auto& [oneof, member] : oneofs_on_path(f, root)) {
      const auto other = seen->oneof_member.find(oneof);
      if (other != seen->oneof_member.end() && other->second.first != member) {
        throw UserError(where + ": field " + f + " and field " + other->second.second + " (" +
                        seen->set_by[other->second.second] + ") are members of oneof " + oneof +
                        ", which holds one of them at a time");
      }
      seen->oneof_member.emplace(oneof, std::make_pair(member, f));
    }
  }
}

// Checks every value of axis `a` (and of its linked fields) by setting it on the base config,
// so a mistake names the line, the axis and the value. run.batch and run.rate are run options,
// not config fields.
void check_axis_values(const SweepPlan& plan, int a, const google::protobuf::Message& base) {
  const proto::SweepAxis& axis = plan.spec.axis(a);
  for (int k = 0; k < axis.linked_size(); ++k) {
    const proto::LinkedField& linked = axis.linked(k);
    if (linked.values_size() != axis.values_size()) {
      throw UserError(at(plan, {{"axis", a}, {"linked", k}}) + ": axis " + std::to_string(a + 1) +
                      " (" + axis.field() + "): linked field " + linked.field() + " has " +
                      std::to_string(linked.values_size()) + " values, the axis has " +
                      std::to_string(axis.values_size()));
    }
  }
  if (axis.field() == "run.batch" || axis.field() == "run.rate") {
    if (axis.linked_size() > 0)
      throw UserError(axis_where(plan, a) + ": " + axis.field() + " takes no linked fields");
    for (int v = 0; v < axis.values_size(); ++v) {
      if (axis.field() == "run.batch") batch_value(axis.values(v), axis_where(plan, a, v));
      if (axis.field() == "run.rate") rate_value(axis.values(v), axis_where(plan, a, v));
    }
    return;
  }
  const bool system = base.GetDescriptor() == proto::SystemConfig::descriptor();
  for (int v = 0; v < axis.values_size(); ++v) {
    std::unique_ptr<google::protobuf::Message> probe(base.New());
    probe->CopyFrom(base);
    try {
      set_message_field(probe.get(), axis.field(), axis.values(v));
    } catch (const UserError& e) {
      throw UserError(axis_where(plan, a, v) + ": " + e.what());
    }
    for (int k = 0; k < axis.linked_size(); ++k) {
      try {
        set_message_field(probe.get(), axis.linked(k).field(), axis.linked(k).values(v));
      } catch (const UserError& e) {
        throw UserError(at(plan, {{"axis", a}, {"linked", k}, {"values", v}}) + ": axis " +
                        std::to_string(a + 1) + " (" + axis.field() + "): " + e.what());
      }
    }
    // A system's value is checked alone against the system's rules here, so that the error
    // names the axis and the value (a chip's values are checked point by point).
    if (!system) continue;
    auto* probe_system = static_cast<proto::SystemConfig*>(probe.get());
    proto::resolve_defaults(probe_system);
    const auto issues = proto::validate_system_config(*probe_system);
    if (!issues.empty()) {
      throw UserError(axis_where(plan, a, v) + ": value '" + axis.values(v) +
                      "': " + issues.front().path_string() + ": " + issues.front().message);
    }
  }
}

// Checks every axis on the base config; returns each axis's label (its field unless labelled).
// `list_length` is the number of values of each axis in mode LIST (of axis 1).
std::vector<std::string> check_axes(const SweepPlan& plan, const google::protobuf::Message& base,
                                    size_t* list_length) {
  const proto::Sweep& spec = plan.spec;
  std::vector<std::string> labels;
  *list_length = 0;
  AxisFields seen;
  for (int a = 0; a < spec.axis_size(); ++a) {
    const proto::SweepAxis& axis = spec.axis(a);
    if (axis.field().empty())
      throw UserError(at(plan, {{"axis", a}}) + ": axis " + std::to_string(a + 1) + ": no field");
    const std::string where = axis_where(plan, a);
    if (axis.values_size() == 0) throw UserError(where + ": no values");
    if (spec.mode() == proto::LIST && a > 0 &&
        static_cast<size_t>(axis.values_size()) != *list_length) {
      throw UserError(where + ": " + std::to_string(axis.values_size()) +
                      " values, but mode LIST needs as many as axis 1 (" +
                      std::to_string(*list_length) + ")");
    }
    if (a == 0) *list_length = static_cast<size_t>(axis.values_size());
    add_axis_fields(plan, a, base.GetDescriptor(), &seen);
    check_axis_values(plan, a, base);
    labels.push_back(axis.has_label() ? axis.label() : axis.field());
  }
  return labels;
}

// Refuses, before it is expanded, a sweep too large for memory or disk: each point holds a chip
// config in memory and a row in sweep.json, sweep.csv and sweep.html.
void check_sweep_size(const SweepPlan& plan, size_t list_length) {
  const proto::Sweep& spec = plan.spec;
  double combo_count = 1;
  if (spec.mode() == proto::LIST) {
    combo_count = spec.axis_size() == 0 ? 1 : static_cast<double>(list_length);
  } else {
    for (const proto::SweepAxis& axis : spec.axis()) combo_count *= axis.values_size();
  }
  const double point_count =
      combo_count * std::max(1, spec.models_size()) * std::max(1, spec.mappings_size());
  char count_text[32];
  std::snprintf(count_text, sizeof count_text, "%.0f", point_count);
  proto::check_memory_estimate(point_count * 4000,
                               plan.path + ": a sweep of " + std::string(count_text) + " points");
  proto::check_output_estimate(point_count * 3 * 2000, plan.path + ": the results of a sweep of " +
                                                           std::string(count_text) + " points");
}

// Value combinations: indices into each axis's values (mode LIST: the i-th value of every axis;
// otherwise the grid, the last axis varying fastest).
std::vector<std::vector<int>> value_combinations(const proto::Sweep& spec, size_t list_length) {
  std::vector<std::vector<int>> combos;
  if (spec.axis_size() == 0) {
    combos.push_back({});
  } else if (spec.mode() == proto::LIST) {
    for (size_t i = 0; i < list_length; ++i) {
      combos.push_back(
          std::vector<int>(static_cast<size_t>(spec.axis_size()), static_cast<int>(i)));
    }
  } else {
    std::vector<int> idx(static_cast<size_t>(spec.axis_size()), 0);
    while (true) {
      combos.push_back(idx);
      int a = spec.axis_size() - 1;
      while (a >= 0 && ++idx[static_cast<size_t>(a)] == spec.axis(a).values_size()) {
        idx[static_cast<size_t>(a)] = 0;
        --a;
      }
      if (a < 0) break;
    }
  }
  return combos;
}

// The sweep's models (shape card names, or folders relative to the sweep's), each resolved once
// to check it; the bundled model when none is given.
std::vector<std::string> sweep_models(const SweepPlan& plan, const fs::path& dir) {
  std::vector<std::string> models;
  for (int i = 0; i < plan.spec.models_size(); ++i) {
    const std::string& m = plan.spec.models(i);
    const std::string resolved = is_shape_card(m) ? m : relative_to(dir, m);
    try {
      workloads::resolve_model(resolved);
    } catch (const UserError& e) {
      throw UserError(at(plan, {{"models", i}}) + ": models[" + std::to_string(i) +
                      "]: " + e.what());
    }
    models.push_back(resolved);
  }
  if (models.empty()) models.push_back(bundled_model_path());
  return models;
}

// The sweep's placement strategies, each a registered one; "dense" when none is given.
std::vector<std::string> sweep_mappings(const SweepPlan& plan) {
  std::vector<std::string> mappings(plan.spec.mappings().begin(), plan.spec.mappings().end());
  if (mappings.empty()) mappings.push_back("dense");
  const auto strategies = mapping::strategy_names();
  for (size_t i = 0; i < mappings.size(); ++i) {
    if (std::find(strategies.begin(), strategies.end(), mappings[i]) == strategies.end()) {
      std::string known;
      for (const auto& s : strategies) known += (known.empty() ? "" : ", ") + s;
      const int index = static_cast<int>(i);
      throw UserError(at(plan, {{"mappings", index}}) + ": mappings[" + std::to_string(i) +
                      "]: unknown strategy '" + mappings[i] + "' (strategies: " + known + ")");
    }
  }
  return mappings;
}

// "FILE:LINE" of the value that sets `field` at the point of value combination `combo` (an
// axis's or a linked field's value), or "FILE" when no axis sets it (the problem then comes from
// the base or from several values together).
std::string point_where(const SweepPlan& plan, const std::vector<int>& combo,
                        const std::string& field) {
  for (size_t i = 0; i < combo.size(); ++i) {
    const int a = static_cast<int>(i);
    const proto::SweepAxis& axis = plan.spec.axis(a);
    if (axis.field() == field) return at(plan, {{"axis", a}, {"values", combo[i]}});
    for (int k = 0; k < axis.linked_size(); ++k) {
      if (axis.linked(k).field() == field)
        return at(plan, {{"axis", a}, {"linked", k}, {"values", combo[i]}});
    }
  }
  return plan.path;
}

// Point `p` (index, model and mapping set): the base chip with one value combination applied,
// resolved and validated, and its fingerprint (`run_text`: the run options as text).
void apply_combination(const SweepPlan& plan, const std::vector<std::string>& labels,
                       const std::vector<int>& combo, const std::string& run_text, SweepPoint* p) {
  const proto::Sweep& spec = plan.spec;
  for (size_t a = 0; a < combo.size(); ++a) {
    const proto::SweepAxis& axis = spec.axis(static_cast<int>(a));
    if (axis.field() == "run.batch") {
      p->batch = batch_value(axis.values(combo[a]), plan.path);
    } else if (axis.field() == "run.rate") {
      p->rate = rate_value(axis.values(combo[a]), plan.path);
    } else {
      google::protobuf::Message* target =
          p->is_system ? static_cast<google::protobuf::Message*>(&p->system) : &p->chip;
      set_message_field(target, axis.field(), axis.values(combo[a]));
      for (const proto::LinkedField& linked : axis.linked()) {
        set_message_field(target, linked.field(), linked.values(combo[a]));
      }
    }
    proto::SweepSetting s;
    s.set_field(labels[a]);
    s.set_value(axis.values(combo[a]));
    p->settings.push_back(s);
  }
  if (p->is_system) {
    proto::resolve_defaults(&p->system);
  } else {
    proto::resolve_defaults(&p->chip);
  }
  const auto issues = p->is_system ? proto::validate_system_config(p->system)
                                   : proto::validate_chip_config(p->chip);
  if (!issues.empty()) {
    throw UserError(point_where(plan, combo, issues.front().path_string()) + ": point " + p->id +
                    " (" + format_settings(p->settings) + "): " + issues.front().path_string() +
                    ": " + issues.front().message);
  }
  const std::string map_option = system_map_option(spec.run());
  if (p->is_system && !map_option.empty() && proto::is_single_chip(p->system)) {
    throw UserError(plan.path + ": point " + p->id + " (" + format_settings(p->settings) +
                    "): a system of one chip, which " + map_option +
                    " cannot apply to (it maps across the chips of a system)");
  }
  // The batch enters the fingerprint only when it is not 1, so that sweeps without a batch axis
  // keep their fingerprints.
  p->inputs_key =
      hex64(fnv1a(point_config_text(*p) + "\nmodel: " + p->model + "\nmapping: " + p->mapping +
                  "\n" + run_text + (p->batch != 1 ? "\nbatch: " + std::to_string(p->batch) : "") +
                  (p->rate > 0 ? "\nrate: " + std::to_string(p->rate) : "")));
}

}  // namespace

SweepPlan load_sweep(const std::string& path) {
  SweepPlan plan = parse_sweep_file(path);
  const fs::path dir = fs::absolute(path).parent_path();
  proto::ChipConfig base;
  const proto::SystemConfig base_system = load_base(&plan, dir, &base);
  resolve_run_files(&plan, dir);
  const std::string map_option = system_map_option(plan.spec.run());
  if (!plan.system && !map_option.empty()) {
    const char* field = map_option == "run.split" ? "split" : "lm_head";
    throw UserError(at(plan, {{"run", -1}, {field, -1}}) + ": " + map_option +
                    ": maps across the chips of a system, but the sweep's base (chip) is one chip");
  }
  size_t list_length = 0;
  const std::vector<std::string> labels = plan.system ? check_axes(plan, base_system, &list_length)
                                                      : check_axes(plan, base, &list_length);
  check_sweep_size(plan, list_length);
  const std::vector<std::vector<int>> combos = value_combinations(plan.spec, list_length);
  const std::vector<std::string> models = sweep_models(plan, dir);
  const std::vector<std::string> mappings = sweep_mappings(plan);

  proto::SweepRunOptions run = plan.spec.run();
  proto::resolve_defaults(&run);
  // The system mapper's options enter the fingerprint only when they are not the defaults, so
  // that sweeps without them keep their fingerprints.
  if (run.split() == "auto") run.clear_split();
  if (run.lm_head() == "chip") run.clear_lm_head();
  // Likewise the seeds.
  if (run.arrival_seed() == 0) run.clear_arrival_seed();
  if (run.chip_seed() == 0) run.clear_chip_seed();
  const std::string run_text =
      proto::to_text(run) + "data: " + plan.data + "\ncalib: " + plan.calib;
  for (const std::string& model : models) {
    for (const std::string& mapping_name : mappings) {
      for (const std::vector<int>& combo : combos) {
        SweepPoint p;
        p.index = static_cast<int>(plan.points.size());
        char id[16];
        std::snprintf(id, sizeof id, "%03d", p.index);
        p.id = id;
        p.model = model;
        p.mapping = mapping_name;
        p.is_system = plan.system;
        if (plan.system) {
          p.system = base_system;
        } else {
          p.chip = base;
        }
        apply_combination(plan, labels, combo, run_text, &p);
        plan.points.push_back(std::move(p));
      }
    }
  }
  return plan;
}

std::string point_config_text(const SweepPoint& point) {
  return point.is_system ? proto::to_text(point.system) : proto::to_text(point.chip);
}

std::vector<std::string> run_arguments(const SweepPlan& plan, const SweepPoint& point,
                                       const std::string& chip_path, const std::string& out_dir,
                                       int threads) {
  proto::SweepRunOptions run = plan.spec.run();
  proto::resolve_defaults(&run);
  std::vector<std::string> args = {"run",
                                   "--chip",
                                   chip_path,
                                   "--model",
                                   point.model,
                                   "--mapping",
                                   point.mapping,
                                   "--prompt-tokens",
                                   std::to_string(run.prompt_tokens()),
                                   "--decode-tokens",
                                   std::to_string(run.decode_tokens()),
                                   "--seeds",
                                   std::to_string(run.seeds()),
                                   "--seed",
                                   std::to_string(run.seed()),
                                   "--window",
                                   std::to_string(run.window()),
                                   "--max-windows",
                                   std::to_string(run.max_windows()),
                                   "--threads",
                                   std::to_string(threads),
                                   "--out",
                                   out_dir};
  // A shape card has no weights to evaluate: the data applies to the model folders only.
  const bool has_weights = !is_shape_card(point.model);
  if (has_weights && !plan.data.empty()) args.insert(args.end(), {"--data", plan.data});
  if (has_weights && !plan.calib.empty()) args.insert(args.end(), {"--calib", plan.calib});
  if (run.no_accuracy()) args.push_back("--no-accuracy");
  if (run.memo_parts()) args.push_back("--memo-parts");
  if (run.split() != "auto") args.insert(args.end(), {"--split", run.split()});
  if (run.lm_head() != "chip") args.insert(args.end(), {"--lm-head", run.lm_head()});
  if (point.batch != 1) args.insert(args.end(), {"--batch", std::to_string(point.batch)});
  if (run.chip_seed() != 0)
    args.insert(args.end(), {"--chip-seed", std::to_string(run.chip_seed())});
  if (point.rate > 0) {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.17g", point.rate);
    args.insert(args.end(),
                {"--arrivals", "poisson", "--rate", rate, "--requests",
                 std::to_string(run.requests()), "--max-batch", std::to_string(run.max_batch()),
                 "--arrival-seed", std::to_string(run.arrival_seed())});
  }
  return args;
}

}  // namespace aimc::sim

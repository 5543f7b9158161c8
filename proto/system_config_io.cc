// Reading, resolving and validating system configurations: chips by path or inline, groups of
// identical chips, links and host. The single validation function is validate_system_config().
#include "proto/system_config_io.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace aimc::proto {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::TextFormat;

constexpr long long kMaxChips = 65536;

PathStep step(const Message& m, const char* name, int index = -1) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr) throw std::logic_error(std::string("no field ") + name);
  return {f, index};
}

// The text of a file, or the reason it cannot be read (a folder, a missing file, ...).
std::string read_file(const std::string& path, bool* ok, std::string* why) {
  try {
    std::string text = read_text_file(path, "chip config", 64 << 20);
    *ok = true;
    return text;
  } catch (const UserError& e) {
    *ok = false;
    *why = e.what();
    return "";
  }
}

// What every chip must share so that one partition of the model holds on all of them.
struct Geometry {
  const char* field;
  double (*value)(const ChipConfig&);
};
const Geometry kGeometry[] = {
    {"tile.rows", [](const ChipConfig& c) { return double(c.tile().rows()); }},
    {"tile.cols", [](const ChipConfig& c) { return double(c.tile().cols()); }},
    {"tile.cells_per_weight",
     [](const ChipConfig& c) { return double(c.tile().cells_per_weight()); }},
    {"tile.kind", [](const ChipConfig& c) { return double(c.tile().kind()); }},
    {"tile.dac.bits", [](const ChipConfig& c) { return double(c.tile().dac().bits()); }},
    {"tile.dac.ideal", [](const ChipConfig& c) { return double(c.tile().dac().ideal()); }},
    {"tile.adc.bits", [](const ChipConfig& c) { return double(c.tile().adc().bits()); }},
    {"tile.adc.ideal", [](const ChipConfig& c) { return double(c.tile().adc().ideal()); }},
};

}  // namespace

void topology_shape(const ChipLinkConfig& links, int chips, int* mesh_x, int* mesh_y) {
  int x = static_cast<int>(links.mesh_x());
  int y = static_cast<int>(links.mesh_y());
  if (x == 0 && y == 0) {
    y = 1;
    for (int d = 1; static_cast<long long>(d) * d <= chips; ++d)
      if (chips % d == 0) y = d;
    x = chips / y;
  } else if (x == 0) {
    x = chips % y == 0 ? chips / y : 0;
  } else if (y == 0) {
    y = chips % x == 0 ? chips / x : 0;
  }
  *mesh_x = x;
  *mesh_y = y;
}

std::vector<ConfigIssue> validate_system_config(const SystemConfig& s) {
  std::vector<ConfigIssue> issues;
  // A group that names no chip, after the other issues (they are about the fields written).
  auto with_unnamed = [&]() {
    for (int i = 0; i < s.chips_size(); ++i)
      if (s.chips(i).chip_case() == ChipGroup::CHIP_NOT_SET)
        issues.push_back({{step(s, "chips", i)},
                          "names no chip: give config_path: \"CHIP.pbtxt\" or config { ... }"});
    return issues;
  };
  // Ranges of the system's own fields, then each chip as a chip config.
  SystemConfig shallow = s;
  for (ChipGroup& g : *shallow.mutable_chips()) g.clear_config();
  issues = check_field_ranges(shallow);
  for (int i = 0; i < s.chips_size(); ++i) {
    const ChipGroup& g = s.chips(i);
    if (!g.has_config()) continue;
    for (ConfigIssue issue : validate_chip_config(g.config())) {
      issue.path.insert(issue.path.begin(), {step(s, "chips", i), step(g, "config")});
      issues.push_back(std::move(issue));
    }
  }
  if (s.chips_size() == 0) {
    issues.push_back({{step(s, "chips")}, "must list at least one chip"});
    return issues;
  }
  long long chips = 0;
  for (const ChipGroup& g : s.chips()) chips += g.count();
  if (chips > kMaxChips) {
    issues.push_back({{step(s, "chips")},
                      "must hold at most " + std::to_string(kMaxChips) + " chips in all, got " +
                          std::to_string(chips)});
    return with_unnamed();
  }
  const ChipLinkConfig& links = s.links();
  if (links.topology() == MESH_2D || links.topology() == TORUS_2D) {
    int x = 0, y = 0;
    topology_shape(links, static_cast<int>(chips), &x, &y);
    if (static_cast<long long>(x) * y != chips) {
      const bool x_given = links.mesh_x() != 0;
      issues.push_back({{step(s, "links"), step(links, x_given ? "mesh_x" : "mesh_y")},
                        "mesh_x * mesh_y must equal the chip count (" + std::to_string(chips) +
                            "), got " + std::to_string(links.mesh_x()) + " x " +
                            std::to_string(links.mesh_y())});
    }
  }
  // One tile geometry and numerics for all chips.
  const ChipGroup& first = s.chips(0);
  if (!first.has_config()) return with_unnamed();
  for (int i = 1; i < s.chips_size(); ++i) {
    const ChipGroup& g = s.chips(i);
    if (!g.has_config()) continue;
    std::string differs;
    for (const Geometry& geo : kGeometry) {
      const double a = geo.value(first.config()), b = geo.value(g.config());
      if (a != b) {
        std::ostringstream m;
        m << geo.field << " is " << b << " but chip 0's is " << a;
        differs = m.str();
        break;
      }
    }
    if (differs.empty() && !google::protobuf::util::MessageDifferencer::Equals(
                               first.config().numerics(), g.config().numerics())) {
      differs = "numerics differ from chip 0's";
    }
    if (!differs.empty()) {
      issues.push_back({{step(s, "chips", i), step(g, "config")},
                        differs + "; every chip needs the same tile geometry, converters and "
                                  "numerics (a layer is cut into the same blocks on every chip)"});
    }
  }
  return with_unnamed();
}

bool looks_like_system_config(const std::string& text) {
  const auto* sys = SystemConfig::descriptor();
  const auto* chip = ChipConfig::descriptor();
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  struct Quiet : google::protobuf::io::ErrorCollector {
    void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  } quiet;
  google::protobuf::io::Tokenizer tokens(&input, &quiet);
  tokens.set_comment_style(google::protobuf::io::Tokenizer::SH_COMMENT_STYLE);
  int depth = 0;
  while (tokens.Next()) {
    const auto& t = tokens.current();
    if (t.type == google::protobuf::io::Tokenizer::TYPE_SYMBOL) {
      if (t.text == "{" || t.text == "<") ++depth;
      if (t.text == "}" || t.text == ">") --depth;
      continue;
    }
    if (depth == 0 && t.type == google::protobuf::io::Tokenizer::TYPE_IDENTIFIER &&
        sys->FindFieldByName(t.text) != nullptr && chip->FindFieldByName(t.text) == nullptr) {
      return true;
    }
  }
  return false;
}

SystemConfig parse_system_config(const std::string& text, const std::string& source,
                                 const std::string& base_dir) {
  SystemConfig config;
  TextFormat::ParseInfoTree tree;
  parse_config_text(text, source, &config, &tree);
  // Chips given by path: read them (their own errors name their own file) and put them inline.
  std::map<int, std::string> path_of;
  for (int i = 0; i < config.chips_size(); ++i) {
    ChipGroup* g = config.mutable_chips(i);
    if (g->chip_case() != ChipGroup::kConfigPath) continue;
    const std::filesystem::path rel(g->config_path());
    const std::string path =
        rel.is_absolute() ? rel.string() : (std::filesystem::path(base_dir) / rel).string();
    bool ok = false;
    std::string why;
    const std::string chip_text = read_file(path, &ok, &why);
    if (!ok) {
      throw_first_issue({{{step(config, "chips", i), step(*g, "config_path")}, why}}, &tree,
                        source);
    }
    *g->mutable_config() = parse_chip_config(chip_text, path);
    path_of[i] = path;
  }
  SystemConfig resolved = config;
  const bool host = config.has_host();
  resolve_defaults(&resolved);
  if (!host) resolved.mutable_host()->set_enabled(false);  // no host block: no host link
  std::vector<ConfigIssue> issues = validate_system_config(resolved);
  // An issue inside a chip read from a file points at the group's config_path line (the
  // group's own fields, count and dram, keep their paths and lines).
  for (ConfigIssue& issue : issues) {
    if (issue.path.size() < 2 || issue.path[0].field->name() != "chips" ||
        issue.path[1].field->name() != "config")
      continue;
    const int i = issue.path[0].index;
    if (i < 0 || path_of.count(i) == 0) continue;
    std::string inner;
    for (size_t k = 2; k < issue.path.size(); ++k) {
      inner += (inner.empty() ? "" : ".") + issue.path[k].field->name();
    }
    issue.message = "chip config '" + path_of[i] + "'" + (inner.empty() ? "" : " " + inner) + ": " +
                    issue.message;
    issue.path = {issue.path[0], step(config.chips(i), "config_path")};
  }
  throw_first_issue(issues, &tree, source);
  ChipLinkConfig* links = resolved.mutable_links();
  if (links->topology() == MESH_2D || links->topology() == TORUS_2D) {
    int x = 0, y = 0;
    topology_shape(*links, chip_count(resolved), &x, &y);
    links->set_mesh_x(static_cast<uint32_t>(x));
    links->set_mesh_y(static_cast<uint32_t>(y));
  }
  return resolved;
}

SystemConfig load_system_config(const std::string& path) {
  const std::string text = read_text_file(path, "config file", 64 << 20);
  if (!looks_like_system_config(text)) return system_of_chip(parse_chip_config(text, path));
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return parse_system_config(text, path, dir.empty() ? "." : dir.string());
}

SystemConfig system_of_chip(const ChipConfig& chip) {
  SystemConfig s;
  s.set_schema_version(1);
  s.set_name(chip.name());
  *s.add_chips()->mutable_config() = chip;
  resolve_defaults(&s);
  s.mutable_host()->set_enabled(false);  // a chip alone has no host link cost
  return s;
}

bool is_single_chip(const SystemConfig& system) {
  return chip_count(system) == 1;
}

int chip_count(const SystemConfig& system) {
  long long n = 0;
  for (const ChipGroup& g : system.chips()) n += g.count();
  return static_cast<int>(n);
}

namespace {
const ChipGroup& group_of(const SystemConfig& system, int index) {
  if (index < 0) throw std::out_of_range("chip index " + std::to_string(index));
  long long first = 0;
  for (const ChipGroup& g : system.chips()) {
    if (index < first + g.count()) return g;
    first += g.count();
  }
  throw std::out_of_range("chip index " + std::to_string(index) + " beyond the system's " +
                          std::to_string(first) + " chips");
}
}  // namespace

const ChipConfig& chip_config(const SystemConfig& system, int index) {
  return group_of(system, index).config();
}

const ChipDramConfig& chip_dram(const SystemConfig& system, int index) {
  return group_of(system, index).dram();
}

}  // namespace aimc::proto

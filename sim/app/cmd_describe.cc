// `aimcsim describe`: what the program knows (noise models, mapping strategies, shape cards, tile
// kinds, chip components, presets), each with its parameters, units and defaults, generated from
// the registrations the code uses.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "arch/noise_model.h"
#include "mapping/mapper.h"
#include "proto/chip_config_io.h"
#include "sim/app/commands.h"
#include "sim/app/flags.h"
#include "sim/chip/component_registry.h"
#include "sim/common/bundled.h"
#include "workloads/shape_cards.h"

namespace aimc::sim {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string default_text(const FieldDescriptor* f) {
  std::ostringstream s;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      s << f->default_value_int32();
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      s << f->default_value_int64();
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      s << f->default_value_uint32();
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      s << f->default_value_uint64();
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      s << f->default_value_double();
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      s << f->default_value_float();
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      s << (f->default_value_bool() ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      s << f->default_value_enum()->name();
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      s << '"' << f->default_value_string() << '"';
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      s << "{...}";
      break;
  }
  return s.str();
}

std::string range_text(const FieldDescriptor* f) {
  if (!f->options().HasExtension(proto::range)) return "";
  const proto::FieldRange& r = f->options().GetExtension(proto::range);
  std::ostringstream s;
  s << (r.min_exclusive() ? "(" : "[") << (r.has_min() ? std::to_string(r.min()) : "-inf") << ", "
    << (r.has_max() ? std::to_string(r.max()) : "inf") << "]";
  std::string t = s.str();
  // Trim the trailing zeros std::to_string leaves ("1.000000" -> "1").
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    out += t[i];
    if (t[i] == '.') {
      size_t j = i + 1;
      while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
      std::string digits = t.substr(i + 1, j - i - 1);
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      if (digits.empty()) out.pop_back();
      out += digits;
      i = j - 1;
    }
  }
  return out;
}

void print_parameters(const Descriptor* d, std::ostream& out) {
  if (d->field_count() == 0) {
    out << "      (no parameters)\n";
    return;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    out << "      " << std::left << std::setw(24) << f->name() << " default " << std::setw(10)
        << default_text(f) << " " << range_text(f) << "\n";
  }
}

// The SystemC component kinds of the chip with their statistics (units) and counted actions.
void print_components(std::ostream& out) {
  out << "\nChip components (SystemC; statistics in report.json, per instance or summed):\n";
  for (const ComponentKind& k : component_kinds()) {
    out << "  " << k.name << ": " << k.description << "\n";
    std::string stats;
    for (const arch::StatDef& d : k.traits->stats)
      stats += (stats.empty() ? "" : ", ") + d.name + " (" + d.unit + ")";
    out << "      statistics  " << stats << (k.summed ? ", as chip." + k.name + "*.<name>" : "")
        << "\n";
    std::string actions;
    for (const std::string& a : k.traits->actions) actions += (actions.empty() ? "" : ", ") + a;
    out << "      counts      " << actions << "\n";
    if (!k.utilization.empty())
      out << "      utilization " << k.utilization << " (busy time per " << k.traits->busy_unit
          << ")\n";
  }
}

}  // namespace

int cmd_describe(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("describe flags");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("describe", "", options, positional, args, &vm, out)) return 0;

  out << "Noise models (numerics.weight_noise { NAME { ... } }; units in parameter names):\n";
  const auto& models = arch::noise_models();
  for (size_t i = 0; i < models.size(); ++i) {
    out << "  " << models[i].name << (i == 0 ? "  (default)" : "") << ": " << models[i].description
        << "\n";
    print_parameters(models[i].params, out);
  }

  out << "\nMapping strategies (--mapping NAME):\n";
  for (const std::string& line : mapping::strategy_descriptions()) out << "  " << line << "\n";

  out << "\nShape cards (--model NAME; no weights, for mapping, time and energy):\n";
  for (const std::string& name : workloads::shape_card_names()) {
    const workloads::ModelConfig m = workloads::shape_card(name);
    out << "  " << std::left << std::setw(16) << name << std::setprecision(3)
        << workloads::parameter_count(m) / 1e9 << "B parameters, hidden " << m.hidden_size << ", "
        << m.num_layers << " layers, " << m.num_heads << " heads (" << m.num_kv_heads
        << " kv), MLP " << m.intermediate_size << ", vocab " << m.vocab_size << "\n";
  }

  out << "\nTile kinds (tile.kind):\n";
  const auto* kinds = proto::TileKind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) out << "  " << kinds->value(i)->name() << "\n";

  print_components(out);

  out << "\nPresets (configs/):\n";
  std::vector<std::filesystem::path> presets;
  const std::filesystem::path dir = std::filesystem::path(data_root()) / "configs";
  if (std::filesystem::is_directory(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".pbtxt") presets.push_back(e.path());
    }
  }
  std::sort(presets.begin(), presets.end());
  for (const auto& p : presets) {
    const proto::ChipConfig c = proto::load_chip_config(p.string());
    out << "  " << std::left << std::setw(16) << p.stem().string() << c.tile().count() << " tiles "
        << c.tile().rows() << "x" << c.tile().cols() << ", " << c.name() << "\n";
  }
  return 0;
}

}  // namespace aimc::sim

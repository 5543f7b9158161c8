// `aimcsim peak --chip CONFIG|SYSTEM [--json FILE]`: the chip's datasheet from its simulated
// peak workload (sim/chip/datasheet.h); for a system of chips, each distinct chip config's peak
// (simulated once, multiplied by its count) plus the static power of the chip-to-chip link ports.
// In the peak workload every chip reads its own inputs in place: the links carry no traffic.
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "proto/chip_config_io.h"
#include "proto/system_config_io.h"
#include "sim/app/commands.h"
#include "sim/app/flags.h"
#include "sim/chip/datasheet.h"
#include "sim/report/datasheet.h"
#include "sim/report/text_lines.h"

namespace aimc::sim {
namespace {

void row(std::string* out, const std::string& name, const std::string& value) {
  aligned_line(out, name, value, 26);
}

// One distinct chip config of a system and how many chips use it.
struct ChipKind {
  proto::ChipDatasheet datasheet;
  int count = 0;
};

// The distinct chip configs of a system, each with its datasheet and its number of chips.
// Identical chip configs (also across groups) are simulated once.
std::vector<ChipKind> distinct_chips(const proto::SystemConfig& system, int reads) {
  std::vector<ChipKind> kinds;
  std::map<std::string, size_t> index_of;
  for (const proto::ChipGroup& g : system.chips()) {
    std::string key;
    google::protobuf::io::StringOutputStream stream(&key);
    {
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      g.config().SerializeToCodedStream(&coded);
    }
    auto it = index_of.find(key);
    if (it == index_of.end()) {
      it = index_of.emplace(key, kinds.size()).first;
      kinds.push_back({chip_datasheet(g.config(), reads, /*isolate=*/false), 0});
    }
    kinds[it->second].count += static_cast<int>(g.count());
  }
  return kinds;
}

// Adds `x` to the entry `name` of `v` (appended when new, so the order is first use).
void add_to(std::vector<std::pair<std::string, double>>* v, const std::string& name, double x) {
  for (auto& e : *v)
    if (e.first == name) {
      e.second += x;
      return;
    }
  v->emplace_back(name, x);
}

// One distinct chip config's entry of the system peak's per_chip list.
nlohmann::ordered_json chip_entry(const ChipKind& k) {
  const proto::ChipDatasheet& d = k.datasheet;
  return {{"chip", d.chip()},
          {"count", k.count},
          {"tops", d.tops()},
          {"power_w", d.power_w()},
          {"area_mm2", d.area_mm2()},
          {"tops_per_w", d.tops_per_w()},
          {"tops_per_mm2", d.tops_per_mm2()},
          {"datasheet", nlohmann::ordered_json::parse(datasheet_to_json(d))}};
}

// The system's peak: sums over the distinct chip configs, plus the link ports' static power.
nlohmann::ordered_json system_peak(const proto::SystemConfig& system, int reads) {
  const std::vector<ChipKind> kinds = distinct_chips(system, reads);
  const int chips = proto::chip_count(system);
  // A lone chip has no chip-to-chip links; otherwise every chip's link ports idle at peak.
  const double port_mw = system.links().p_port_static_mw();
  const double links_mw = chips > 1 ? chips * port_mw : 0.0;

  double tops = 0, power_w = 0, area_mm2 = 0;
  std::vector<std::pair<std::string, double>> power_mw, area;
  nlohmann::ordered_json per_chip = nlohmann::ordered_json::array();
  for (const ChipKind& k : kinds) {
    const proto::ChipDatasheet& d = k.datasheet;
    tops += k.count * d.tops();
    power_w += k.count * d.power_w();
    area_mm2 += k.count * d.area_mm2();
    for (const proto::PowerEntry& e : d.power_by_component())
      add_to(&power_mw, e.name(), k.count * e.mw());
    for (const proto::AreaEntry& e : d.area_by_component())
      add_to(&area, e.name(), k.count * e.mm2());
    add_to(&area, "overhead", k.count * d.area_overhead_mm2());
    add_to(&area, "other (fixed)", k.count * d.area_other_mm2());
    per_chip.push_back(chip_entry(k));
  }
  add_to(&power_mw, "chip_link_ports", links_mw);
  add_to(&power_mw, "host_link", 0.0);
  power_w += links_mw * 1e-3;

  nlohmann::ordered_json j;
  j["system"] = system.name();
  j["chips"] = chips;
  j["distinct_chip_configs"] = kinds.size();
  j["reads_per_tile"] = reads;
  j["link_traffic"] =
      "none: in the peak workload every chip reads its own inputs in place, so the chip-to-chip "
      "and host links carry no data; only the link ports' static power is counted";
  j["tops"] = tops;
  j["power_w"] = power_w;
  j["tops_per_w"] = power_w > 0 ? tops / power_w : 0.0;
  j["area_mm2"] = area_mm2;
  j["tops_per_mm2"] = area_mm2 > 0 ? tops / area_mm2 : 0.0;
  j["link_power_mw"] = links_mw;
  j["link_port_static_mw_per_chip"] = port_mw;
  j["power_by_component_mw"] = nlohmann::ordered_json::array();
  for (const auto& [name, mw] : power_mw)
    j["power_by_component_mw"].push_back({{"name", name}, {"mw", mw}});
  j["area_by_component_mm2"] = nlohmann::ordered_json::array();
  for (const auto& [name, mm2] : area)
    j["area_by_component_mm2"].push_back({{"name", name}, {"mm2", mm2}});
  j["per_chip"] = per_chip;
  return j;
}

std::string format_system_peak(const nlohmann::ordered_json& j) {
  std::string out = "peak of system " + j["system"].get<std::string>() + ": " +
                    std::to_string(j["chips"].get<int>()) + " chips (" +
                    std::to_string(j["distinct_chip_configs"].get<int>()) +
                    " distinct chip configs, each simulated once), every tile doing " +
                    std::to_string(j["reads_per_tile"].get<int>()) +
                    " back-to-back reads with its inputs in place\n"
                    "  links carry no traffic in the peak workload: only their ports' static "
                    "power counts\n";
  row(&out, "TOPS", fmt("%.4g", j["tops"].get<double>()));
  row(&out, "TOPS/W", fmt("%.4g", j["tops_per_w"].get<double>()));
  row(&out, "TOPS/mm2", fmt("%.4g", j["tops_per_mm2"].get<double>()));
  row(&out, "power", fmt("%.4g W", j["power_w"].get<double>()));
  row(&out, "area", fmt("%.4g mm2", j["area_mm2"].get<double>()) + " (chip areas summed)");
  out += "per chip config                count      TOPS   power W  area mm2    TOPS/W\n";
  for (const auto& c : j["per_chip"]) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-26s %8d %9.4g %9.4g %9.4g %9.4g\n",
                  c["chip"].get<std::string>().c_str(), c["count"].get<int>(),
                  c["tops"].get<double>(), c["power_w"].get<double>(), c["area_mm2"].get<double>(),
                  c["tops_per_w"].get<double>());
    out += buf;
  }
  out += "power by component (mW), all chips\n";
  for (const auto& e : j["power_by_component_mw"]) {
    const std::string name = e["name"].get<std::string>();
    std::string note;
    if (name == "chip_link_ports") {
      note = "  (" + std::to_string(j["chips"].get<int>()) + " chips x " +
             fmt("%.4g", j["link_port_static_mw_per_chip"].get<double>()) +
             " mW static; 0 for one chip)";
    } else if (name == "host_link") {
      note = "  (energy per bit only, no traffic)";
    } else if (e["mw"].get<double>() == 0) {
      continue;
    }
    row(&out, name, fmt("%10.4g", e["mw"].get<double>()) + note);
  }
  out += "area by component (mm2), all chips\n";
  for (const auto& e : j["area_by_component_mm2"])
    row(&out, e["name"].get<std::string>(), fmt("%10.4g", e["mm2"].get<double>()));
  return out;
}

}  // namespace

int cmd_peak(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options("peak flags");
  options.add_options()("chip", po::value<std::string>()->required(),
                        "chip config or system config (.pbtxt)")(
      "json", po::value<std::string>(), "also write the datasheet as JSON to this file")(
      "reads", po::value<int>()->default_value(1000), "back-to-back reads per tile");
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_flags("peak", "--chip CONFIG|SYSTEM [--json FILE] [--reads N]", options, positional,
                   args, &vm, out)) {
    return 0;
  }
  const int reads = vm["reads"].as<int>();
  if (reads < 1 || reads > 1000000) throw UserError("--reads must be in 1..1000000");
  const std::string path = vm["chip"].as<std::string>();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (in && proto::looks_like_system_config(text.str())) {
    const proto::SystemConfig system = proto::load_system_config(path);
    const nlohmann::ordered_json j = system_peak(system, reads);
    out << format_system_peak(j);
    if (vm.count("json")) {
      proto::write_file_atomic(vm["json"].as<std::string>(), j.dump(2) + "\n");
      out << "datasheet written to " << vm["json"].as<std::string>() << "\n";
    }
    return 0;
  }
  const proto::ChipConfig chip = proto::load_chip_config(path);
  const proto::ChipDatasheet d = chip_datasheet(chip, reads, /*isolate=*/false);
  out << format_datasheet(d);
  if (vm.count("json")) {
    proto::write_file_atomic(vm["json"].as<std::string>(), datasheet_to_json(d));
    out << "datasheet written to " << vm["json"].as<std::string>() << "\n";
  }
  return 0;
}

}  // namespace aimc::sim

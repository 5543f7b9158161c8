// The chip datasheet as text and JSON.
#include "sim/report/datasheet.h"
#include "sim/report/text_lines.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

namespace aimc::sim {
namespace {

void row(std::string* out, const std::string& name, const std::string& value) {
  aligned_line(out, name, value, 26);
}

}  // namespace

std::string format_datasheet(const proto::ChipDatasheet& d) {
  std::string out = "peak of chip " + d.chip() + ": " + std::to_string(d.tiles()) +
                    " tiles, each doing " + std::to_string(d.reads_per_tile()) +
                    " back-to-back reads with its inputs in place (simulated " +
                    fmt("%.6g", d.time_ns()) + " ns)\n";
  row(&out, "TOPS", fmt("%.4g", d.tops()));
  row(&out, "TOPS/W", fmt("%.4g", d.tops_per_w()));
  row(&out, "TOPS/mm2", fmt("%.4g", d.tops_per_mm2()));
  row(&out, "power", fmt("%.4g W", d.power_w()));
  row(&out, "area", fmt("%.4g mm2", d.area_mm2()));
  out += "one tile (core)\n";
  row(&out, "TOPS", fmt("%.4g", d.tile_tops()));
  row(&out, "power", fmt("%.4g mW", d.tile_power_mw()));
  row(&out, "TOPS/W", fmt("%.4g", d.tile_tops_per_w()));
  row(&out, "area", fmt("%.4g mm2", d.tile_area_mm2()));
  row(&out, "TOPS/mm2", fmt("%.4g", d.tile_tops_per_mm2()));
  const proto::ReadInterval& r = d.read();
  out += "read interval\n";
  row(&out, "simulated",
      fmt("%.4g ns", r.simulated_ns()) + " (steady state " + fmt("%.4g ns", r.steady_ns()) +
          ", one idle read " + fmt("%.4g ns", r.latency_ns()) + ")");
  row(&out, "integration side",
      fmt("%.4g ns", r.integration_ns()) + " (" + std::to_string(r.integrations()) +
          " integrations)");
  row(&out, "conversion side",
      fmt("%.4g ns", r.conversion_ns()) + " (" + std::to_string(r.integrations()) + " x " +
          std::to_string(r.conversion_rounds()) + " rounds x " +
          fmt("%.4g ns", r.t_conversion_ns()) + ")");
  row(&out, "bound by", r.bound());
  out += "power by component (mW)         chip      per tile\n";
  for (const proto::PowerEntry& e : d.power_by_component()) {
    std::string per_tile;
    for (const proto::PowerEntry& t : d.tile_power())
      if (t.name() == e.name()) per_tile = fmt("%12.4g", t.mw());
    if (e.mw() > 0 || !per_tile.empty()) row(&out, e.name(), fmt("%10.4g", e.mw()) + per_tile);
  }
  out += "area by component (mm2)\n";
  for (const proto::AreaEntry& e : d.area_by_component()) {
    row(&out, e.name(),
        fmt("%10.4g", e.mm2()) + "  (" + fmt("%.6g", e.count()) + " x " +
            fmt("%.4g um2", e.each_um2()) + ")");
  }
  row(&out, "overhead", fmt("%10.4g", d.area_overhead_mm2()));
  row(&out, "other (fixed)", fmt("%10.4g", d.area_other_mm2()));
  return out;
}

std::string datasheet_to_json(const proto::ChipDatasheet& d) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(d, &out, o);
  return out;
}

}  // namespace aimc::sim

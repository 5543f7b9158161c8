// The system mapper: units (decoder blocks, lm_head on tiles) on consecutive chips, chosen by a
// dynamic programme over (units placed, chips used) that minimizes the slowest stage; a unit
// larger than one chip is split over the fewest consecutive chips that hold it.
#include "mapping/system_mapper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <tuple>

#include "arch/chip_links.h"
#include "mapping/estimate.h"
#include "mapping/mapper.h"
#include "mapping/number_text.h"
#include "mapping/system_units.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"

namespace aimc::mapping {

using detail::Mapper;
using detail::Part;
using detail::solve;
using detail::Stage;
using detail::sub_layer;
using detail::Transfer;
using detail::UnitPlacement;

namespace {

constexpr int kMaxChips = 65536;

}  // namespace

arch::ChipLinkSpec link_spec(const proto::SystemConfig& system) {
  arch::ChipLinkSpec spec;
  spec.chips = proto::chip_count(system);
  const proto::ChipLinkConfig& links = system.links();
  spec.topology = static_cast<arch::Topology>(links.topology());
  proto::topology_shape(links, spec.chips, &spec.mesh_x, &spec.mesh_y);
  spec.bandwidth_gbps = links.bandwidth_gbps();
  spec.latency_ns = links.latency_ns();
  spec.e_pj_per_bit = links.e_pj_per_bit();
  spec.route_via_ports = links.route_via_ports();
  return spec;
}

SplitKind parse_split_kind(const std::string& text) {
  if (text == "auto") return SplitKind::kAuto;
  if (text == "output") return SplitKind::kOutput;
  if (text == "input") return SplitKind::kInput;
  throw UserError("--split: unknown value '" + text + "' (known: auto, output, input)");
}

LmHeadPlacement parse_lm_head_placement(const std::string& text) {
  if (text == "chip") return LmHeadPlacement::kChipDefault;
  if (text == "tiles") return LmHeadPlacement::kTiles;
  if (text == "dram") return LmHeadPlacement::kDram;
  throw UserError("--lm-head: unknown value '" + text + "' (known: chip, tiles, dram)");
}

int chips_needed(const workloads::ModelConfig& model, const proto::SystemConfig& system,
                 const SystemMapOptions& options) {
  Mapper m(model, system, options);
  const std::vector<Stage> stages = solve(m, m.chips(), true);
  if (stages.empty()) return 0;
  return stages.back().first_chip + stages.back().chips;
}

int chips_needed(const workloads::ModelConfig& model, const proto::ChipConfig& chip,
                 const SystemMapOptions& options) {
  // Greedy next fit in unit order is optimal for the fewest identical chips: whole units fill a
  // chip in turn; a unit larger than a chip takes the fewest chips that hold it split.
  proto::SystemConfig probe = proto::system_of_chip(chip);
  Mapper one(model, probe, options);
  const long long cap = chip.tile().count();
  long long needed_split_max = 1;
  for (int u = 0; u < one.units(); ++u)
    needed_split_max = std::max(needed_split_max, (one.unit_tiles(u) + cap - 1) / cap);
  // Chips a split unit needs: try a system just large enough for the largest unit.
  int k_for_split = 1;
  if (needed_split_max > 1) {
    for (long long k = needed_split_max; k <= std::min<long long>(needed_split_max * 4, kMaxChips);
         ++k) {
      proto::SystemConfig s = probe;
      s.mutable_chips(0)->set_count(static_cast<uint32_t>(k));
      Mapper mk(model, s, options);
      bool all = true;
      for (int u = 0; u < mk.units() && all; ++u)
        if (mk.unit_tiles(u) > cap && mk.split_chips(u, 0) == 0) all = false;
      if (all) {
        k_for_split = static_cast<int>(k);
        break;
      }
    }
    if (k_for_split == 1) return 0;
  }
  proto::SystemConfig s = probe;
  s.mutable_chips(0)->set_count(static_cast<uint32_t>(k_for_split));
  Mapper mk(model, s, options);
  long long chips = 0, used = cap;  // `used` of the current chip; cap = none open
  for (int u = 0; u < mk.units(); ++u) {
    const long long t = mk.unit_tiles(u);
    if (t > cap) {
      chips += mk.split_chips(u, 0);
      used = cap;
    } else if (used + t <= cap) {
      used += t;
    } else {
      ++chips;
      used = t;
    }
    if (chips > kMaxChips) return 0;
  }
  return static_cast<int>(chips);
}

namespace {

// The UserError of a model that fits no partition over `max_chips` chips, naming how many chips
// like chip 0 would hold it.
[[noreturn]] void throw_does_not_fit(const workloads::ModelConfig& model,
                                     const proto::SystemConfig& system, const Mapper& m,
                                     int max_chips, const SystemMapOptions& options) {
  const proto::ChipConfig& chip0 = proto::chip_config(system, 0);
  std::ostringstream msg;
  long long tiles = 0;
  for (int u = 0; u < m.units(); ++u) tiles += m.unit_tiles(u);
  msg << "model '" << model.name << "' does not fit system '" << system.name() << "' (" << max_chips
      << " chip" << (max_chips == 1 ? "" : "s") << " used): it needs " << tiles << " tiles of "
      << chip0.tile().rows() << " x " << chip0.tile().cols() / chip0.tile().cells_per_weight()
      << " weights";
  const int need = chips_needed(model, chip0, options);
  if (need > 0) {
    msg << "; " << need << " chips like chip 0 ('" << chip0.name() << "', " << chip0.tile().count()
        << " tiles) would hold it (chips { count: " << need << " })";
  } else {
    msg << "; no number of chips like chip 0 holds it";
  }
  throw UserError(msg.str());
}

// What placing the stages gives: the load of every chip, the transfers between chips per token,
// and how many chips each layer is spread over.
struct StageLoads {
  std::vector<proto::ChipLoad> loads;
  std::vector<Transfer> transfers;
  std::map<int, int> chips_of_layer;
};

// Every chip's load before placing: nothing placed, its tiles available.
std::vector<proto::ChipLoad> empty_loads(const Mapper& m) {
  std::vector<proto::ChipLoad> loads(m.chips());
  for (int c = 0; c < m.chips(); ++c) {
    loads[c].set_chip(c);
    loads[c].set_stage(0);
    loads[c].set_tiles_used(0);
    loads[c].set_tiles_available(static_cast<uint32_t>(m.cap(c)));
    loads[c].set_first_block(-1);
    loads[c].set_last_block(-1);
    loads[c].set_lm_head(false);
    loads[c].set_layer_latency_ns(0);
  }
  return loads;
}

// The parts of stage `st`: on one chip every layer of its units whole; over several chips the
// split of its one unit, whose transfers are added to `transfers`.
std::vector<Part> stage_parts(Mapper& m, const Stage& st, std::vector<Transfer>* transfers) {
  const std::vector<LayerPartition>& layers = m.layers();
  std::vector<Part> parts;
  if (st.chips == 1) {
    for (int u = st.first_unit; u < st.end_unit; ++u) {
      for (int l : m.unit_layers(u)) {
        parts.push_back(Part{l,
                             st.first_chip,
                             {0, layers[l].row_tiles()},
                             {0, layers[l].col_tiles()},
                             layers[l].block_count()});
      }
    }
  } else {
    const UnitPlacement p = m.split(st.first_unit, st.first_chip, st.chips);
    parts = p.parts;
    transfers->insert(transfers->end(), p.transfers.begin(), p.transfers.end());
  }
  return parts;
}

// Adds `part` of stage `s` to its chip's load and to the plan's parts.
void add_part(const Mapper& m, const proto::SystemConfig& system, const Part& part, size_t s,
              StageLoads* out, proto::SystemPlan* plan) {
  const std::vector<LayerPartition>& layers = m.layers();
  proto::ChipLoad& load = out->loads[part.chip];
  load.set_stage(static_cast<uint32_t>(s));
  load.set_tiles_used(load.tiles_used() + part.tiles);
  const int b = layers[part.layer].block;
  if (b >= 0) {
    if (load.first_block() < 0 || b < load.first_block()) load.set_first_block(b);
    load.set_last_block(std::max(load.last_block(), b));
  } else {
    load.set_lm_head(true);
  }
  load.set_layer_latency_ns(
      load.layer_latency_ns() +
      layer_latency_without_hops_ns(proto::chip_config(system, part.chip),
                                    sub_layer(layers[part.layer], part.rows, part.cols)));
  ++out->chips_of_layer[part.layer];
  proto::LayerPart* lp = plan->add_parts();
  lp->set_layer(layers[part.layer].name);
  lp->set_layer_index(static_cast<uint32_t>(part.layer));
  lp->set_block(b);
  lp->set_chip(static_cast<uint32_t>(part.chip));
  lp->set_row_tile_begin(part.rows.first);
  lp->set_row_tile_end(part.rows.second);
  lp->set_col_tile_begin(part.cols.first);
  lp->set_col_tile_end(part.cols.second);
  lp->set_tiles(static_cast<uint32_t>(part.tiles));
}

// Places every stage's parts on its chips; the hidden state goes from each stage's first chip
// on to the next stage's first chip.
StageLoads place_stages(Mapper& m, const std::vector<Stage>& stages,
                        const workloads::ModelConfig& model, const proto::SystemConfig& system,
                        proto::SystemPlan* plan) {
  const std::vector<LayerPartition>& layers = m.layers();
  StageLoads out;
  out.loads = empty_loads(m);
  for (size_t s = 0; s < stages.size(); ++s) {
    const Stage& st = stages[s];
    for (const Part& part : stage_parts(m, st, &out.transfers))
      add_part(m, system, part, s, &out, plan);
    for (int c = st.first_chip; c < st.first_chip + st.chips; ++c)
      out.loads[c].set_stage(static_cast<uint32_t>(s));
    if (s + 1 < stages.size()) {
      const int last_block = layers[m.unit_layers(st.end_unit - 1).front()].block;
      out.transfers.push_back(
          {st.first_chip, stages[s + 1].first_chip, model.hidden_size * m.act_bytes(st.first_chip),
           last_block >= 0 ? "hidden state after block " + std::to_string(last_block)
                           : "hidden state"});
    }
  }
  return out;
}

// The link traffic per token of the transfers: payload, byte-hops, bytes per link, and the
// unloaded latency of the hidden states between stages.
struct LinkTraffic {
  double payload = 0, byte_hops = 0, inter_stage_ns = 0;
  std::map<int, double> link_bytes;
};

LinkTraffic add_transfers(const std::vector<Transfer>& transfers, arch::ChipLinks& links,
                          proto::SystemPlan* plan) {
  LinkTraffic t;
  for (const Transfer& tr : transfers) {
    proto::LinkTransfer* pt = plan->add_transfers();
    pt->set_from_chip(tr.from);
    pt->set_to_chip(tr.to);
    pt->set_bytes_per_token(tr.bytes);
    const std::vector<int> route = links.route(tr.from, tr.to);
    pt->set_hops(static_cast<uint32_t>(route.size()));
    pt->set_what(tr.what);
    t.payload += tr.bytes;
    t.byte_hops += tr.bytes * route.size();
    for (int l : route) t.link_bytes[l] += tr.bytes;
    if (tr.what.rfind("hidden state", 0) == 0)
      t.inter_stage_ns += links.unloaded_ps(static_cast<int>(route.size()), tr.bytes * 8) / 1000.0;
  }
  return t;
}

// The stage with the largest latency, as "stage S (chip C)" or "stage S (chips C-D)".
std::string stage_name(const Stage& st, size_t s) {
  return "stage " + std::to_string(s) + " (chip" + (st.chips > 1 ? "s " : " ") +
         std::to_string(st.first_chip) +
         (st.chips > 1 ? "-" + std::to_string(st.first_chip + st.chips - 1) : "") + ")";
}

// The estimate: per stage latency, the busiest link, the DRAM stream of a digital lm_head, the
// host link's outgoing direction (one 32-bit id per generated token); the slowest of them
// bounds the pipeline's tokens per second.
void set_estimate(const std::vector<Stage>& stages, const LinkTraffic& traffic,
                  const arch::ChipLinks& links, const proto::SystemConfig& system, double dram_ns,
                  int head_chip, proto::SystemPlanEstimate* est) {
  const double link_gbps = system.links().bandwidth_gbps();
  double slowest = 0, token = 0;
  std::string bottleneck;
  for (size_t s = 0; s < stages.size(); ++s) {
    est->add_stage_latency_ns(stages[s].latency_ns);
    token += stages[s].latency_ns;
    if (stages[s].latency_ns > slowest) {
      slowest = stages[s].latency_ns;
      bottleneck = stage_name(stages[s], s);
    }
  }
  double busiest = 0;
  int busiest_link = -1;
  for (const auto& [l, bytes] : traffic.link_bytes) {
    const double ns = bytes * 8 / (link_gbps * 8);
    if (ns > busiest) {
      busiest = ns;
      busiest_link = l;
    }
  }
  est->set_busiest_link_ns_per_token(busiest);
  if (busiest > slowest) {
    slowest = busiest;
    bottleneck = "link " + links.link_name(busiest_link);
  }
  est->set_lm_head_dram_ns_per_token(dram_ns);
  if (dram_ns > slowest) {
    slowest = dram_ns;
    bottleneck = "DRAM of chip " + std::to_string(head_chip) + " (lm_head weights streamed)";
  }
  // Bytes over GB/s is ns.
  const double host_ns = system.host().enabled() ? 4.0 / system.host().bandwidth_gbps() : 0;
  est->set_host_link_ns_per_token(host_ns);
  if (host_ns > slowest) {
    slowest = host_ns;
    bottleneck = "host link chip 0 -> host";
  }
  est->set_token_latency_ns(token + traffic.inter_stage_ns + dram_ns);
  est->set_pipeline_tokens_per_s(slowest > 0 ? 1e9 / slowest : 0);
  est->set_bottleneck(bottleneck);
}

}  // namespace

proto::SystemPlan make_system_plan(const workloads::ModelConfig& model,
                                   const proto::SystemConfig& system,
                                   const SystemMapOptions& options) {
  Mapper m(model, system, options);
  const int max_chips = options.chips > 0 ? std::min(options.chips, m.chips()) : m.chips();
  const std::vector<Stage> stages = solve(m, max_chips, options.chips < 0);
  if (stages.empty()) throw_does_not_fit(model, system, m, max_chips, options);

  proto::SystemPlan plan;
  plan.set_model(model.name);
  plan.set_system(system.name());
  plan.set_split(options.split == SplitKind::kAuto     ? "auto"
                 : options.split == SplitKind::kOutput ? "output"
                                                       : "input");
  StageLoads placed = place_stages(m, stages, model, system, &plan);
  // A digital lm_head runs on the last stage's first chip; its weights stream from that DRAM.
  const int head_chip = stages.back().first_chip;
  double dram_ns = 0;
  if (!m.lm_on_tiles() && m.head_layer() >= 0) {
    placed.loads[head_chip].set_lm_head(true);
    const proto::ChipConfig& hc = proto::chip_config(system, head_chip);
    const LayerPartition& head = m.layers()[m.head_layer()];
    const double bytes = static_cast<double>(head.in) * head.out * hc.dpu().weight_bits() / 8.0;
    dram_ns = bytes / hc.memory().dram_bandwidth_gbps() + hc.memory().dram_latency_ns();
  }
  for (int c = 0; c < m.chips(); ++c) *plan.add_chips() = placed.loads[c];
  const LinkTraffic traffic = add_transfers(placed.transfers, m.links(), &plan);

  proto::SystemPlanSummary* sum = plan.mutable_summary();
  sum->set_chips_used(static_cast<uint32_t>(stages.back().first_chip + stages.back().chips));
  sum->set_chips_available(static_cast<uint32_t>(m.chips()));
  sum->set_stages(static_cast<uint32_t>(stages.size()));
  uint64_t tiles = 0;
  for (const auto& load : placed.loads) tiles += load.tiles_used();
  sum->set_tiles_used(tiles);
  uint32_t split_layers = 0;
  for (const auto& [layer, n] : placed.chips_of_layer) split_layers += n > 1;
  sum->set_split_layers(split_layers);
  sum->set_link_bytes_per_token(traffic.payload);
  sum->set_link_byte_hops_per_token(traffic.byte_hops);
  sum->set_lm_head(m.lm_on_tiles() ? "tiles" : "dram");
  set_estimate(stages, traffic, m.links(), system, dram_ns, head_chip, plan.mutable_estimate());
  return plan;
}

SystemChipPlans make_chip_plans(const workloads::ModelConfig& model,
                                const proto::SystemConfig& system, const proto::SystemPlan& plan,
                                const std::string& strategy) {
  const proto::ChipConfig& chip0 = proto::chip_config(system, 0);
  const bool lm_on_tiles = plan.summary().lm_head() == "tiles";
  const std::vector<LayerPartition> layers = partition_model(model, tile_shape(chip0), lm_on_tiles);
  SystemChipPlans out;
  out.layers.set_model(model.name);
  out.layers.set_chip(system.name());
  out.layers.set_strategy(strategy);
  for (const LayerPartition& l : layers) {
    proto::LayerPlacement* lp = out.layers.add_layers();
    lp->set_name(l.name);
    lp->set_block(l.block);
    lp->set_role(l.role);
    lp->set_in_features(static_cast<uint32_t>(l.in));
    lp->set_out_features(static_cast<uint32_t>(l.out));
    lp->set_on_tiles(l.on_tiles);
    lp->set_replicas(1);
    lp->set_row_tiles(l.row_tiles());
    lp->set_col_tiles(l.col_tiles());
  }
  const int chips = static_cast<int>(plan.summary().chips_used());
  std::vector<std::vector<LayerPartition>> held(chips);
  out.block_chip.assign(model.num_layers, chips);
  out.head_chip = chips;
  for (const proto::LayerPart& part : plan.parts()) {
    const LayerPartition& l = layers.at(part.layer_index());
    const int chip = static_cast<int>(part.chip());
    held.at(chip).push_back(sub_layer(l, {part.row_tile_begin(), part.row_tile_end()},
                                      {part.col_tile_begin(), part.col_tile_end()}));
    int& home = part.block() >= 0 ? out.block_chip.at(part.block()) : out.head_chip;
    home = std::min(home, chip);
  }
  // lm_head on the DPUs: on the chip the plan names, its weights streamed from that DRAM.
  for (const proto::ChipLoad& load : plan.chips()) {
    if (!lm_on_tiles && load.lm_head() && static_cast<int>(load.chip()) < chips) {
      out.head_chip = static_cast<int>(load.chip());
      for (const LayerPartition& l : layers)
        if (l.block < 0) held[load.chip()].push_back(l);
    }
  }
  for (int& home : out.block_chip)
    if (home >= chips) throw std::logic_error("system plan: a decoder block has no part");
  if (out.head_chip >= chips) out.head_chip = out.block_chip.empty() ? 0 : out.block_chip.back();
  for (int c = 0; c < chips; ++c) {
    if (held[c].empty()) {
      out.chips.emplace_back();
      out.chips.back().set_model(model.name);
      out.chips.back().set_chip(proto::chip_config(system, c).name());
      continue;
    }
    out.chips.push_back(
        make_part_plan(model.name, proto::chip_config(system, c), strategy, std::move(held[c])));
  }
  return out;
}

std::string format_system_plan_summary(const proto::SystemPlan& plan) {
  std::ostringstream out;
  const auto& s = plan.summary();
  const auto& e = plan.estimate();
  out << "model '" << plan.model() << "' on system '" << plan.system() << "': " << s.chips_used()
      << " of " << s.chips_available() << " chips in " << s.stages() << " pipeline stage"
      << (s.stages() == 1 ? "" : "s") << ", " << s.tiles_used() << " tiles, " << s.split_layers()
      << " layer" << (s.split_layers() == 1 ? "" : "s") << " split over chips, lm_head on "
      << (s.lm_head() == "tiles" ? "tiles" : "DPUs (DRAM)") << "\n";
  out << "  chip  stage  tiles used      blocks    layer latency us\n";
  for (const proto::ChipLoad& c : plan.chips()) {
    if (c.tiles_used() == 0 && !c.lm_head()) continue;
    std::string blocks =
        c.first_block() < 0 ? "-"
        : c.first_block() == c.last_block()
            ? std::to_string(c.first_block())
            : std::to_string(c.first_block()) + "-" + std::to_string(c.last_block());
    if (c.lm_head()) blocks += blocks == "-" ? "" : " ", blocks += "lm_head";
    char line[160];
    std::snprintf(line, sizeof line, "  %4u  %5u  %5u/%-5u  %12s  %18s\n", c.chip(), c.stage(),
                  c.tiles_used(), c.tiles_available(), blocks.c_str(),
                  fixed(c.layer_latency_ns() / 1000, 2).c_str());
    out << line;
  }
  out << "  link bytes per token: " << sci(s.link_bytes_per_token()) << " (x hops "
      << sci(s.link_byte_hops_per_token()) << ") in " << plan.transfers_size() << " transfers\n";
  out << "  token latency (batch 1): " << fixed(e.token_latency_ns() / 1000, 2)
      << " us; pipeline throughput: " << sci(e.pipeline_tokens_per_s()) << " tokens/s, bottleneck "
      << e.bottleneck() << "\n";
  if (e.host_link_ns_per_token() > 0)
    out << "  host link: " << fixed(e.host_link_ns_per_token(), 3)
        << " ns per token out (a 32-bit id each; at most " << sci(1e9 / e.host_link_ns_per_token())
        << " tokens/s)\n";
  return out.str();
}

}  // namespace aimc::mapping

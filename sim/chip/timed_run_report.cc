// The report of a timed run: tokens and phases, energy by phase, component and layer,
// utilization, programming, action totals, statistics, mapping, speed, and a system's chips and
// links.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "arch/energy_model.h"
#include "sim/chip/chip_specs.h"
#include "sim/chip/timed_run.h"

namespace aimc::sim::detail {
namespace {

void add_phase(proto::PhaseEnergy* pe, const std::vector<std::string>& names,
               const std::vector<arch::ActionCounts>& ledger, const arch::EnergySpec& es,
               const arch::LeakageSpec& ls, double time_ps, int tokens, double ops,
               const arch::GatingUse& gating) {
  arch::ActionCounts total;
  for (const arch::ActionCounts& c : ledger) total += c;
  const double time_s = time_ps * 1e-12;
  const arch::EnergyBreakdown b = arch::price(total, es, ls, time_s, gating);
  const double per = tokens > 0 ? 1.0 / tokens : 0;
  pe->set_tokens(tokens);
  pe->set_time_ns(time_ps * 1e-3);
  pe->set_total_nj_per_token(b.total_pj() * 1e-3 * per);
  for (const arch::EnergyItem& i : b.items) {
    proto::EnergyEntry* e = pe->add_by_component();
    e->set_name(i.name);
    e->set_nj_per_token(i.pj * 1e-3 * per);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    proto::EnergyEntry* e = pe->add_by_layer();
    e->set_name(names[i]);
    e->set_nj_per_token(arch::dynamic_energy_pj(ledger[i], es) * 1e-3 * per);
  }
  pe->set_ops_per_token(ops * per);
  pe->set_tops(time_s > 0 ? ops / time_s * 1e-12 : 0);
  pe->set_tops_per_w(b.total_pj() > 0 ? ops / (b.total_pj() * 1e-12) * 1e-12 : 0);
}

// Each kind's utilization into the Utilization field its registry line names.
void set_utilization(const std::vector<std::pair<std::string, double>>& values,
                     proto::Utilization* out) {
  const google::protobuf::Descriptor* d = out->GetDescriptor();
  for (const auto& [field, value] : values) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(field);
    if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_DOUBLE)
      throw std::logic_error("component registry: Utilization has no double field '" + field + "'");
    out->GetReflection()->SetDouble(out, f, value);
  }
}

// "stage 3 (chip 3): " on a system, "" on one chip.
std::string chip_label(const Run& run, int chip) {
  if (!run.multi()) return "";
  const int stage = run.system_plan && chip < run.system_plan->chips_size()
                        ? static_cast<int>(run.system_plan->chips(chip).stage())
                        : chip;
  return "stage " + std::to_string(stage) + " (chip " + std::to_string(chip) + "): ";
}

}  // namespace

// The component, chip link or host link direction whose busy time grew most since the decode
// phase started (batch) or since the start, over `window_ps`; its busy fraction.
std::pair<std::string, double> busiest(const Run& run, double window_ps, bool since_decode) {
  std::pair<std::string, double> top{"none", 0};
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const bool have = since_decode && c < run.chip_busy_at_decode.size();
    const auto b =
        run.chips[c]->busiest(window_ps, have ? run.chip_busy_at_decode[c] : std::vector<double>{});
    if (b.second > top.second) top = {chip_label(run, static_cast<int>(c)) + b.first, b.second};
  }
  if (run.links && window_ps > 0) {
    for (int l = 0; l < run.links->link_count(); ++l) {
      const double before = since_decode && l < static_cast<int>(run.link_busy_at_decode.size())
                                ? run.link_busy_at_decode[l]
                                : 0;
      const double u = (run.links->link_busy_ps(l) - before) / window_ps;
      if (u > top.second) top = {"link " + run.links->link_name(l), u};
    }
  }
  // The host link's directions, as the chip links: serialization time over the window.
  const arch::LinkChannel* host[2] = {run.ctl->host_in(), run.ctl->host_out()};
  static const char* const kHostName[2] = {"host link host -> chip 0", "host link chip 0 -> host"};
  for (int d = 0; d < 2 && window_ps > 0; ++d) {
    if (!host[d]) continue;
    const double before = since_decode ? run.host_busy_at_decode[d] : 0;
    const double u = (host[d]->busy_ps() - before) / window_ps;
    if (u > top.second) top = {kHostName[d], u};
  }
  return top;
}

namespace {

Phases report_tokens(const Run& run, proto::SimReport* r) {
  const SimOptions& options = *run.options;
  const Controller& ctl = *run.ctl;
  Phases ph;
  // Request mode: these fields describe request 0.
  ph.P = run.request_mode() ? options.requests[0].prompt_tokens : options.prompt_tokens;
  ph.D = run.request_mode() ? options.requests[0].decode_tokens : options.decode_tokens;
  ph.B = options.batch;
  ph.N = options.prompt_tokens + options.decode_tokens;
  r->set_prompt_tokens(ph.P);
  r->set_decode_tokens(ph.D);
  const std::vector<TokenRecord>& tok = ctl.tokens();
  ph.ttft = tok[ph.P - 1].end;  // of sequence 0
  ph.total = ctl.end_time();
  // The prefill phase ends with the batch's last prefill (= ttft for one sequence).
  ph.prefill_end = ph.ttft;
  for (int seq = 1; seq < ph.B; ++seq)
    ph.prefill_end = std::max(ph.prefill_end, tok[seq * ph.N + ph.P - 1].end);
  if (run.request_mode()) ph.prefill_end = 0;  // phases interleave: all leakage goes to decode
  ph.window_start = ph.B > 1 ? ph.prefill_end : 0;
  r->set_ttft_ns(ph.ttft * 1e-3);
  r->set_total_time_ns(ph.total * 1e-3);
  Ps prev = ph.ttft;
  double sum = 0;
  for (int k = 0; k < ph.D; ++k) {
    const double lat = (tok[ph.P + k].end - prev) * 1e-3;
    r->add_decode_token_latency_ns(lat);
    sum += lat;
    prev = tok[ph.P + k].end;
  }
  if (ph.D > 0) {
    r->set_decode_latency_ns(sum / ph.D);
    r->set_decode_tokens_per_s(1e9 / (sum / ph.D));
  }
  for (size_t t = 0, seq = 0; t < tok.size(); ++t) {
    while (seq + 1 < static_cast<size_t>(ctl.sequences()) &&
           static_cast<int>(t) >= ctl.sequence_first_token(static_cast<int>(seq) + 1))
      ++seq;
    proto::TokenTiming* tt = r->add_tokens();
    tt->set_position(static_cast<uint32_t>(t - ctl.sequence_first_token(static_cast<int>(seq))));
    if (ctl.sequences() > 1) tt->set_sequence(static_cast<uint32_t>(seq));
    tt->set_phase(tok[t].decode ? "decode" : "prefill");
    tt->set_start_ns(tok[t].start * 1e-3);
    tt->set_end_ns(tok[t].end * 1e-3);
  }
  return ph;
}

// Power gating of one chip (tiles, ADC banks, routers): off intervals split at the end of
// prefill; a wake-up belongs to the phase in which its interval ends.
void chip_gating(Chip* chip, const Phases& ph, arch::GatingUse gated[2]) {
  chip->close_gating(ph.total, ph.prefill_end, gated);
}

}  // namespace

arch::LeakageSpec chip_leakage(const Run& run, int chip) {
  const proto::MappingPlan& plan = *run.plans[chip];
  return leakage_spec(run.config(chip), plan.has_summary()
                                            ? static_cast<long long>(plan.summary().tiles_used())
                                            : (run.multi() ? 0 : -1));
}

namespace {

// Tokens of each phase over all sequences (request mode: summed over the requests).
std::pair<int, int> phase_tokens(const Run& run, const Phases& ph) {
  if (!run.request_mode()) return {ph.B * ph.P, ph.B * ph.D};
  int prefill = 0, decode = 0;
  for (const auto& q : run.options->requests) {
    decode += q.decode_tokens;
    prefill += q.prompt_tokens;
  }
  return {prefill, decode};
}

// A system's phase energy: each chip's counts priced with its own energies and leakage, the
// items summed by name, plus the chip-to-chip links (bits x hops x e_pj_per_bit) and their
// ports' static power; by layer, each ledger priced with its home chip's energies.
void add_system_phase(const Run& run, int phase, double time_ps, int tokens,
                      const std::vector<std::array<arch::GatingUse, 2>>& gating,
                      proto::PhaseEnergy* pe) {
  const double time_s = time_ps * 1e-12;
  std::vector<arch::EnergyItem> items;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    const arch::EnergyBreakdown b =
        arch::price(run.ctl->chip_counts(phase, chip), energy_spec(run.config(chip)),
                    chip_leakage(run, chip), time_s, gating[c][phase]);
    for (const arch::EnergyItem& i : b.items) {
      auto it = std::find_if(items.begin(), items.end(),
                             [&](const arch::EnergyItem& x) { return x.name == i.name; });
      if (it == items.end())
        items.push_back(i);
      else
        it->pj += i.pj;
    }
  }
  const proto::ChipLinkConfig& lc = run.system->links();
  items.push_back({"chip_links", run.ctl->link_bit_hops(phase) * lc.e_pj_per_bit()});
  items.push_back({"chip_link_ports", lc.p_port_static_mw() * 1e-3 *
                                          static_cast<double>(run.chips.size()) * time_s * 1e12});
  double total = 0;
  for (const arch::EnergyItem& i : items) total += i.pj;
  const double per = tokens > 0 ? 1.0 / tokens : 0;
  const double ops = run.ctl->ops(phase);
  pe->set_tokens(tokens);
  pe->set_time_ns(time_ps * 1e-3);
  pe->set_total_nj_per_token(total * 1e-3 * per);
  for (const arch::EnergyItem& i : items) {
    proto::EnergyEntry* e = pe->add_by_component();
    e->set_name(i.name);
    e->set_nj_per_token(i.pj * 1e-3 * per);
  }
  const std::vector<arch::ActionCounts>& ledger = run.ctl->ledger(phase);
  for (size_t i = 0; i < ledger.size(); ++i) {
    proto::EnergyEntry* e = pe->add_by_layer();
    e->set_name(run.ctl->ledger_names()[i]);
    const arch::EnergySpec es = energy_spec(run.config(run.ctl->ledger_chip(static_cast<int>(i))));
    e->set_nj_per_token(arch::dynamic_energy_pj(ledger[i], es) * 1e-3 * per);
  }
  pe->set_ops_per_token(ops * per);
  pe->set_tops(time_s > 0 ? ops / time_s * 1e-12 : 0);
  pe->set_tops_per_w(total > 0 ? ops / (total * 1e-12) * 1e-12 : 0);
}

// The host link's energy (bits x e_pj_per_bit) as an entry of a phase's energy by component.
void add_host_energy(const Run& run, int phase, proto::PhaseEnergy* pe) {
  if (!run.ctl->host_in()) return;
  const double pj = run.ctl->host_bits(phase) * run.options->host.e_pj_per_bit;
  const double per = pe->tokens() > 0 ? 1.0 / pe->tokens() : 0;
  const double before_pj = pe->tokens() > 0 ? pe->total_nj_per_token() * 1e3 * pe->tokens() : 0;
  proto::EnergyEntry* e = pe->add_by_component();
  e->set_name("host_link");
  e->set_nj_per_token(pj * 1e-3 * per);
  pe->set_total_nj_per_token(pe->total_nj_per_token() + pj * 1e-3 * per);
  const double total_pj = before_pj + pj;
  pe->set_tops_per_w(total_pj > 0 ? run.ctl->ops(phase) / (total_pj * 1e-12) * 1e-12 : 0);
}

void report_host_link(const Run& run, const Phases& ph, proto::SimReport* r) {
  const Controller& ctl = *run.ctl;
  if (!ctl.host_in()) return;
  proto::HostLinkUsage* h = r->mutable_host_link();
  const double total = static_cast<double>(ph.total);
  h->set_bytes_in(ctl.host_in()->bits() / 8);
  h->set_bytes_out(ctl.host_out()->bits() / 8);
  h->set_utilization_in(total > 0 ? ctl.host_in()->busy_ps() / total : 0);
  h->set_utilization_out(total > 0 ? ctl.host_out()->busy_ps() / total : 0);
  h->set_energy_nj((ctl.host_bits(0) + ctl.host_bits(1)) * run.options->host.e_pj_per_bit * 1e-3);
  h->set_transfers_in(static_cast<uint64_t>(ctl.host_in()->transfers()));
  h->set_transfers_out(static_cast<uint64_t>(ctl.host_out()->transfers()));
}

void report_energy(const Run& run, const Phases& ph, proto::SimReport* r) {
  const Controller& ctl = *run.ctl;
  std::vector<std::array<arch::GatingUse, 2>> gating(run.chips.size());
  for (size_t c = 0; c < run.chips.size(); ++c) chip_gating(run.chips[c], ph, gating[c].data());
  const auto [prefill_tokens, decode_tokens] = phase_tokens(run, ph);
  // Request mode gives the prefill phase no time (no leakage): phases interleave.
  const double prefill_ps = run.request_mode() ? 0 : static_cast<double>(ph.prefill_end);
  const double decode_ps = static_cast<double>(ph.total - ph.prefill_end);
  if (run.multi()) {
    add_system_phase(run, 0, prefill_ps, prefill_tokens, gating, r->mutable_prefill());
    add_system_phase(run, 1, decode_ps, decode_tokens, gating, r->mutable_decode());
  } else {
    const arch::EnergySpec es = energy_spec(run.config());
    const arch::LeakageSpec ls = chip_leakage(run, 0);
    add_phase(r->mutable_prefill(), ctl.ledger_names(), ctl.ledger(0), es, ls, prefill_ps,
              prefill_tokens, ctl.ops(0), gating[0][0]);
    add_phase(r->mutable_decode(), ctl.ledger_names(), ctl.ledger(1), es, ls, decode_ps,
              decode_tokens, ctl.ops(1), gating[0][1]);
  }
  add_host_energy(run, 0, r->mutable_prefill());
  add_host_energy(run, 1, r->mutable_decode());
  report_host_link(run, ph, r);
  if (!run.multi()) {
    set_utilization(run.chips[0]->utilization(static_cast<double>(ph.total)),
                    r->mutable_utilization());
    return;
  }
  // A system's utilization of each kind: busy time over time x units of all chips.
  std::vector<std::pair<std::string, double>> busy, units;
  for (const Chip* chip : run.chips) {
    const auto b = chip->busy_and_units();
    if (busy.empty()) {
      for (const auto& [field, bu] : b) {
        busy.push_back({field, 0});
        units.push_back({field, 0});
      }
    }
    for (size_t k = 0; k < b.size(); ++k) {
      busy[k].second += b[k].second.first;
      units[k].second += b[k].second.second;
    }
  }
  for (size_t k = 0; k < busy.size(); ++k)
    busy[k].second = ph.total > 0 && units[k].second > 0
                         ? busy[k].second / (static_cast<double>(ph.total) * units[k].second)
                         : 0;
  set_utilization(busy, r->mutable_utilization());
}

// Programming: every block's cells, the tiles of every chip in parallel, row by row.
void report_programming(const Run& run, proto::SimReport* r) {
  double cells = 0, time_s = 0, energy_pj = 0;
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const proto::ChipConfig& config = run.config(static_cast<int>(c));
    double chip_cells = 0;
    std::vector<double> rows(config.tile().count(), 0);
    for (const proto::BlockPlacement& b : run.plans[c]->blocks()) {
      const double nr = b.row_end() - b.row_begin(), nc = b.col_end() - b.col_begin();
      chip_cells += nr * nc * config.tile().cells_per_weight();
      if (b.tile() < rows.size()) rows[b.tile()] += nr;
    }
    const double max_rows = rows.empty() ? 0 : *std::max_element(rows.begin(), rows.end());
    arch::ActionCounts pc;
    pc.cells_programmed = chip_cells;
    cells += chip_cells;
    time_s = std::max(time_s, max_rows * config.tile().t_program_row_us() * 1e-6);
    energy_pj += arch::dynamic_energy_pj(pc, energy_spec(config));
  }
  proto::ProgrammingCost* p = r->mutable_programming();
  p->set_cells(cells);
  p->set_time_s(time_s);
  p->set_energy_uj(energy_pj * 1e-6);
}

void report_actions(const Run& run, proto::SimReport* r) {
  arch::ActionCounts pre, dec;
  for (const auto& c : run.ctl->ledger(0)) pre += c;
  for (const auto& c : run.ctl->ledger(1)) dec += c;
  std::vector<std::pair<std::string, std::string>> names;
  std::vector<double> pv, dv;
  pre.for_each([&](const std::string& n, const std::string& u, double v) {
    names.push_back({n, u});
    pv.push_back(v);
  });
  dec.for_each([&](const std::string&, const std::string&, double v) { dv.push_back(v); });
  for (size_t i = 0; i < names.size(); ++i) {
    proto::ActionTotal* a = r->add_actions();
    a->set_name(names[i].first);
    a->set_unit(names[i].second);
    a->set_prefill(pv[i]);
    a->set_decode(dv[i]);
  }
}

void add_statistic(const std::string& name, const std::string& unit, double value,
                   proto::SimReport* r) {
  proto::Statistic* st = r->add_statistics();
  st->set_name(name);
  st->set_unit(unit);
  st->set_value(value);
}

void report_statistics(const Run& run, const Phases& ph, proto::SimReport* r) {
  for (const Chip* chip : run.chips)
    for (const Stat& s : chip->statistics(static_cast<double>(ph.total)))
      add_statistic(s.name, s.unit, s.value, r);
  if (run.trace) {
    add_statistic("trace.spans_written", "count", static_cast<double>(run.trace->spans()), r);
    add_statistic("trace.spans_dropped", "count", static_cast<double>(run.trace->dropped()), r);
  }
  add_statistic("controller.activations", "count", static_cast<double>(run.ctl->activations()), r);
  add_statistic("controller.replayed_part_reads", "count",
                static_cast<double>(run.ctl->replayed_part_reads()), r);
}

void report_mapping_and_speed(const Run& run, const Phases& ph, proto::SimReport* r) {
  *r->mutable_resolved_config() = run.config();
  proto::MappingSummary* ms = r->mutable_mapping();
  ms->set_strategy(run.layers->strategy());
  if (!run.multi()) {
    *ms->mutable_summary() = run.plans[0]->summary();
  } else {
    proto::PlanSummary* sum = ms->mutable_summary();
    for (const proto::MappingPlan* p : run.plans) {
      sum->set_tiles_used(sum->tiles_used() + p->summary().tiles_used());
      sum->set_tiles_available(sum->tiles_available() + p->summary().tiles_available());
      sum->set_blocks(sum->blocks() + p->summary().blocks());
      sum->set_tiles_needed(sum->tiles_needed() + p->summary().tiles_needed());
      sum->set_weights_on_tiles(sum->weights_on_tiles() + p->summary().weights_on_tiles());
    }
    sum->set_stages(run.system_plan->summary().stages());
  }
  for (const proto::LayerPlacement& l : run.layers->layers())
    l.on_tiles() ? ms->set_layers_on_tiles(ms->layers_on_tiles() + 1)
                 : ms->set_layers_on_dpus(ms->layers_on_dpus() + 1);
  double reads = run.ctl->memo_reads();
  for (const Chip* chip : run.chips) reads += chip->tile_reads();
  const int D = ph.D;
  r->set_tile_reads(reads);
  r->set_wall_s(run.wall_s);
  r->set_wall_s_per_decode_token(D > 0 ? run.decode_wall_s / D : 0);
  r->set_cpu_s_per_decode_token(D > 0 && run.ctl->decode_cpu_start_s() > 0
                                    ? (run.cpu_end_s - run.ctl->decode_cpu_start_s()) / D
                                    : 0);
  r->set_tile_reads_per_wall_s(run.wall_s > 0 ? reads / run.wall_s : 0);
}

// Per chip and per link figures of a system run, and its bottleneck.
void report_system(const Run& run, const Phases& ph, proto::SimReport* r) {
  proto::SystemReport* sr = r->mutable_system();
  sr->set_system(run.system->name());
  sr->set_chips(static_cast<uint32_t>(run.chips.size()));
  sr->set_stages(run.system_plan->summary().stages());
  const double total = static_cast<double>(ph.total);
  const bool since_decode = ph.B > 1;
  const double window = static_cast<double>(ph.total - ph.window_start);
  for (size_t c = 0; c < run.chips.size(); ++c) {
    const int chip = static_cast<int>(c);
    proto::ChipUsage* u = sr->add_chip_usage();
    u->set_chip(static_cast<uint32_t>(chip));
    u->set_name(run.config(chip).name());
    u->set_stage(run.system_plan->chips(chip).stage());
    u->set_tiles_used(run.plans[c]->summary().tiles_used());
    set_utilization(run.chips[c]->utilization(total), u->mutable_utilization());
    arch::ActionCounts all = run.ctl->chip_counts(0, chip);
    all += run.ctl->chip_counts(1, chip);
    const arch::EnergySpec es = energy_spec(run.config(chip));
    const double dynamic = arch::dynamic_energy_pj(all, es);
    const double whole = arch::price(all, es, chip_leakage(run, chip), total * 1e-12).total_pj();
    u->set_dynamic_nj(dynamic * 1e-3);
    u->set_leakage_nj((whole - dynamic) * 1e-3);
    const auto b = run.chips[c]->busiest(window, since_decode && c < run.chip_busy_at_decode.size()
                                                     ? run.chip_busy_at_decode[c]
                                                     : std::vector<double>{});
    u->set_busiest(b.first);
    u->set_busiest_utilization(b.second);
  }
  const proto::ChipLinkConfig& lc = run.system->links();
  for (int l = 0; l < run.links->link_count(); ++l) {
    if (run.links->link_bits(l) <= 0) continue;
    proto::LinkUsage* lu = sr->add_links();
    lu->set_name(run.links->link_name(l));
    lu->set_bytes(run.links->link_bits(l) / 8);
    lu->set_utilization(total > 0 ? run.links->link_busy_ps(l) / total : 0);
    lu->set_energy_nj(run.links->link_bits(l) * lc.e_pj_per_bit() * 1e-3);
  }
  sr->set_prefill_link_bit_hops(run.ctl->link_bit_hops(0));
  sr->set_decode_link_bit_hops(run.ctl->link_bit_hops(1));
  sr->set_link_energy_nj((run.ctl->link_bit_hops(0) + run.ctl->link_bit_hops(1)) *
                         lc.e_pj_per_bit() * 1e-3);
  sr->set_link_port_energy_nj(lc.p_port_static_mw() * 1e-3 * static_cast<double>(run.chips.size()) *
                              total * 1e-12 * 1e9);
  const auto top = busiest(run, window, since_decode);
  sr->set_bottleneck(top.first);
  sr->set_bottleneck_utilization(top.second);
  if (r->has_host_link()) *sr->mutable_host_link() = r->host_link();
}

}  // namespace

proto::SimReport make_report(Run& run) {
  proto::SimReport r;
  r.set_model(run.model->name);
  r.set_chip(run.multi() ? run.system->name() : run.config().name());
  const Phases ph = report_tokens(run, &r);
  report_energy(run, ph, &r);
  report_kv_and_batch(run, ph, &r);
  if (run.request_mode()) report_requests(run, ph, &r);
  report_programming(run, &r);
  report_actions(run, &r);
  report_statistics(run, ph, &r);
  for (size_t seq = 0; seq < run.numerics.size(); ++seq)
    run.numerics[seq]->write(seq == 0 ? r.mutable_generation() : r.add_batch_generations());
  report_mapping_and_speed(run, ph, &r);
  if (run.multi()) report_system(run, ph, &r);
  return r;
}

}  // namespace aimc::sim::detail

// The timed simulation's entry points: options checked before anything is elaborated, the run in
// a forked child (or in this process), batch capacity of a chip and of a system, the peak
// workload. Elaboration, report and isolation live in the timed_run_*.cc files.
#include "sim/chip/timing_run.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mapping/mapper.h"
#include "proto/system_config_io.h"
#include "proto/user_error.h"
#include "proto/wire.pb.h"
#include "sim/chip/timed_run.h"

namespace aimc::sim {

namespace detail {

// Weights kept in DRAM: the embedding table, and lm_head when it runs on the DPUs (streamed).
double dram_weight_bytes(const proto::ChipConfig& config, const workloads::ModelConfig& model) {
  const double table = static_cast<double>(model.vocab_size) * model.hidden_size;
  double bytes = table * config.noc().activation_bits() / 8.0;
  if (!config.mapping().lm_head_on_tiles() && !model.tie_word_embeddings)
    bytes += table * config.dpu().weight_bits() / 8.0;
  return bytes;
}

}  // namespace detail

long long max_batch(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                    int positions, double dram_capacity_bytes, double dram_weight_bytes,
                    std::string* limit) {
  const double per_sequence = 2.0 * model.num_kv_heads * model.head_dim *
                              static_cast<double>(config.memory().kv_bits()) / 8.0 *
                              model.num_layers * positions;
  const double sram = static_cast<double>(config.memory().kv_sram_bytes());
  const long long in_sram = per_sequence > 0 ? static_cast<long long>(sram / per_sequence) : 0;
  char text[256];
  if (dram_capacity_bytes <= 0) {
    std::snprintf(text, sizeof text,
                  "none: the KV-cache SRAM holds %lld sequences of %d positions (%.4g bytes "
                  "each), the rest spills to DRAM of unbounded capacity",
                  in_sram, positions, per_sequence);
    *limit = text;
    return 0;
  }
  const double room = sram + std::max(0.0, dram_capacity_bytes - dram_weight_bytes);
  const long long n = per_sequence > 0 ? static_cast<long long>(room / per_sequence) : 0;
  std::snprintf(text, sizeof text,
                "KV-cache capacity: SRAM %.4g bytes + DRAM %.4g bytes (%.4g less %.4g of weights) "
                "hold %lld sequences of %d positions (%.4g bytes each)",
                sram, std::max(0.0, dram_capacity_bytes - dram_weight_bytes), dram_capacity_bytes,
                dram_weight_bytes, n, positions, per_sequence);
  *limit = text;
  return n;
}

namespace {

// Prompts of a batch and weights of the run agree with the options and the model.
void check_prompts_and_weights(const workloads::ModelConfig& model, const SimOptions& options) {
  if (!options.prompts.empty() && static_cast<int>(options.prompts.size()) != options.batch)
    throw UserError("timed run: " + std::to_string(options.prompts.size()) +
                    " prompts for a batch of " + std::to_string(options.batch));
  for (const auto& p : options.prompts)
    if (static_cast<int>(p.size()) != options.prompt_tokens)
      throw UserError("timed run: a prompt of the batch has " + std::to_string(p.size()) +
                      " tokens, prompt tokens is " + std::to_string(options.prompt_tokens));
  if (options.decode_tokens < 0) throw UserError("decode tokens: must not be negative");
  if (options.weights) {
    const workloads::ModelConfig& w = options.weights->config;
    if (w.num_layers != model.num_layers || w.hidden_size != model.hidden_size ||
        w.vocab_size != model.vocab_size || w.intermediate_size != model.intermediate_size)
      throw UserError("timed run: the weights are of model '" + w.name +
                      "', which differs from the simulated model '" + model.name + "'");
    if (!options.prompt.empty() && static_cast<int>(options.prompt.size()) != options.prompt_tokens)
      throw UserError("timed run: the prompt has " + std::to_string(options.prompt.size()) +
                      " tokens, prompt tokens is " + std::to_string(options.prompt_tokens));
  }
}

// The most sequences of `positions` positions the memories hold (limit: what bounds it), or -1
// when the DRAM is unbounded.
using BatchLimit = std::function<long long(int positions, std::string* limit)>;

// Options of a timed run checked before anything is elaborated (UserError naming the option).
void check_sim_options(const workloads::ModelConfig& model, const SimOptions& options,
                       const BatchLimit& most) {
  if (options.prompt_tokens < 1) throw UserError("prompt tokens: must be at least 1");
  if (options.batch < 1)
    throw UserError("batch: must be at least 1, got " + std::to_string(options.batch));
  {
    std::string limit;
    const long long n = most(options.prompt_tokens + options.decode_tokens, &limit);
    if (n >= 0 && options.batch > n)
      throw UserError("batch " + std::to_string(options.batch) + " does not fit: " + limit);
  }
  if (!options.requests.empty()) {
    if (options.weights)
      throw UserError("request mode computes time and energy only: run it without weights");
    if (options.max_batch < 1)
      throw UserError("max batch: must be at least 1, got " + std::to_string(options.max_batch));
    // The KV caches of max_batch sequences of the longest request must fit.
    int longest = 0;
    for (const SimOptions::Request& q : options.requests)
      longest = std::max(longest, q.prompt_tokens + q.decode_tokens);
    std::string limit;
    const long long n = most(longest, &limit);
    if (n >= 0 && options.max_batch > n)
      throw UserError("max batch " + std::to_string(options.max_batch) + " does not fit: " + limit);
    double prev = 0;
    for (size_t i = 0; i < options.requests.size(); ++i) {
      const SimOptions::Request& q = options.requests[i];
      if (q.prompt_tokens < 1 || q.decode_tokens < 0 || !(q.arrival_ns >= prev))
        throw UserError("request " + std::to_string(i) +
                        ": needs >= 1 prompt tokens, >= 0 decode tokens and an arrival no "
                        "earlier than the request before");
      prev = q.arrival_ns;
    }
  }
  check_prompts_and_weights(model, options);
}

proto::SimReport parse_report(const std::string& bytes) {
  proto::SimReport r;
  if (!r.ParseFromString(bytes)) throw std::runtime_error("bad report from simulation child");
  return r;
}

}  // namespace

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const proto::MappingPlan& plan, const SimOptions& options) {
  check_sim_options(model, options, [&](int positions, std::string* limit) {
    const long long n = max_batch(config, model, positions, options.dram_capacity_bytes,
                                  detail::dram_weight_bytes(config, model), limit);
    return options.dram_capacity_bytes > 0 ? n : -1;
  });
  if (!options.isolate) return detail::simulate_here(config, model, plan, options);
  return parse_report(run_isolated(
      [&] { return detail::simulate_here(config, model, plan, options).SerializeAsString(); }));
}

long long system_max_batch(const proto::SystemConfig& system,
                           const mapping::SystemChipPlans& chip_plans,
                           const workloads::ModelConfig& model, int positions, std::string* limit) {
  const int chips = static_cast<int>(chip_plans.chips.size());
  std::vector<int> blocks(chips, 0);
  for (int c : chip_plans.block_chip) ++blocks[c];
  long long least = -1;
  std::string why;
  for (int c = 0; c < chips; ++c) {
    const proto::ChipConfig& config = proto::chip_config(system, c);
    const double capacity = static_cast<double>(proto::chip_dram(system, c).capacity_bytes());
    if (blocks[c] == 0 || capacity <= 0) continue;
    workloads::ModelConfig part = model;
    part.num_layers = blocks[c];
    const double table = static_cast<double>(model.vocab_size) * model.hidden_size;
    double weights = 0;
    if (!chip_plans.block_chip.empty() && c == chip_plans.block_chip[0])
      weights += table * config.noc().activation_bits() / 8.0;
    const bool streamed = chip_plans.layers.layers_size() > 0 &&
                          !chip_plans.layers.layers(chip_plans.layers.layers_size() - 1).on_tiles();
    if (c == chip_plans.head_chip && streamed && !model.tie_word_embeddings)
      weights += table * config.dpu().weight_bits() / 8.0;
    std::string text;
    const long long n = max_batch(config, part, positions, capacity, weights, &text);
    if (least < 0 || n < least) {
      least = n;
      why = "chip " + std::to_string(c) + " (" + std::to_string(blocks[c]) + " blocks): " + text;
    }
  }
  *limit = least < 0 ? "none: every chip's DRAM is unbounded" : why;
  return std::max(0LL, least);
}

SimOptions::HostLink host_link(const proto::SystemConfig& system) {
  SimOptions::HostLink h;
  const proto::HostLinkConfig& c = system.host();
  h.enabled = c.enabled();
  h.bandwidth_gbps = c.bandwidth_gbps();
  h.latency_ns = c.latency_ns();
  h.e_pj_per_bit = c.e_pj_per_bit();
  return h;
}

proto::SimReport simulate(const proto::SystemConfig& system, const workloads::ModelConfig& model,
                          const proto::SystemPlan& plan, const mapping::SystemChipPlans& chip_plans,
                          const SimOptions& given) {
  SimOptions options = given;
  options.host = host_link(system);
  if (chip_plans.chips.size() == 1) {
    SimOptions one = options;
    one.dram_capacity_bytes = static_cast<double>(proto::chip_dram(system, 0).capacity_bytes());
    return simulate(proto::chip_config(system, 0), model, chip_plans.chips[0], one);
  }
  check_sim_options(model, options, [&](int positions, std::string* limit) {
    const long long n = system_max_batch(system, chip_plans, model, positions, limit);
    return limit->rfind("none", 0) == 0 ? -1 : n;
  });
  if (!options.isolate)
    return detail::simulate_system_here(system, model, plan, chip_plans, options);
  return parse_report(run_isolated([&] {
    return detail::simulate_system_here(system, model, plan, chip_plans, options)
        .SerializeAsString();
  }));
}

proto::SimReport simulate(const proto::ChipConfig& config, const workloads::ModelConfig& model,
                          const std::string& strategy, const SimOptions& options) {
  return simulate(config, model, mapping::make_plan(model, config, strategy), options);
}

PeakResult run_peak_workload(const proto::ChipConfig& config, int reads_per_tile, bool isolate) {
  if (!isolate) return detail::peak_here(config, reads_per_tile);
  const std::string s = run_isolated([&] {
    const PeakResult p = detail::peak_here(config, reads_per_tile);
    proto::PeakFigures f;
    f.set_time_ns(p.time_ns);
    f.set_ops(p.ops);
    f.set_energy_pj(p.energy_pj);
    f.set_tops(p.tops);
    f.set_tops_per_w(p.tops_per_w);
    f.set_read_latency_ns(p.read_latency_ns);
    f.set_read_interval_ns(p.read_interval_ns);
    p.counts.for_each([&](const std::string& name, const std::string&, double v) {
      proto::NamedCount* c = f.add_counts();
      c->set_name(name);
      c->set_value(v);
    });
    return f.SerializeAsString();
  });
  proto::PeakFigures f;
  if (!f.ParseFromString(s)) throw std::runtime_error("bad peak result from child");
  PeakResult p;
  p.time_ns = f.time_ns();
  p.ops = f.ops();
  p.energy_pj = f.energy_pj();
  p.tops = f.tops();
  p.tops_per_w = f.tops_per_w();
  p.read_latency_ns = f.read_latency_ns();
  p.read_interval_ns = f.read_interval_ns();
  for (const proto::NamedCount& c : f.counts()) {
    if (!p.counts.set(c.name(), c.value()))
      throw std::runtime_error("bad peak result from child: unknown count " + c.name());
  }
  return p;
}

}  // namespace aimc::sim

// The controller: step templates per token, the ready-time queue and the execution of each step
// on the chip's components.
#include "sim/chip/controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "proto/user_error.h"
#include "sim/chip/chip_specs.h"

namespace aimc::sim {
namespace {

// A slot of a pool (joins, jobs, fans): the last one freed, or a new one at the end.
template <typename Pool>
int take_slot(Pool& pool, std::vector<int>& free) {
  if (free.empty()) {
    pool.emplace_back();
    return static_cast<int>(pool.size()) - 1;
  }
  const int k = free.back();
  free.pop_back();
  return k;
}

using arch::Ps;

}  // namespace

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Controller::Controller(sc_core::sc_module_name name, Chip* chip,
                       const workloads::ModelConfig& model, const proto::MappingPlan& plan,
                       const ControllerOptions& options)
    : sc_core::sc_module(name), model_(model), opt_(options) {
  layout_.chips = {chip};
  layout_.plans = {&plan};
  init(plan);
}

Controller::Controller(sc_core::sc_module_name name, const SystemLayout& layout,
                       const workloads::ModelConfig& model, const proto::MappingPlan& layers,
                       const ControllerOptions& options)
    : sc_core::sc_module(name), layout_(layout), model_(model), opt_(options) {
  init(layers);
}

void Controller::init(const proto::MappingPlan& layers) {
  if (layout_.chips.empty() || layout_.plans.size() != layout_.chips.size())
    throw std::invalid_argument("controller: one mapping plan per chip");
  if (layout_.block_chip.empty()) layout_.block_chip.assign(model_.num_layers, 0);
  if (static_cast<int>(layout_.block_chip.size()) != model_.num_layers)
    throw std::invalid_argument("controller: one home chip per decoder block");
  multi_ = layout_.chips.size() > 1;
  if (multi_ && layout_.links == nullptr)
    throw std::invalid_argument("controller: a system of chips needs its links");
  const proto::ChipConfig& c = layout_.chips[0]->config();
  act_bits_ = static_cast<int>(c.noc().activation_bits());
  dac_bits_ = static_cast<int>(c.tile().dac().bits());
  cells_per_weight_ = static_cast<int>(c.tile().cells_per_weight());
  weight_bits_ = static_cast<int>(c.dpu().weight_bits());
  for (const Chip* chip : layout_.chips)
    reduction_.push_back(static_cast<int>(chip->config().noc().reduction()));
  check_options();
  plan_model_ = layers.model();
  place_layers(layers);
  for (size_t chip = 0; chip < layout_.chips.size(); ++chip)
    group_blocks(static_cast<int>(chip), *layout_.plans[chip]);
  finish_parts();
  weight_passes_.resize(layers_.size());
  if (opt_.host.enabled) {
    host_in_ = std::make_unique<arch::LinkChannel>(opt_.host.bandwidth_gbps, opt_.host.latency_ns);
    host_out_ = std::make_unique<arch::LinkChannel>(opt_.host.bandwidth_gbps, opt_.host.latency_ns);
  }
  // memo_parts: the scratch chips are modules, made before the simulation starts.
  if (opt_.memo_parts) {
    for (size_t chip = 0; chip < layout_.chips.size(); ++chip) {
      const proto::PowerGatingConfig& g = layout_.chips[chip]->config().power_gating();
      const bool gated = g.tile().enabled() || g.adc_bank().enabled() || g.router().enabled();
      calibration_of_.push_back(
          &calibration(static_cast<int>(chip), gated ? Scratch::kWatch : Scratch::kPlain));
      cold_of_.push_back(gated ? &calibration(static_cast<int>(chip), Scratch::kCold) : nullptr);
      const size_t nodes = static_cast<size_t>(layout_.chips[chip]->config().noc().mesh_x()) *
                           layout_.chips[chip]->config().noc().mesh_y();
      in_port_free_.emplace_back(nodes, 0);
      out_port_free_.emplace_back(nodes, 0);
    }
  }
  build_slices();
  name_ledgers();
  index_layers();
  build_template(true, &with_head_);
  build_template(false, &without_head_);
  size_kv_cache();
  make_sequences();
  init_token_state();
  seed_queue();
  SC_METHOD(wake);
}

// Options the token state relies on; checked before anything is sized from them.
void Controller::check_options() const {
  if (opt_.prompt_tokens < 1) throw std::invalid_argument("prompt_tokens must be >= 1");
  if (opt_.decode_tokens < 0) throw std::invalid_argument("decode_tokens must be >= 0");
  // Token state is indexed by int: the positions of all sequences must fit (no overflow).
  const long long all_tokens =
      (static_cast<long long>(opt_.prompt_tokens) + opt_.decode_tokens) * std::max(opt_.batch, 1);
  if (all_tokens > std::numeric_limits<int>::max()) {
    throw UserError("(prompt tokens + decode tokens) x batch (" + std::to_string(all_tokens) +
                    ") must not exceed " + std::to_string(std::numeric_limits<int>::max()));
  }
  if (opt_.batch < 1) throw std::invalid_argument("batch must be >= 1");
}

// Layers in plan order (a layer's index is also its ledger); their tiles come from the chips'
// plans (group_blocks).
void Controller::place_layers(const proto::MappingPlan& plan) {
  for (int i = 0; i < plan.layers_size(); ++i) {
    const proto::LayerPlacement& lp = plan.layers(i);
    Layer l;
    l.name = lp.name();
    l.role = lp.role();
    l.block = lp.block();
    l.on_tiles = lp.on_tiles();
    l.in = lp.in_features();
    l.out = lp.out_features();
    l.home = l.block >= 0 && l.block < model_.num_layers ? layout_.block_chip[l.block]
                                                         : layout_.head_chip;
    const std::string& r = lp.role();
    l.bias = (model_.qkv_bias && (r == "q" || r == "k" || r == "v" || r == "qkv")) ||
             (model_.o_bias && r == "o") ||
             (model_.mlp_bias && (r == "up" || r == "down" || r == "gate" || r == "gate_up"));
    l.ledger = i;
    ledger_names_.push_back(l.name);
    ledger_chip_.push_back(l.home);
    layers_.push_back(std::move(l));
  }
}

// The part of each layer that `plan` places on `chip`: its DPU and its row groups.
void Controller::group_blocks(int chip, const proto::MappingPlan& plan) {
  Chip* ch = layout_.chips[chip];
  // Index of each of the plan's layers among layers_ (by name), and of its part on this chip.
  std::map<std::string, int> by_name;
  for (size_t i = 0; i < layers_.size(); ++i) by_name[layers_[i].name] = static_cast<int>(i);
  std::vector<int> global(plan.layers_size(), -1), part(plan.layers_size(), -1);
  for (int i = 0; i < plan.layers_size(); ++i) {
    const proto::LayerPlacement& lp = plan.layers(i);
    auto it = by_name.find(lp.name());
    if (it == by_name.end())
      throw UserError("mapping plan of chip " + std::to_string(chip) + ": layer " + lp.name() +
                      " is not a layer of model '" + model_.name + "'");
    global[i] = it->second;
    Layer& l = layers_[it->second];
    Part p;
    p.chip = chip;
    p.dpu = static_cast<int>(lp.dpu()) % ch->dpu_count();
    p.replicas.resize(std::max<uint32_t>(1, lp.replicas()));
    if (chip == l.home) l.dpu = p.dpu;
    part[i] = static_cast<int>(l.parts.size());
    l.parts.push_back(std::move(p));
  }
  // Row groups: blocks of one copy that share an input slice receive one multicast.
  std::map<std::pair<int, std::pair<int, int>>, int> group_of;  // (layer, (replica, row_tile))
  for (const proto::BlockPlacement& b : plan.blocks()) {
    const int li = static_cast<int>(b.layer_index());
    Part& p = layers_[global.at(li)].parts[part[li]];
    const int rep = static_cast<int>(b.replica()) % static_cast<int>(p.replicas.size());
    auto key = std::make_pair(li, std::make_pair(rep, static_cast<int>(b.row_tile())));
    auto it = group_of.find(key);
    if (p.row_begin < 0 || b.row_begin() < p.row_begin) p.row_begin = b.row_begin();
    if (it == group_of.end()) {
      it = group_of.emplace(key, static_cast<int>(p.replicas[rep].size())).first;
      p.replicas[rep].push_back(RowGroup{});
      p.replicas[rep].back().rows = static_cast<int>(b.row_end() - b.row_begin());
    }
    RowGroup& g = p.replicas[rep][it->second];
    const int outs = static_cast<int>(b.col_end() - b.col_begin());
    g.tiles.push_back(static_cast<int>(b.tile()) % ch->tile_count());
    g.outs.push_back(outs);
    g.cols_phys.push_back(outs * cells_per_weight_);
    g.cols.push_back(static_cast<int>(b.col_begin()));
  }
}

// Drops parts without blocks, sizes each part's input and output, and finds the split layers.
void Controller::finish_parts() {
  for (Layer& l : layers_) {
    std::vector<Part> kept;
    for (Part& p : l.parts) {
      // A replica without blocks (should not happen) falls back to copy 0.
      for (auto& rep : p.replicas)
        if (rep.empty()) rep = p.replicas[0];
      if (p.replicas[0].empty()) continue;
      for (const RowGroup& g : p.replicas[0]) p.in += g.rows;
      for (int o : p.replicas[0][0].outs) p.out += o;
      kept.push_back(std::move(p));
    }
    l.parts = std::move(kept);
    for (Part& p : l.parts) {
      p.memo = static_cast<int>(memos_.size());
      memos_.resize(memos_.size() + p.replicas.size());
    }
    if (l.on_tiles && l.parts.empty()) l.on_tiles = false;
    for (const Part& p : l.parts)
      if (p.in < l.in) l.by_input = true;
  }
}

// Ledgers after the layers': per block attention and vector work, then embedding and final.
void Controller::name_ledgers() {
  const int blocks = model_.num_layers;
  for (int b = 0; b < blocks; ++b) {
    ledger_names_.push_back("layers." + std::to_string(b) + ".attention");
    ledger_names_.push_back("layers." + std::to_string(b) + ".vector");
    ledger_chip_.push_back(layout_.block_chip[b]);
    ledger_chip_.push_back(layout_.block_chip[b]);
  }
  ledger_names_.push_back("embedding");
  ledger_names_.push_back("final");
  ledger_chip_.push_back(0);
  ledger_chip_.push_back(layout_.head_chip);
  scratch_.assign(layout_.chips.size(), arch::ActionCounts{});
  for (auto& per_chip : chip_counts_) per_chip.assign(layout_.chips.size(), arch::ActionCounts{});
  ledgers_[0].assign(ledger_names_.size(), arch::ActionCounts{});
  ledgers_[1].assign(ledger_names_.size(), arch::ActionCounts{});
}

void Controller::size_kv_cache() {
  // KV cache: keys and values of every kv head of every block, kv_bits each; each chip holds
  // those of its blocks in its own KV-cache SRAM.
  const proto::ChipConfig& c0 = layout_.chips[0]->config();
  kv_bits_per_token_block_ =
      2LL * model_.num_kv_heads * model_.head_dim * static_cast<long long>(c0.memory().kv_bits());
  kv_bits_per_token_ = kv_bits_per_token_block_ * model_.num_layers;
  std::vector<long long> blocks(layout_.chips.size(), 0);
  for (int chip : layout_.block_chip) ++blocks[chip];
  kv_capacity_tokens_.assign(layout_.chips.size(), 0);
  for (size_t chip = 0; chip < layout_.chips.size(); ++chip) {
    const long long bits = kv_bits_per_token_block_ * blocks[chip];
    if (bits > 0)
      kv_capacity_tokens_[chip] =
          static_cast<long long>(layout_.chips[chip]->config().memory().kv_sram_bytes()) * 8 / bits;
  }
}

long long Controller::kv_sram_tokens_per_sequence() const {
  long long least = -1;
  for (int chip : layout_.block_chip) {
    const long long n = kv_sram_tokens_per_sequence(chip);
    if (least < 0 || n < least) least = n;
  }
  return std::max(0LL, least);
}

arch::ActionCounts Controller::chip_counts(int phase, int chip) const {
  if (multi_) return chip_counts_[phase][chip];
  arch::ActionCounts all;
  for (const arch::ActionCounts& c : ledgers_[phase]) all += c;
  return all;
}

void Controller::make_sequences() {
  // Sequences: a static batch of B x (P, D), or one per request.
  if (request_mode()) {
    if (opt_.max_batch < 1) throw std::invalid_argument("max_batch must be >= 1");
    for (const auto& r : opt_.requests) {
      if (r.prompt_tokens < 1 || r.decode_tokens < 0)
        throw std::invalid_argument("a request needs >= 1 prompt and >= 0 decode tokens");
      seq_prompt_.push_back(r.prompt_tokens);
      seq_len_.push_back(r.prompt_tokens + r.decode_tokens);
    }
  } else {
    seq_prompt_.assign(opt_.batch, opt_.prompt_tokens);
    seq_len_.assign(opt_.batch, positions());
  }
}

// Token state: every position of every sequence, with its dependency counts.
void Controller::init_token_state() {
  int total = 0;
  for (size_t q = 0; q < seq_len_.size(); ++q) {
    seq_first_.push_back(total);
    for (int p = 0; p < seq_len_[q]; ++p) {
      tok_seq_.push_back(static_cast<int>(q));
      tok_pos_.push_back(p);
    }
    total += seq_len_[q];
  }
  tokens_.resize(total);
  remaining_.resize(total);
  ready_at_.resize(total);
  done_at_.resize(total);
  steps_left_.resize(total);
  for (int t = 0; t < total; ++t) {
    const int pos = tok_pos_[t], prompt = seq_prompt_[tok_seq_[t]];
    const std::vector<Step>& st = steps_of(t);
    tokens_[t].decode = pos >= prompt;
    remaining_[t].resize(st.size());
    ready_at_[t].assign(st.size(), 0);
    done_at_[t].assign(st.size(), 0);
    steps_left_[t] = static_cast<int>(st.size());
    for (size_t i = 0; i < st.size(); ++i) remaining_[t][i] = static_cast<int>(st[i].deps.size());
    // Attention of block b waits for the previous position's attention of block b in the same
    // sequence (its K/V).
    if (pos > 0)
      for (int a : attention_step_) remaining_[t][a] += 1;
    // A decode token starts from the token the previous one generated.
    if (pos >= prompt) remaining_[t][embed_step_] += 1;
  }
}

// The first ready steps: admitted requests, or every prompt token of the static batch.
void Controller::seed_queue() {
  if (request_mode()) {
    admitted_.assign(sequences(), -1);
    finished_.assign(sequences(), -1);
    while (next_admit_ < sequences() && in_flight_ < opt_.max_batch)
      admit(next_admit_, opt_.requests[next_admit_].arrival);
  } else {
    for (int q = 0; q < opt_.batch; ++q) {
      start_heads(q);
      const Ps in = prompt_in(q, 0);
      for (int p = 0; p < opt_.prompt_tokens; ++p) push(seq_first_[q] + p, embed_step_, in);
    }
  }
}

void Controller::set_trace(arch::SpanSink* sink) {
  sink_ = sink;
  trace_track_ = (sink && sink->wants(name())) ? sink->track(name()) : -1;
  if (trace_track_ < 0) sink_ = nullptr;
}

const std::vector<Controller::Step>& Controller::steps_of(int token) const {
  const bool head = tok_pos_[token] >= seq_prompt_[tok_seq_[token]] - 1;
  return head ? with_head_ : without_head_;
}

// Index the plan's layers by (block, role), matching names with workloads::linear_layers.
void Controller::index_layers() {
  const int L = static_cast<int>(layers_.size());
  static const char* kRole[] = {"q",    "k",  "v",       "qkv",  "o",
                                "gate", "up", "gate_up", "down", "lm_head"};
  for (const workloads::LinearShape& s : workloads::linear_layers(model_)) {
    bool found = false;
    for (int i = 0; i < L && !found; ++i) {
      if (layers_[i].name != s.name) continue;
      if (layers_[i].in != s.in || layers_[i].out != s.out)
        throw UserError("mapping plan: layer " + s.name + " is " + std::to_string(layers_[i].out) +
                        " x " + std::to_string(layers_[i].in) + " in the plan but " +
                        std::to_string(s.out) + " x " + std::to_string(s.in) + " in model " +
                        model_.name);
      by_role_[{s.block, kRole[static_cast<int>(s.role)]}] = i;
      found = true;
    }
    if (!found)
      throw UserError("mapping plan for model '" + plan_model_ + "' has no layer " + s.name +
                      " of model '" + model_.name + "'");
  }
}

int Controller::layer_of(int block, const std::string& role) const {
  auto it = by_role_.find({block, role});
  return it == by_role_.end() ? -1 : it->second;
}

int Controller::chip_of_block(int block) const {
  return block >= 0 ? layout_.block_chip[block] : layout_.head_chip;
}

// Appends a step of `block` (on its home chip). An input made on another chip crosses the links
// in a step of its own first, so that this step is issued when the input has arrived (not when
// it left).
int Controller::add_step(std::vector<Step>* st, Kind k, int block, int dpu, long long elems,
                         int ledger, std::vector<int> deps, int layer) {
  for (int& d : deps) {
    if (k == Kind::kSend || (*st)[d].chip == chip_of_block(block) || (*st)[d].kind == Kind::kSend)
      continue;
    Step send;
    send.kind = Kind::kSend;
    send.block = block;
    send.dpu = dpu;
    send.chip = (*st)[d].chip;
    send.peer = chip_of_block(block);
    send.peer_dpu = dpu;
    send.out_elems = (*st)[d].out_elems;
    send.ledger = ledger;
    send.deps = {d};
    st->push_back(send);
    d = static_cast<int>(st->size()) - 1;
  }
  Step s;
  s.kind = k;
  s.block = block;
  s.dpu = dpu;
  s.chip = chip_of_block(block);
  s.out_elems = elems;
  s.ledger = ledger;
  s.deps = std::move(deps);
  s.layer = layer;
  st->push_back(s);
  return static_cast<int>(st->size()) - 1;
}

// The linear layer (block, role), if the model has it; its parts on other chips get their input
// over the links, once per chip and input slice (`sent`).
int Controller::add_linear(std::vector<Step>* st, SentInputs* sent, int block,
                           const std::string& role, std::vector<int> deps) {
  const int li = layer_of(block, role);
  if (li < 0) return -1;
  Layer& l = layers_[li];
  std::vector<int> all = deps;
  for (Part& p : l.parts) {
    if (p.chip == l.home) continue;
    const auto key = std::make_tuple(deps.empty() ? -1 : deps[0], p.chip, p.row_begin, p.in);
    auto it = sent->find(key);
    if (it == sent->end()) {
      const int send = add_step(st, Kind::kSend, block, l.dpu, p.in, l.ledger, deps);
      (*st)[send].peer = p.chip;
      (*st)[send].peer_dpu = p.dpu;
      it = sent->emplace(key, send).first;
    }
    p.send = it->second;
    all.push_back(p.send);
  }
  return add_step(st, Kind::kLinear, block, l.dpu, l.out, l.ledger, std::move(all), li);
}

int Controller::block_dpu(int block) const {
  for (const char* r : {"q", "qkv"})
    if (layer_of(block, r) >= 0) return layers_[layer_of(block, r)].dpu;
  return 0;
}

// The steps of decoder block b after step `prev`; returns its last (the residual).
int Controller::add_block(std::vector<Step>* st, SentInputs* sent, int b, int prev) {
  const int H = model_.hidden_size;
  const int dpu = block_dpu(b);
  const int la = static_cast<int>(layers_.size()) + 2 * b, lv = la + 1;
  const int n1 = add_step(st, Kind::kNorm, b, dpu, H, lv, {prev});
  std::vector<int> qkv;
  if (model_.fused_qkv) {
    qkv.push_back(add_linear(st, sent, b, "qkv", {n1}));
  } else {
    for (const char* r : {"q", "k", "v"}) qkv.push_back(add_linear(st, sent, b, r, {n1}));
  }
  qkv.erase(std::remove(qkv.begin(), qkv.end(), -1), qkv.end());
  const int att = add_step(st, Kind::kAttention, b, dpu,
                           static_cast<long long>(model_.num_heads) * model_.head_dim, la, qkv);
  attention_step_[b] = att;
  const int o = add_linear(st, sent, b, "o", {att});
  const int r1 = add_step(st, Kind::kResidualNorm, b, dpu, H, lv, {o >= 0 ? o : att});
  std::vector<int> mlp_in;
  if (model_.fused_gate_up) {
    mlp_in.push_back(add_linear(st, sent, b, "gate_up", {r1}));
  } else {
    if (model_.gated_mlp) mlp_in.push_back(add_linear(st, sent, b, "gate", {r1}));
    mlp_in.push_back(add_linear(st, sent, b, "up", {r1}));
  }
  mlp_in.erase(std::remove(mlp_in.begin(), mlp_in.end(), -1), mlp_in.end());
  if (mlp_in.empty()) mlp_in.push_back(r1);
  const int act_dpu = (*st)[mlp_in[0]].dpu;
  const int act = add_step(st, Kind::kActivation, b, act_dpu, model_.intermediate_size, lv, mlp_in);
  const int down = add_linear(st, sent, b, "down", {act});
  return add_step(st, Kind::kResidual, b, dpu, H, lv, {down >= 0 ? down : act});
}

void Controller::build_template(bool with_head, std::vector<Step>* out) {
  std::vector<Step>& st = *out;
  st.clear();
  SentInputs sent;
  const int H = model_.hidden_size;
  attention_step_.assign(model_.num_layers, -1);
  const int ledger_embed = static_cast<int>(layers_.size()) + 2 * model_.num_layers;
  const int ledger_final = ledger_embed + 1;
  embed_step_ = add_step(&st, Kind::kEmbed, -1, block_dpu(0), H, ledger_embed, {});
  st[embed_step_].chip = layout_.block_chip.empty() ? 0 : layout_.block_chip[0];
  int prev = embed_step_;
  for (int b = 0; b < model_.num_layers; ++b) prev = add_block(&st, &sent, b, prev);
  if (with_head) {
    // The final norm runs where the last block ends, or on the DPU of lm_head's home chip.
    const int head = layer_of(-1, "lm_head");
    const int fin_dpu = st[prev].chip == layout_.head_chip ? st[prev].dpu
                        : head >= 0                        ? layers_[head].dpu
                                                           : 0;
    const int fin = add_step(&st, Kind::kFinal, -1, fin_dpu, H, ledger_final, {prev});
    head_step_ = add_linear(&st, &sent, -1, "lm_head", {fin});
    if (head_step_ < 0) head_step_ = fin;
  }
  for (size_t i = 0; i < st.size(); ++i)
    for (int d : st[i].deps) st[d].succ.push_back(static_cast<int>(i));
}

// Sequence `seq` starts: its lm_head steps (its last prompt token's and each decode token's).
void Controller::start_heads(int seq) {
  if (heads_left_.empty()) heads_left_.assign(sequences(), 0);
  heads_left_[seq] = seq_len_[seq] - seq_prompt_[seq] + 1;
  ++seqs_with_heads_;
}

void Controller::admit(int seq, Ps when) {
  admitted_[seq] = when;
  ++in_flight_;
  ++next_admit_;
  start_heads(seq);
  const Ps in = prompt_in(seq, when);
  for (int p = 0; p < seq_prompt_[seq]; ++p) push(seq_first_[seq] + p, embed_step_, in);
}

void Controller::push(int token, int step, Ps ready) {
  queue_.push(Pending{ready, seq_++, token, step});
}

void Controller::wake() {
  ++activations_;
  const Ps now = static_cast<Ps>(sc_core::sc_time_stamp().value());  // resolution 1 ps
  const Ps horizon = now + static_cast<Ps>(opt_.quantum_ns * 1000.0);
  while (!queue_.empty() && queue_.top().ready <= horizon) {
    const Pending p = queue_.top();
    queue_.pop();
    now_ = p.ready;
    if (p.job >= 0) {
      run_job(p);
      continue;
    }
    const std::vector<Step>& st = steps_of(p.token);
    cur_join_ = open_join(p.token, p.step);
    const int join = cur_join_;
    const Ps done = execute(p.token, st[p.step], p.ready);
    flush_counts();
    finish(join, done);
  }
  if (!queue_.empty()) {
    const Ps next = std::max(queue_.top().ready, now + 1);
    next_trigger(sc_core::sc_time(static_cast<double>(next - now), sc_core::SC_PS));
  }
}

int Controller::open_join(int token, int step) {
  const int j = take_slot(joins_, free_joins_);
  joins_[j] = Join{token, step, 1, 0};
  return j;
}

// One part of a step (its issue or a job it deferred) ended at `done`; the step completes with
// its last part.
void Controller::finish(int join, Ps done) {
  Join& j = joins_[join];
  j.done = std::max(j.done, done);
  if (--j.pending > 0) return;
  const Join ended = j;
  free_joins_.push_back(join);
  complete(ended.token, ended.step, ended.done);
}

void Controller::set_context(int token, int step) {
  cur_phase_ = tokens_[token].decode ? 1 : 0;
  cur_ledger_ = &ledgers_[cur_phase_][steps_of(token)[step].ledger];
}

void Controller::run_job(const Pending& p) {
  Job& slot = jobs_[p.job];
  const int join = slot.join;
  cur_join_ = join;
  set_context(joins_[join].token, joins_[join].step);
  Ps done;
  if (slot.fn) {
    const Then fn = std::move(slot.fn);
    slot.fn = nullptr;
    free_jobs_.push_back(p.job);
    done = fn(p.ready);
  } else {
    Job job;
    job.chip = slot.chip;
    job.tile = slot.tile;
    job.out_node = slot.out_node;
    job.fan = slot.fan;
    job.bits = slot.bits;
    free_jobs_.push_back(p.job);
    done = send_partial(job, p.ready);
  }
  flush_counts();
  finish(join, done);
}

Ps Controller::at(Ps when, Then fn) {
  if (when <= now_) return fn(when);
  Job job;
  job.fn = std::move(fn);
  return at_partial(when, std::move(job));
}

Ps Controller::at_partial(Ps when, Job job) {
  if (when <= now_) return job.fn ? job.fn(when) : send_partial(job, when);
  const int k = take_slot(jobs_, free_jobs_);
  job.join = cur_join_;
  jobs_[k] = std::move(job);
  ++joins_[cur_join_].pending;
  const Join& j = joins_[cur_join_];
  queue_.push(Pending{when, seq_++, j.token, j.step, k});
  return now_;
}

int Controller::open_fan(Then then, int uses) {
  const int f = take_slot(fans_, free_fans_);
  fans_[f].then = std::move(then);
  fans_[f].left = uses;
  return f;
}

Ps Controller::send_partial(const Job& job, Ps out) {
  const Ps arrived = layout_.chips[job.chip]->noc().unicast(out, job.tile, job.out_node, job.bits,
                                                            counts(job.chip));
  Fan& fan = fans_[job.fan];
  const Ps done = fan.then(arrived);
  if (--fan.left == 0) {
    fan.then = nullptr;
    free_fans_.push_back(job.fan);
  }
  return done;
}

Ps Controller::dpu_at(int chip, int dpu, Ps ready, const arch::DpuWork& w, const char* what,
                      Then then) {
  return at(ready, [this, chip, dpu, w, what, then = std::move(then)](Ps t) {
    const Ps done = layout_.chips[chip]->dpu(dpu).run(t, w, counts(chip), what);
    return then ? then(done) : done;
  });
}

Controller::Then Controller::gather(const std::shared_ptr<Gather>& g) {
  return [g](Ps done) {
    g->all = std::max(g->all, done);
    return --g->left == 0 ? g->then(g->all) : done;
  };
}

void Controller::complete(int token, int step, Ps done) {
  const std::vector<Step>& st = steps_of(token);
  done_at_[token][step] = done;
  end_time_ = std::max(end_time_, done);
  TokenRecord& rec = tokens_[token];
  rec.end = std::max(rec.end, done);
  auto release = [&](int t, int s, Ps when) {
    ready_at_[t][s] = std::max(ready_at_[t][s], when);
    if (--remaining_[t][s] == 0) push(t, s, ready_at_[t][s]);
  };
  for (int s : st[step].succ) release(token, s, done);
  const int seq = tok_seq_[token], prompt = seq_prompt_[seq];
  const int next = tok_pos_[token] + 1;  // next position of the same sequence
  if (host_out_ && step == head_step_ && &st == &with_head_) token_out(token, done);
  if (st[step].kind == Kind::kAttention && next < seq_len_[seq])
    release(token + 1, attention_step_[st[step].block], done);
  if (step == head_step_ && &st == &with_head_ && next < seq_len_[seq] && next >= prompt) {
    if (next > prompt || request_mode()) {
      release(token + 1, embed_step_, feedback(token, done));
    } else {
      // The first decode tokens of the batch start together, once every prefill is done.
      prefill_end_ = std::max(prefill_end_, done);
      if (++prefills_done_ == opt_.batch) {
        settle_memos();
        if (on_decode_start) on_decode_start(prefill_end_);
        for (int q = 0; q < opt_.batch; ++q)
          release(seq_first_[q] + opt_.prompt_tokens, embed_step_,
                  feedback(seq_first_[q] + opt_.prompt_tokens - 1, prefill_end_));
      }
    }
  }
  // Request mode: a finished sequence frees its slot for the next request.
  if (--steps_left_[token] == 0 && request_mode() && next == seq_len_[seq]) {
    finished_[seq] = rec.end;
    --in_flight_;
    while (next_admit_ < sequences() && in_flight_ < opt_.max_batch)
      admit(next_admit_, std::max(opt_.requests[next_admit_].arrival, rec.end));
  }
  if (sink_ && step + 1 == static_cast<int>(st.size()))
    sink_->span(trace_track_, tokens_[token].decode ? "decode token" : "prefill token", rec.start,
                rec.end);
}

// The generated token (its id, 32 bits) of `token` travels from lm_head's chip to the
// embedding's. With a host link it went to chip 0 when it was made (token_out).
Ps Controller::feedback(int token, Ps ready) {
  cur_phase_ = 1;
  const int embed_chip = with_head_[embed_step_].chip;
  if (host_out_) return link(std::max(ready, at_chip0_[token]), 0, embed_chip, 32);
  return between_chips(ready, layout_.head_chip, with_head_[head_step_].dpu, embed_chip,
                       with_head_[embed_step_].dpu, 32);
}

// Host link: sequence `seq`'s prompt ids (32 bits each) from the host to chip 0, sent at `ready`.
Ps Controller::prompt_in(int seq, Ps ready) {
  if (!host_in_) return ready;
  const double bits = 32.0 * seq_prompt_[seq];
  host_bits_[0] += bits;
  return host_in_->transfer(ready, bits);
}

// Host link: the id `token` generated (ready at lm_head's chip at `done`) crosses to chip 0, then
// to the host; the token ends when it arrives there.
void Controller::token_out(int token, Ps done) {
  if (at_chip0_.empty()) at_chip0_.assign(tokens_.size(), 0);
  cur_phase_ = tokens_[token].decode ? 1 : 0;
  const Ps at0 = between_chips(done, layout_.head_chip, with_head_[head_step_].dpu, 0,
                               with_head_[embed_step_].dpu, 32);
  at_chip0_[token] = at0;
  const Ps out = host_out_->transfer(at0, 32);
  host_bits_[cur_phase_] += 32;
  tokens_[token].end = std::max(tokens_[token].end, out);
  end_time_ = std::max(end_time_, out);
}

Ps Controller::between_chips(Ps ready, int from_chip, int from_dpu, int to_chip, int to_dpu,
                             double bits) {
  if (from_chip == to_chip || !layout_.links->spec().route_via_ports)
    return link(ready, from_chip, to_chip, bits);
  const arch::ChipLinks& links = *layout_.links;
  const std::vector<int> route = links.route(from_chip, to_chip);
  auto port = [&](int chip, int direction) {
    const proto::InterconnectConfig& noc = layout_.chips[chip]->config().noc();
    return arch::port_node(links.spec().topology, direction, static_cast<int>(noc.mesh_x()),
                           static_cast<int>(noc.mesh_y()));
  };
  Chip& a = *layout_.chips[from_chip];
  Chip& b = *layout_.chips[to_chip];
  Ps t = a.noc().unicast(ready, a.dpu_node(from_dpu), port(from_chip, links.direction_of(route[0])),
                         bits, counts(from_chip));
  t = link(t, from_chip, to_chip, bits);
  return b.noc().unicast(t, port(to_chip, links.entry_direction(route.back())), b.dpu_node(to_dpu),
                         bits, counts(to_chip));
}

Ps Controller::link(Ps ready, int from_chip, int to_chip, double bits) {
  if (from_chip == to_chip) return ready;
  link_bit_hops_[cur_phase_] += bits * layout_.links->hops(from_chip, to_chip);
  return layout_.links->transfer(ready, from_chip, to_chip, bits);
}

arch::ActionCounts* Controller::counts(int chip) {
  if (!multi_) return cur_ledger_;
  if (std::find(touched_.begin(), touched_.end(), chip) == touched_.end()) touched_.push_back(chip);
  return &scratch_[chip];
}

// A system's step counted into per-chip scratch ledgers: add them to the step's ledger and to
// each chip's totals.
void Controller::flush_counts() {
  for (int chip : touched_) {
    *cur_ledger_ += scratch_[chip];
    chip_counts_[cur_phase_][chip] += scratch_[chip];
    scratch_[chip] = arch::ActionCounts{};
  }
  touched_.clear();
}

Ps Controller::move(int from_chip, int from, int to_chip, int to, long long elems, Ps ready) {
  const double bits = static_cast<double>(elems) * act_bits_;
  if (from_chip != to_chip) return between_chips(ready, from_chip, from, to_chip, to, bits);
  if (from == to) return ready;
  Chip& chip = *layout_.chips[from_chip];
  return chip.noc().unicast(ready, chip.dpu_node(from), chip.dpu_node(to), bits, counts(from_chip));
}

Ps Controller::execute(int token, const Step& s, Ps ready) {
  const int phase = tokens_[token].decode ? 1 : 0;
  cur_phase_ = phase;
  cur_ledger_ = &ledgers_[phase][s.ledger];
  const std::vector<Step>& st = steps_of(token);
  if (s.kind == Kind::kSend) {
    Ps in = ready;
    for (int d : s.deps) in = std::max(in, done_at_[token][d]);
    // The data leaves from where its step left it (a send's data from the DPU it reached).
    const Step& from = st[s.deps[0]];
    const int from_dpu = from.kind == Kind::kSend ? from.peer_dpu : from.dpu;
    return between_chips(in, s.chip, from_dpu, s.peer, s.peer_dpu,
                         static_cast<double>(s.out_elems) * act_bits_);
  }
  // Inputs produced on other DPUs travel there first (linear layers take theirs straight to
  // the tiles).
  Ps t = ready;
  if (s.kind != Kind::kLinear) {
    for (int d : s.deps) {
      const int from_chip = st[d].kind == Kind::kSend ? st[d].peer : st[d].chip;
      t = std::max(t,
                   move(from_chip, st[d].dpu, s.chip, s.dpu, st[d].out_elems, done_at_[token][d]));
    }
  }
  Chip& chip = *layout_.chips[s.chip];
  const bool layer_norm = model_.norm == workloads::NormKind::kLayerNorm;
  const long long H = model_.hidden_size;
  switch (s.kind) {
    case Kind::kEmbed: {
      if (on_embed) on_embed(token);
      tokens_[token].start = ready;
      if (tokens_[token].decode && decode_wall_start_s_ == 0) {
        decode_wall_start_s_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        decode_cpu_start_s_ = process_cpu_s();
      }
      return chip.dram().access(t, static_cast<double>(H) * act_bits_, counts(s.chip), "embedding");
    }
    case Kind::kNorm:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::norm(H, layer_norm), "norm");
    case Kind::kResidualNorm: {
      arch::DpuWork w = arch::DpuWork::residual(H);
      w += arch::DpuWork::norm(H, layer_norm);
      return dpu_at(s.chip, s.dpu, t, w, "residual+norm");
    }
    case Kind::kResidual:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::residual(H), "residual");
    case Kind::kFinal:
      return dpu_at(s.chip, s.dpu, t, arch::DpuWork::norm(H, layer_norm), "final norm");
    case Kind::kActivation: {
      const long long I = model_.intermediate_size;
      arch::DpuWork w = arch::DpuWork::activation(I);
      if (model_.gated_mlp) w += arch::DpuWork::gating(I);
      return dpu_at(s.chip, s.dpu, t, w, "activation");
    }
    case Kind::kAttention:
      if (on_attention) on_attention(token, s.block);
      return run_attention(token, s, t);
    case Kind::kLinear: {
      const Layer& l = layers_[s.layer];
      if (on_linear) on_linear(token, s.layer);
      // The home chip's part reads its input where the step before left it (not the sends).
      int src = s.dpu;
      Ps in_ready = ready;
      bool first = true;
      for (int d : s.deps) {
        if (st[d].kind == Kind::kSend) continue;
        if (first) src = st[d].dpu, in_ready = done_at_[token][d], first = false;
        in_ready = std::max(in_ready, done_at_[token][d]);
      }
      const double macs = static_cast<double>(l.in) * l.out;
      ops_[phase] += 2 * macs;
      return run_linear(token, l, src, in_ready);
    }
    case Kind::kSend:
      break;
  }
  return t;
}

// Digital layer: every DPU of the home chip computes a slice of the outputs, streaming its
// weights from that chip's DRAM. A pass streams the whole layer once, every DPU's slice at the
// same time (the DRAM's bandwidth shared by the slices), and serves every token whose input
// reached the DPUs before it began streaming (a batched matrix-vector product); a token arriving
// later starts the next pass, which (dpu.weight_pass_wait_fraction) first waits, bounded, for the
// next token of every other sequence in flight. A token's products on a DPU are computed from when
// its input is there and its pass has begun streaming, so a token waiting for a later pass does not
// hold the DPU while its weights are not coming in.
Ps Controller::run_digital(int token, const Layer& l, int src_dpu, Ps ready) {
  Chip& chip = *layout_.chips[l.home];
  const int src_node = chip.dpu_node(src_dpu);
  const int n = chip.dpu_count();
  const int seq = tok_seq_[token];
  if (l.role == "lm_head" && --heads_left_[seq] == 0) --seqs_with_heads_;
  const Ps wait =
      static_cast<Ps>(std::floor(chip.config().dpu().weight_pass_wait_fraction() *
                                 static_cast<double>(chip.dram().transfer_ps(
                                     static_cast<double>(l.in) * l.out * weight_bits_))));
  Ps done = ready;
  for (int d = 0; d < n; ++d) {
    const long long outs = l.out / n + (d < l.out % n ? 1 : 0);
    if (outs == 0) continue;
    const Ps in = chip.noc().unicast(ready, src_node, chip.dpu_node(d),
                                     static_cast<double>(l.in) * act_bits_, counts(l.home));
    const int home = l.home, ledger = l.ledger;
    const double bits = static_cast<double>(l.in) * l.out * weight_bits_;
    const double macs = static_cast<double>(outs) * l.in;
    done = std::max(
        done, at(in, [this, token, home, ledger, d, bits, macs, wait](Ps in) {
          WeightPass& pass = weight_passes_[ledger];
          auto wait_for_pass = [&] {
            pass.waiters.push_back({cur_join_, d, in, macs});
            ++joins_[cur_join_].pending;
            if (std::find(pass.arrived.begin(), pass.arrived.end(), token) == pass.arrived.end())
              pass.arrived.push_back(token);
            if (static_cast<int>(pass.arrived.size()) >= pass.need)
              launch_pass(ledger, home, bits, in);
            return in;
          };
          if (pass.open) return wait_for_pass();
          // The token's input reached this DPU after the pass began, and the pass does
          // not serve it (its input reached another DPU in time): the next pass.
          if (pass.begin < in &&
              std::find(pass.arrived.begin(), pass.arrived.end(), token) == pass.arrived.end()) {
            const int others = seqs_with_heads_ - (heads_left_[tok_seq_[token]] > 0 ? 1 : 0);
            if (wait > 0 && others > 0) {
              // Other sequences have a token coming: assemble the pass, launched
              // when each has arrived or `wait` after this one.
              pass.open = true;
              pass.need = 1 + others;
              pass.arrived.clear();
              const long long gen = ++pass.generation;
              at(in + wait, [this, ledger, home, bits, gen, in](Ps t) {
                WeightPass& p = weight_passes_[ledger];
                if (p.open && p.generation == gen) launch_pass(ledger, home, bits, t);
                return in;
              });
              return wait_for_pass();
            }
            arch::ScMemory& dram = layout_.chips[home]->dram();
            pass.end = dram.access(in, bits, counts(home), "weights");
            pass.begin = pass.end - dram.spec().latency_ps - dram.transfer_ps(bits);
            pass.arrived.assign(1, token);
          }
          return matvec(home, d, in, macs, pass);
        }));
  }
  return done;
}

// A token's products on DPU `dpu`: from when its input is there and its pass streams; the token
// has them when both the products and the pass's last weights are in.
Ps Controller::matvec(int home, int dpu, Ps in, double macs, const WeightPass& pass) {
  const Ps w = pass.end;
  return dpu_at(home, dpu, std::max(in, pass.begin), arch::DpuWork::macs(macs), "matvec",
                [w](Ps comp) { return std::max(w, comp); });
}

void Controller::launch_pass(int layer, int home, double bits, Ps at) {
  WeightPass& pass = weight_passes_[layer];
  arch::ScMemory& dram = layout_.chips[home]->dram();
  pass.end = dram.access(at, bits, counts(home), "weights");
  pass.begin = pass.end - dram.spec().latency_ps - dram.transfer_ps(bits);
  pass.open = false;  // `arrived` stays: the tokens it serves
  flush_counts();     // the stream is counted to the step that launches it
  const int join = cur_join_;
  const Join here = joins_[join];
  std::vector<PassWaiter> waiters;
  waiters.swap(pass.waiters);
  for (const PassWaiter& w : waiters) {
    cur_join_ = w.join;
    set_context(joins_[w.join].token, joins_[w.join].step);
    const Ps done = matvec(home, w.dpu, w.in, w.macs, pass);
    flush_counts();
    finish(w.join, done);
  }
  cur_join_ = join;
  set_context(here.token, here.step);
}

// The tiles of one part: each row group's input multicast from `src_node`, every tile read,
// the partial outputs sent to `out_node` and reduced on the part's DPU.
Ps Controller::run_part(int token, const Part& p, int src_node, Ps ready, int out_node, bool bias,
                        Then then) {
  arch::ActionCounts* c = counts(p.chip);
  const int replica = static_cast<int>(token % p.replicas.size());
  if (reduction_[p.chip] != proto::REDUCE_AT_LAYER_DPU)
    return run_part_reduced(p, replica, src_node, ready, out_node, bias, std::move(then));
  const arch::DpuWork w =
      arch::DpuWork::reduce_partials(p.out, static_cast<int>(p.replicas[replica].size()), bias);
  if (opt_.memo_parts)
    return replay_part(p, replica, src_node, ready, out_node, c,
                       [this, chip = p.chip, dpu = p.dpu, w, then](Ps all_in) {
                         return dpu_at(chip, dpu, all_in, w, "reduce", then);
                       });
  // The partial outputs leave each tile when it has been read; the reduction starts when the
  // last has arrived.
  auto parts = std::make_shared<Gather>();
  parts->all = ready;
  for (const RowGroup& g : p.replicas[replica]) parts->left += static_cast<int>(g.tiles.size());
  const int chip = p.chip, dpu = p.dpu;
  parts->then = [this, chip, dpu, w, then = std::move(then)](Ps all_in) {
    return dpu_at(chip, dpu, all_in, w, "reduce", then);
  };
  return read_part(p, replica, src_node, ready, out_node, c, nullptr, gather(parts));
}

const arch::McTree& Controller::tree_of(const RowGroup& g, int src_node, arch::ScNoc& noc) {
  for (const arch::McTree& t : g.trees)
    if (t.src == src_node && t.mesh_x == noc.spec().mesh_x && t.mesh_y == noc.spec().mesh_y)
      return t;
  g.trees.emplace_back();
  noc.build_tree(src_node, g.tiles.data(), static_cast<int>(g.tiles.size()), &g.trees.back());
  return g.trees.back();
}

// Every row group's input multicast from `src_node`, its tiles' reads and their partial outputs
// sent to `out_node`; returns when the last has arrived.
Ps Controller::read_part(const Part& p, int replica, int src_node, Ps ready, int out_node,
                         arch::ActionCounts* c, ReadSpans* spans, Then then) {
  Chip& chip = *layout_.chips[p.chip];
  arch::ScNoc& noc = chip.noc();
  reads_.clear();
  for (const RowGroup& g : p.replicas[replica]) {
    const int n = static_cast<int>(g.tiles.size());
    if (static_cast<int>(arrivals_.size()) < n) arrivals_.resize(n);
    // The tiles' and ADC banks' state (scattered over memory) is fetched while the input
    // travels (cache hints only).
    for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(false);
    noc.multicast(ready, tree_of(g, src_node, noc), static_cast<double>(g.rows) * dac_bits_,
                  arrivals_.data(), c);
    for (int i = 0; i < n; ++i) chip.tile(g.tiles[i]).prefetch(true);
    for (int i = 0; i < n; ++i) {
      const Ps out = chip.tile(g.tiles[i]).read(arrivals_[i], g.rows, g.cols_phys[i], c);
      reads_.push_back({out, arrivals_[i], g.tiles[i], static_cast<double>(g.outs[i]) * act_bits_});
      if (spans) {
        spans->first_in = std::min(spans->first_in, arrivals_[i]);
        spans->last_in = std::max(spans->last_in, arrivals_[i]);
      }
    }
  }
  // Each partial output leaves its tile when the tile has been read: in a job of its own in a
  // run, in the order the tiles end in a calibration (one read alone).
  Ps all_in = ready;
  if (then) {
    if (reads_.empty()) return all_in;
    Job job;
    job.chip = p.chip;
    job.out_node = out_node;
    job.fan = open_fan(std::move(then), static_cast<int>(reads_.size()));
    for (const TileRead& r : reads_) {
      job.tile = r.tile;
      job.bits = r.bits;
      all_in = std::max(all_in, at_partial(r.out, job));
    }
    return all_in;
  }
  std::stable_sort(reads_.begin(), reads_.end(),
                   [](const TileRead& a, const TileRead& b) { return a.out < b.out; });
  for (const TileRead& r : reads_) {
    const Ps back = noc.unicast(r.out, r.tile, out_node, r.bits, c);
    all_in = std::max(all_in, back);
    if (spans) {
      spans->first_out = std::min(spans->first_out, back);
      spans->last_out = std::max(spans->last_out, back);
    }
  }
  return all_in;
}

// memo_parts: a part's read is simulated once on a scratch copy of its chip, every resource
// idle (its unloaded latency to the last partial output, its counts, each component's busy
// time), and every read of the part replays it: a pipeline that accepts a read every steady
// tile interval. The busy time is credited to the real chip's components.
Ps Controller::replay_part(const Part& p, int replica, int src_node, Ps ready, int out_node,
                           arch::ActionCounts* c, Then then) {
  PartMemo& m = memos_[p.memo + replica];
  if (!m.valid) calibrate(p, replica, src_node, out_node, &m);
  // The mesh ports of the source (inputs leaving) and of the DPU (partial outputs arriving) are
  // shared with other layers: a read's stream through each waits for the one before. The
  // stream into the DPU is issued when its first output arrives there (first come, first
  // served in time order).
  // The inputs wait at the tiles while these are busy with earlier reads (as in the detailed
  // read): the input stream takes the port when it is ready, the read starts when the part's
  // pipeline accepts it.
  Ps& in_port = in_port_free_[p.chip][src_node];
  const Ps in_start = std::max(ready, in_port);
  in_port = in_start + m.in_span;
  const Ps start = std::max(in_start, m.free);
  m.free = start + m.interval;
  const Ps woken = m.units() == 0 ? 0 : replay_gating(m, start);
  *c += m.counts;
  ++m.pending;  // busy time credited in settle_memos()
  memo_reads_ += m.reads;
  // The port carries the stream's flits (out_occ), interleaved with other streams: the last
  // output arrives no earlier than the read alone would bring it, nor than the port can pass it.
  const int chip = p.chip;
  const Ps out_span = m.latency - m.first_out, occ = m.out_occ;
  return at(start + woken + m.first_out, [this, chip, out_node, out_span, occ, then](Ps first) {
    Ps& out_port = out_port_free_[chip][out_node];
    out_port = std::max(first, out_port) + occ;
    return then(std::max(first + out_span, out_port));
  });
}

// Power gating with memo_parts (an approximation): each gated unit the part's read uses (tile,
// ADC bank, router) is used from its offset in the calibrated read, so its off intervals and
// wake-ups follow the replays as they would follow the reads. The wake-ups delay the read by
// the cold read's extra latency times the share of its units found off (the units on the
// critical path are not singled out).
Ps Controller::replay_gating(PartMemo& m, Ps start) {
  // The units' state is scattered over memory: each is asked for a few uses ahead (cache hints
  // only), and the second pass finds it in the cache.
  constexpr size_t kAhead = 16;
  const size_t n = m.uses.size();
  const UnitUse* uses = m.uses.data();
  for (size_t i = 0; i < std::min(n, kAhead); ++i)
    uses[i].tile ? uses[i].tile->prefetch_gating(false) : uses[i].units->prefetch(uses[i].unit);
  size_t asleep = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const UnitUse& a = uses[i + kAhead];
      a.tile ? a.tile->prefetch_gating(false) : a.units->prefetch(a.unit);
    }
    const UnitUse& u = uses[i];
    if (u.tile) {
      if (u.tile->asleep(start + u.begin)) {
        ++asleep;
        u.tile->prefetch_gating(true);
      }
    } else {
      asleep += u.units->asleep(u.unit, start + u.begin) ? 1 : 0;
    }
  }
  const size_t own = m.own_tiles.size();
  for (size_t i = 0; i < own; ++i) {
    if (start + m.own_begin[i] - m.own_last[i] > m.own_gate_after_ps) {
      ++asleep;
      ++m.own_wakes[i];
    }
  }
  const Ps delay =
      asleep == 0 ? 0
                  : static_cast<Ps>(static_cast<double>(m.cold_extra) *
                                        static_cast<double>(asleep) / static_cast<double>(n + own) +
                                    0.5);
  if (own > 0) {
    for (size_t i = 0; i < own; ++i)
      m.own_last[i] = std::max(m.own_last[i], start + m.own_end[i] + delay);
    m.replays.push_back({start, delay});
  }
  for (size_t i = 0; i < n; ++i) {
    const UnitUse& u = uses[i];
    if (u.tile) {
      u.tile->replay_use(start + u.begin, start + u.end + delay);
    } else {
      u.units->wake(u.unit, start + u.begin);
      u.units->busy_until(u.unit, start + u.end + delay);
    }
  }
  return delay;
}

void Controller::settle_gating() {
  for (PartMemo& m : memos_) {
    for (size_t i = 0; i < m.own_tiles.size(); ++i) {
      arch::ScTile* tile = m.own_tiles[i];
      tile->reserve_gated(m.own_wakes[i] + 1);
      for (const auto& [start, delay] : m.replays)
        tile->replay_use(start + m.own_begin[i], start + m.own_end[i] + delay);
    }
    m.replays.clear();
    std::fill(m.own_wakes.begin(), m.own_wakes.end(), 0);
  }
}

void Controller::record_uses(const Part& p, int replica, Chip& scratch, Ps at,
                             size_t routers_before, const std::vector<size_t>& banks_before,
                             PartMemo* m) {
  Chip& real = *layout_.chips[p.chip];
  const proto::PowerGatingConfig& g = real.config().power_gating();
  std::map<std::pair<const void*, int>, size_t> index;  // (group or tile, unit) -> uses
  auto use = [&](arch::ScTile* tile, arch::GatedUnits* units, int unit, Ps begin, Ps end) {
    const void* key = tile ? static_cast<const void*>(tile) : static_cast<const void*>(units);
    auto it = index.find({key, unit});
    if (it == index.end()) {
      index[{key, unit}] = m->uses.size();
      m->uses.push_back({tile, units, unit, begin - at, end - at});
      return;
    }
    UnitUse& u = m->uses[it->second];
    u.begin = std::min(u.begin, begin - at);
    u.end = std::max(u.end, end - at);
  };
  // Tiles: from each read's input to its partial outputs (read_part's record of the read).
  if (g.tile().enabled())
    for (const TileRead& r : reads_) use(&real.tile(r.tile), nullptr, 0, r.in, r.out);
  // Tiles read by this part replica only (the usual mapping) keep their state in the memo.
  if (own_tiles_ < 0) {
    own_tiles_ = 1;
    std::set<std::pair<int, int>> seen;
    for (const Layer& l : layers_)
      for (const Part& q : l.parts)
        for (const auto& rep : q.replicas)
          for (const RowGroup& rg : rep)
            for (int t : rg.tiles)
              if (!seen.insert({q.chip, t}).second) own_tiles_ = 0;
  }
  if (own_tiles_ == 1 && g.tile().enabled()) {
    std::vector<UnitUse> kept;
    for (const UnitUse& u : m->uses) {
      if (!u.tile || !u.tile->spec().gating) {
        kept.push_back(u);
        continue;
      }
      m->own_tiles.push_back(u.tile);
      m->own_begin.push_back(u.begin);
      m->own_end.push_back(u.end);
      m->own_last.push_back(u.tile->last_end());
      m->own_wakes.push_back(0);
      m->own_gate_after_ps = u.tile->spec().gate_after_ps;
    }
    m->uses = std::move(kept);
  }
  // ADC banks and routers: the first off interval recorded since the read began ends at a
  // unit's first use (the watch copy gates at once), its last use ends at last_end().
  if (g.adc_bank().enabled()) {
    size_t k = 0;
    for (const RowGroup& rg : p.replicas[replica])
      for (int t : rg.tiles) {
        arch::ScAdcBank* bank = scratch.tile(t).bank();
        const std::vector<arch::GatedInterval>& iv = bank->gated();
        if (banks_before[k] < iv.size())
          use(nullptr, &real.tile(t).bank()->gate(), 0, iv[banks_before[k]].end,
              bank->gate().last_end(0));
        ++k;
      }
  }
  if (g.router().enabled()) {
    arch::GatedUnits& routers = scratch.noc().routers();
    const std::vector<arch::GatedInterval>& iv = routers.intervals();
    for (size_t i = routers_before; i < iv.size(); ++i)
      use(nullptr, &real.noc().routers(), iv[i].unit, iv[i].end, routers.last_end(iv[i].unit));
  }
}

void Controller::settle_memos() {
  for (PartMemo& m : memos_) {
    if (m.pending == 0) continue;
    for (const auto& [component, ps] : m.busy) component->add_busy(ps * m.pending);
    m.pending = 0;
  }
}

void Controller::calibrate(const Part& p, int replica, int src_node, int out_node, PartMemo* m) {
  Chip& chip = *layout_.chips[p.chip];
  Calibration& cal = *calibration_of_[p.chip];
  const std::vector<arch::ScComponent*> real = chip.components();
  const std::vector<arch::ScComponent*> scratch = cal.chip->components();
  std::vector<double> before(scratch.size());
  for (size_t k = 0; k < scratch.size(); ++k) before[k] = scratch[k]->busy_ps();
  const double reads = cal.chip->tile_reads();
  // After everything the scratch chip did so far: every resource is idle.
  const Ps at = cal.clock;
  // Power gating: where each gated unit's first use in the read begins (kWatch copy).
  Calibration* cold = cold_of_[p.chip];
  size_t routers_before = 0;
  std::vector<size_t> banks_before;
  if (cold) {
    routers_before = cal.chip->noc().gated().size();
    for (const RowGroup& rg : p.replicas[replica])
      for (int t : rg.tiles) banks_before.push_back(cal.chip->tile(t).bank()->gated().size());
  }
  std::swap(layout_.chips[p.chip], cal.chip);
  ReadSpans spans;
  const Ps done = read_part(p, replica, src_node, at, out_node, &m->counts, &spans);
  std::swap(layout_.chips[p.chip], cal.chip);
  cal.clock = done + cal.gap;
  if (cold) {
    record_uses(p, replica, *cal.chip, at, routers_before, banks_before, m);
    // The same read with every gated unit off: its extra latency is what wake-ups can cost.
    arch::ActionCounts scratch_counts;
    std::swap(layout_.chips[p.chip], cold->chip);
    const Ps cold_done =
        read_part(p, replica, src_node, cold->clock, out_node, &scratch_counts, nullptr);
    std::swap(layout_.chips[p.chip], cold->chip);
    m->cold_extra = std::max<Ps>(0, (cold_done - cold->clock) - (done - at));
    cold->clock = cold_done + cold->gap;
  }
  m->valid = true;
  m->latency = done - at;
  m->in_span = spans.last_in - at;
  m->first_out = spans.first_out - at;
  m->reads = cal.chip->tile_reads() - reads;
  for (size_t k = 0; k < scratch.size(); ++k)
    if (scratch[k]->busy_ps() != before[k])
      m->busy.push_back({real[k], scratch[k]->busy_ps() - before[k]});
  const arch::TileSpec ts = tile_spec(chip.config());
  const arch::AdcBankSpec as = adc_bank_spec(chip.config());
  for (const RowGroup& g : p.replicas[replica])
    for (int cols : g.cols_phys)
      m->interval = std::max(m->interval, arch::ScTile::steady_interval(ts, as, cols));
  const arch::NocSpec& ns = chip.noc().spec();
  for (const RowGroup& g : p.replicas[replica])
    for (int outs : g.outs)
      m->out_occ += arch::cycles_to_ps(
          std::ceil(static_cast<double>(outs) * act_bits_ / ns.link_width_bits), ns.cycle_ps);
  // Outputs arriving over several links into the DPU's node pass in parallel: at most the span
  // the read alone took.
  m->out_occ = std::min(m->out_occ, m->latency - m->first_out);
  // The mesh links into the tiles and into the DPU carry one read's inputs and partial outputs
  // one after another: the next read cannot pass them faster than they arrived.
  m->interval = std::max(
      m->interval, std::max(spans.last_in - spans.first_in, spans.last_out - spans.first_out));
}

// The scratch copy of chip `chip` (one per distinct config, DPU placement and kind).
Controller::Calibration& Controller::calibration(int chip, Scratch kind) {
  Chip& real = *layout_.chips[chip];
  proto::ChipConfig config = real.config();
  Ps gap = 1000000;  // 1 us
  if (kind == Scratch::kWatch) {
    for (proto::GatingConfig* g : {config.mutable_power_gating()->mutable_tile(),
                                   config.mutable_power_gating()->mutable_adc_bank(),
                                   config.mutable_power_gating()->mutable_router()}) {
      g->set_idle_before_gating_ns(0);
      g->set_wake_up_latency_ns(0);
    }
  } else if (kind == Scratch::kCold) {
    const proto::PowerGatingConfig& g = config.power_gating();
    const double idle_ns =
        std::max({g.tile().enabled() ? g.tile().idle_before_gating_ns() : 0,
                  g.adc_bank().enabled() ? g.adc_bank().idle_before_gating_ns() : 0,
                  g.router().enabled() ? g.router().idle_before_gating_ns() : 0});
    gap += static_cast<Ps>(idle_ns * 1000.0 + 0.5);
  }
  std::string key = std::to_string(static_cast<int>(kind)) + ":" + config.SerializeAsString();
  for (int n : real.dpu_nodes()) key += "," + std::to_string(n);
  auto it = calibrations_.find(key);
  if (it == calibrations_.end()) {
    Calibration cal;
    cal.gap = gap;
    // Gated copies start after a gap: every unit is on at time 0.
    cal.clock = kind == Scratch::kPlain ? 0 : gap;
    // Never destroyed, like the chips (SystemC removes modules in quadratic time).
    const std::string name = "memo" + std::to_string(calibrations_.size());
    cal.chip = new Chip(name.c_str(), config, real.dpu_nodes());
    it = calibrations_.emplace(key, cal).first;
  }
  return it->second;
}

Ps Controller::run_linear(int token, const Layer& l, int src_dpu, Ps ready) {
  if (!l.on_tiles) return run_digital(token, l, src_dpu, ready);
  Chip& home = *layout_.chips[l.home];
  // One part on the home chip: its tiles' outputs go to the layer's DPU, reduced there.
  if (l.parts.size() == 1 && l.parts[0].chip == l.home)
    return run_part(token, l.parts[0], home.dpu_node(src_dpu), ready, home.dpu_node(l.dpu), l.bias);
  // Split over chips: each part reduces its row groups on its own chip; an output slice or a
  // partial sum comes back to the home chip; partial sums are added there.
  const bool part_bias = l.bias && !l.by_input;
  Then sum;  // by input: the home DPU adds the parts' partial sums once all have arrived
  if (l.by_input) {
    auto g = std::make_shared<Gather>();
    g->left = static_cast<int>(l.parts.size());
    g->all = ready;
    const int home_chip = l.home, dpu = l.dpu;
    const arch::DpuWork w =
        arch::DpuWork::reduce_partials(l.out, static_cast<int>(l.parts.size()), l.bias);
    g->then = [this, home_chip, dpu, w](Ps all) {
      return dpu_at(home_chip, dpu, all, w, "reduce");
    };
    sum = gather(g);
  }
  Ps all = ready;
  for (const Part& p : l.parts) {
    if (p.chip == l.home) {
      all = std::max(all, run_part(token, p, home.dpu_node(src_dpu), ready, home.dpu_node(p.dpu),
                                   part_bias, sum));
      continue;
    }
    Chip& chip = *layout_.chips[p.chip];
    const Ps in = done_at_[token][p.send];
    const int from = p.chip, from_dpu = p.dpu, to = l.home, to_dpu = l.dpu;
    const long long elems = p.out;
    Then back = [this, from, from_dpu, to, to_dpu, elems, sum](Ps done) {
      const Ps arrived = move(from, from_dpu, to, to_dpu, elems, done);
      return sum ? sum(arrived) : arrived;
    };
    all = std::max(all, run_part(token, p, chip.dpu_node(p.dpu), in, chip.dpu_node(p.dpu),
                                 part_bias, std::move(back)));
  }
  return all;
}

Ps Controller::run_attention(int token, const Step& s, Ps ready) {
  Chip& chip = *layout_.chips[s.chip];
  arch::ActionCounts* c = counts(s.chip);
  const long long heads = model_.num_heads, kvh = model_.num_kv_heads, hd = model_.head_dim;
  const int pos = tok_pos_[token];
  const long long ctx = pos + 1;  // keys and values of this and every earlier position
  const int phase = tokens_[token].decode ? 1 : 0;
  // Append this token's K and V (after RoPE, approximated as ready + the RoPE of one group):
  // its sequence's share of the SRAM while it has room, then DRAM.
  const long long sram_tokens = kv_sram_tokens_per_sequence(s.chip);
  const bool in_sram = pos < sram_tokens;
  const double block_bits = static_cast<double>(kv_bits_per_token_block_);
  // Read the K and V of the earlier positions from where they live; SRAM and DRAM in parallel.
  const long long earlier = pos;
  const long long from_sram = std::min<long long>(earlier, sram_tokens);
  const long long from_dram = earlier - from_sram;
  const Ps rs = chip.kv_sram().access(ready, block_bits * from_sram, c, "kv read");
  const Ps rd = chip.dram().access(ready, block_bits * from_dram, c, "kv read");
  // The kv-head groups are spread over up to `dpu_count` DPUs starting at the block's DPU: each
  // receives its query heads, key and value, applies RoPE, computes QK^T, softmax and
  // softmax(.)V over the context, and returns its slice of the output to the block's DPU.
  // Each group's work is issued when its inputs reach its DPU; the K and V of this position are
  // written once every group has applied RoPE.
  const int groups = static_cast<int>(
      std::max<long long>(1, std::min<long long>(kvh > 0 ? kvh : 1, chip.dpu_count())));
  const int chip_idx = s.chip, home_dpu = s.dpu;
  const bool rotary = model_.positions == workloads::PositionKind::kRotary;
  auto rope = std::make_shared<Gather>();
  rope->left = groups;
  rope->all = ready;
  rope->then = [this, chip_idx, in_sram, block_bits](Ps rope_done) {
    Chip& chip = *layout_.chips[chip_idx];
    return (in_sram ? chip.kv_sram() : chip.dram())
        .access(rope_done, block_bits, counts(chip_idx), "kv write");
  };
  Ps done = std::max(rs, rd);
  for (int g = 0; g < groups; ++g) {
    const long long kv_g = kvh / groups + (g < kvh % groups ? 1 : 0);
    const long long q_g = kvh > 0 ? heads * kv_g / kvh : heads;
    const int d = (s.dpu + g) % chip.dpu_count();
    const Ps t = move(s.chip, s.dpu, s.chip, d, (q_g + 2 * kv_g) * hd, ready);
    const Ps kv_read = std::max(rs, rd);
    done = std::max(done, at(t, [=](Ps t) {
                      arch::ScDpu& dpu = layout_.chips[chip_idx]->dpu(d);
                      arch::ActionCounts* c = counts(chip_idx);
                      if (rotary) t = dpu.run(t, arch::DpuWork::rope((q_g + kv_g) * hd), c, "rope");
                      arch::DpuWork w = arch::DpuWork::macs(static_cast<double>(q_g * ctx * hd));
                      w += arch::DpuWork::softmax(q_g * ctx, q_g);
                      w += arch::DpuWork::macs(static_cast<double>(q_g * ctx * hd));
                      const Ps comp = std::max(dpu.run(t, w, c, "attention"), kv_read);
                      const Ps back =
                          at(comp, [this, chip_idx, d, home_dpu, elems = q_g * hd](Ps comp) {
                            return move(chip_idx, d, chip_idx, home_dpu, elems, comp);
                          });
                      return std::max(back, gather(rope)(t));
                    }));
  }
  ops_[phase] += 4.0 * heads * ctx * hd;
  return done;
}

}  // namespace aimc::sim

// The controller's construction: layers and their parts from the chips' plans, ledgers, the KV
// cache's size, the step templates of a token and the token state.
#include <algorithm>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

#include "proto/user_error.h"
#include "sim/chip/controller.h"

namespace aimc::sim {

using arch::Ps;

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
  if (opt_.memo_parts) mark_shared_tiles();
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
  make_lanes();
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
      for (const auto& rep : p.replicas) {
        arch::ReadSums& sum = p.sums.emplace_back();
        for (const RowGroup& g : rep)
          for (int cols : g.cols_phys) {
            sum.rows += g.rows;
            sum.cols += cols;
            sum.cells += static_cast<long long>(g.rows) * cols;
          }
      }
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
  const size_t chips = layout_.chips.size();
  for (auto& per_chip : chip_counts_) per_chip.assign(chips, arch::ActionCounts{});
  ledgers_[0].assign(ledger_names_.size(), arch::ActionCounts{});
  ledgers_[1].assign(ledger_names_.size(), arch::ActionCounts{});
  // Every chip of the links has events (the data crossing a chip the plan leaves unused).
  const size_t nodes = multi_ ? std::max<size_t>(chips, layout_.links->spec().chips) : chips;
  for (auto& per_chip : chip_ledgers_)
    per_chip.assign(multi_ ? nodes : 0,
                    std::vector<arch::ActionCounts>(ledger_names_.size(), arch::ActionCounts{}));
  for (size_t chip = 0; chip < nodes; ++chip) seqs_.push_back(static_cast<long long>(chip) << 48);
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
  for (Chip* chip : layout_.chips)
    if (chip->noc().routers().spec().enabled && opt_.decode_tokens > 0) fold_routers_ = true;
  if (request_mode()) {
    stream_gating();  // no phase split: every off interval counts to decode
    admitted_.assign(sequences(), -1);
    finished_.assign(sequences(), -1);
    while (next_admit_ < sequences() && in_flight_ < opt_.max_batch)
      admit(next_admit_, opt_.requests[next_admit_].arrival);
  } else {
    if (multi_ && opt_.host.enabled && layout_.head_chip != 0 && opt_.decode_tokens > 0)
      prefill_ids_left_ = opt_.batch;
    for (int q = 0; q < opt_.batch; ++q) {
      start_heads(q);
      const Ps in = prompt_in(q, 0);
      for (int p = 0; p < opt_.prompt_tokens; ++p) push(seq_first_[q] + p, embed_step_, in);
    }
  }
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
  // The home chip's part; each other part is a step of its own on its chip, issued when its
  // input has arrived there; a gather step on the home chip takes their results.
  const int home = add_step(st, Kind::kLinear, block, l.dpu, l.out, l.ledger, deps, li);
  std::vector<int> all = {home};
  for (size_t i = 0; i < l.parts.size(); ++i) {
    Part& p = l.parts[i];
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
    Step s;
    s.kind = Kind::kPart;
    s.layer = li;
    s.block = block;
    s.dpu = p.dpu;
    s.chip = p.chip;
    s.part = static_cast<int>(i);
    s.out_elems = p.out;
    s.ledger = l.ledger;
    s.deps = {p.send};
    st->push_back(s);
    all.push_back(static_cast<int>(st->size()) - 1);
  }
  if (all.size() == 1) return home;
  return add_step(st, Kind::kGather, block, l.dpu, l.out, l.ledger, std::move(all), li);
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
}  // namespace aimc::sim

// The controller: executes a mapped model token by token on a Chip — for each of B sequences
// (B = 1 unless batched; sequences share the hardware, each has its own KV cache; all prefills
// end before the batch's first decode token starts: static batching) a prefill of P prompt
// tokens (pipelined across layers: a token's step starts as soon as its inputs and resources are
// ready) then D decode tokens, each appending to the KV cache (spilling to DRAM when the
// KV-cache SRAM is full), in dependency order: norm, q/k/v, attention, o, residual and norm,
// gate/up, activation and gating, down, residual, ..., final norm, lm_head.
//
// Timing: loosely timed. Steps wait in a queue ordered by the time their inputs are ready; one
// SC_METHOD pops every step ready within one quantum of the kernel's time, issues it to the
// components (which return completion times from their busy-until state) and schedules its
// successors, then sleeps until the next step is ready. So the kernel advances in quantum-sized
// steps, with a handful of process activations per token. A step's DPU work whose data is still
// on its way (over the mesh, from the tiles) is a job of its own in the same queue, issued when
// the data arrives: each DPU serves its work first come, first served in time order, and never
// holds a slot for data in flight while work that arrived earlier waits.
//
// Systems of chips: the same controller drives several chips joined by chip-to-chip links
// (SystemLayout). Each decoder block runs its vector work, attention and KV cache on its home
// chip; a layer's tiles may sit on several chips (a layer split over chips): the home chip sends
// each other chip the input its part needs and receives its output slice or partial sums over
// the links. Hidden states cross the links between the home chips of consecutive blocks, and a
// generated token travels from the chip of lm_head back to chip 0 (embedding).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <systemc>
#include <tuple>
#include <vector>

#include "arch/action_counts.h"
#include "arch/chip_links.h"
#include "proto/mapping_plan.pb.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/event_heap.h"
#include "sim/chip/part_memo.h"
#include "workloads/model_config.h"

namespace aimc::sim {

/// CPU time of this process, in seconds (for simulation-speed figures).
double process_cpu_s();

/// What the controller runs.
struct ControllerOptions {
  int prompt_tokens = 16;    ///< P: prefill tokens (>= 1)
  int decode_tokens = 16;    ///< D: generated tokens
  double quantum_ns = 1000;  ///< temporal-decoupling quantum of the controller
  /// Sequences decoding together (>= 1), each with its own KV cache; their tokens share the
  /// tiles, DPUs, memories and mesh. Token t of the controller is position t % (P + D) of
  /// sequence t / (P + D).
  int batch = 1;
  /// Request mode (continuous batching) when not empty: one sequence per request, each with its
  /// own prompt and decode lengths, admitted in order when it has arrived and fewer than
  /// max_batch sequences are in flight; prefill and decode tokens of all admitted sequences
  /// interleave as their steps become ready (no phase barrier). prompt_tokens, decode_tokens and
  /// batch are then unused.
  struct Request {
    int prompt_tokens = 1;
    int decode_tokens = 0;
    arch::Ps arrival = 0;
  };
  std::vector<Request> requests;
  int max_batch = 1;
  /// Approximate and faster (sim::SimOptions::memo_parts): after a layer part's first read,
  /// its tiles, ADCs and mesh paths act as one pipeline with that read's latency and the tiles'
  /// steady read interval; contention with other layers on the mesh is not modelled.
  bool memo_parts = false;
  /// Threads of a system's run (>= 1): each owns a set of chips (docs/systems.md section 8);
  /// the results do not depend on it. Runs that cannot share the chips use one.
  int threads = 1;
  /// Lane (thread) of each chip, repeated over the chips (empty: consecutive chips balanced by
  /// their tiles). For tests: any split gives the same results.
  std::vector<int> lane_of_chip;
  /// For tests: the lanes run in turn on the calling thread, each as far as its bound allows
  /// before the next (the furthest a lookahead lets a lane run ahead; deterministic).
  bool lanes_in_turn = false;
  /// The host link of chip 0 (sim::SimOptions::host): each sequence's prompt ids (32 bits each)
  /// go in before its prefill, each generated id goes out once it has reached chip 0; a token
  /// ends when its id reaches the host. Off: prompts start on chip 0, tokens end at lm_head.
  struct HostLink {
    bool enabled = false;
    double bandwidth_gbps = 16;
    double latency_ns = 1000;
  };
  HostLink host;
  /// Exact replay of part reads (sim::SimOptions::replay): the reads of a layer's parts issued
  /// on a chip at one time run together, before the chip's next event (docs/systems.md section
  /// 8); the results are those of a run without it. Off: each read runs when it is issued.
  bool replay = true;
  /// For tests: every replayed group is simulated in full at its first member's end (as when
  /// something else uses the chip's mesh or tiles before the group has ended).
  bool replay_materialize_always = false;
  /// For tests: off, groups gather and replay only on a quiet chip (not on one whose mesh
  /// holds links of other transfers away from the group's).
  bool replay_footprint = true;
};

/// The chips a controller drives. One chip: chips = {chip}, plans = {plan}, no links.
struct SystemLayout {
  std::vector<Chip*> chips;
  /// Per chip, the placement of the layer parts it holds (layers matched to the model's by
  /// name; a chip may hold a part of a layer: some of its row and column tiles).
  std::vector<const proto::MappingPlan*> plans;
  arch::ChipLinks* links = nullptr;  ///< null for one chip
  /// Home chip of each decoder block (empty = chip 0 for all) and of the final norm and
  /// lm_head; embeddings are looked up on chip 0.
  std::vector<int> block_chip;
  int head_chip = 0;
};

/// Timing of one token.
struct TokenRecord {
  arch::Ps start = 0;  ///< its embedding lookup began
  arch::Ps end = 0;    ///< its last step ended (lm_head for the last prompt and decode tokens)
  bool decode = false;
};

/// Executes the plan. Throws UserError when the plan does not hold every linear layer of the
/// model with its shape. Construct before sc_start (it registers one SC_METHOD); results are valid
/// once the kernel has run out of events.
class Controller : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Controller);
  Controller(sc_core::sc_module_name name, Chip* chip, const workloads::ModelConfig& model,
             const proto::MappingPlan& plan, const ControllerOptions& options);
  /// A system: `layers` lists every linear layer of the model in execution order (its blocks
  /// are ignored); `layout.plans` place their parts on the chips.
  Controller(sc_core::sc_module_name name, const SystemLayout& layout,
             const workloads::ModelConfig& model, const proto::MappingPlan& layers,
             const ControllerOptions& options);

  // ---- Hooks (empty = not called; a run without weights installs none) -----------------------
  /// Called when a linear layer of a token is issued (token position, index into plan.layers).
  std::function<void(int token, int layer)> on_linear;
  /// Called when a token's embedding step is issued, before its timing is computed. For a
  /// decode token this happens after the previous token's lm_head step has completed.
  std::function<void(int token)> on_embed;
  /// Called when the attention step of (token, block) is issued. Per block these calls come in
  /// token order (attention of token t waits for that of token t - 1: its keys and values), and
  /// after on_embed(token) and on_attention(token, block - 1). The numbers of a run with
  /// weights are computed here (sim/run_numerics.h).
  std::function<void(int token, int block)> on_attention;
  /// Called once when the batch's first decode tokens are released (every prefill is done),
  /// with that time.
  std::function<void(arch::Ps when)> on_decode_start;

  // ---- Results ----------------------------------------------------------------------------
  /// Every token of every sequence: sequence s's position p is tokens()[s * (P + D) + p].
  const std::vector<TokenRecord>& tokens() const { return tokens_; }
  /// Positions per sequence (P + D) of a static batch.
  int positions() const { return opt_.prompt_tokens + opt_.decode_tokens; }
  /// Sequences, the first token of each, and its prompt length.
  int sequences() const { return static_cast<int>(seq_first_.size()); }
  int sequence_first_token(int s) const { return seq_first_[s]; }
  int sequence_prompt(int s) const { return seq_prompt_[s]; }
  /// Request mode: when each sequence was admitted (its prompt started) and finished.
  const std::vector<arch::Ps>& admitted() const { return admitted_; }
  const std::vector<arch::Ps>& finished() const { return finished_; }
  /// KV-cache SRAM positions each sequence keeps (the SRAM split evenly over the batch, or over
  /// max_batch in request mode); later positions live in DRAM.
  /// On a system: the fewest over the chips holding blocks (each holds its blocks' KV).
  long long kv_sram_tokens_per_sequence() const;
  long long kv_sram_tokens_per_sequence(int chip) const {
    return kv_capacity_tokens_[chip] / (opt_.requests.empty() ? opt_.batch : opt_.max_batch);
  }
  /// Ledger names (linear layers by name, then per block "<prefix>.attention" and
  /// "<prefix>.vector", "embedding", "final").
  const std::vector<std::string>& ledger_names() const { return ledger_names_; }
  /// Action counts by ledger, for prefill (phase 0) and decode (phase 1).
  const std::vector<arch::ActionCounts>& ledger(int phase) const { return ledgers_[phase]; }
  /// Operations (2 per MAC of linear layers and attention) by phase.
  double ops(int phase) const;
  /// KV-cache placement.
  long long kv_bytes_per_token() const { return kv_bits_per_token_ / 8; }
  /// Chips driven, and the home chip of each ledger (what prices its dynamic energy).
  int chip_count() const { return static_cast<int>(layout_.chips.size()); }
  int ledger_chip(int ledger) const { return ledger_chip_[ledger]; }
  /// Action counts of chip `chip` in phase `phase` (every ledger's share on that chip).
  arch::ActionCounts chip_counts(int phase, int chip) const;
  /// memo_parts: credits the components the busy time of the replays so far (before their busy
  /// times are read: at the start of decode and at the end of the run).
  void settle_memos();
  /// memo_parts with power gating: hands the tiles whose gating a memo kept the replays that
  /// used them (once, after the last replay, before their gating is read).
  void settle_gating();
  /// Tile reads replayed from a memo (memo_parts), not in the tiles' own read counts.
  double memo_reads() const { return memo_reads_; }
  /// Part reads replayed exactly (ControllerOptions::replay; a count, no effect on the results).
  long long replayed_part_reads() const { return replayed_part_reads_; }
  /// Bits x links crossed over the chip-to-chip links, by phase.
  double link_bit_hops(int phase) const;
  /// The host link's directions (null when it is not modelled) and its bits by phase.
  const arch::LinkChannel* host_in() const { return host_in_.get(); }
  const arch::LinkChannel* host_out() const { return host_out_.get(); }
  double host_bits(int phase) const { return host_bits_[phase]; }
  /// Time the last step ended.
  arch::Ps end_time() const;
  /// Process activations of the controller's method (a cost measure).
  long long activations() const;
  /// Wall-clock second (steady clock) at which the first decode token was issued; 0 when none.
  double decode_wall_start_s() const { return decode_wall_start_s_; }
  /// Process CPU second at which the first decode token was issued; 0 when none.
  double decode_cpu_start_s() const { return decode_cpu_start_s_; }
  /// Records one span per token on a "controller" track (nullptr: none).
  void set_trace(arch::SpanSink* sink);

 private:
  enum class Kind {
    kEmbed,
    kNorm,
    kLinear,
    kAttention,
    kResidualNorm,
    kActivation,
    kResidual,
    kFinal,
    kSend,    // data crossing the links to another chip (an input or a part's result)
    kPart,    // a layer part on a chip other than the layer's home chip
    kGather,  // joins a split layer's parts on its home chip (adds partial sums by input)
  };
  struct Step {
    Kind kind;
    int layer = -1;  // index into layers_ (kLinear)
    int block = -1;
    int dpu = 0;       // where it runs / its output lives
    int chip = 0;      // chip of `dpu`
    int peer = -1;     // kSend: destination chip
    int peer_dpu = 0;  // kSend: the DPU on `peer` that takes the data
    int part = -1;     // kPart: index into its layer's parts
    long long out_elems = 0;
    int ledger = 0;
    std::vector<int> deps;  // steps of the same token
    std::vector<int> succ;
  };
  struct RowGroup {
    int rows = 0;
    std::vector<int> tiles;
    std::vector<int> cols_phys;  // columns converted per tile
    std::vector<int> outs;       // partial outputs per tile
    std::vector<int> cols;       // first output column per tile
    // The input's multicast trees to the tiles, one per source node met so far.
    mutable std::vector<arch::McTree> trees;
    // The flow the last tree used was registered as (-1: none), with its mesh (serial) and
    // source node: multicast_group() then runs it without reading the tree.
    mutable int flow = -1, flow_src = -1;
    mutable uint64_t flow_mesh = 0;
  };
  // The tiles of one replica whose partial outputs are summed together (one column slice over
  // the row groups), for reductions away from the layer's DPU.
  struct ColSlice {
    int outs = 0;
    std::vector<std::pair<int, int>> parts;  // (row group, tile within it)
    int near_dpu = 0;                        // REDUCE_NEAR_TILE_DPUS: the DPU reducing it
  };
  // The tiles of one layer on one chip.
  struct Part {
    int chip = 0;
    int dpu = 0;                                  // reduces the part's partial outputs on its chip
    std::vector<std::vector<RowGroup>> replicas;  // replica -> row groups
    std::vector<arch::ReadSums> sums;             // replica -> its tiles' reads, summed
    long long in = 0, out = 0;                    // inputs it reads, outputs it returns
    long long row_begin = -1;                     // its first input row
    std::vector<std::vector<ColSlice>> slices;    // replica -> column slices (reductions away
                                                  // from the part's DPU only)
    int send = -1;  // step bringing its input from the home chip (remote parts)
    int memo = -1;  // memo_parts: index of its replica 0's PartMemo
  };
  struct Layer {
    std::string name;
    std::string role;
    int block = -1;
    bool on_tiles = false;
    long long in = 0, out = 0;
    int home = 0;  // chip of its block
    int dpu = 0;   // DPU on the home chip receiving its outputs
    bool bias = false;
    bool by_input = false;  // split over chips by input tiles: partial sums are added at home
    std::vector<Part> parts;
    int ledger = 0;
  };
  struct Pending {
    arch::Ps ready;
    long long seq;
    int token;
    int step;
    int job = -1;    // >= 0: a deferred job (jobs_), not a step
    int burst = -1;  // >= 0: the next partial output of a burst (bursts_), not a step
    bool operator>(const Pending& o) const {
      return ready != o.ready ? ready > o.ready : seq > o.seq;
    }
  };
  struct Earlier {
    bool operator()(const Pending& a, const Pending& b) const { return b > a; }
  };

  // Step templates: (input step, chip, first row, rows) -> the step sending that input slice
  // to that chip.
  using SentInputs = std::map<std::tuple<int, int, long long, long long>, int>;
  void index_layers();
  int layer_of(int block, const std::string& role) const;
  int chip_of_block(int block) const;
  int block_dpu(int block) const;
  int add_step(std::vector<Step>* st, Kind k, int block, int dpu, long long elems, int ledger,
               std::vector<int> deps, int layer = -1);
  int add_linear(std::vector<Step>* st, SentInputs* sent, int block, const std::string& role,
                 std::vector<int> deps);
  int add_block(std::vector<Step>* st, SentInputs* sent, int b, int prev);
  void build_template(bool with_head, std::vector<Step>* steps);
  // Construction, in order.
  void check_options() const;
  void init(const proto::MappingPlan& layers);
  void place_layers(const proto::MappingPlan& plan);
  void group_blocks(int chip, const proto::MappingPlan& plan);
  void finish_parts();
  // memo_parts: marks the memos of part replicas that share a tile with another (read in full).
  void mark_shared_tiles();
  void name_ledgers();
  void size_kv_cache();
  void make_sequences();
  void init_token_state();
  void seed_queue();
  void wake();
  void push(int token, int step, arch::Ps ready);
  // The next sequence number of an entry pushed by an event of chip `chip`: the chip in the top
  // bits, a count per chip below, so that (ready, seq) orders the queue by (ready, chip of the
  // pushing event, its count), whatever the order in which chips' events interleave.
  long long next_seq(int chip) { return seqs_[chip]++; }
  // Systems of chips: every effect on another chip is a message, an event at that chip at least
  // one link latency after the event sending it. post() queues `fn(when)` as an event of chip
  // `chip` (not part of any step).
  using Message = std::function<void(arch::Ps)>;
  // `cls`: the event's class for the lookahead of a parallel run (a hop of a flight), -1 for an
  // event of the chip itself.
  void post(int chip, arch::Ps when, Message fn, int cls = -1);
  // `bits` from DPU `from_dpu` of chip `from` to DPU `to_dpu` of chip `to`, ready at `ready`, over
  // the links, each link booked by the chip that owns it when the data reaches that chip;
  // `arrive(t)` runs as an event of `to` when the data has arrived there. Counted to ledger
  // `ledger` of phase `phase`. `ports`: through each chip's mesh between the DPUs and the ports
  // (links.route_via_ports; a mesh between two ports is crossed store-and-forward).
  struct Flight {
    std::vector<int> route;
    double bits = 0;
    int from_dpu = 0, to = 0, to_dpu = 0, phase = 0, ledger = 0;
    bool ports = false;
    int pair = -1;  // its (from, to) among the flights a parallel run knows
    Message arrive;
  };
  void send_chips(arch::Ps ready, int from, int from_dpu, int to, int to_dpu, double bits,
                  int phase, int ledger, bool ports, Message arrive);
  void hop(const std::shared_ptr<Flight>& f, size_t k, arch::Ps ready);
  int port_of(int chip, int direction) const;
  // Sets the context of an event of chip `chip` counting to `ledger` of `phase`.
  void enter(int chip, int phase, int ledger);
  // An event of every chip at once (`when`, before every other event then): the decode phase's
  // start of a static batch on a system. Run when every chip has reached it.
  void post_global(arch::Ps when, Message fn);
  // The per-chip ledgers of a system summed in chip order, and each chip's totals.
  void merge_ledgers();
  // Deferred work: `fn(at)` runs when the kernel reaches `at` (now when `at` is not later than
  // the time of the step or job being issued); it returns when its work ends. The step being
  // issued completes when it and every job it deferred (directly or not) have ended.
  using Then = std::function<arch::Ps(arch::Ps)>;
  arch::Ps at(arch::Ps when, Then fn);
  // DPU `dpu` of chip `chip` runs `w` from `ready` (deferred until then), then `then` (if any)
  // on its end.
  arch::Ps dpu_at(int chip, int dpu, arch::Ps ready, const arch::DpuWork& w, const char* what,
                  Then then = nullptr);
  // A join of several deferred results: `then` runs once on their latest, with the last.
  struct Gather {
    int left = 0;
    arch::Ps all = 0;
    Then then;
  };
  static Then gather(const std::shared_ptr<Gather>& g);
  // The multicast tree of row group `g`'s input from `src_node` over `noc` (built once).
  static const arch::McTree& tree_of(const RowGroup& g, int src_node, arch::ScNoc& noc);
  // The input multicast of row group `g` from `src_node` along tree_of(g, src_node, noc), or
  // straight from the flow that tree was registered as.
  static void multicast_group(const RowGroup& g, int src_node, arch::ScNoc& noc, arch::Ps ready,
                              double bits, arch::Ps* arrivals, arch::ActionCounts* c);
  // Hints the caches at what multicast_group() will read for the row groups `gs`.
  static void prefetch_groups(const std::vector<RowGroup>& gs, int src_node,
                              const arch::ScNoc& noc);
  int open_join(int token, int step);
  void finish(int join, arch::Ps done);
  void run_job(const Pending& p);
  void set_context(int token, int step);
  void send_step(int token, int step);
  arch::Ps execute(int token, const Step& s, arch::Ps ready);
  arch::Ps run_linear(int token, const Layer& l, int src_dpu, arch::Ps ready);
  arch::Ps run_split(int token, const Step& s, arch::Ps ready, arch::Ps t);
  arch::Ps run_digital(int token, const Layer& l, int src_dpu, arch::Ps ready);
  arch::Ps run_part(int token, const Part& p, int src_node, arch::Ps ready, int out_node, bool bias,
                    Then then = nullptr);
  // When a read's inputs reached its tiles and its partial outputs its DPU (first, last).
  struct ReadSpans {
    arch::Ps first_in = std::numeric_limits<arch::Ps>::max(), last_in = 0;
    arch::Ps first_out = std::numeric_limits<arch::Ps>::max(), last_out = 0;
  };
  // With `last`: each partial output leaves its tile when the tile has been read (in the queue's
  // time order), and `last` runs once on the latest arrival (or `ready`) when all have arrived.
  arch::Ps read_part(const Part& p, int replica, int src_node, arch::Ps ready, int out_node,
                     arch::ActionCounts* c, ReadSpans* spans, Then last = nullptr);
  template <typename Out>
  void read_groups(const Part& p, int replica, int src_node, arch::Ps ready, arch::ActionCounts* c,
                   Out&& out);
  arch::Ps replay_part(const Part& p, int replica, int src_node, arch::Ps ready, int out_node,
                       arch::ActionCounts* c, Then then);
  // A scratch copy of a chip on which memo_parts simulates each part's read once.
  struct Calibration {
    Chip* chip = nullptr;
    arch::Ps clock = 0;  // every resource of the copy is idle from here on
    arch::Ps gap = 0;    // idle time between two reads (every gated unit off again after it)
  };
  // Scratch copies: as configured (kPlain without power gating, kCold with it: every gated
  // unit is off when a read starts), or kWatch: gating thresholds and wake-ups set to 0, so
  // that every unit's first use in a read is recorded without changing its timing.
  enum class Scratch { kPlain, kWatch, kCold };
  void calibrate(const Part& p, int replica, int src_node, int out_node, PartMemo* m);
  // The gated units `m`'s read (just simulated on the scratch chip `scratch`) used.
  void record_uses(const Part& p, int replica, Chip& scratch, arch::Ps at, size_t routers_before,
                   const std::vector<size_t>& banks_before, PartMemo* m);
  Calibration& calibration(int chip, Scratch kind);
  // Partial outputs summed in the network or on DPUs near the tiles (sim/chip/reduction.cc).
  void build_slices();
  arch::Ps run_part_reduced(const Part& p, int replica, int src_node, arch::Ps ready, int out_node,
                            bool bias, Then then);
  arch::Ps run_attention(int token, const Step& s, arch::Ps ready);
  arch::Ps move(int from_chip, int from_dpu, int to_chip, int to_dpu, long long elems,
                arch::Ps ready);
  void stream_gating();
  // Static batch with decode tokens and gated routers: their off intervals are summed while
  // the prefill runs (GatedUnits::fold_until), until stream_gating.
  bool fold_routers_ = false;
  // The generated id of `token` (lm_head's, ready at `ready`) goes to the embedding's chip,
  // where it releases the next position's embedding.
  void feedback(int token, arch::Ps ready, arch::Ps floor = 0);
  void release(int token, int step, arch::Ps when);
  // The static batch's first decode tokens, once every prefill is done (none before `floor`).
  void start_decode(arch::Ps floor);
  // The phase split (every prefill's end known): gating bookkeeping, memos, on_decode_start.
  void phase_split();
  // Request mode: a token's step (or its id's arrival at the host) ended.
  void token_step_ended(int token);
  // Host link with lm_head on a chip other than chip 0: `token`'s id arrived at chip 0 at `at0`
  // (lm_head made it at `done`).
  void at_chip0(int token, arch::Ps done, arch::Ps at0);
  void release_first_decode(int token);
  // Host link: a sequence's prompt in (returns its arrival at chip 0); a generated token out.
  arch::Ps prompt_in(int seq, arch::Ps ready);
  void token_out(int token, arch::Ps done);
  void host_out(int token, arch::Ps at0);
  arch::ActionCounts* counts(int chip);
  void flush_counts();
  const std::vector<Step>& steps_of(int token) const;
  void complete(int token, int step, arch::Ps done);

  SystemLayout layout_;
  bool multi_ = false;  // more than one chip: counts go through per-chip scratch ledgers
  workloads::ModelConfig model_;
  std::string plan_model_;
  ControllerOptions opt_;
  int act_bits_, dac_bits_, cells_per_weight_, weight_bits_;
  std::vector<Layer> layers_;
  std::vector<Step> with_head_, without_head_;
  std::vector<int> attention_step_;                     // per block, index in both templates
  std::map<std::pair<int, std::string>, int> by_role_;  // (block, role) -> index in layers_
  int embed_step_ = 0, head_step_ = -1;
  std::vector<std::string> ledger_names_;
  std::vector<arch::ActionCounts> ledgers_[2];
  // Per token state.
  std::vector<TokenRecord> tokens_;
  std::vector<std::vector<int>> remaining_;
  std::vector<std::vector<arch::Ps>> ready_at_, done_at_;
  std::vector<long long> seqs_;  // per chip (next_seq)
  // A system's action counts: per chip, phase and ledger (each chip's events count to its own),
  // summed by merge_ledgers().
  std::vector<std::vector<arch::ActionCounts>> chip_ledgers_[2];
  // Host link with lm_head off chip 0: per token, the static batch's first decode may start
  // (barrier_) and its id is at chip 0 (at_chip0_ >= 0).
  std::vector<char> barrier_;
  // Static batch on a system with the host link and lm_head off chip 0: last prompt ids not yet
  // at the host, and whether the phase split waits for them.
  int prefill_ids_left_ = 0;
  bool split_deferred_ = false;
  // Deferred jobs and the joins of the steps waiting for them (slots reused through free lists).
  struct Join {
    int token = 0, step = 0, pending = 0;
    arch::Ps done = 0;
  };
  // A job runs `fn` when the kernel reaches its time.
  struct Job {
    int join = 0;  // -1: a message (post), -2: an event of every chip (post_global)
    int chip = 0;
    int cls = -1;  // a message's class (post)
    Then fn;
    Message msg;
  };
  // One read of a layer part's partial outputs, each sent to the part's DPU when its tile has
  // been read: those not yet sent, in the order the queue takes them ((ready, seq) as if each
  // were a job of its own; the queue holds one entry per burst, its next output, so it stays
  // about as small as the number of reads in flight); the latest arrival so far (from the
  // read's start) and the outputs not yet arrived; `last` runs on the latest once all have.
  struct Burst {
    struct Item {
      arch::Ps out = 0;
      long long seq = 0;
      int tile = 0;
      double bits = 0;
    };
    int join = 0, chip = 0, out_node = 0;
    arch::ScNoc* noc = nullptr;  // its chip's mesh
    size_t next = 0;
    std::vector<Item> items;
    arch::Ps all = 0;
    int left = 0;
    Then last;
    arch::Ps done = 0;  // the latest end of its outputs sent from the queue so far
    // The context its outputs are sent in (set_context of its step).
    int phase = 0;
    arch::ActionCounts* ledger = nullptr;
    arch::ActionCounts* sends = nullptr;  // where its outputs' mesh transfers count
    int capture = -1;                     // the chip of the group recording it, or -1
    int member = 0;                       // its member there
  };
  // Sends a burst's next partial output (`p`, just taken from the queue).
  void run_burst(const Pending& p);
  // Sorts a burst's outputs into the queue's order.
  void sort_burst(std::vector<Burst::Item>* items);
  // Sends one partial output of burst `b` (from `tile`, `bits`, ready at `out`); returns its
  // arrival, or for the last to arrive what the burst's `last` returns.
  arch::Ps send_partial(int b, int tile, double bits, arch::Ps out);
  // Exact replay (sim/chip/replay.cc). A part read with `last` issued on a quiet chip (nothing
  // held on its mesh, tiles and ADC banks after now) at the time of the event being issued joins
  // the chip's group of reads at that time (opened if none): it takes its sequence numbers and
  // its place in its join now, and the group closes before any other event (close_group). A
  // group seen before (same chip, parts, replicas, nodes; same mesh structure) is replayed:
  // its counts added, one placeholder per member at its last partial output's place in the
  // queue runs `last` as the burst would, and after the last one the recorded changes of the
  // mesh and tiles are applied, shifted to the group's time; anything else touching the chip's
  // mesh or tiles before then simulates the group in full first (materialize). A group not seen
  // before runs in full and is recorded.
  struct GroupMember {
    const Part* part = nullptr;
    int replica = 0, src_node = 0, out_node = 0;
    int join = 0, phase = 0;
    long long seq = 0, tiles = 0;          // its first sequence number, and how many it took
    arch::ActionCounts* counts = nullptr;  // where its reads count
    arch::ActionCounts* ledger = nullptr;  // the context it was issued in
    Then last;
  };
  struct ReadGroup {
    int chip = 0;
    arch::Ps t = 0;
    std::vector<GroupMember> members;
  };
  // What a group did from a quiet start at t0 (times relative to t0).
  struct ReplayMemo {
    arch::NocDelta noc;
    arch::TileDelta tiles;
    struct Member {
      arch::Ps last_out = 0;   // its last partial output in the queue's order: ready time
      long long last_seq = 0;  // and sequence number less the member's first
      arch::Ps all = 0;        // the latest arrival of its partial outputs
      arch::Ps done = 0;       // the latest end of its outputs but the last (- t0 when none)
      arch::ActionCounts counts;
    };
    std::vector<Member> members;
    std::vector<arch::Ps> outs;       // every partial output's ready time, sorted
    std::vector<uint64_t> footprint;  // its mesh links (ScNoc::footprint), at its first replay
  };
  struct Signature {
    int memo = -1;
    int failures = 0;  // recordings that failed
  };
  // A chip's group after its close: being recorded, or replayed and not ended yet.
  struct ChipReplay {
    enum class State { kNone, kCapture, kReplayed };
    State state = State::kNone;
    arch::Ps t = 0;
    long long gen = 0;  // counts the groups replayed (a placeholder of an older one does nothing)
    int memo = -1;
    Signature* sig = nullptr;
    uint64_t epoch = 0;  // kCapture: the mesh's structure epoch at its start
    int left = 0;        // members not ended
    std::vector<GroupMember> members;
    std::vector<int> bursts;                 // kCapture: each member's burst (-1: ended)
    std::vector<char> ran;                   // kReplayed: its placeholder ran
    std::vector<arch::ActionCounts> counts;  // kCapture: each member's counts
    ReplayMemo rec;                          // kCapture: the record
  };
  struct HookContext {
    Controller* ctl = nullptr;
    int chip = 0;
  };
  // Whether the run may replay (one lane, no trace, no power gating, no memo_parts, reductions
  // at the layer's DPU).
  bool replay_allowed() const;
  void setup_replay();
  // Whether a part read issued on the chip at `t` joins its group: quiet, or (the group may
  // then be replayed if its links are free by t, ScNoc::held_by) nothing in flight on its tiles
  // and no burst of it pending, only mesh links held by other transfers.
  bool gathers(int chip, arch::Ps t);
  arch::Ps defer_read(const Part& p, int replica, int src_node, int out_node, arch::ActionCounts* c,
                      long long tiles, Then last);
  // Whether the queue's event `p` joins the open group (a step reading a part on its chip then).
  bool joins_group(const Pending& p) const;
  void close_group();
  // Runs the group's members in full (recording them when `r` is being captured).
  void run_group(ReadGroup* g, ChipReplay* r);
  void replay_group(ReadGroup* g, ChipReplay* r);
  void replay_last(int chip, long long gen, int member);
  // A burst of a group being recorded sends its partial output (send_partial's work).
  arch::Ps send_captured(int b, int tile, double bits, arch::Ps out);
  void end_capture(int chip);
  void abandon_capture(int chip);
  // Ends the recording of the chip's group (either way): hooks off, the mesh's and tiles'
  // captures closed, each member's counts to its ledger; whether the record can be kept.
  bool close_capture(int chip);
  // The chip's mesh or tiles are about to be used by something else than its group.
  static void touched(void* ctx);
  void materialize(int chip);
  // The reads of a part replica from `ready` (counted to discard_), its partial outputs with
  // sequence numbers from `seq` in read order.
  void read_items(const Part& p, int replica, int src_node, arch::Ps ready, long long seq,
                  std::vector<Burst::Item>* items);
  void materialize_sends(int chip, std::vector<std::vector<Burst::Item>>* items, arch::Ps now,
                         long long seq_now);
  void materialize_all();
  // A replayed group's counts were added at once, not as its reads ran: the same sums only if
  // every count is a whole number (throws std::logic_error otherwise).
  void check_replayed_counts() const;
  void arm_hooks(int chip, bool on);
  std::vector<long long> signature_key(const ReadGroup& g) const;
  // A burst with `last`: its outputs read before now sent now, the others queued; returns the
  // burst (-1 when every output was sent) and sets `*all_in` as read_part returns.
  int start_burst(const Part& p, int replica, int src_node, arch::Ps ready, int out_node,
                  arch::ActionCounts* c, int tiles, Then last, arch::Ps* all_in);
  // A new burst of no items yet (sent in `phase`, counted to `ledger`): returns its slot.
  // Frees a burst whose outputs have all been sent (the twin of open_burst).
  void close_burst(int b);
  int open_burst(int join, int chip, int out_node, arch::Ps all, int left, Then last, int phase,
                 arch::ActionCounts* ledger);
  std::map<std::vector<long long>, Signature> signatures_;
  std::vector<ReplayMemo> replay_memos_;
  std::vector<int> free_memos_;           // slots of replay_memos_ whose memo went stale (emptied)
  std::vector<ChipReplay> replay_chips_;  // per chip
  std::vector<HookContext> hook_contexts_;
  std::vector<int> replaying_;  // chips with a replayed group not ended (for the window)
  arch::ActionCounts discard_;  // counts of a group simulated again (counted once already)
  long long replayed_part_reads_ = 0;
  long long kv_bits_per_token_ = 0, kv_bits_per_token_block_ = 0;
  std::vector<long long> kv_capacity_tokens_;  // per chip
  // Counting: the ledger of the step being executed; per-chip scratch counts of a system.
  std::vector<arch::ActionCounts> chip_counts_[2];
  std::vector<int> ledger_chip_;
  std::unique_ptr<arch::LinkChannel> host_in_, host_out_;
  double host_bits_[2] = {0, 0};
  std::vector<arch::Ps> at_chip0_;  // host link: per token, its generated id reached chip 0
  // The current pass of a digital layer's weights from DRAM (every DPU's slice streaming at
  // once): from when it began streaming to when its last weights arrived, and the token that
  // started it.
  // A pass being assembled (dpu.weight_pass_wait_ns): the DPU slices of tokens waiting for it,
  // the tokens that have arrived, how many it waits for, and its latest start.
  struct PassWaiter {
    int join = 0, dpu = 0;
    arch::Ps in = 0;
    double macs = 0;
  };
  struct WeightPass {
    arch::Ps begin = -1, end = 0;
    bool open = false;
    long long generation = 0;
    int need = 0;
    std::vector<int> arrived;  // the tokens it serves (or, open, waits with)
    std::vector<PassWaiter> waiters;
  };
  std::vector<WeightPass> weight_passes_;  // per layer
  // Per sequence, its lm_head tokens that have not reached the pass logic yet (a token counts
  // until the first of its DPU slices arrives there, not when its step is issued), and the last
  // one that did.
  std::vector<int> heads_left_, last_head_token_;
  void start_heads(int seq);
  void head_arrived(int token, int seq);
  int sequences_to_wait_for(int seq, arch::Ps when) const;
  // Digital layer `layer`'s pass: starts streaming `bits` from the DRAM of chip `home` at `at`,
  // and each waiting slice computes its products.
  void launch_pass(int layer, int home, double bits, arch::Ps at);
  arch::Ps matvec(int home, int dpu, arch::Ps in, double macs, const WeightPass& pass);
  std::vector<PartMemo> memos_;
  // memo_parts: every tile is read once per read of the model (by one part replica, once),
  // found by mark_shared_tiles.
  bool tiles_read_once_ = true;
  std::map<std::string, Calibration> calibrations_;
  std::vector<Calibration*> calibration_of_;  // per chip
  std::vector<Calibration*> cold_of_;         // per chip: null without power gating
  std::vector<std::vector<arch::Ps>> in_port_free_, out_port_free_;  // per chip, per mesh node
  double memo_reads_ = 0;
  struct TileRead {
    arch::Ps out = 0, in = 0;  // its partial outputs ready; its input arrived
    int tile = 0;
    double bits = 0;  // its partial outputs
  };
  std::vector<int> reduction_;  // per chip: proto::PartialSumReduction
  arch::SpanSink* sink_ = nullptr;
  bool traced_ = false;  // a trace sink was given (the controller's track or not)
  int trace_track_ = -1;
  double decode_wall_start_s_ = 0;
  double decode_cpu_start_s_ = 0;
  // Static batching: every sequence's first decode token waits until all prefills are done.
  int prefills_done_ = 0;
  arch::Ps prefill_end_ = 0;
  // Sequences: first token, prompt length, positions; per token its sequence and position.
  std::vector<int> seq_first_, seq_prompt_, seq_len_;
  std::vector<int> tok_seq_, tok_pos_;
  std::vector<int> steps_left_;  // per token: steps not yet completed
  // Request mode: admission.
  std::vector<arch::Ps> admitted_, finished_;
  int next_admit_ = 0, in_flight_ = 0;
  void admit(int seq, arch::Ps when);
  bool request_mode() const { return !opt_.requests.empty(); }

  // What one thread of a run owns (one lane in all on one thread): its events, the pools of its
  // steps' joins, jobs and bursts, the context of the event being issued, scratch space, and its
  // share of the run's sums. The member functions reach the lane of the calling thread by ln().
  struct Inbound {  // an event queued by another lane
    Pending p;
    int chip = 0;
    int cls = -1;
    Message msg;  // a message; else a step (p.token, p.step)
  };
  struct Lane {
    QuadHeap<Pending, Earlier> queue_;
    std::vector<Join> joins_;
    std::vector<Job> jobs_;
    std::vector<Burst> bursts_;
    std::vector<int> free_joins_, free_jobs_, free_bursts_;
    std::vector<int> chip_bursts_;  // per chip: its bursts not ended (exact replay's gathering)
    int cur_join_ = -1;
    arch::Ps now_ = 0;       // ready time of the step or job being issued
    long long cur_seq_ = 0;  // and its sequence number
    int cur_chip_ = 0;       // chip of the event being issued
    int cur_phase_ = 0;
    arch::ActionCounts* cur_ledger_ = nullptr;
    // Scratch.
    std::vector<uint64_t> burst_keys_, burst_radix_;  // sort_burst
    std::vector<Burst::Item> burst_sorted_;
    std::vector<arch::Ps> arrivals_;
    std::vector<TileRead> reads_;                   // one part's tile reads
    std::vector<TileRead> sent_now_;                // those read before the burst
    std::vector<std::vector<arch::Ps>> part_done_;  // [row group][tile] outputs ready
    std::vector<arch::Ps> part_ready_;              // one slice's partials
    std::vector<int> part_nodes_;
    // Sums (exact: whole numbers) and latest times.
    double ops_[2] = {0, 0};
    double link_bit_hops_[2] = {0, 0};
    arch::Ps end_time_ = 0;
    long long activations_ = 0;
    long long events_ = 0;
    std::vector<arch::Ps> ends_;  // per token: the latest end of its steps on this lane's chips
    // A parallel run (sim/chip/parallel_run.cc). Written by the lane's own thread and read by
    // the others, each on a cache line of its own: its promise to each other lane (no event it
    // queues there will be earlier), and how many messages it has taken from its inbox.
    struct alignas(64) Shared {
      std::atomic<arch::Ps> value{0};
    };
    std::unique_ptr<Shared[]> promise_;  // per lane
    Shared absorbed_;
    // Written by other lanes: its inbox (under sync_) and how many messages came in all; the
    // wake-up of a lane waiting for the others.
    struct alignas(64) Mailbox {
      std::vector<Inbound> inbox;
      std::atomic<long long> delivered{0};
    } mail_;
    struct alignas(64) Wake {
      std::atomic<long long> seq{0};
      std::atomic<bool> sleeping{false};
      std::atomic<bool> waiting{false};  // spinning or sleeping
      std::atomic<arch::Ps> at{0};       // a sleeping lane can run once a promise to it passes this
      std::mutex m;
      std::condition_variable cv;
    } wake_;
    // Its own: messages it sent that their lanes have not taken yet (an answer may come back one
    // link latency after each), how many it has taken, and where its window stops.
    struct Sent {
      int lane = 0;
      long long seq = 0;  // the receiving lane's count of messages once this one is in
      arch::Ps back = 0;  // the soonest an answer can come back
    };
    std::vector<Sent> sent_;
    int index_ = 0;
    arch::Ps last_ready_ = -1;  // the last event it issued
    long long last_seq_ = 0;
    long long taken_ = 0;
    arch::Ps stop_ = 0;
    long long waits_ = 0, sleeps_ = 0, scans_ = 0, promises_ = 0;
    std::vector<arch::Ps> scanned_;  // per lane: a promise from the last scan of its queue
    long long since_scan_ = 0;
    int lazy_ = 0;
    // Exact replay (sim/chip/replay.cc): whether its reads may be gathered, and the group being
    // gathered.
    bool replay_ = false;
    bool group_open_ = false;
    ReadGroup group_;
  };
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<int> lane_of_;  // per chip of the links (every chip, used or not)
  static thread_local Lane* lane_now_;
  static Lane& ln() { return *lane_now_; }
  // A parallel run (sim/chip/parallel_run.cc): under sync_, the inboxes, the messages not yet
  // taken, which lanes have nothing to run before a pending event of every chip or at all, and
  // that event.
  std::mutex sync_;
  std::atomic<arch::Ps> global_at_{-1};  // a pending event of every chip (post_global), or -1
  Message global_;
  bool ran_ = false;
  void make_lanes();
  void split_chips();
  long long messages_in_flight_ = 0;  // under sync_
  std::vector<int> parked_;           // under sync_: 0 running, 1 at global_at_, 2 empty
  std::atomic<bool> global_running_{false};
  std::atomic<bool> all_done_{false};
  std::atomic<long long> global_epoch_{0};  // changes when an event of every chip has run
  bool parallel_allowed() const;
  bool parallel_ = false;  // the lanes run on threads of their own
  void end_run();
  arch::Ps token_end(int token) const;
  void issue(const Pending& top, arch::Ps until);
  void send_outputs(Pending p, arch::Ps until);
  void run_parallel();
  void run_lane(int lane);
  // One window of lane `lane` (lanes_in_turn): false when it had nothing to run.
  bool lane_window(int lane, std::vector<arch::Ps>* in, std::vector<long long>* taken);
  void run_lanes_in_turn();
  // The calling lane's bound from the others' promises and its own messages not yet taken.
  // (the promises in `in`, the counts of messages taken it saw in `seen`).
  arch::Ps lane_bound(int lane, std::vector<arch::Ps>* in, std::vector<long long>* seen);
  // Publishes the calling lane's promises to the others (from its queue, its messages not yet
  // taken and, with three lanes or more, the promises it has from the others).
  void publish(int lane, const std::vector<arch::Ps>& in, bool force);
  // Takes the lane's inbox into its queue.
  bool absorb(int lane);
  // Nothing to run: parks the lane (under sync_), runs an event of every chip once every lane
  // has reached it, or ends the run; false when the lane should look again at once.
  bool park(int lane, bool empty);
  void wake_all();
  void deliver(int lane, const Pending& p, int chip, Message msg, int cls);
  // The lookahead of a parallel run: the flights the run can make (from, to), and for each class
  // of events (0..chips-1: a chip's own events; then the hops of each flight after its first,
  // from pair_class_[pair]) the fewest messages, each one link latency or more after the one
  // that sent it, from such an event to an event of each lane (dist_[class * lanes + lane]).
  std::vector<int> pair_of_;  // [from * chips + to]
  std::vector<int> pair_class_;
  std::vector<int> dist_;
  void plan_lookahead();
  int event_class(const Pending& p) const;
  // The calling lane's least (time + distance x link latency) to lane `r` over its queue.
  arch::Ps scan_promise(int lane, int r) const;
};

}  // namespace aimc::sim

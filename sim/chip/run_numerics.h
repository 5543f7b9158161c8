// The numbers of a timed run with weights: the crossbar numerics of the
// functional executor, driven by the controller's steps, so a timed run produces real logits and
// real generated tokens, bit-identical to workloads::Executor run token by token with a KV cache.
//
// The controller calls embed(token) at each token's embedding step and block(token, b) at each
// (token, block) attention step; block() runs the executor's attention and MLP sub-blocks of
// block b for that token (and, after the last block, the final norm and lm_head). Per block the
// attention steps come in token order (a token's attention needs the previous token's keys and
// values), so every layer reads its inputs in token order, as the functional run does, and the
// layers' noise streams are drawn identically. See docs/timing-energy.md, "Numbers".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "proto/chip_config.pb.h"
#include "proto/sim_report.pb.h"
#include "workloads/calibration.h"
#include "workloads/dataset.h"
#include "workloads/executor.h"
#include "workloads/kv_cache.h"
#include "workloads/transformer_weights.h"

namespace aimc::sim {

/// Backend of the decoder blocks' linear layers on `config`'s tiles: kAnalog for ANALOG tiles,
/// kW4A8 for DIGITAL_W4A8, kFp32 for DIGITAL_FP.
arch::Backend tile_backend(const proto::ChipConfig& config);

/// Static input ranges of every layer that runs on `config`'s tiles (lm_head when
/// mapping.lm_head_on_tiles), as workloads::resolve_input_ranges gives them under the chip's
/// numerics and calibration settings (calibrating on `calibration_tokens` when the policy needs
/// it), i.e. the same ranges `aimcsim eval` uses. Empty for DIGITAL_FP tiles (FP32 needs none).
workloads::LayerInputRanges chip_input_ranges(const proto::ChipConfig& config,
                                              const workloads::TransformerWeights& weights,
                                              const workloads::TokenIds& calibration_tokens,
                                              workloads::InputRangeReport* report = nullptr);

/// The prompt of a timed run: the first `count` tokens of `text`; where the text is shorter
/// (or empty), the rest is token 10 ('\n' of a byte-level model; the last id of a vocabulary
/// smaller than 11).
std::vector<int32_t> default_prompt(const workloads::TokenIds& text, int count, int vocab_size);

/// Byte string with every byte other than printable ASCII escaped as in C (\n, \t, \\, \",
/// \xNN), so it is one line of valid UTF-8.
std::string escape_bytes(const std::string& bytes);

/// The executor a timed run drives, and the state of the tokens in flight.
class RunNumerics {
 public:
  /// Builds (programs) the executor of chip instance `chip_seed` on `config`'s backend.
  /// `prompt` holds the prompt's token ids; `decode_tokens` tokens follow. Throws UserError for
  /// a token outside the vocabulary or missing input ranges.
  RunNumerics(const proto::ChipConfig& config, const workloads::TransformerWeights& weights,
              const workloads::LayerInputRanges& ranges, uint64_t chip_seed,
              std::vector<int32_t> prompt, int decode_tokens, bool record_logits);

  /// The embedding step of `token` (a position): its hidden state. A decode token's id is the
  /// greedy choice of the previous position's logits, which must have been computed.
  void embed(int token);
  /// The attention step of (token, block): the block's attention and MLP sub-blocks for that
  /// token; after the last block also the final norm and lm_head (the token's logits).
  void block(int token, int block);

  /// Input id of every position so far (prompt, then fed-back greedy tokens).
  const std::vector<int32_t>& inputs() const { return inputs_; }
  /// Greedy id of every lm_head run for positions >= prompt - 1, in order.
  const std::vector<int32_t>& generated() const { return generated_; }
  /// Writes backend, seed, tokens, text and (when recorded) logits.
  void write(proto::Generation* out) const;

 private:
  const workloads::TransformerWeights* weights_;
  workloads::Executor executor_;
  workloads::KvCache cache_;
  std::string backend_label_;
  bool lm_head_on_backend_;
  uint64_t chip_seed_;
  int prompt_tokens_, total_tokens_;
  bool record_logits_;
  std::vector<int32_t> inputs_;
  std::vector<int32_t> generated_;
  std::vector<arch::Matrix> hidden_;  ///< per position, while in flight
  std::vector<std::vector<float>> logits_;
};

}  // namespace aimc::sim

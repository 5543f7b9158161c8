// The numbers of a timed run with weights: one Executor driven block by block from the
// controller's steps, one KV cache whose length marks the position of the step in progress.
#include "sim/chip/run_numerics.h"

#include <algorithm>
#include <stdexcept>

#include "arch/tile_numerics.h"
#include "proto/user_error.h"
#include "workloads/calibration.h"
#include "workloads/evaluation.h"

namespace aimc::sim {

arch::Backend tile_backend(const proto::ChipConfig& config) {
  switch (config.tile().kind()) {
    case proto::DIGITAL_W4A8:
      return arch::Backend::kW4A8;
    case proto::DIGITAL_FP:
      return arch::Backend::kFp32;
    default:
      return arch::Backend::kAnalog;
  }
}

workloads::LayerInputRanges chip_input_ranges(const proto::ChipConfig& config,
                                              const workloads::TransformerWeights& weights,
                                              const workloads::TokenIds& calibration_tokens,
                                              workloads::InputRangeReport* report) {
  if (tile_backend(config) == arch::Backend::kFp32) return {};
  workloads::CalibrationOptions co;
  co.window = static_cast<int>(config.numerics().input_range().calibration_window());
  co.batches = static_cast<int>(config.numerics().input_range().calibration_batches());
  return workloads::resolve_input_ranges(weights, arch::tile_numerics_from_config(config),
                                         calibration_tokens, co,
                                         config.mapping().lm_head_on_tiles(), report);
}

std::vector<int32_t> default_prompt(const workloads::TokenIds& text, int count, int vocab_size) {
  const int32_t filler = vocab_size > 10 ? 10 : vocab_size - 1;
  std::vector<int32_t> prompt(static_cast<size_t>(std::max(count, 0)), filler);
  for (size_t i = 0; i < prompt.size() && i < text.size(); ++i) prompt[i] = text[i];
  return prompt;
}

std::string escape_bytes(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
  return out;
}

namespace {

workloads::ExecutorOptions executor_options(const proto::ChipConfig& config, uint64_t seed) {
  workloads::ExecutorOptions o;
  o.backend = tile_backend(config);
  o.lm_head_on_backend = config.mapping().lm_head_on_tiles();
  o.chip_seed = seed;
  return o;
}

// Greedy choice: the largest logit, the lowest id among equal ones.
int32_t argmax(const arch::Matrix& logits) {
  int32_t best = 0;
  for (int j = 1; j < static_cast<int>(logits.cols()); ++j)
    if (logits(0, j) > logits(0, best)) best = j;
  return best;
}

std::string ids_as_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += static_cast<char>(static_cast<unsigned char>(id));
  return escape_bytes(s);
}

}  // namespace

RunNumerics::RunNumerics(const proto::ChipConfig& config,
                         const workloads::TransformerWeights& weights,
                         const workloads::LayerInputRanges& ranges, uint64_t chip_seed,
                         std::vector<int32_t> prompt, int decode_tokens, bool record_logits)
    : weights_(&weights),
      executor_(weights, arch::tile_numerics_from_config(config), ranges,
                executor_options(config, chip_seed)),
      backend_label_(workloads::backend_label(tile_backend(config))),
      lm_head_on_backend_(config.mapping().lm_head_on_tiles()),
      chip_seed_(chip_seed),
      prompt_tokens_(static_cast<int>(prompt.size())),
      total_tokens_(static_cast<int>(prompt.size()) + decode_tokens),
      record_logits_(record_logits),
      inputs_(std::move(prompt)) {
  const int vocab = weights.config.vocab_size;
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i] < 0 || inputs_[i] >= vocab)
      throw UserError("prompt token " + std::to_string(i) + ": id " + std::to_string(inputs_[i]) +
                      " is outside the vocabulary (size " + std::to_string(vocab) + ")");
  // Checked here rather than in embed(): an exception thrown inside the kernel loses its type.
  if (weights.config.positions == workloads::PositionKind::kLearned &&
      total_tokens_ > weights.position_embedding.rows())
    throw UserError("model " + weights.config.name + ": " + std::to_string(total_tokens_) +
                    " positions are beyond its " +
                    std::to_string(weights.position_embedding.rows()) + " learned positions");
  // Room for every position up front, so no row moves while later blocks of earlier tokens and
  // earlier blocks of later tokens are both in flight (pipelined prefill).
  cache_ = executor_.make_cache(total_tokens_);
  hidden_.resize(static_cast<size_t>(total_tokens_));
  if (record_logits_) logits_.resize(static_cast<size_t>(total_tokens_));
}

void RunNumerics::embed(int token) {
  if (token >= prompt_tokens_) {
    // Decode token k takes the greedy choice of the lm_head of position P - 1 + k.
    const int k = token - prompt_tokens_;
    if (k >= static_cast<int>(generated_.size()))
      throw std::logic_error("timed run: decode token " + std::to_string(token) +
                             " issued before the previous token's logits were computed");
    if (static_cast<int>(inputs_.size()) == token) inputs_.push_back(generated_[k]);
  }
  hidden_[token] = executor_.embed(&inputs_[token], 1, token);
}

void RunNumerics::block(int token, int block) {
  // KV cache: the block's rows 0 .. token-1 hold the earlier positions (their attention steps of
  // this block ran before); length() = token makes attention() write row `token` and attend to
  // rows 0 .. token, exactly as Executor::forward(token, 1, cache) does at that position.
  cache_.clear();
  cache_.commit(token);
  arch::Matrix& h = hidden_[token];
  executor_.attention(block, &h, &cache_);
  executor_.mlp(block, &h);
  if (block + 1 < executor_.config().num_layers) return;
  const arch::Matrix logits = executor_.final_logits(h);
  h = arch::Matrix();  // the token is done
  if (record_logits_) logits_[token].assign(logits.data(), logits.data() + logits.cols());
  // Positions are finished in order (the last block's attention steps are), so the greedy ids
  // of positions P-1, P, ... are appended in order.
  if (token >= prompt_tokens_ - 1) generated_.push_back(argmax(logits));
}

void RunNumerics::write(proto::Generation* out) const {
  out->set_backend(backend_label_);
  out->set_lm_head_on_backend(lm_head_on_backend_);
  out->set_chip_seed(chip_seed_);
  for (int t = 0; t < prompt_tokens_; ++t) out->add_prompt_ids(inputs_[t]);
  for (int32_t id : generated_) out->add_generated_ids(id);
  if (weights_->config.vocab_size == 256) {
    out->set_prompt_text(
        ids_as_text(std::vector<int32_t>(inputs_.begin(), inputs_.begin() + prompt_tokens_)));
    out->set_generated_text(ids_as_text(generated_));
  }
  for (size_t t = 0; t < logits_.size(); ++t) {
    proto::TokenLogits* l = out->add_logits();
    l->set_position(static_cast<uint32_t>(t));
    for (float v : logits_[t]) l->add_logits(v);
  }
}

}  // namespace aimc::sim

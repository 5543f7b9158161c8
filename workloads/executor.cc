// The transformer executor. Digital parts follow the Hugging Face implementations (Llama,
// Qwen2, Phi-3, GPT-2) operation for operation in FP32, so that the FP32 backend reproduces
// PyTorch's logits to float rounding; every matrix layer of a block goes through
// arch::make_linear so that the backend alone decides its arithmetic.
#include "workloads/executor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "arch/quantize.h"
#include "arch/rng.h"
#include "proto/user_error.h"

namespace aimc::workloads {

using arch::Matrix;
using arch::Vector;

/// Which index of BlockWeights::linears plays which role (-1 = absent).
struct Executor::BlockPlan {
  int q = -1, k = -1, v = -1, qkv = -1, o = -1, gate = -1, up = -1, gate_up = -1, down = -1;

  /// Notes that linear `i` of the block plays `role`.
  void assign(LinearRole role, int i) {
    switch (role) {
      case LinearRole::kQ:
        q = i;
        break;
      case LinearRole::kK:
        k = i;
        break;
      case LinearRole::kV:
        v = i;
        break;
      case LinearRole::kQkv:
        qkv = i;
        break;
      case LinearRole::kO:
        o = i;
        break;
      case LinearRole::kGate:
        gate = i;
        break;
      case LinearRole::kUp:
        up = i;
        break;
      case LinearRole::kGateUp:
        gate_up = i;
        break;
      case LinearRole::kDown:
        down = i;
        break;
      case LinearRole::kLmHead:
        break;
    }
  }

  /// Whether the block has every linear layer its config requires: attention's q, k and v (or
  /// one qkv) and o, the MLP's down and up (and gate, or one gate_up, when gated).
  bool complete(bool gated_mlp) const {
    const bool attn_ok = qkv >= 0 || (q >= 0 && k >= 0 && v >= 0);
    const bool mlp_ok =
        down >= 0 && (gated_mlp ? (gate_up >= 0 || (gate >= 0 && up >= 0)) : up >= 0);
    return attn_ok && o >= 0 && mlp_ok;
  }
};

namespace {

int tile_count(int in_features, int rows) {
  return static_cast<int>(arch::balanced_split(in_features, rows).size());
}

std::unique_ptr<arch::LinearLayer> build_layer(arch::Backend backend,
                                               const arch::TileNumerics& numerics,
                                               const LinearWeights& w,
                                               const std::vector<float>* ranges, uint64_t seed) {
  const Vector* bias = w.bias.size() > 0 ? &w.bias : nullptr;
  static const std::vector<float> kNoRanges;
  if (backend == arch::Backend::kFp32) {
    return arch::make_linear(backend, numerics, w.weight, bias, kNoRanges, seed);
  }
  const int tiles = tile_count(static_cast<int>(w.weight.cols()), numerics.rows);
  if (ranges == nullptr || static_cast<int>(ranges->size()) != tiles) {
    throw UserError("layer " + w.shape.name + ": needs " + std::to_string(tiles) +
                    " input ranges (one per input tile of " + std::to_string(numerics.rows) +
                    " rows), got " + std::to_string(ranges ? ranges->size() : 0));
  }
  return arch::make_linear(backend, numerics, w.weight, bias, *ranges, seed);
}

}  // namespace

std::shared_ptr<arch::LinearLayer> SharedLayers::get(
    arch::Backend backend, int ordinal,
    const std::function<std::unique_ptr<arch::LinearLayer>()>& build) {
  // Built under the lock: another Executor asking for the same layer waits for it instead of
  // building a copy.
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<arch::LinearLayer>& layer = layers_[{static_cast<int>(backend), ordinal}];
  if (!layer) layer = build();
  return layer;
}

Executor::Executor(const TransformerWeights& weights, const arch::TileNumerics& numerics,
                   const LayerInputRanges& ranges, const ExecutorOptions& options)
    : weights_(&weights), options_(options) {
  const ModelConfig& c = weights.config;
  // The layer with ordinal k, seeded from it; digital ones from the shared set when given.
  const auto layer = [&](arch::Backend backend, const LinearWeights& w, const std::vector<float>* r,
                         int ordinal) {
    const auto build = [&] {
      return build_layer(backend, numerics, w, r, arch::derive_seed(options.chip_seed, ordinal));
    };
    if (options.shared_layers && backend != arch::Backend::kAnalog) {
      return options.shared_layers->get(backend, ordinal, build);
    }
    return std::shared_ptr<arch::LinearLayer>(build());
  };
  if (static_cast<int>(weights.blocks.size()) != c.num_layers) {
    throw UserError("model " + c.name + ": " + std::to_string(weights.blocks.size()) +
                    " blocks loaded, config says " + std::to_string(c.num_layers));
  }
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0) {
    throw UserError("model " + c.name + ": num_heads " + std::to_string(c.num_heads) +
                    " is not a multiple of num_kv_heads " + std::to_string(c.num_kv_heads));
  }
  int ordinal = 0;
  layers_.resize(c.num_layers);
  sites_.resize(c.num_layers);
  plans_.resize(c.num_layers);
  for (int b = 0; b < c.num_layers; ++b) {
    const BlockWeights& block = weights.blocks[b];
    BlockPlan& plan = plans_[b];
    for (int i = 0; i < static_cast<int>(block.linears.size()); ++i) {
      const LinearWeights& w = block.linears[i];
      plan.assign(w.shape.role, i);
      const std::vector<float>* r = nullptr;
      if (b < static_cast<int>(ranges.blocks.size()) &&
          i < static_cast<int>(ranges.blocks[b].size())) {
        r = &ranges.blocks[b][i];
      }
      sites_[b].push_back(LinearSite{b, i, ordinal, &w});
      layers_[b].push_back(layer(options.backend, w, r, ordinal));
      ++ordinal;
    }
    if (!plan.complete(c.gated_mlp)) {
      throw UserError("model " + c.name + ": block " + std::to_string(b) +
                      " lacks a linear layer its config requires");
    }
  }
  lm_head_site_ = LinearSite{-1, 0, ordinal, &weights.lm_head};
  const arch::Backend head_backend =
      options.lm_head_on_backend ? options.backend : arch::Backend::kFp32;
  lm_head_ = layer(head_backend, weights.lm_head, &ranges.lm_head, ordinal);
  if (c.positions == PositionKind::kRotary) {
    inv_freq_ = rotary_inv_freq(c.head_dim, c.rope_theta);
    scale_rotary_inv_freq(&inv_freq_, c.rope_scaling);
  }
}

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

KvCache Executor::make_cache(int capacity) const {
  const ModelConfig& c = config();
  return KvCache(c.num_layers, c.num_kv_heads * c.head_dim, capacity);
}

Matrix Executor::prefill(const int32_t* tokens, int count) {
  KvCache cache = make_cache(count);
  return forward(tokens, count, &cache);
}

Matrix Executor::forward(const int32_t* tokens, int count, KvCache* cache) {
  const int start = cache->length();
  cache->reserve(start + count);
  Matrix hidden = embed(tokens, count, start);
  for (int b = 0; b < config().num_layers; ++b) {
    attention(b, &hidden, cache);
    mlp(b, &hidden);
  }
  cache->commit(count);
  return final_logits(hidden);
}

Vector Executor::decode(int32_t token, KvCache* cache) {
  const Matrix logits = forward(&token, 1, cache);
  return logits.row(0).transpose();
}

Matrix Executor::embed(const int32_t* tokens, int count, int start) const {
  const ModelConfig& c = config();
  Matrix hidden(count, c.hidden_size);
  const bool learned = c.positions == PositionKind::kLearned;
  if (learned && start + count > weights_->position_embedding.rows()) {
    throw UserError("model " + c.name + ": position " + std::to_string(start + count - 1) +
                    " is beyond its " + std::to_string(weights_->position_embedding.rows()) +
                    " learned positions");
  }
  // Rotary models were trained up to max_position_embeddings; beyond it the angles are ones
  // the model never saw and its numbers would be meaningless.
  if (!learned && c.max_positions > 0 && static_cast<long long>(start) + count > c.max_positions) {
    throw UserError("model " + c.name + ": position " + std::to_string(start + count - 1) +
                    " is beyond its max_position_embeddings (" + std::to_string(c.max_positions) +
                    ")");
  }
  const arch::Matrix& embedding = weights_->embedding();
  for (int t = 0; t < count; ++t) {
    const int id = tokens[t];
    if (id < 0 || id >= embedding.rows()) {
      throw UserError("model " + c.name + ": token id " + std::to_string(id) +
                      " is outside the vocabulary (size " + std::to_string(embedding.rows()) + ")");
    }
    hidden.row(t) = embedding.row(id);
    if (learned) hidden.row(t) += weights_->position_embedding.row(start + t);
  }
  return hidden;
}

void Executor::run_linear(int block, int index, const Matrix& x, Matrix* y) {
  const LinearSite& site = block < 0 ? lm_head_site_ : sites_[block][index];
  if (hook_) hook_(site, x);
  linear(block, index).forward(x, y);
}

arch::LinearLayer& Executor::linear(int block, int index) {
  return block < 0 ? *lm_head_ : *layers_[block][index];
}

namespace {

Matrix apply_norm(const ModelConfig& c, const Matrix& x, const Vector& w, const Vector& b) {
  return c.norm == NormKind::kRmsNorm ? rms_norm(x, w, c.norm_eps)
                                      : layer_norm(x, w, b, c.norm_eps);
}

}  // namespace

void Executor::attention(int block, Matrix* hidden, KvCache* cache) {
  const ModelConfig& c = config();
  const BlockWeights& bw = weights_->blocks[block];
  const BlockPlan& plan = plans_[block];
  const int count = static_cast<int>(hidden->rows());
  const int start = cache->length();
  const int q_width = c.num_heads * c.head_dim;
  const int kv_width = c.num_kv_heads * c.head_dim;

  const Matrix normed = apply_norm(c, *hidden, bw.attn_norm_weight, bw.attn_norm_bias);
  Matrix q, k, v;
  if (plan.qkv >= 0) {
    // Fused projections (Phi-3 qkv_proj, GPT-2 c_attn) stack q, then k, then v.
    Matrix qkv;
    run_linear(block, plan.qkv, normed, &qkv);
    q = qkv.leftCols(q_width);
    k = qkv.middleCols(q_width, kv_width);
    v = qkv.middleCols(q_width + kv_width, kv_width);
  } else {
    run_linear(block, plan.q, normed, &q);
    run_linear(block, plan.k, normed, &k);
    run_linear(block, plan.v, normed, &v);
  }
  if (c.positions == PositionKind::kRotary) {
    apply_rotary(&q, c.num_heads, c.head_dim, inv_freq_, start);
    apply_rotary(&k, c.num_kv_heads, c.head_dim, inv_freq_, start);
  }
  cache->reserve(start + count);
  cache->keys(block).middleRows(start, count) = k;
  cache->values(block).middleRows(start, count) = v;

  const Matrix context = causal_attention(q, cache->keys(block), cache->values(block), c.num_heads,
                                          c.num_kv_heads, c.head_dim, start);
  Matrix out;
  run_linear(block, plan.o, context, &out);
  *hidden += out;
}

void Executor::mlp(int block, Matrix* hidden) {
  const ModelConfig& c = config();
  const BlockWeights& bw = weights_->blocks[block];
  const BlockPlan& plan = plans_[block];
  const Matrix normed = apply_norm(c, *hidden, bw.mlp_norm_weight, bw.mlp_norm_bias);
  Matrix inner;
  if (c.gated_mlp) {
    Matrix gate, up;
    if (plan.gate_up >= 0) {
      // Phi-3 gate_up_proj: the first half of the outputs is the gate, the second the up.
      Matrix gate_up;
      run_linear(block, plan.gate_up, normed, &gate_up);
      const int width = static_cast<int>(gate_up.cols()) / 2;
      gate = gate_up.leftCols(width);
      up = gate_up.rightCols(width);
    } else {
      run_linear(block, plan.gate, normed, &gate);
      run_linear(block, plan.up, normed, &up);
    }
    activate(&gate, c.activation);
    inner = gate.cwiseProduct(up);
  } else {
    run_linear(block, plan.up, normed, &inner);
    activate(&inner, c.activation);
  }
  Matrix out;
  run_linear(block, plan.down, inner, &out);
  *hidden += out;
}

Matrix Executor::final_logits(const Matrix& hidden) {
  const ModelConfig& c = config();
  const Matrix normed =
      apply_norm(c, hidden, weights_->final_norm_weight, weights_->final_norm_bias);
  Matrix logits;
  run_linear(-1, 0, normed, &logits);
  return logits;
}

// ---- Digital kernels ---------------------------------------------------------------------------

Matrix rms_norm(const Matrix& x, const Vector& weight, double eps) {
  const int rows = static_cast<int>(x.rows()), cols = static_cast<int>(x.cols());
  Matrix y(rows, cols);
  for (int t = 0; t < rows; ++t) {
    double sum_sq = 0;
    for (int j = 0; j < cols; ++j) sum_sq += static_cast<double>(x(t, j)) * x(t, j);
    // HF: x * rsqrt(mean + eps), then weight * (that, in the model dtype).
    const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / cols + eps));
    for (int j = 0; j < cols; ++j) y(t, j) = weight[j] * (x(t, j) * inv);
  }
  return y;
}

Matrix layer_norm(const Matrix& x, const Vector& weight, const Vector& bias, double eps) {
  const int rows = static_cast<int>(x.rows()), cols = static_cast<int>(x.cols());
  Matrix y(rows, cols);
  for (int t = 0; t < rows; ++t) {
    double sum = 0;
    for (int j = 0; j < cols; ++j) sum += x(t, j);
    const double mean = sum / cols;
    double var = 0;
    for (int j = 0; j < cols; ++j) var += (x(t, j) - mean) * (x(t, j) - mean);
    const double inv = 1.0 / std::sqrt(var / cols + eps);
    for (int j = 0; j < cols; ++j) {
      const float normed = static_cast<float>((x(t, j) - mean) * inv);
      y(t, j) = normed * weight[j] + (bias.size() > 0 ? bias[j] : 0.0f);
    }
  }
  return y;
}

std::vector<float> rotary_inv_freq(int head_dim, double theta) {
  std::vector<float> inv(head_dim / 2);
  for (int i = 0; i < head_dim / 2; ++i) {
    // HF: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in float32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float power = static_cast<float>(std::pow(static_cast<float>(theta), exponent));
    inv[i] = 1.0f / power;
  }
  return inv;
}

void scale_rotary_inv_freq(std::vector<float>* inv_freq, const RopeScaling& scaling) {
  if (scaling.kind != RopeScaling::Kind::kLlama3) return;
  // Llama 3 (Hugging Face's llama3 rope init), in float32 as there: per frequency, the
  // wavelength 2 pi / f decides whether it is kept (short), divided by `factor` (long), or
  // interpolated between the two (the band in between).
  const float factor = static_cast<float>(scaling.factor);
  const float low = static_cast<float>(scaling.low_freq_factor);
  const float high = static_cast<float>(scaling.high_freq_factor);
  const float old_len = static_cast<float>(scaling.original_max_positions);
  const float low_freq_wavelen = old_len / low;
  const float high_freq_wavelen = old_len / high;
  const float two_pi = static_cast<float>(2.0 * 3.14159265358979323846);
  for (float& f : *inv_freq) {
    const float wavelen = two_pi / f;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      f = f / factor;
      continue;
    }
    const float smooth = (old_len / wavelen - low) / (high - low);
    f = (1.0f - smooth) * f / factor + smooth * f;
  }
}

void apply_rotary(Matrix* x, int heads, int head_dim, const std::vector<float>& inv_freq,
                  int start) {
  const int rows = static_cast<int>(x->rows());
  const int half = head_dim / 2;
  for (int t = 0; t < rows; ++t) {
    // HF forms the angle as float(position) * inv_freq in float32, then cos/sin of that float.
    const float position = static_cast<float>(start + t);
    for (int i = 0; i < half; ++i) {
      const float angle = position * inv_freq[i];
      const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
      const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
      for (int h = 0; h < heads; ++h) {
        float& a = (*x)(t, h * head_dim + i);
        float& b = (*x)(t, h * head_dim + i + half);
        const float x1 = a, x2 = b;
        // x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1].
        a = x1 * c + (-x2) * s;
        b = x2 * c + x1 * s;
      }
    }
  }
}

void activate(Matrix* x, Activation activation) {
  float* p = x->data();
  const Eigen::Index n = x->size();
  switch (activation) {
    case Activation::kSilu:
      for (Eigen::Index i = 0; i < n; ++i) p[i] = p[i] / (1.0f + std::exp(-p[i]));
      break;
    case Activation::kGeluTanh: {
      // GPT-2 gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
      const double k = 0.7978845608028654;  // sqrt(2 / pi)
      for (Eigen::Index i = 0; i < n; ++i) {
        const double v = p[i];
        p[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
      }
      break;
    }
    case Activation::kGelu:
      for (Eigen::Index i = 0; i < n; ++i) {
        const double v = p[i];
        p[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
      }
      break;
  }
}

Matrix causal_attention(const Matrix& q, const Matrix& keys, const Matrix& values, int heads,
                        int kv_heads, int head_dim, int start) {
  const int count = static_cast<int>(q.rows());
  const int span = start + count;  // keys 0 .. span-1 exist for the last query
  const int group = heads / kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  Matrix out(count, heads * head_dim);
  // Scores are kept transposed (key x query) so each query's softmax runs down a contiguous
  // column of the column-major matrix.
  Matrix scores(span, count);
  for (int h = 0; h < heads; ++h) {
    const int kv = h / group;
    const auto k_h = keys.block(0, kv * head_dim, span, head_dim);
    const auto v_h = values.block(0, kv * head_dim, span, head_dim);
    scores.noalias() = k_h * q.middleCols(h * head_dim, head_dim).transpose();
    for (int t = 0; t < count; ++t) {
      float* col = scores.col(t).data();
      const int visible = start + t + 1;  // causal: keys 0 .. start + t
      float max = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < visible; ++j) {
        col[j] *= scale;
        max = std::max(max, col[j]);
      }
      double sum = 0;
      for (int j = 0; j < visible; ++j) {
        col[j] = std::exp(col[j] - max);
        sum += col[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int j = 0; j < visible; ++j) col[j] *= inv;
      for (int j = visible; j < span; ++j) col[j] = 0.0f;
    }
    out.middleCols(h * head_dim, head_dim).noalias() = scores.transpose() * v_h;
  }
  return out;
}

}  // namespace aimc::workloads

// config.json -> ModelConfig. Each family's keys follow the Hugging Face configuration classes
// (LlamaConfig, MistralConfig, Qwen2Config, Phi3Config, GPT2Config); defaults are the ones those
// classes use when a key is absent or null.
#include "workloads/hf_config.h"

#include <climits>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"

namespace aimc::workloads {
namespace {

using Json = nlohmann::json;

/// Typed access to the keys of one config.json, every error naming the file and the key.
class ConfigReader {
 public:
  ConfigReader(const Json& json, const std::string& source) : json_(json), source_(source) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw UserError(source_ + ": key '" + key + "' " + what);
  }

  /// Present and not null.
  bool has(const std::string& key) const {
    auto it = json_.find(key);
    return it != json_.end() && !it->is_null();
  }

  const Json& require(const std::string& key) const {
    if (!has(key)) fail(key, "is missing (required for this model_type)");
    return json_.at(key);
  }

  /// A positive integer (JSON integer; 2048.0 is rejected as a wrong type).
  int positive_int(const std::string& key) const {
    const Json& v = require(key);
    if (!v.is_number_integer()) fail(key, "must be an integer, got " + v.dump());
    if (v.is_number_unsigned() ? v.get<unsigned long long>() > INT_MAX
                               : v.get<long long>() > INT_MAX) {
      fail(key, "is too large, got " + v.dump());
    }
    if (v.get<long long>() <= 0) fail(key, "must be positive, got " + v.dump());
    return v.get<int>();
  }
  int positive_int(const std::string& key, int fallback) const {
    return has(key) ? positive_int(key) : fallback;
  }

  /// A finite positive number (integer or float).
  double positive_number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const Json& v = json_.at(key);
    if (!v.is_number()) fail(key, "must be a number, got " + v.dump());
    double x = v.get<double>();
    if (!std::isfinite(x) || x <= 0) fail(key, "must be a finite positive number, got " + v.dump());
    return x;
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const Json& v = json_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }

  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const Json& v = json_.at(key);
    if (!v.is_string()) fail(key, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }

 private:
  const Json& json_;
  const std::string& source_;
};

// `rope_scaling`: null, {"rope_type": "default"}, or Llama 3's {"rope_type": "llama3", "factor",
// "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}; other schemes
// (linear, dynamic, yarn, longrope) change the maths in ways not implemented here.
RopeScaling read_rope_scaling(const ConfigReader& r) {
  const Json& v = r.require("rope_scaling");
  RopeScaling s;
  if (!v.is_object()) r.fail("rope_scaling", "must be null or an object, got " + v.dump());
  std::string type;
  for (const char* key : {"rope_type", "type"}) {
    if (v.contains(key) && v.at(key).is_string()) type = v.at(key).get<std::string>();
  }
  if (type == "default") return s;
  if (type != "llama3") {
    r.fail("rope_scaling", "of type '" + type + "' is unsupported (null, default and llama3 are)");
  }
  // The sub-object's keys are reported as rope_scaling.<key> of the same file.
  auto number = [&](const char* key, double fallback, bool required) {
    const std::string name = std::string("rope_scaling.") + key;
    if (!v.contains(key) || v.at(key).is_null()) {
      if (required) r.fail(name, "is missing (required by rope_type llama3)");
      return fallback;
    }
    const Json& x = v.at(key);
    if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() <= 0) {
      r.fail(name, "must be a finite positive number, got " + x.dump());
    }
    return x.get<double>();
  };
  s.kind = RopeScaling::Kind::kLlama3;
  s.factor = number("factor", 1, true);
  s.low_freq_factor = number("low_freq_factor", 1, false);
  s.high_freq_factor = number("high_freq_factor", 4, false);
  const double original = number("original_max_position_embeddings", 8192, true);
  if (original != std::floor(original) || original > 1e9) {
    r.fail("rope_scaling.original_max_position_embeddings", "must be a positive integer");
  }
  s.original_max_positions = static_cast<int>(original);
  if (!(s.high_freq_factor > s.low_freq_factor)) {
    r.fail("rope_scaling.high_freq_factor", "must be larger than low_freq_factor");
  }
  return s;
}

Activation parse_activation(const ConfigReader& reader, const std::string& key,
                            const std::string& fallback) {
  std::string act = reader.string(key, fallback);
  if (act == "silu" || act == "swish") return Activation::kSilu;
  // gelu_pytorch_tanh is the same tanh approximation as GPT-2's gelu_new.
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (act == "gelu") return Activation::kGelu;
  reader.fail(key, "'" + act + "' is unsupported (silu, gelu_new, gelu_pytorch_tanh, gelu are)");
}

/// Llama, Mistral, Qwen2 and Phi-3 share the Llama key names.
ModelConfig read_llama_like(const ConfigReader& r, Family family, const std::string& model_type) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = r.positive_int("vocab_size");
  c.hidden_size = r.positive_int("hidden_size");
  c.intermediate_size = r.positive_int("intermediate_size");
  c.num_layers = r.positive_int("num_hidden_layers");
  c.num_heads = r.positive_int("num_attention_heads");
  c.num_kv_heads = r.positive_int("num_key_value_heads", c.num_heads);
  c.max_positions = r.positive_int("max_position_embeddings");
  if (r.has("head_dim")) {
    c.head_dim = r.positive_int("head_dim");
  } else {
    if (c.hidden_size % c.num_heads != 0) {
      r.fail("hidden_size", "(" + std::to_string(c.hidden_size) +
                                ") must be divisible by num_attention_heads (" +
                                std::to_string(c.num_heads) + ") when head_dim is absent");
    }
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.num_heads % c.num_kv_heads != 0) {
    r.fail("num_attention_heads", "(" + std::to_string(c.num_heads) +
                                      ") must be divisible by num_key_value_heads (" +
                                      std::to_string(c.num_kv_heads) + ")");
  }
  if (c.head_dim % 2 != 0) {
    r.fail(r.has("head_dim") ? "head_dim" : "hidden_size",
           "gives an odd head_dim (" + std::to_string(c.head_dim) +
               "); rotary embeddings need an even one");
  }
  c.norm = NormKind::kRmsNorm;
  // LlamaConfig and Qwen2Config default to 1e-6, Phi3Config and MistralConfig to 1e-5.
  double eps_default = (family == Family::kPhi3 || model_type == "mistral") ? 1e-5 : 1e-6;
  c.norm_eps = r.positive_number("rms_norm_eps", eps_default);
  c.activation = parse_activation(r, "hidden_act", "silu");
  c.gated_mlp = true;
  c.positions = PositionKind::kRotary;
  c.rope_theta = r.positive_number("rope_theta", 10000.0);
  if (r.has("rope_scaling")) c.rope_scaling = read_rope_scaling(r);
  if (r.has("partial_rotary_factor") && r.positive_number("partial_rotary_factor", 1.0) != 1.0) {
    r.fail("partial_rotary_factor", "other than 1.0 is unsupported");
  }
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  switch (family) {
    case Family::kQwen2:
      // Qwen2Attention always has q/k/v biases and no o_proj bias; there is no key for it.
      c.qkv_bias = true;
      break;
    case Family::kPhi3:
      c.fused_qkv = true;
      c.fused_gate_up = true;
      break;
    default: {
      bool attention_bias = r.boolean("attention_bias", false);
      c.qkv_bias = attention_bias;
      c.o_bias = attention_bias;
      c.mlp_bias = r.boolean("mlp_bias", false);
      break;
    }
  }
  return c;
}

ModelConfig read_gpt2(const ConfigReader& r) {
  ModelConfig c;
  c.family = Family::kGpt2;
  c.vocab_size = r.positive_int("vocab_size");
  c.hidden_size = r.positive_int("n_embd");
  c.num_layers = r.positive_int("n_layer");
  c.num_heads = r.positive_int("n_head");
  c.num_kv_heads = c.num_heads;
  c.max_positions = r.positive_int("n_positions");
  // n_inner null (the usual value) means 4 * n_embd.
  if (r.has("n_inner")) {
    c.intermediate_size = r.positive_int("n_inner");
  } else {
    if (c.hidden_size > INT_MAX / 4) r.fail("n_embd", "is too large");
    c.intermediate_size = 4 * c.hidden_size;
  }
  if (c.hidden_size % c.num_heads != 0) {
    r.fail("n_embd", "(" + std::to_string(c.hidden_size) + ") must be divisible by n_head (" +
                         std::to_string(c.num_heads) + ")");
  }
  c.head_dim = c.hidden_size / c.num_heads;
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = r.positive_number("layer_norm_epsilon", 1e-5);
  c.activation = parse_activation(r, "activation_function", "gelu_new");
  c.gated_mlp = false;
  c.positions = PositionKind::kLearned;
  c.rope_theta = 0;
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  c.qkv_bias = true;
  c.o_bias = true;
  c.mlp_bias = true;
  c.fused_qkv = true;
  return c;
}

std::string folder_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::vector<std::string> supported_model_types() {
  return {"llama", "mistral", "qwen2", "phi3", "gpt2"};
}

ModelConfig parse_hf_config(const std::string& json_text, const std::string& source) {
  Json json;
  try {
    json = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw UserError(source + ": malformed JSON: " + e.what());
  }
  if (!json.is_object()) throw UserError(source + ": must hold a JSON object");
  ConfigReader reader(json, source);
  std::string model_type = reader.string("model_type", "");
  if (model_type.empty()) reader.require("model_type");
  ModelConfig config;
  if (model_type == "llama" || model_type == "mistral") {
    config = read_llama_like(reader, Family::kLlama, model_type);
  } else if (model_type == "qwen2") {
    config = read_llama_like(reader, Family::kQwen2, model_type);
  } else if (model_type == "phi3") {
    config = read_llama_like(reader, Family::kPhi3, model_type);
  } else if (model_type == "gpt2") {
    config = read_gpt2(reader);
  } else {
    std::string known;
    for (const auto& t : supported_model_types()) known += (known.empty() ? "" : ", ") + t;
    reader.fail("model_type", "'" + model_type + "' is unsupported (supported: " + known + ")");
  }
  config.name = source;
  return config;
}

ModelConfig read_hf_config(const std::string& path) {
  const std::string text = proto::read_text_file(path, "config.json", 16 << 20);
  ModelConfig config = parse_hf_config(text, path);
  config.name = folder_of(path);
  return config;
}

}  // namespace aimc::workloads

// The one list of noise models. To add a model: write arch/<name>_noise.cc defining
// `std::shared_ptr<const NoiseModel> make_<name>_noise(const proto::<Params>&)`, add its
// parameter message as a member <name> of WeightNoiseConfig.model, and add one line below.
#include <stdexcept>

#include "arch/noise_model.h"
#include "proto/user_error.h"

namespace aimc::arch {

// X(oneof member name, parameter message, one-line description)
#define AIMC_NOISE_MODELS(X)                                                                  \
  X(none, NoNoise, "no device noise: conductances equal their targets")                       \
  X(gaussian, GaussianNoise, "additive per-channel Gaussian: W + gamma * wmax_j * N(0,1)")    \
  X(afm_pcm, AfmPcmNoise,                                                                     \
    "Analog Foundation Models PCM fit: piecewise-cubic sigma(|g|), g = W * 180 / wmax")       \
  X(pcm_like, PcmLikeNoise,                                                                   \
    "aihwkit PCM-like (Nandakumar 2019): programming noise, power-law drift, 1/f read noise") \
  X(hermes, HermesNoise, "aihwkit HERMES PCM fit, 1 or 2 devices per polarity, with drift")

// Factory declarations, one per model file.
#define AIMC_DECLARE_FACTORY(name, Params, description) \
  std::shared_ptr<const NoiseModel> make_##name##_noise(const proto::Params& params);
AIMC_NOISE_MODELS(AIMC_DECLARE_FACTORY)
#undef AIMC_DECLARE_FACTORY

namespace {

template <class Params, std::shared_ptr<const NoiseModel> (*Factory)(const Params&)>
std::shared_ptr<const NoiseModel> make_erased(const google::protobuf::Message& params) {
  return Factory(dynamic_cast<const Params&>(params));
}

}  // namespace

const std::vector<NoiseModelInfo>& noise_models() {
#define AIMC_ENTRY(name, Params, description)                     \
  NoiseModelInfo{#name, description, proto::Params::descriptor(), \
                 &make_erased<proto::Params, &make_##name##_noise>},
  static const std::vector<NoiseModelInfo> kModels = {AIMC_NOISE_MODELS(AIMC_ENTRY)};
#undef AIMC_ENTRY
  return kModels;
}

std::shared_ptr<const NoiseModel> make_noise_model(const proto::WeightNoiseConfig& config) {
  const auto* oneof = proto::WeightNoiseConfig::descriptor()->FindOneofByName("model");
  const auto* reflection = config.GetReflection();
  const auto* field = reflection->GetOneofFieldDescriptor(config, oneof);
  if (field == nullptr) return make_none_noise(proto::NoNoise());
  for (const auto& info : noise_models()) {
    if (info.name == field->name()) return info.make(reflection->GetMessage(config, field));
  }
  throw UserError("numerics.weight_noise." + field->name() +
                  ": no noise model of that name is registered in arch/noise_registry.cc");
}

}  // namespace aimc::arch

// The device noise models behind one interface: programming noise drawn once per programming,
// drift exponents drawn at programming, and drift plus read noise evaluated once for the
// configured inference time. Models are built by name from the WeightNoiseConfig.model oneof
// through the registry (noise_registry.cc); adding a model is one new file and one registration
// line there (see docs/numerics.md, "Adding a noise model").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <Eigen/Dense>

#include "arch/rng.h"
#include "proto/chip_config.pb.h"

namespace aimc::arch {

/// The random streams of one tile's devices; each purpose has its own stream so that, e.g.,
/// changing the inference time never changes the programming-noise realisation.
struct DeviceStreams {
  explicit DeviceStreams(uint64_t tile_seed);
  Rng programming;  ///< programming noise
  Rng drift;        ///< drift exponents nu
  Rng read;         ///< read (1/f) noise at the inference time
};

/// What programming a tile reports besides the weights.
struct ProgramResult {
  /// Sum over the tile's devices of |g| at t0 (after programming noise, before read noise), and
  /// the same sum at the inference time t (drifted, before read noise), in the model's
  /// conductance units. Equal when the model has no drift. Global drift compensation scales
  /// the tile's outputs by abs_sum_t0 / abs_sum_t.
  double abs_sum_t0 = 0;
  double abs_sum_t = 0;
};

/// A device noise model. Immutable after construction; shared by all tiles of a chip.
class NoiseModel {
 public:
  virtual ~NoiseModel() = default;

  /// Registry name, the member of WeightNoiseConfig.model (e.g. "afm_pcm").
  virtual std::string name() const = 0;

  /// Programs one tile. `target` (out_t x in_t) holds the weights to program, `wmax` (out_t)
  /// each output channel's scale (max |target| of the row in the tile, >= 0; a channel with
  /// wmax 0 is all zero and stays exactly 0). Writes into `weights` (same shape) the weights,
  /// in weight units, that reads at t_inference_s after programming see: programming noise,
  /// drift and read noise included. Draws come from `streams` in column-major element order.
  virtual ProgramResult program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                                const Eigen::Ref<const Eigen::VectorXf>& wmax, double t_inference_s,
                                DeviceStreams* streams,
                                Eigen::Ref<Eigen::MatrixXf> weights) const = 0;
};

/// One entry of the registry (for building models and for `aimcsim describe`).
struct NoiseModelInfo {
  std::string name;                            ///< WeightNoiseConfig.model member name
  std::string description;                     ///< one line
  const google::protobuf::Descriptor* params;  ///< the parameter message
  /// Builds the model from its parameter message (of type `params`).
  std::shared_ptr<const NoiseModel> (*make)(const google::protobuf::Message& params);
};

/// Every registered noise model, in the order of the proto oneof.
const std::vector<NoiseModelInfo>& noise_models();

/// Builds the model whose WeightNoiseConfig.model member is set (none when unset). Throws
/// UserError when the member has no registered model.
std::shared_ptr<const NoiseModel> make_noise_model(const proto::WeightNoiseConfig& config);

}  // namespace aimc::arch

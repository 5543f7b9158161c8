// Noise model "none": conductances equal their targets, no drift, no read noise.
#include "arch/noise_model.h"

namespace aimc::arch {
namespace {

class NoNoiseModel : public NoiseModel {
 public:
  std::string name() const override { return "none"; }
  ProgramResult program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                        const Eigen::Ref<const Eigen::VectorXf>& /*wmax*/, double /*t_inference_s*/,
                        DeviceStreams* /*streams*/,
                        Eigen::Ref<Eigen::MatrixXf> weights) const override {
    weights = target;
    const double sum = target.cwiseAbs().cast<double>().sum();
    return {sum, sum};
  }
};

}  // namespace

std::shared_ptr<const NoiseModel> make_none_noise(const proto::NoNoise& /*params*/) {
  return std::make_shared<NoNoiseModel>();
}

}  // namespace aimc::arch

// Noise model "gaussian": additive programming noise W + gamma * wmax_j * N(0,1) per output
// channel j (numerics.md section 3; the noise of analog foundation-model training).
// No drift, no read noise.
#include <vector>

#include "arch/noise_model.h"

namespace aimc::arch {
namespace {

class GaussianNoiseModel : public NoiseModel {
 public:
  explicit GaussianNoiseModel(double gamma) : gamma_(gamma) {}
  std::string name() const override { return "gaussian"; }

  ProgramResult program(const Eigen::Ref<const Eigen::MatrixXf>& target,
                        const Eigen::Ref<const Eigen::VectorXf>& wmax, double /*t_inference_s*/,
                        DeviceStreams* streams,
                        Eigen::Ref<Eigen::MatrixXf> weights) const override {
    const Eigen::Index rows = target.rows();
    std::vector<float> noise(static_cast<size_t>(target.size()));
    streams->programming.fill_normal(noise.data(), noise.size());
    double sum = 0;
    for (Eigen::Index c = 0; c < target.cols(); ++c) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        const double w = target(r, c) + gamma_ * wmax(r) * noise[c * rows + r];
        weights(r, c) = static_cast<float>(w);
        sum += std::abs(w);
      }
    }
    return {sum, sum};
  }

 private:
  double gamma_;  ///< std relative to wmax_j
};

}  // namespace

std::shared_ptr<const NoiseModel> make_gaussian_noise(const proto::GaussianNoise& params) {
  return std::make_shared<GaussianNoiseModel>(params.gamma());
}

}  // namespace aimc::arch

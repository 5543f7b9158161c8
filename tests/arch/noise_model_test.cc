// Every noise model against the formulas of numerics.md section 3, re-typed here by hand:
// the empirical std of programming noise at five conductance levels (>= 1e5 draws, within 3%),
// and for pcm_like and hermes the mean and std of the drifted and of the read conductance at two
// inference times. Also the registry (every oneof member has a model) and reproducibility.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "arch/noise_model.h"
#include "arch/rng.h"
#include "proto/user_error.h"

namespace aimc::arch {
namespace {

constexpr int kDraws = 200000;
constexpr double kYear = 365.0 * 24 * 3600;

struct Stats {
  double mean = 0, std = 0;
  int exact_zeros = 0;
};

/// Programs kDraws devices of weight `w` (channel wmax 1) and returns the weights' statistics.
Stats program_level(const NoiseModel& model, double w, double t_inference_s, uint64_t seed = 11) {
  Eigen::MatrixXf target = Eigen::MatrixXf::Constant(1, kDraws, static_cast<float>(w));
  Eigen::VectorXf wmax = Eigen::VectorXf::Constant(1, 1.0f);
  Eigen::MatrixXf out(1, kDraws);
  DeviceStreams streams(seed);
  model.program(target, wmax, t_inference_s, &streams, out);
  Stats s;
  for (int k = 0; k < kDraws; ++k) {
    s.mean += out(0, k);
    s.exact_zeros += out(0, k) == 0.0f;
  }
  s.mean /= kDraws;
  for (int k = 0; k < kDraws; ++k) s.std += (out(0, k) - s.mean) * (out(0, k) - s.mean);
  s.std = std::sqrt(s.std / (kDraws - 1));
  return s;
}

std::shared_ptr<const NoiseModel> model_of(const proto::WeightNoiseConfig& c) {
  return make_noise_model(c);
}

TEST(NoiseRegistry, EveryOneofMemberIsRegistered) {
  const auto* oneof = proto::WeightNoiseConfig::descriptor()->FindOneofByName("model");
  ASSERT_NE(oneof, nullptr);
  ASSERT_EQ(noise_models().size(), static_cast<size_t>(oneof->field_count()));
  for (int k = 0; k < oneof->field_count(); ++k) {
    const auto* field = oneof->field(k);
    EXPECT_EQ(noise_models()[k].name, field->name());
    EXPECT_EQ(noise_models()[k].params, field->message_type());
    EXPECT_FALSE(noise_models()[k].description.empty());
    proto::WeightNoiseConfig config;
    config.GetReflection()->MutableMessage(&config, field);  // sets the member
    EXPECT_EQ(make_noise_model(config)->name(), field->name());
  }
  EXPECT_EQ(make_noise_model(proto::WeightNoiseConfig())->name(), "none");
}

TEST(NoNoise, WeightsUnchanged) {
  proto::WeightNoiseConfig c;
  c.mutable_none();
  const Stats s = program_level(*model_of(c), 0.3, kYear);
  EXPECT_FLOAT_EQ(s.mean, 0.3f);
  EXPECT_NEAR(s.std, 0.0, 1e-7);
}

TEST(GaussianNoise, StdIsGammaTimesWmax) {
  proto::WeightNoiseConfig c;
  c.mutable_gaussian()->set_gamma(0.05);
  const auto model = model_of(c);
  for (double w : {-1.0, -0.3, 0.0, 0.5, 1.0}) {
    const Stats s = program_level(*model, w, 0);
    EXPECT_NEAR(s.std, 0.05, 0.03 * 0.05) << "w = " << w;
    EXPECT_NEAR(s.mean, w, 5 * 0.05 / std::sqrt(kDraws)) << "w = " << w;
  }
}

// sigma(|g|) of the Analog Foundation Models fit, highest power first.
double afm_sigma(double g) {
  if (g <= 52.5) return 2.93975e-5 * g * g * g - 3.71581e-3 * g * g + 0.224197 * g + 2.57974;
  return 1.23298e-5 * g * g * g - 3.05499e-3 * g * g + 0.245349 * g + 2.11030;
}

TEST(AfmPcmNoise, SigmaAtFiveLevels) {
  // The published spot values.
  EXPECT_NEAR(afm_sigma(0), 2.58, 0.01);
  EXPECT_NEAR(afm_sigma(10), 4.48, 0.01);
  EXPECT_NEAR(afm_sigma(52.5), 8.36, 0.01);
  EXPECT_NEAR(afm_sigma(120), 8.87, 0.01);
  EXPECT_NEAR(afm_sigma(180), 19.2, 0.05);
  proto::WeightNoiseConfig c;
  c.mutable_afm_pcm();
  const auto model = model_of(c);
  for (double g : {0.6, 10.0, 52.5, 120.0, 180.0}) {
    const Stats s = program_level(*model, g / 180.0, 0);
    const double expected = afm_sigma(g) / 180.0;  // back in weight units (wmax 1)
    EXPECT_NEAR(s.std, expected, 0.03 * expected) << "g = " << g;
    EXPECT_NEAR(s.mean, g / 180.0, 5 * expected / std::sqrt(kDraws)) << "g = " << g;
    EXPECT_EQ(s.exact_zeros, 0);
  }
  // Negative weights: same sigma.
  const Stats neg = program_level(*model, -120.0 / 180.0, 0);
  EXPECT_NEAR(neg.std, afm_sigma(120) / 180.0, 0.03 * afm_sigma(120) / 180.0);
  // Unprogrammed below |g| = 0.6: exactly zero.
  for (double g : {0.0, 0.3, 0.59, -0.59}) {
    const Stats s = program_level(*model, g / 180.0, 0);
    EXPECT_EQ(s.exact_zeros, kDraws) << "g = " << g;
  }
  // noise_scale multiplies sigma.
  c.mutable_afm_pcm()->set_noise_scale(2);
  const Stats doubled = program_level(*model_of(c), 10.0 / 180.0, 0);
  EXPECT_NEAR(doubled.std, 2 * afm_sigma(10) / 180.0, 0.03 * 2 * afm_sigma(10) / 180.0);
}

TEST(AfmPcmNoise, EveryLevelEqualsTheScalarRule) {
  // The vectorised programming kernel against the rule written out element by element (Horner
  // form, the order of numerics.md section 3), bit for bit, at every SIMD level: random weights
  // with all-zero channels, values around zero_below and around the sigma split at 52.5, an
  // odd number of rows (vector remainders), a block of a larger matrix (outer stride).
  proto::WeightNoiseConfig c;
  c.mutable_afm_pcm();
  const auto model = model_of(c);
  const double gs = 180, zb = 0.6, ns = 1;
  Eigen::MatrixXf big = Eigen::MatrixXf::Random(77, 160);
  big.row(3).setZero();
  for (int k = 0; k < 40; ++k) {
    big(10 + k % 50, k) = static_cast<float>((k % 2 ? 52.5 : 0.6) * (1 + (k - 20) * 1e-7) / gs);
  }
  const auto target = big.block(2, 5, 71, 150);
  const Eigen::VectorXf wmax = target.cwiseAbs().rowwise().maxCoeff();
  std::vector<float> nz(static_cast<size_t>(target.size()));
  DeviceStreams(21).programming.fill_normal(nz.data(), nz.size());
  Eigen::MatrixXf want(target.rows(), target.cols());
  for (Eigen::Index col = 0; col < target.cols(); ++col) {
    for (Eigen::Index r = 0; r < target.rows(); ++r) {
      const double scale = wmax(r);
      const double g = scale == 0 ? 0 : target(r, col) * gs / scale;
      const double ag = std::fabs(g);
      const double sigma = ag <= 52.5
                               ? ((2.93975e-5 * ag - 3.71581e-3) * ag + 0.224197) * ag + 2.57974
                               : ((1.23298e-5 * ag - 3.05499e-3) * ag + 0.245349) * ag + 2.11030;
      want(r, col) =
          scale == 0 || ag < zb
              ? 0.0f
              : static_cast<float>((g + ns * sigma * nz[col * target.rows() + r]) * scale / gs);
    }
  }
  const SimdLevel saved = simd_level();
  for (SimdLevel level : {SimdLevel::kBaseline, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    set_simd_limit(level);
    Eigen::MatrixXf got(target.rows(), target.cols());
    DeviceStreams streams(21);
    model->program(target, wmax, 0, &streams, got);
    int mismatches = 0;
    for (Eigen::Index k = 0; k < got.size(); ++k) mismatches += got.data()[k] != want.data()[k];
    EXPECT_EQ(mismatches, 0) << simd_level_name(level);
  }
  set_simd_limit(saved);
}

// --- pcm_like -------------------------------------------------------------------------------

double pcm_sigma_prog_us(double g) {  // g = g_T / g_max, g_max = 25 uS
  return std::max(0.0, 0.26348 + 1.9650 * g - 1.1731 * g * g);
}
double pcm_mu_nu(double g) {
  return std::min(std::max(-0.0155 * std::log(g) + 0.0244, 0.049), 0.1);
}
double pcm_sd_nu(double g) {
  return std::min(std::max(-0.0125 * std::log(g) - 0.0059, 0.008), 0.045);
}
double pcm_qs(double g) {
  return std::min(0.0088 / std::pow(g, 0.65), 0.2);
}

/// Mean and std of exp(-nu L), nu ~ N(mu, sd) (lognormal).
Stats drift_factor(double mu, double sd, double L) {
  Stats s;
  s.mean = std::exp(-mu * L + sd * sd * L * L / 2);
  s.std = s.mean * std::sqrt(std::exp(sd * sd * L * L) - 1);
  return s;
}

TEST(PcmLikeNoise, ProgrammingSigmaAtFiveLevels) {
  proto::WeightNoiseConfig c;
  c.mutable_pcm_like()->set_drift_scale(0);
  c.mutable_pcm_like()->set_read_noise_scale(0);
  const auto model = model_of(c);
  for (double g : {0.1, 0.25, 0.5, 0.75, 1.0}) {
    const Stats s = program_level(*model, g, 0);
    const double expected = pcm_sigma_prog_us(g) / 25.0;  // weight units: g_us / g_max
    EXPECT_NEAR(s.std, expected, 0.03 * expected) << "g = " << g;
    EXPECT_NEAR(s.mean, g, 5 * expected / std::sqrt(kDraws)) << "g = " << g;
  }
  // A zero weight leaves both devices at 0.
  EXPECT_EQ(program_level(*model, 0.0, 0).exact_zeros, kDraws);
}

TEST(PcmLikeNoise, DriftMeanAndStdAtTwoTimes) {
  proto::WeightNoiseConfig c;
  c.mutable_pcm_like()->set_prog_noise_scale(0);
  c.mutable_pcm_like()->set_read_noise_scale(0);
  const auto model = model_of(c);
  for (double t : {3600.0, kYear}) {
    const double L = std::log((t + 20.0) / 20.0);  // t0 = 20 s
    for (double g : {0.2, 0.5}) {
      const Stats s = program_level(*model, g, t);
      const Stats e = drift_factor(pcm_mu_nu(g), pcm_sd_nu(g), L);
      EXPECT_NEAR(s.mean, g * e.mean, 5 * g * e.std / std::sqrt(kDraws))
          << "t = " << t << " g = " << g;
      EXPECT_NEAR(s.std, g * e.std, 0.03 * g * e.std) << "t = " << t << " g = " << g;
    }
  }
  // No drift at t_inference = 0 (t = t0).
  const Stats at_zero = program_level(*model, 0.5, 0);
  EXPECT_FLOAT_EQ(at_zero.mean, 0.5f);
  EXPECT_NEAR(at_zero.std, 0, 1e-7);
}

TEST(PcmLikeNoise, ReadNoiseAtTwoTimes) {
  proto::WeightNoiseConfig c;
  c.mutable_pcm_like()->set_prog_noise_scale(0);
  c.mutable_pcm_like()->set_drift_scale(0);
  const auto model = model_of(c);
  const double t_read = 250e-9;
  for (double t_inf : {0.0, kYear}) {
    const double t = t_inf + 20.0;
    for (double g : {0.1, 0.5}) {
      const Stats s = program_level(*model, g, t_inf);
      const double expected = g * pcm_qs(g) * std::sqrt(std::log((t + t_read) / (2 * t_read)));
      EXPECT_NEAR(s.std, expected, 0.03 * expected) << "t = " << t_inf << " g = " << g;
      EXPECT_NEAR(s.mean, g, 5 * expected / std::sqrt(kDraws)) << "t = " << t_inf;
    }
  }
}

// --- hermes ---------------------------------------------------------------------------------

struct HermesRef {
  bool two;
  double g_max() const { return two ? 20.7 : 10.35; }
  double t0() const { return two ? 300.0 : 200.0; }
  double sigma_prog_us(double g) const {
    return two ? 0.16603 + 4.71806 * g - 8.48101 * g * g + 4.68961 * g * g * g
               : 0.15782 + 2.32444 * g - 2.16311 * g * g + 0.68842 * g * g * g;
  }
  double mu_nu(double g) const {
    return g < 0.0945 ? std::min(std::max(-0.0387 * std::log(g) - 0.0182, 0.072), 0.13)
                      : -0.0436 * g * g - 0.0126 * g + 0.0736;
  }
  double sd_nu(double g) const {
    if (two) {
      return g < 0.3055 ? std::min(std::max(-0.0117 * std::log(g) - 0.0057, 0.0091), 0.04)
                        : -0.0118 * g * g + 0.0093 * g + 0.0073;
    }
    return g < 0.3039 ? std::min(std::max(-0.0120 * std::log(g) - 0.0023, 0.0124), 0.04)
                      : -0.0165 * g * g + 0.0116 * g + 0.0104;
  }
  double qs(double g) const {
    if (two) {
      return g < 0.16 ? std::min(std::max(-0.0117 * std::log(g) - 0.0069, 0.015), 0.04)
                      : 0.0069 * g * g * g - 0.0280 * g * g + 0.0211 * g + 0.0123;
    }
    return g < 0.1591 ? std::min(std::max(-0.0078 * std::log(g) + 0.0038, 0.0179), 0.04)
                      : 0.0664 * g * g * g - 0.1352 * g * g + 0.0768 * g + 0.0088;
  }
};

class HermesTest : public ::testing::TestWithParam<int> {
 protected:
  proto::WeightNoiseConfig config(double prog, double drift, double read) const {
    proto::WeightNoiseConfig c;
    auto* h = c.mutable_hermes();
    h->set_devices_per_polarity(GetParam());
    h->set_prog_noise_scale(prog);
    h->set_drift_scale(drift);
    h->set_read_noise_scale(read);
    return c;
  }
  HermesRef ref() const { return HermesRef{GetParam() == 2}; }
};

TEST_P(HermesTest, ProgrammingSigmaAtFiveLevels) {
  const auto model = model_of(config(1, 0, 0));
  for (double g : {0.2, 0.4, 0.6, 0.8, 1.0}) {
    const Stats s = program_level(*model, g, 0);
    const double expected = ref().sigma_prog_us(g) / ref().g_max();
    EXPECT_NEAR(s.std, expected, 0.03 * expected) << "g = " << g;
    EXPECT_NEAR(s.mean, g, 5 * expected / std::sqrt(kDraws)) << "g = " << g;
  }
}

TEST_P(HermesTest, DriftMeanAndStdAtTwoTimes) {
  const auto model = model_of(config(0, 1, 0));
  for (double t : {3600.0, kYear}) {
    const double L = std::log((t + ref().t0()) / ref().t0());
    for (double g : {0.05, 0.5}) {
      const Stats s = program_level(*model, g, t);
      const Stats e = drift_factor(ref().mu_nu(g), ref().sd_nu(g), L);
      EXPECT_NEAR(s.mean, g * e.mean, 5 * g * e.std / std::sqrt(kDraws))
          << "t = " << t << " g = " << g;
      EXPECT_NEAR(s.std, g * e.std, 0.03 * g * e.std) << "t = " << t << " g = " << g;
    }
  }
}

TEST_P(HermesTest, ReadNoiseAtTwoTimes) {
  const auto model = model_of(config(0, 0, 1));
  const double t_read = 512e-9;
  for (double t_inf : {0.0, kYear}) {
    const double t = t_inf + ref().t0();
    for (double g : {0.1, 0.5}) {
      const Stats s = program_level(*model, g, t_inf);
      const double expected = g * ref().qs(g) * std::sqrt(std::log((t + t_read) / (2 * t_read)));
      EXPECT_NEAR(s.std, expected, 0.03 * expected) << "t = " << t_inf << " g = " << g;
      EXPECT_NEAR(s.mean, g, 5 * expected / std::sqrt(kDraws)) << "t = " << t_inf;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DevicesPerPolarity, HermesTest, ::testing::Values(1, 2));

TEST(NoiseModels, SameSeedSameDrawsOtherSeedOther) {
  proto::WeightNoiseConfig c;
  c.mutable_pcm_like();
  const auto model = model_of(c);
  Eigen::MatrixXf target = Eigen::MatrixXf::Random(16, 32);
  Eigen::VectorXf wmax = target.cwiseAbs().rowwise().maxCoeff();
  Eigen::MatrixXf a(16, 32), b(16, 32), other(16, 32);
  DeviceStreams sa(5), sb(5), so(6);
  model->program(target, wmax, 3600, &sa, a);
  model->program(target, wmax, 3600, &sb, b);
  model->program(target, wmax, 3600, &so, other);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
}

}  // namespace
}  // namespace aimc::arch

// Spectrum analytics against hand-computed values and synthetic Pareto samples; SHA-256 (the
// model fingerprint's hash) against the FIPS 180-2 test vectors.
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/spectra.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

// Uniform in (0, 1) from a fixed 64-bit generator (same sequence on every platform).
struct Uniform {
  std::mt19937_64 gen;
  explicit Uniform(std::uint64_t seed) : gen(seed) {}
  double operator()() { return ((gen() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
};

// Pareto (continuous power law) with density ~ x^-alpha for x >= xmin, by inversion.
std::vector<double> pareto(std::size_t n, double alpha, double xmin, std::uint64_t seed) {
  Uniform u(seed);
  std::vector<double> out(n);
  for (auto& x : out) x = xmin * std::pow(1.0 - u(), -1.0 / (alpha - 1.0));
  return out;
}

}  // namespace

TEST(Spectra, HandComputedMetricsOfThreeTwoOne) {
  const std::vector<float> sigma = {3.0f, 2.0f, 1.0f};
  const auto m = t2::spectrum_metrics(sigma, 5);
  EXPECT_EQ(m.rank, 3);
  EXPECT_DOUBLE_EQ(m.sigma_max, 3.0);
  EXPECT_DOUBLE_EQ(m.sigma_min, 1.0);
  EXPECT_DOUBLE_EQ(m.frobenius_sq, 14.0);
  EXPECT_DOUBLE_EQ(m.nuclear, 6.0);
  EXPECT_NEAR(m.stable_rank, 14.0 / 9.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.condition, 3.0);
  // p = (1/2, 1/3, 1/6): H = ln 6 - (3 ln 3 + 2 ln 2) / 6 = 1.0114043, exp(H) = 2.7494593.
  EXPECT_NEAR(m.effective_rank, 2.7494593, 1e-6);
  const auto e = t2::cumulative_energy(sigma);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NEAR(e[0], 9.0 / 14.0, 1e-12);
  EXPECT_NEAR(e[1], 13.0 / 14.0, 1e-12);
  EXPECT_NEAR(e[2], 1.0, 1e-12);
  EXPECT_EQ(m.rank_90, 2);
  EXPECT_EQ(m.rank_99, 3);
  EXPECT_FALSE(m.power_law.ok);  // three values are too few for a tail fit
}

TEST(Spectra, FlatAndRankOneSpectra) {
  const auto flat = t2::spectrum_metrics({2.0f, 2.0f, 2.0f, 2.0f}, 4);
  EXPECT_NEAR(flat.effective_rank, 4.0, 1e-12);
  EXPECT_NEAR(flat.stable_rank, 4.0, 1e-12);
  EXPECT_DOUBLE_EQ(flat.condition, 1.0);
  EXPECT_EQ(flat.rank_90, 4);
  const auto one = t2::spectrum_metrics({5.0f, 0.0f, 0.0f}, 3);
  EXPECT_NEAR(one.effective_rank, 1.0, 1e-12);
  EXPECT_NEAR(one.stable_rank, 1.0, 1e-12);
  EXPECT_EQ(one.condition, std::numeric_limits<double>::infinity());
  EXPECT_EQ(one.rank_90, 1);
  const auto empty = t2::spectrum_metrics({}, 0);
  EXPECT_EQ(empty.rank, 0);
}

TEST(Spectra, RejectsInvalidSingularValues) {
  EXPECT_THROW(t2::spectrum_metrics({1.0f, 2.0f}, 2), t2::Error);
  EXPECT_THROW(t2::spectrum_metrics({1.0f, -0.5f}, 2), t2::Error);
  EXPECT_THROW(t2::spectrum_metrics({std::nanf(""), 1.0f}, 2), t2::Error);
}

TEST(Spectra, PowerLawMleAndKsByHand) {
  // Samples 1, e, e^2 with xmin = 1: sum ln(x/xmin) = 3, n = 3 -> alpha = 1 + 3/3 = 2.
  // Fitted CDF 1 - 1/x = 0, 0.632, 0.865 against steps (0,1/3), (1/3,2/3), (2/3,1): D = 1/3.
  const auto fit = t2::fit_power_law_fixed({1.0, std::exp(1.0), std::exp(2.0), 0.5}, 1.0);
  ASSERT_TRUE(fit.ok);
  EXPECT_NEAR(fit.alpha, 2.0, 1e-12);
  EXPECT_EQ(fit.n_tail, 3);
  EXPECT_NEAR(fit.ks_distance, 1.0 / 3.0, 1e-12);
  EXPECT_FALSE(t2::fit_power_law_fixed({1.0, 1.0}, 1.0).ok);  // no spread: no estimate
}

TEST(Spectra, RecoversAlphaOfParetoSamples) {
  for (double alpha : {2.0, 2.5, 4.0}) {
    SCOPED_TRACE(alpha);
    const auto x = pareto(20000, alpha, 1.0, 42);
    const auto fixed = t2::fit_power_law_fixed(x, 1.0);
    EXPECT_NEAR(fixed.alpha, alpha, 0.05);  // standard error (alpha-1)/sqrt(n) <= 0.021
    const auto fit = t2::fit_power_law(std::vector<double>(x.begin(), x.begin() + 4000));
    ASSERT_TRUE(fit.ok);
    EXPECT_NEAR(fit.alpha, alpha, 0.15);
    EXPECT_LT(fit.ks_distance, 0.02);
  }
}

TEST(Spectra, FindsTheTailAboveANonPowerLawBody) {
  // Body: 2000 uniform samples in [0.05, 1); tail: 2000 Pareto(alpha 3) samples above 1.
  Uniform u(7);
  std::vector<double> x;
  for (int i = 0; i < 2000; ++i) x.push_back(0.05 + 0.95 * u());
  for (double v : pareto(2000, 3.0, 1.0, 9)) x.push_back(v);
  const auto fit = t2::fit_power_law(x);
  ASSERT_TRUE(fit.ok);
  EXPECT_GT(fit.xmin, 0.8);
  EXPECT_LT(fit.xmin, 2.0);
  EXPECT_NEAR(fit.alpha, 3.0, 0.25);
  // A fit forced to start in the body is worse (larger KS distance) and biased low.
  const auto body = t2::fit_power_law_fixed(x, 0.05);
  EXPECT_GT(body.ks_distance, fit.ks_distance);
  EXPECT_LT(body.alpha, 2.0);
}

TEST(Spectra, AlphaIsScaleFreeAndUsesSigmaSquared) {
  // sigma^2 / N drawn from Pareto(alpha): the metric's alpha equals the fit on those values.
  const auto lambda = pareto(500, 3.0, 2.0, 3);
  std::vector<double> sorted = lambda;
  std::sort(sorted.rbegin(), sorted.rend());
  std::vector<float> sigma;
  const double n = 1000.0;
  for (double l : sorted) sigma.push_back(static_cast<float>(std::sqrt(l * n)));
  const auto m = t2::spectrum_metrics(sigma, 1000);
  std::vector<double> back;
  for (float s : sigma) back.push_back(static_cast<double>(s) * s / n);
  const auto direct = t2::fit_power_law(back);
  ASSERT_TRUE(m.power_law.ok);
  EXPECT_NEAR(m.power_law.alpha, direct.alpha, 1e-9);
  EXPECT_NEAR(m.power_law.alpha, 3.0, 0.4);
  const auto scaled = t2::spectrum_metrics(sigma, 10);  // another N only rescales lambda
  EXPECT_NEAR(scaled.power_law.alpha, m.power_law.alpha, 1e-6);
  EXPECT_NEAR(scaled.power_law.xmin, m.power_law.xmin * 100.0, 1e-6 * m.power_law.xmin * 100.0);
}

TEST(Spectra, AggregatesPerLayer) {
  auto mat = [](std::int64_t layer, double alpha, bool ok, double erank, double srank, double cond,
                double frob) {
    t2::MatrixSpectrum m;
    m.layer = layer;
    m.metrics.power_law.ok = ok;
    m.metrics.power_law.alpha = alpha;
    m.metrics.effective_rank = erank;
    m.metrics.stable_rank = srank;
    m.metrics.condition = cond;
    m.metrics.frobenius_sq = frob;
    return m;
  };
  const auto layers =
      t2::aggregate_layers({mat(1, 3.0, true, 10, 2, 5, 1), mat(0, 2.0, true, 4, 1, 7, 2),
                            mat(0, 4.0, true, 6, 3, 9, 3), mat(1, 99.0, false, 20, 4, 1, 4)});
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].layer, 0);
  EXPECT_EQ(layers[0].matrices, 2);
  EXPECT_DOUBLE_EQ(layers[0].mean_alpha, 3.0);
  EXPECT_DOUBLE_EQ(layers[0].mean_effective_rank, 5.0);
  EXPECT_DOUBLE_EQ(layers[0].mean_stable_rank, 2.0);
  EXPECT_DOUBLE_EQ(layers[0].max_condition, 9.0);
  EXPECT_DOUBLE_EQ(layers[0].frobenius_sq, 5.0);
  EXPECT_EQ(layers[1].alpha_fits, 1);
  EXPECT_DOUBLE_EQ(layers[1].mean_alpha, 3.0);  // the failed fit is left out
  EXPECT_DOUBLE_EQ(layers[1].mean_effective_rank, 15.0);
}

TEST(Fingerprint, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(t2::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(t2::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(t2::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(t2::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

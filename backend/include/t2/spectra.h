// Spectrum analytics of weight matrices from their singular values (torch-free).
//
// Definitions (sigma_i descending, r = number of singular values):
//  - cumulative energy: E_k = sum_{i<=k} sigma_i^2 / sum_i sigma_i^2 (fraction in [0, 1]).
//  - effective rank (Roy & Vetterli 2007): exp(H(p)), p_i = sigma_i / sum_j sigma_j,
//    H = -sum p_i ln p_i (0 ln 0 = 0). 1 for rank one, r for a flat spectrum.
//  - stable rank: ||W||_F^2 / ||W||_2^2 = sum sigma_i^2 / sigma_1^2.
//  - condition: sigma_max / sigma_min (+inf when sigma_min = 0).
//  - power-law alpha as WeightWatcher reports it: eigenvalues lambda_i = sigma_i^2 / N of the
//    correlation matrix W^T W / N, N = max(out, in); the tail lambda >= xmin is fitted with the
//    continuous power-law maximum-likelihood estimate alpha = 1 + n / sum ln(lambda_i / xmin)
//    (density ~ lambda^-alpha), xmin chosen among the data values to minimise the
//    Kolmogorov-Smirnov distance between the empirical and the fitted tail CDF
//    (Clauset, Shalizi & Newman 2009). alpha is scale-free: the 1/N does not change it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2 {

struct PowerLawFit {
  bool ok = false;           // false when there were too few distinct positive samples
  double alpha = 0.0;        // exponent of the tail density p(x) ~ x^-alpha
  double xmin = 0.0;         // start of the fitted tail
  double ks_distance = 0.0;  // KS distance of the fit over the tail
  std::int64_t n_tail = 0;   // samples >= xmin
};

// Continuous power-law MLE for a fixed xmin (samples below xmin are ignored).
PowerLawFit fit_power_law_fixed(const std::vector<double>& samples, double xmin);
// CSN fit: xmin among the distinct positive samples (keeping a tail of at least min_tail
// samples) minimising the KS distance.
PowerLawFit fit_power_law(const std::vector<double>& samples, std::int64_t min_tail = 10);

struct SpectrumMetrics {
  std::int64_t rank = 0;  // number of singular values
  double sigma_max = 0.0;
  double sigma_min = 0.0;
  double frobenius_sq = 0.0;    // sum sigma^2 (= ||W||_F^2)
  double nuclear = 0.0;         // sum sigma
  double effective_rank = 0.0;  // exp(entropy), Roy & Vetterli
  double stable_rank = 0.0;     // sum sigma^2 / sigma_max^2
  double condition = 0.0;       // sigma_max / sigma_min (inf if sigma_min == 0)
  std::int64_t rank_90 = 0;     // smallest k with cumulative energy >= 0.90
  std::int64_t rank_99 = 0;     // ... >= 0.99
  PowerLawFit power_law;        // WeightWatcher-style alpha of sigma^2 / N
};

// Cumulative energy fractions E_1..E_r (empty input -> empty output).
std::vector<double> cumulative_energy(const std::vector<float>& sigma);
double effective_rank(const std::vector<float>& sigma);
double stable_rank(const std::vector<float>& sigma);
// sigma: descending singular values; n = max(out, in) of the matrix (ESD normalisation).
// InvalidArgument for negative, non-finite or unsorted sigma.
SpectrumMetrics spectrum_metrics(const std::vector<float>& sigma, std::int64_t n);

struct MatrixSpectrum {
  std::string name;  // HF parameter name
  std::int64_t layer = 0;
  std::string part;  // e.g. "down_proj"
  std::int64_t out_features = 0;
  std::int64_t in_features = 0;
  SpectrumMetrics metrics;
};

// Per-layer aggregate over the layer's target matrices: means of the matrix metrics (alpha only
// over fits that are ok), the worst (largest) condition, and the summed energy.
struct LayerSpectrum {
  std::int64_t layer = 0;
  std::int64_t matrices = 0;
  double mean_alpha = 0.0;      // 0 when no fit succeeded
  std::int64_t alpha_fits = 0;  // matrices with an ok fit
  double mean_effective_rank = 0.0;
  double mean_stable_rank = 0.0;
  double max_condition = 0.0;
  double frobenius_sq = 0.0;  // sum over the layer's matrices
};

// Groups by layer (ascending).
std::vector<LayerSpectrum> aggregate_layers(const std::vector<MatrixSpectrum>& matrices);

}  // namespace t2

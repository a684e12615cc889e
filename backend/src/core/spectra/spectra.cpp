// Spectrum analytics from singular values (see t2/spectra.h for the definitions).
#include <t2/error.h>
#include <t2/spectra.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace t2 {
namespace detail::spectra {

// KS distance between the empirical CDF of the sorted tail and the fitted power-law CDF
// P(x) = 1 - (x / xmin)^(1 - alpha); log_tail[i] = ln tail[i].
double ks_distance(const double* log_tail, std::int64_t n, double log_xmin, double alpha) {
  double d = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double model = 1.0 - std::exp((1.0 - alpha) * (log_tail[i] - log_xmin));
    const double lo = static_cast<double>(i) / n, hi = static_cast<double>(i + 1) / n;
    d = std::max(d, std::max(std::abs(model - lo), std::abs(hi - model)));
  }
  return d;
}

std::vector<double> logs(const double* x, std::int64_t n) {
  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::log(x[i]);
  return out;
}

std::vector<double> sorted_positive(const std::vector<double>& samples) {
  std::vector<double> x;
  x.reserve(samples.size());
  for (double v : samples)
    if (v > 0.0 && std::isfinite(v)) x.push_back(v);
  std::sort(x.begin(), x.end());
  return x;
}

}  // namespace detail::spectra

PowerLawFit fit_power_law_fixed(const std::vector<double>& samples, double xmin) {
  PowerLawFit fit;
  if (!(xmin > 0.0)) return fit;
  const auto x = detail::spectra::sorted_positive(samples);
  const auto first = std::lower_bound(x.begin(), x.end(), xmin);
  const std::int64_t n = x.end() - first;
  double log_sum = 0.0;
  for (auto it = first; it != x.end(); ++it) log_sum += std::log(*it / xmin);
  if (n < 2 || !(log_sum > 0.0)) return fit;
  fit.ok = true;
  fit.xmin = xmin;
  fit.n_tail = n;
  fit.alpha = 1.0 + static_cast<double>(n) / log_sum;
  const auto log_tail = detail::spectra::logs(&*first, n);
  fit.ks_distance = detail::spectra::ks_distance(log_tail.data(), n, std::log(xmin), fit.alpha);
  return fit;
}

PowerLawFit fit_power_law(const std::vector<double>& samples, std::int64_t min_tail) {
  const auto x = detail::spectra::sorted_positive(samples);
  const std::int64_t total = static_cast<std::int64_t>(x.size());
  min_tail = std::max<std::int64_t>(min_tail, 2);
  PowerLawFit best;
  if (total < min_tail) return best;
  // suffix[k] = sum_{i >= k} ln x_i, so sum ln(x_i / x_k) = suffix[k] - m ln x_k.
  const auto log_x = detail::spectra::logs(x.data(), total);
  std::vector<double> suffix(total + 1, 0.0);
  for (std::int64_t i = total - 1; i >= 0; --i) suffix[i] = suffix[i + 1] + log_x[i];
  for (std::int64_t k = 0; k + min_tail <= total; ++k) {
    if (k > 0 && x[k] == x[k - 1]) continue;  // candidates: distinct values
    const std::int64_t m = total - k;
    const double log_sum = suffix[k] - m * log_x[k];
    if (!(log_sum > 0.0)) continue;
    const double alpha = 1.0 + static_cast<double>(m) / log_sum;
    const double d = detail::spectra::ks_distance(&log_x[k], m, log_x[k], alpha);
    if (!best.ok || d < best.ks_distance) {
      best.ok = true;
      best.alpha = alpha;
      best.xmin = x[k];
      best.ks_distance = d;
      best.n_tail = m;
    }
  }
  return best;
}

std::vector<double> cumulative_energy(const std::vector<float>& sigma) {
  std::vector<double> out(sigma.size());
  double total = 0.0, run = 0.0;
  for (float s : sigma) total += static_cast<double>(s) * s;
  for (std::size_t i = 0; i < sigma.size(); ++i) {
    run += static_cast<double>(sigma[i]) * sigma[i];
    out[i] = total > 0.0 ? run / total : 0.0;
  }
  return out;
}

double effective_rank(const std::vector<float>& sigma) {
  double sum = 0.0;
  for (float s : sigma) sum += s;
  if (!(sum > 0.0)) return 0.0;
  double h = 0.0;
  for (float s : sigma) {
    const double p = s / sum;
    if (p > 0.0) h -= p * std::log(p);
  }
  return std::exp(h);
}

double stable_rank(const std::vector<float>& sigma) {
  if (sigma.empty() || !(sigma[0] > 0.0f)) return 0.0;
  double sq = 0.0;
  for (float s : sigma) sq += static_cast<double>(s) * s;
  return sq / (static_cast<double>(sigma[0]) * sigma[0]);
}

SpectrumMetrics spectrum_metrics(const std::vector<float>& sigma, std::int64_t n) {
  for (std::size_t i = 0; i < sigma.size(); ++i) {
    if (!std::isfinite(sigma[i]) || sigma[i] < 0.0f || (i > 0 && sigma[i] > sigma[i - 1]))
      throw Error(ErrorKind::InvalidArgument,
                  "singular values must be finite, non-negative and descending (index " +
                      std::to_string(i) + " is not); recompute the decomposition");
  }
  SpectrumMetrics m;
  m.rank = static_cast<std::int64_t>(sigma.size());
  if (sigma.empty()) return m;
  m.sigma_max = sigma.front();
  m.sigma_min = sigma.back();
  for (float s : sigma) {
    m.frobenius_sq += static_cast<double>(s) * s;
    m.nuclear += s;
  }
  m.effective_rank = effective_rank(sigma);
  m.stable_rank = stable_rank(sigma);
  m.condition =
      m.sigma_min > 0.0 ? m.sigma_max / m.sigma_min : std::numeric_limits<double>::infinity();
  const auto energy = cumulative_energy(sigma);
  auto rank_at = [&](double level) {
    for (std::size_t i = 0; i < energy.size(); ++i)
      if (energy[i] >= level - 1e-12) return static_cast<std::int64_t>(i + 1);
    return m.rank;
  };
  m.rank_90 = rank_at(0.90);
  m.rank_99 = rank_at(0.99);
  const double norm = n > 0 ? static_cast<double>(n) : 1.0;
  std::vector<double> lambda;
  lambda.reserve(sigma.size());
  for (float s : sigma) lambda.push_back(static_cast<double>(s) * s / norm);
  m.power_law = fit_power_law(lambda);
  return m;
}

std::vector<LayerSpectrum> aggregate_layers(const std::vector<MatrixSpectrum>& matrices) {
  std::map<std::int64_t, LayerSpectrum> by_layer;
  for (const auto& mat : matrices) {
    auto& l = by_layer[mat.layer];
    l.layer = mat.layer;
    ++l.matrices;
    if (mat.metrics.power_law.ok) {
      l.mean_alpha += mat.metrics.power_law.alpha;
      ++l.alpha_fits;
    }
    l.mean_effective_rank += mat.metrics.effective_rank;
    l.mean_stable_rank += mat.metrics.stable_rank;
    l.max_condition = std::max(l.max_condition, mat.metrics.condition);
    l.frobenius_sq += mat.metrics.frobenius_sq;
  }
  std::vector<LayerSpectrum> out;
  for (auto& [layer, l] : by_layer) {
    if (l.alpha_fits > 0) l.mean_alpha /= l.alpha_fits;
    l.mean_effective_rank /= l.matrices;
    l.mean_stable_rank /= l.matrices;
    out.push_back(l);
  }
  return out;
}

}  // namespace t2

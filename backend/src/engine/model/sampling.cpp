#include "sampling.h"

#include <t2/error.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace t2::engine {

void validate_sampling(const SamplingParams& p) {
  auto bad = [](const std::string& what) { throw Error(ErrorKind::InvalidArgument, what); };
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) bad("temperature must be >= 0");
  if (p.top_k < 0) bad("top_k must be >= 0 (0 = off)");
  if (!(p.top_p > 0 && p.top_p <= 1)) bad("top_p must be in (0, 1]");
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    bad("repetition_penalty must be > 0 (1 = off)");
}

std::int32_t choose_token(std::vector<float>& logits, const SamplingParams& p,
                          const std::vector<std::int32_t>& seen, std::mt19937_64& rng) {
  const auto vocab = static_cast<std::int64_t>(logits.size());
  if (p.repetition_penalty != 1.0) {
    const auto penalty = static_cast<float>(p.repetition_penalty);
    for (std::int32_t id : std::unordered_set<std::int32_t>(seen.begin(), seen.end()))
      if (id >= 0 && id < vocab) {
        float& l = logits[static_cast<std::size_t>(id)];
        l = l < 0 ? l * penalty : l / penalty;
      }
  }
  if (p.temperature <= 0.0)
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) -
                                     logits.begin());
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b]; });
  std::size_t keep = order.size();
  if (p.top_k > 0 && static_cast<std::size_t>(p.top_k) < keep) {
    const float kth = logits[order[static_cast<std::size_t>(p.top_k) - 1]];
    keep = static_cast<std::size_t>(p.top_k);
    while (keep < order.size() && logits[order[keep]] >= kth) ++keep;  // HF keeps ties
  }
  const double inv_t = 1.0 / p.temperature;
  const double top = logits[order[0]] * inv_t;
  std::vector<double> probs(keep);
  double total = 0;
  for (std::size_t i = 0; i < keep; ++i)
    total += probs[i] = std::exp(logits[order[i]] * inv_t - top);
  if (p.top_p < 1.0) {  // smallest prefix whose probability reaches top_p (at least one token)
    double cumulative = 0;
    std::size_t n = 0;
    while (n < keep && cumulative < p.top_p * total) cumulative += probs[n++];
    keep = std::max<std::size_t>(n, 1);
    total = std::accumulate(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  }
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  double cumulative = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

}  // namespace t2::engine

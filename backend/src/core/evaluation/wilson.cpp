// wilson_interval (t2/evaluation.h): the Wilson score interval of a binomial proportion.
#include <t2/error.h>
#include <t2/evaluation.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace t2 {

ConfidenceInterval wilson_interval(std::int64_t successes, std::int64_t n, double z) {
  if (n < 0 || successes < 0 || successes > n)
    throw Error(ErrorKind::InvalidArgument, "wilson_interval: need 0 <= successes <= n, got " +
                                                std::to_string(successes) + " of " +
                                                std::to_string(n));
  if (!(z > 0.0) || !std::isfinite(z))
    throw Error(ErrorKind::InvalidArgument,
                "wilson_interval: z must be a positive number, got " + std::to_string(z));
  if (n == 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denominator;
  const double half = z / denominator * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  ConfidenceInterval ci;
  ci.low = successes == 0 ? 0.0 : std::clamp(center - half, 0.0, 1.0);
  ci.high = successes == n ? 1.0 : std::clamp(center + half, 0.0, 1.0);
  return ci;
}

}  // namespace t2

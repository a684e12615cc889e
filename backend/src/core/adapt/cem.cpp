// The cross-entropy method over mixing coefficients (t2/two_pass.h): the search of the paper's
// few-shot adaptation, on plain vectors.
#include <t2/error.h>
#include <t2/two_pass.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

namespace t2 {
namespace detail::cem {

// N(0, 1) from a std::mt19937_64 by Box-Muller: the engine's output sequence is fixed by the
// standard, std::normal_distribution's algorithm is not, so this gives the same samples with
// every standard library.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : engine_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0.0;
    do {
      u1 = uniform();
    } while (u1 <= 0.0);
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * 3.14159265358979323846 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

void check_params(std::size_t dim, const std::vector<double>& init_mean, const CemParams& p) {
  auto bad = [](const std::string& what) {
    throw Error(ErrorKind::InvalidArgument, "CEM: " + what);
  };
  if (dim == 0) bad("dim is 0; give at least one coefficient to search");
  if (p.population < 2)
    bad("population is " + std::to_string(p.population) + "; it must be at least 2");
  if (!(p.elite_ratio > 0.0 && p.elite_ratio <= 1.0))
    bad("elite_ratio is " + std::to_string(p.elite_ratio) + "; it must be in (0, 1]");
  if (!(p.init_std >= 0.0 && std::isfinite(p.init_std)))
    bad("init_std is " + std::to_string(p.init_std) + "; it must be finite and >= 0");
  if (p.generations < 1)
    bad("generations is " + std::to_string(p.generations) + "; it must be at least 1");
  if (p.patience < 0)
    bad("patience is " + std::to_string(p.patience) + "; it must be >= 0 (0 = never stop early)");
  if (!(p.min_improvement >= 0.0 && std::isfinite(p.min_improvement)))
    bad("min_improvement is " + std::to_string(p.min_improvement) + "; it must be finite and >= 0");
  if (!(std::isfinite(p.lower) && std::isfinite(p.upper) && p.lower < p.upper))
    bad("the bounds [lower, upper] = [" + std::to_string(p.lower) + ", " + std::to_string(p.upper) +
        "] are not finite with lower < upper");
  if (!init_mean.empty() && init_mean.size() != dim)
    bad("init_mean has " + std::to_string(init_mean.size()) + " values for dim " +
        std::to_string(dim) + "; give one per dimension, or none for 1/dim each");
  for (std::size_t d = 0; d < init_mean.size(); ++d)
    if (!std::isfinite(init_mean[d])) bad("init_mean[" + std::to_string(d) + "] is not finite");
}

std::string format_fitness(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace detail::cem

CemResult cem_search(
    std::size_t dim, const std::vector<double>& init_mean,
    const std::function<std::vector<double>(const std::vector<std::vector<double>>& population)>&
        fitness,
    const CemParams& params, const std::function<void(const CemGeneration&)>& on_generation,
    const JobContext& job) {
  using namespace detail::cem;
  check_params(dim, init_mean, params);
  if (!fitness) throw Error(ErrorKind::InvalidArgument, "CEM: no fitness function given");
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  const auto population = static_cast<std::size_t>(params.population);
  const auto n_elite = std::min(
      population,
      std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(
                                   static_cast<double>(params.population) * params.elite_ratio))));

  std::vector<double> mu =
      init_mean.empty() ? std::vector<double>(dim, 1.0 / static_cast<double>(dim)) : init_mean;
  std::vector<double> sigma(dim, params.init_std);
  Normal normal(params.seed);

  CemResult result;
  result.best_fitness = kNegInf;
  double best_elite_fitness = kNegInf;
  int stale = 0;
  for (int g = 1; g <= params.generations; ++g) {
    job.throw_if_cancelled();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::vector<double>> members(population, std::vector<double>(dim));
    for (auto& x : members)
      for (std::size_t d = 0; d < dim; ++d)
        x[d] = std::clamp(mu[d] + sigma[d] * normal(), params.lower, params.upper);

    CemGeneration gen;
    gen.generation = g;
    gen.fitness = fitness(members);
    if (gen.fitness.size() != population)
      throw Error(ErrorKind::InvalidArgument,
                  "CEM: the fitness function returned " + std::to_string(gen.fitness.size()) +
                      " values for a population of " + std::to_string(population) +
                      "; it must return one per member, in order");
    std::vector<double> ranked(population);
    for (std::size_t i = 0; i < population; ++i)
      ranked[i] = std::isfinite(gen.fitness[i]) ? gen.fitness[i] : kNegInf;
    std::vector<std::size_t> order(population);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return ranked[a] > ranked[b]; });

    gen.elite_mean.assign(dim, 0.0);
    gen.elite_std.assign(dim, 0.0);
    double elite_sum = 0.0;
    for (std::size_t e = 0; e < n_elite; ++e) {
      const auto& x = members[order[e]];
      for (std::size_t d = 0; d < dim; ++d) gen.elite_mean[d] += x[d];
      elite_sum += ranked[order[e]];
    }
    for (auto& m : gen.elite_mean) m /= static_cast<double>(n_elite);
    for (std::size_t e = 0; e < n_elite; ++e) {
      const auto& x = members[order[e]];
      for (std::size_t d = 0; d < dim; ++d) {
        const double diff = x[d] - gen.elite_mean[d];
        gen.elite_std[d] += diff * diff;
      }
    }
    for (auto& s : gen.elite_std) s = std::sqrt(s / static_cast<double>(n_elite));
    gen.elite_fitness_mean = elite_sum / static_cast<double>(n_elite);
    mu = gen.elite_mean;
    sigma = gen.elite_std;

    const std::size_t top = order.front();
    if (result.best.empty() || ranked[top] > result.best_fitness) {
      result.best = members[top];
      result.best_fitness = ranked[top];
    }
    gen.best = result.best;
    gen.best_fitness = result.best_fitness;
    gen.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.generations_run = g;
    result.history.push_back(gen);

    job.report("cem", static_cast<double>(g) / params.generations,
               "CEM generation " + std::to_string(g) + "/" + std::to_string(params.generations) +
                   ": best " + format_fitness(result.best_fitness) + ", elite mean " +
                   format_fitness(gen.elite_fitness_mean));
    if (on_generation) on_generation(result.history.back());

    if (gen.elite_fitness_mean > best_elite_fitness + params.min_improvement) {
      best_elite_fitness = gen.elite_fitness_mean;
      stale = 0;
    } else {
      ++stale;
    }
    if (params.patience > 0 && stale >= params.patience && g < params.generations) {
      result.stopped_early = true;
      break;
    }
  }
  return result;
}

}  // namespace t2

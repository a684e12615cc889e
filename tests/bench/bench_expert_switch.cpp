// Expert switch time: re-applying all MLP matrices of a model when a Session switches between two
// paper experts (apply_expert: W' = W + U diag(sigma' - sigma) Vh per matrix, then the session
// override), beside one forward pass over 256 tokens of the same model, as a ratio.
//
// Models (random weights via Model::random, float32, decomposition in memory without a cache):
//   demo:  hidden 256, intermediate 1024, 4 layers (12 MLP matrices)
//   0.5B:  Qwen2.5-0.5B shapes (hidden 896, intermediate 4864, 24 layers, vocab 151936); the
//          forward runs the full 24-layer model; the switch is timed on the MLP matrices of the
//          first LAYERS layers (decomposing all 72 would take minutes) and extrapolated linearly
//          to 24 layers (every layer has the same shapes, so the cost per layer is constant).
// Usage: t2_bench_expert_switch [LAYERS [REPEATS]]   (default 4 layers, 5 repeats; LAYERS 0 runs
// the demo model only; figures are
// the fastest repeat; also the median). On a shared 2-core VM compare ratios, not seconds.
#include <t2/engine.h>

#include "bench_models.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

t2::ExpertVectors random_expert(const t2::ModelConfig& config, const t2::Decomposition& d,
                                std::uint64_t seed) {
  auto e = t2::ExpertVectors::identity(config, d.targets(), t2::Parametrization::Paper);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(0.5f, 1.5f);
  for (auto& m : e.matrices)
    for (auto& v : m.values) v = dist(rng);
  return e;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bench(const std::string& title, const t2::ModelConfig& config, int switch_layers,
           int repeats) {
  std::printf(
      "\n== %s: hidden %lld, intermediate %lld, %lld layers, vocab %lld ==\n", title.c_str(),
      static_cast<long long>(config.hidden_size), static_cast<long long>(config.intermediate_size),
      static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.vocab_size));
  const auto model = t2::Model::random(config, 1);
  t2::DecomposeParams params;
  params.use_cache = false;
  params.targets = "mlp";
  if (switch_layers < config.num_hidden_layers) {
    std::string alt;
    for (int l = 0; l < switch_layers; ++l) alt += (l ? "|" : "") + std::to_string(l);
    params.targets = "regex:layers\\.(" + alt + ")\\.mlp\\.";
  }
  auto t = Clock::now();
  const auto d = t2::Decomposition::compute_or_load(*model, "", params);
  std::printf("decomposition of %zu MLP matrices (%d layers): %.2f s (one-off)\n",
              d.targets().size(), switch_layers, since(t));
  double flops = 0.0;
  for (const auto& m : d.targets())
    flops += 2.0 * static_cast<double>(m.out_features) * m.rank() * m.in_features;
  const auto a = random_expert(config, d, 1), b = random_expert(config, d, 2);
  t2::Session session(model);
  t2::apply_expert(session, d, a);  // warm-up
  std::vector<double> switches;
  for (int r = 0; r < repeats; ++r) {
    for (const auto* e : {&b, &a}) {
      t = Clock::now();
      const auto report = t2::apply_expert(session, d, *e);
      switches.push_back(since(t));
      if (report.changed.size() != d.targets().size()) std::printf("unexpected identity!\n");
    }
  }
  const double scale = static_cast<double>(config.num_hidden_layers) / switch_layers;
  const double best = *std::min_element(switches.begin(), switches.end()) * scale;
  const double med = median(switches) * scale;
  std::vector<std::int32_t> prompt(256);
  for (std::size_t i = 0; i < prompt.size(); ++i)
    prompt[i] =
        static_cast<std::int32_t>((i * 7919 + 13) % static_cast<std::size_t>(config.vocab_size));
  session.forward({prompt});  // warm-up
  std::vector<double> forwards;
  for (int r = 0; r < std::max(2, repeats / 2); ++r) {
    t = Clock::now();
    session.forward({prompt});
    forwards.push_back(since(t));
  }
  const double fwd = *std::min_element(forwards.begin(), forwards.end());
  std::printf(
      "switch (all %lld layers' MLP%s): best %.1f ms, median %.1f ms  (%.2f GFLOP, "
      "%.0f GFLOP/s)\n",
      static_cast<long long>(config.num_hidden_layers), scale > 1.0 ? ", extrapolated" : "",
      1e3 * best, 1e3 * med, flops * scale * 1e-9, flops * scale * 1e-9 / best);
  std::printf("one forward over 256 tokens: %.1f ms\n", 1e3 * fwd);
  std::printf("ratio switch / forward: %.2f (best), %.2f (median)\n", best / fwd, med / fwd);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int layers = argc > 1 ? std::max(0, std::atoi(argv[1])) : 4;
    const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
    t2::Engine engine;
    std::printf("expert switch benchmark (paper experts, float32, CPU)\n");
    bench("demo-sized model", t2::bench::small_llama(), 4, repeats);
    if (layers > 0)
      bench("Qwen2.5-0.5B shapes", t2::bench::qwen25_05b(), std::min(layers, 24), repeats);
    std::printf("\ngoals: demo switch < 100 ms; 0.5B switch < one 256-token forward (ratio < 1)\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "t2_bench_expert_switch: %s\n", e.what());
    return 1;
  }
}

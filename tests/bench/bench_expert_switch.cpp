// Expert switch time: re-applying all MLP matrices of a model when a Session switches between two
// paper experts, beside one forward pass over 256 tokens of the same model, as ratios, for the two
// ways apply_expert can apply an expert (t2/adaptation.h):
//   recompose: W' = W + U diag(sigma' - sigma) Vh per matrix, then the session override (the
//              forward then runs at dense speed);
//   factored:  only sigma' is replaced (the forward computes ((x Vh^T) * sigma') U^T: a switch
//              costs microseconds, every token costs 2 (in + out) r instead of 2 in out flops);
// and what ApplyMode::Auto picks with its default expected_tokens. The forward is timed dense
// (the base session) and with the factored matrices (its overhead).
//
// Models (random weights via Model::random, float32, decomposition in memory without a cache):
//   demo:  hidden 256, intermediate 1024, 4 layers (12 MLP matrices)
//   0.5B:  Qwen2.5-0.5B shapes (hidden 896, intermediate 4864, 24 layers, vocab 151936); the
//          forward runs the full 24-layer model; switches are timed on the MLP matrices of the
//          first LAYERS layers (decomposing all 72 takes about a minute) and extrapolated linearly
//          to 24 layers (every layer has the same shapes, so the cost per layer is constant); the
//          factored forward's overhead over dense is measured with those LAYERS layers factored
//          and extrapolated the same way (exact with LAYERS 24).
// Usage: t2_bench_expert_switch [LAYERS [REPEATS]]   (default 4 layers, 5 repeats; LAYERS 0 runs
// the demo model only; figures are the fastest repeat; also the median). `24 2` measures the
// 0.5B shape without extrapolation (about 4 minutes on 2 cores). Run with
// OMP_WAIT_POLICY=passive. On a shared 2-core VM compare ratios, not seconds.
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

struct Timing {
  double best = 0.0, median = 0.0;
};

Timing time_switches(t2::Session& session, const t2::Decomposition& d,
                     const std::vector<const t2::ExpertVectors*>& experts,
                     const t2::ApplyParams& params, int repeats, double scale) {
  t2::apply_expert(session, d, *experts.back(), params);  // warm-up (ends on the last expert)
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r)
    for (const auto* e : experts) {
      const auto t = Clock::now();
      const auto report = t2::apply_expert(session, d, *e, params);
      seconds.push_back(since(t));
      if (report.changed.size() != d.targets().size()) std::printf("unexpected identity!\n");
    }
  return {*std::min_element(seconds.begin(), seconds.end()) * scale, median(seconds) * scale};
}

// Fastest forward over `prompt` of each session, alternating between them (drift hits both).
std::vector<double> time_forwards(const std::vector<t2::Session*>& sessions,
                                  const std::vector<std::int32_t>& prompt, int repeats) {
  std::vector<double> best(sessions.size(), 1e30);
  for (auto* s : sessions) s->forward({prompt});  // warm-up
  for (int r = 0; r < repeats; ++r)
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      const auto t = Clock::now();
      sessions[i]->forward({prompt});
      best[i] = std::min(best[i], since(t));
    }
  return best;
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
  const double scale = static_cast<double>(config.num_hidden_layers) / switch_layers;
  t2::ApplyParams recompose, factored, automatic;
  recompose.mode = t2::ApplyMode::Recompose;
  factored.mode = t2::ApplyMode::Factored;
  t2::Session base(model), rec(model), fac(model), aut(model);
  const Timing t_rec = time_switches(rec, d, {&b, &a}, recompose, repeats, scale);
  const Timing t_fac = time_switches(fac, d, {&b, &a}, factored, repeats, scale);
  const Timing t_aut = time_switches(aut, d, {&b, &a}, automatic, repeats, scale);
  const auto auto_report = t2::apply_expert(aut, d, a, automatic);

  std::vector<std::int32_t> prompt(256);
  for (std::size_t i = 0; i < prompt.size(); ++i)
    prompt[i] =
        static_cast<std::int32_t>((i * 7919 + 13) % static_cast<std::size_t>(config.vocab_size));
  const auto fwd = time_forwards({&base, &fac, &rec}, prompt, std::max(3, repeats));
  const double dense = fwd[0];
  const double fac_fwd = dense + (fwd[1] - fwd[0]) * scale;  // extrapolated to all layers
  const char* extra = scale > 1.0 ? ", extrapolated" : "";
  std::printf("switch, all %lld layers' MLP%s (%.2f GFLOP to recompose):\n",
              static_cast<long long>(config.num_hidden_layers), extra, flops * scale * 1e-9);
  std::printf("  recompose  best %9.3f ms  median %9.3f ms  ratio to forward %.3f (best), %.3f\n",
              1e3 * t_rec.best, 1e3 * t_rec.median, t_rec.best / dense, t_rec.median / dense);
  std::printf("  factored   best %9.3f ms  median %9.3f ms  ratio to forward %.4f (best), %.4f\n",
              1e3 * t_fac.best, 1e3 * t_fac.median, t_fac.best / dense, t_fac.median / dense);
  std::printf(
      "  auto       best %9.3f ms  median %9.3f ms  (expected_tokens %.0f: %zu factored, "
      "%zu recomposed)\n",
      1e3 * t_aut.best, 1e3 * t_aut.median, automatic.expected_tokens, auto_report.factored.size(),
      auto_report.recomposed.size());
  std::printf(
      "forward over 256 tokens: dense %.1f ms, with the MLP factored%s %.1f ms "
      "(overhead %+.1f %%), recomposed session %.1f ms\n",
      1e3 * dense, extra, 1e3 * fac_fwd, 100.0 * (fac_fwd / dense - 1.0), 1e3 * fwd[2]);
  // Decode (KV cache, batch 1): tokens/s of the base session and the factored one.
  t2::GenerateParams g;
  g.max_new_tokens = 16;
  g.ignore_eos = true;
  const std::vector<std::int32_t> short_prompt(prompt.begin(), prompt.begin() + 8);
  std::vector<double> decode(2, 0.0);
  for (int r = 0; r < std::max(2, repeats / 2); ++r)
    for (int i = 0; i < 2; ++i) {
      const auto res = (i == 0 ? base : fac).generate({short_prompt}, g);
      const double tps = static_cast<double>(res.generated_tokens - 1) / res.decode_seconds;
      decode[static_cast<std::size_t>(i)] = std::max(decode[static_cast<std::size_t>(i)], tps);
    }
  std::printf("decode batch 1: dense %.1f tok/s, with %zu MLP matrices factored %.1f tok/s\n",
              decode[0], d.targets().size(), decode[1]);
  const double per_token = (fac_fwd - dense) / 256.0;
  if (per_token > 0)
    std::printf(
        "measured break-even: recompose pays off after %.0f tokens per switch "
        "(recompose switch / factored overhead per token)\n",
        (t_rec.best - t_fac.best) / per_token);
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

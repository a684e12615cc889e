// Decode/prefill throughput of the engine on random models, beside (a) the roofline measured
// in this run — per decode step the larger of (weight bytes / read bandwidth) and (batch x flops
// per token / GEMM peak), so batch B's roofline is min(B x bandwidth roofline, GEMM-peak
// tokens/s) — (b) the previous implementation (BLAS for every product: the skinny kernel off),
// and (c) a plain PyTorch-eager reference of the same shapes at batch 1 and 8
// (tests/bench/bench_decode_eager.py, run with /usr/bin/python3 + python3-torch in this run;
// skipped with a note if unavailable). Then the skinny projections alone: GFLOP/s per row
// count M beside at::mm and the roofline of that product.
//
// Usage: t2_bench_decode [--small] [--projections-only] [--new-tokens N] [--prompt N] [--repeat N]
//   (T2_NUM_THREADS=N sets the threads of both this program and the eager reference)
// On a shared 2-core VM, figures vary 2-3x with the neighbours' load; pin for stable ones:
//   taskset -c 1 env T2_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 t2_bench_decode --repeat 3
// With 2 threads, OpenMP workers spinning between ops compete with OpenBLAS's own threads;
// OMP_WAIT_POLICY=passive (set before start) avoids that.
//   --small  only the small model (hidden 256, 4 layers), where per-op overhead dominates
#include <t2/engine.h>

#include "bench_models.h"
#include "bench_python.h"
#include "engine/model/decode_attention.h"
#include "engine/model/skinny_gemm.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Figures {
  double prefill = 0, decode = 0, decode_batch = 0;  // tokens/s
};

void set_kernels(bool on) {
  t2::engine::set_skinny_gemm_enabled(on);
  t2::engine::set_decode_attention_enabled(on);
}

// Runs the eager reference; false (with a note) when python3-torch is unavailable.
bool eager_reference(const t2::ModelConfig& c, int prompt, int new_tokens, int batch, int threads,
                     int repeats, Figures* out) {
  const auto j = t2::bench::run_python_reference(
      "bench_decode_eager.py",
      {t2::bench::config_json(c), std::to_string(prompt), std::to_string(new_tokens),
       std::to_string(batch), std::to_string(threads), std::to_string(repeats)});
  if (!j) return false;
  out->prefill = (*j)["prefill_tok_s"];
  out->decode = (*j)["decode_tok_s"];
  out->decode_batch = (*j)["decode_batch_tok_s"];
  return true;
}

double decode_at(t2::Session& session, int new_tokens, int batch);

Figures measure(t2::Session& session, int prompt, int new_tokens, int batch) {
  const auto vocab = static_cast<std::int32_t>(session.model().config().vocab_size);
  auto ids = [&](int n, int salt) {
    std::vector<std::int32_t> p;
    for (int i = 0; i < n; ++i) p.push_back((i * 7919 + salt * 104729) % vocab);
    return p;
  };
  t2::GenerateParams p;
  p.ignore_eos = true;
  p.reuse_prefix = false;  // time the whole prompt (repeats would find it cached)
  p.max_new_tokens = 3;
  session.generate({ids(8, 0)}, p);  // warm-up
  p.max_new_tokens = new_tokens;
  Figures f;
  const auto one = session.generate({ids(prompt, 1)}, p);
  f.prefill = prompt / one.prefill_seconds;
  f.decode = (new_tokens - 1) / one.decode_seconds;
  f.decode_batch = decode_at(session, new_tokens, batch);
  return f;
}

// Decode tokens/s of `batch` rows (8-token prompts, EOS ignored).
double decode_at(t2::Session& session, int new_tokens, int batch) {
  const auto vocab = static_cast<std::int32_t>(session.model().config().vocab_size);
  t2::GenerateParams p;
  p.ignore_eos = true;
  p.max_new_tokens = new_tokens;
  p.reuse_prefix = false;
  std::vector<std::vector<std::int32_t>> prompts;
  for (int b = 0; b < batch; ++b) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 8; ++i) ids.push_back((i * 7919 + (b + 2) * 104729) % vocab);
    prompts.push_back(ids);
  }
  const auto many = session.generate(prompts, p);
  return batch * (new_tokens - 1) / many.decode_seconds;
}

void bench(const std::string& title, const t2::ModelConfig& config, double read_gbs, double gflops,
           int prompt, int new_tokens, int threads, int repeats) {
  const int batch = 8;
  std::printf("\n== %s: hidden %lld, %lld layers, vocab %lld, f32, %d threads\n", title.c_str(),
              static_cast<long long>(config.hidden_size),
              static_cast<long long>(config.num_hidden_layers),
              static_cast<long long>(config.vocab_size), threads);
  std::fflush(stdout);
  const auto model = t2::Model::random(config, 1);
  // A decode step reads every weight once, except the embedding table (one row per token)
  // unless it doubles as the tied lm_head. Prefill multiplies by every weight except the
  // embedding and lm_head (logits are computed for the last position only).
  const double table = 4.0 * config.vocab_size * config.hidden_size;
  const double bytes = model->weight_bytes() - (config.tie_word_embeddings ? 0.0 : table);
  const double flops_per_token =
      2.0 * (model->parameter_count() - table / 4 * (config.tie_word_embeddings ? 1 : 2));
  std::printf("  parameters %.1f M, weight bytes read per decode step %.1f MB\n",
              model->parameter_count() / 1e6, bytes / 1e6);
  t2::Session session(model);
  // Best of `repeats` runs: on a shared machine the maximum is the least disturbed figure.
  Figures t2f;
  for (int r = 0; r < repeats; ++r) {
    const Figures f = measure(session, prompt, new_tokens, batch);
    if (repeats > 1)
      std::printf("  run %d: prefill %.2f, decode %.2f, decode batch 8 %.2f tok/s\n", r + 1,
                  f.prefill, f.decode, f.decode_batch);
    t2f.prefill = std::max(t2f.prefill, f.prefill);
    t2f.decode = std::max(t2f.decode, f.decode);
    t2f.decode_batch = std::max(t2f.decode_batch, f.decode_batch);
  }
  Figures eager;
  const bool have_eager =
      eager_reference(config, prompt, new_tokens, batch, threads, repeats, &eager);
  const double roof1 = read_gbs * 1e9 / bytes;
  const double roof_prefill = gflops * 1e9 / flops_per_token;
  std::printf("  %-22s %12s %12s %9s %12s %9s\n", "", "t2 tok/s", "roofline", "t2/roof",
              "eager tok/s", "t2/eager");
  auto row = [&](const char* name, double t2v, double roof, double ev) {
    std::printf("  %-22s %12.2f %12.2f %8.0f%% %12s %9s\n", name, t2v, roof, 100 * t2v / roof,
                have_eager ? std::to_string(ev).substr(0, 10).c_str() : "n/a",
                have_eager ? (std::to_string(t2v / ev).substr(0, 5) + "x").c_str() : "n/a");
  };
  row(("prefill (" + std::to_string(prompt) + " tok)").c_str(), t2f.prefill, roof_prefill,
      eager.prefill);
  row("decode batch 1", t2f.decode, std::min(roof1, roof_prefill), eager.decode);
  row("decode batch 8", t2f.decode_batch, std::min(batch * roof1, roof_prefill),
      eager.decode_batch);
  // Every batch size, with the skinny kernel and decode attention (now) and without them (the
  // previous implementation).
  std::printf("\n  %-10s %10s %10s %10s %8s %8s %9s %9s\n", "batch", "t2 tok/s", "prev tok/s",
              "roofline", "t2/roof", "t2/prev", "x batch 1", "prev x b1");
  double base_now = 0, base_prev = 0;
  for (int b : {1, 4, 8, 16, 32}) {
    double now = 0, prev = 0;
    for (int r = 0; r < repeats; ++r) {
      set_kernels(true);
      now = std::max(now, decode_at(session, new_tokens, b));
      set_kernels(false);
      prev = std::max(prev, decode_at(session, new_tokens, b));
    }
    set_kernels(true);
    if (b == 1) base_now = now, base_prev = prev;
    const double roof = std::min(b * roof1, roof_prefill);
    std::printf("  %-10d %10.2f %10.2f %10.2f %7.0f%% %7.2fx %8.2fx %8.2fx\n", b, now, prev, roof,
                100 * now / roof, now / prev, now / base_now, prev / base_prev);
  }
  std::printf(
      "  (decode roofline = %.1f GB/s read bandwidth / %.1f MB per step, x8 for batch 8;\n"
      "   prefill roofline = %.1f GFLOP/s GEMM / %.2f GFLOP per token; batch B: min of the two)\n",
      read_gbs, bytes / 1e6, gflops, flops_per_token / 1e9);
  std::fflush(stdout);
}

// GFLOP/s of x [M, K] @ W^T for W [N, K] (the decode layout): skinny kernel (from 2 rows) vs
// BLAS (at::mv for one row, at::mm for more), beside
// the roofline max(weight bytes / bandwidth, flops / GEMM peak) of this product.
void bench_projections(double read_gbs, double gflops, int repeats) {
  c10::InferenceMode guard;
  std::printf(
      "\n== skinny projections (float32; GFLOP/s, best of %d; the engine uses the kernel "
      "up to M = %lld)\n",
      repeats, static_cast<long long>(t2::engine::kSkinnyMaxRows));
  std::printf("  %-16s %4s %10s %10s %10s %8s %9s\n", "K x N", "M", "skinny", "BLAS", "roofline",
              "sk/roof", "sk/BLAS");
  using Clock = std::chrono::steady_clock;
  for (auto [k, n] :
       {std::pair<std::int64_t, std::int64_t>{896, 9728}, {4864, 896}, {128, 768}, {384, 128}}) {
    const at::Tensor w = at::randn({n, k});
    const at::Tensor wt = w.t();
    for (std::int64_t m : {1, 2, 4, 8, 12, 16, 32, 64, 128}) {
      const at::Tensor x = at::randn({m, k});
      const double flops = 2.0 * m * k * n, bytes = 4.0 * k * n;
      const double roof = flops / std::max(bytes / (read_gbs * 1e9), flops / (gflops * 1e9)) / 1e9;
      auto time = [&](auto&& f) {
        double best = 1e30;
        for (int r = 0; r < repeats; ++r) {
          f();
          const int iters = std::max(3, static_cast<int>(0.2e9 / (flops + bytes)));
          const auto t0 = Clock::now();
          for (int i = 0; i < iters; ++i) f();
          best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / iters);
        }
        return flops / best / 1e9;
      };
      const double sk = m < t2::engine::kSkinnyMinRows
                            ? 0.0
                            : time([&] { t2::engine::skinny_linear(x, wt, {}, {}, 128); });
      const double mm = time([&] { m == 1 ? at::mv(w, x.reshape({-1})) : at::mm(x, wt); });
      if (sk == 0.0)  // one row: the engine uses BLAS gemv
        std::printf("  %5lld x %-8lld %4lld %10s %10.1f %10.1f %8s %9s\n",
                    static_cast<long long>(k), static_cast<long long>(n), static_cast<long long>(m),
                    "(gemv)", mm, roof, "-", "-");
      else
        std::printf("  %5lld x %-8lld %4lld %10.1f %10.1f %10.1f %7.0f%% %8.2fx\n",
                    static_cast<long long>(k), static_cast<long long>(n), static_cast<long long>(m),
                    sk, mm, roof, 100 * sk / roof, sk / mm);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool small_only = false, projections_only = false;
  int new_tokens = 32, prompt = 128, repeats = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small"))
      small_only = true;
    else if (!std::strcmp(argv[i], "--new-tokens") && i + 1 < argc)
      new_tokens = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--prompt") && i + 1 < argc)
      prompt = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--projections-only"))
      projections_only = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeats = std::max(1, std::atoi(argv[++i]));
  }
  try {
    t2::Engine engine;
    const auto info = engine.system_info();
    t2::SelfCheckParams sc;
    sc.gemm_sizes = {1024};
    sc.min_seconds_per_size = 0.3;
    sc.bandwidth_bytes = 512 << 20;
    const auto report = engine.self_check(sc);
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    std::printf(
        "machine: %d threads, LibTorch %s, OMP_WAIT_POLICY=%s; measured read bandwidth %.1f "
        "GB/s, GEMM %.1f GFLOP/s\n",
        info.intra_op_threads, info.torch_version.c_str(), wait ? wait : "(unset)",
        report.read_bandwidth_gbs, report.gemm_gflops);
    if (t2::engine::skinny_gemm_supported())
      bench_projections(report.read_bandwidth_gbs, report.gemm_gflops, repeats);
    else
      std::printf("skinny kernel unsupported on this CPU (no AVX2/FMA): BLAS only\n");
    if (projections_only) return 0;
    bench("small (per-op overhead)", t2::bench::small_llama(), report.read_bandwidth_gbs,
          report.gemm_gflops, prompt, new_tokens * 2, info.intra_op_threads, repeats);
    if (!small_only)
      bench("Qwen2.5-0.5B shapes", t2::bench::qwen25_05b(), report.read_bandwidth_gbs,
            report.gemm_gflops, prompt, new_tokens, info.intra_op_threads, repeats);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}

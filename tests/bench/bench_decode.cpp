// Decode/prefill throughput of the engine on random models, beside (a) the memory-bandwidth
// roofline (bytes of weights read per token / GB/s measured in this run) and (b) a plain
// PyTorch-eager reference of the same shapes (tests/bench/bench_decode_eager.py, run with
// /usr/bin/python3 + python3-torch in this run; skipped with a note if unavailable).
//
// Usage: t2_bench_decode [--small] [--new-tokens N] [--prompt N] [--repeat N]
//   (T2_NUM_THREADS=N sets the threads of both this program and the eager reference)
// On a shared 2-core VM, figures vary 2-3x with the neighbours' load; pin for stable ones:
//   taskset -c 1 env T2_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 t2_bench_decode --repeat 3
// With 2 threads, OpenMP workers spinning between ops compete with OpenBLAS's own threads;
// OMP_WAIT_POLICY=passive (set before start) avoids that.
//   --small  only the small model (hidden 256, 4 layers), where per-op overhead dominates
#include <t2/engine.h>

#include "bench_models.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

namespace {

struct Figures {
  double prefill = 0, decode = 0, decode_batch = 0;  // tokens/s
};

std::string config_json(const t2::ModelConfig& c) {
  nlohmann::json j = {{"vocab_size", c.vocab_size},
                      {"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"num_key_value_heads", c.num_key_value_heads},
                      {"head_dim", c.head_dim},
                      {"rope_theta", c.rope_theta},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"qkv_bias", c.qkv_bias},
                      {"tie_word_embeddings", c.tie_word_embeddings}};
  return j.dump();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs the eager reference; false (with a note) when python3-torch is unavailable.
bool eager_reference(const t2::ModelConfig& c, int prompt, int new_tokens, int batch, int threads,
                     int repeats, Figures* out) {
  const std::string script = std::string(T2_SOURCE_DIR) + "/tests/bench/bench_decode_eager.py";
  const std::string cmd = "/usr/bin/python3 " + shell_quote(script) + " " +
                          shell_quote(config_json(c)) + " " + std::to_string(prompt) + " " +
                          std::to_string(new_tokens) + " " + std::to_string(batch) + " " +
                          std::to_string(threads) + " " + std::to_string(repeats) + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string text;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) text += buf;
  const int rc = ::pclose(pipe);
  try {
    if (rc != 0) throw std::runtime_error(text);
    const auto j = nlohmann::json::parse(text.substr(text.rfind('{')));
    out->prefill = j["prefill_tok_s"];
    out->decode = j["decode_tok_s"];
    out->decode_batch = j["decode_batch_tok_s"];
    return true;
  } catch (const std::exception&) {
    std::printf(
        "  eager reference unavailable (install python3-torch: apt-get install "
        "python3-torch); output was:\n%s\n",
        text.substr(0, 400).c_str());
    return false;
  }
}

Figures measure(t2::Session& session, int prompt, int new_tokens, int batch) {
  const auto vocab = static_cast<std::int32_t>(session.model().config().vocab_size);
  auto ids = [&](int n, int salt) {
    std::vector<std::int32_t> p;
    for (int i = 0; i < n; ++i) p.push_back((i * 7919 + salt * 104729) % vocab);
    return p;
  };
  t2::GenerateParams p;
  p.ignore_eos = true;
  p.max_new_tokens = 3;
  session.generate({ids(8, 0)}, p);  // warm-up
  p.max_new_tokens = new_tokens;
  Figures f;
  const auto one = session.generate({ids(prompt, 1)}, p);
  f.prefill = prompt / one.prefill_seconds;
  f.decode = (new_tokens - 1) / one.decode_seconds;
  std::vector<std::vector<std::int32_t>> prompts;
  for (int b = 0; b < batch; ++b) prompts.push_back(ids(8, b + 2));
  const auto many = session.generate(prompts, p);
  f.decode_batch = batch * (new_tokens - 1) / many.decode_seconds;
  return f;
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
  row("decode batch 1", t2f.decode, roof1, eager.decode);
  row("decode batch 8", t2f.decode_batch, batch * roof1, eager.decode_batch);
  std::printf(
      "  (decode roofline = %.1f GB/s read bandwidth / %.1f MB per step, x8 for batch 8;\n"
      "   prefill roofline = %.1f GFLOP/s GEMM / %.2f GFLOP per token)\n",
      read_gbs, bytes / 1e6, gflops, flops_per_token / 1e9);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool small_only = false;
  int new_tokens = 32, prompt = 128, repeats = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small"))
      small_only = true;
    else if (!std::strcmp(argv[i], "--new-tokens") && i + 1 < argc)
      new_tokens = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--prompt") && i + 1 < argc)
      prompt = std::atoi(argv[++i]);
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

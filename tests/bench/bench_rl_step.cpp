// Seconds per RL iteration for SVF experts: ours (t2::svf_objective, the trainer's scoring step,
// --scoring auto, and also recompose) beside the reference's method as its code does it — recompose
// every target W' = U diag(sigma') Vh with autograd, load them as the model's weights, a full
// forward over all positions with logits for every position, log-softmax, gather, and a dense
// backward (through the weight gradients and the recomposition) — on the same model shape and
// batch. Rollouts: greedy generation; the reference merges every W' first (its code reloads the
// recomposed weights into vLLM each step), ours merges or factors each matrix by cost, as the
// trainer does.
//
// Last, the same loop in PyTorch eager (tests/bench/bench_rl_eager.py with Debian's python3-torch:
// rollouts by eager generation with the recomposed weights, then the dense forward/backward), and
// our rollouts with the decode kernels switched off (the previous implementation). The process
// settings t2 itself starts with (OMP_WAIT_POLICY=passive, OPENBLAS_THREAD_TIMEOUT=16) must be
// given in the environment: this program does not re-execute itself.
//
// Usage: t2_bench_rl_step [REPEATS [demo|small|qwen2|qwen24|all]]   (default 3 all; figures are the
// fastest repeat). Shapes: the demo model's recipe (64 prompts of 80 + 48 tokens), the demo-sized
// Llama (bench_models.h small_llama), Qwen2.5-0.5B's shapes cut to 2 layers and all 24 layers
// (full vocabulary; "all" leaves the 24-layer one out: run it by name, it needs ~6 GB). Random
// weights; sakana-compat expert on the MLP matrices. On a shared 2-core VM compare ratios, not
// seconds.
#include <t2/engine.h>

#include "bench_models.h"
#include "bench_python.h"
#include "engine/model/decode_attention.h"
#include "engine/model/forward.h"
#include "engine/model/session_impl.h"
#include "engine/model/skinny_gemm.h"
#include "engine/svd/decomposition_impl.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Batch {
  int prompts = 8;
  int prompt_tokens = 64;
  int completion_tokens = 64;
};

std::vector<t2::ScoredSequence> make_sequences(const t2::ModelConfig& c, const Batch& b) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> id(3, static_cast<int>(c.vocab_size) - 1);
  std::vector<t2::ScoredSequence> out;
  for (int i = 0; i < b.prompts; ++i) {
    t2::ScoredSequence s;
    for (int t = 0; t < b.prompt_tokens; ++t) s.prompt.push_back(id(rng));
    for (int t = 0; t < b.completion_tokens; ++t) s.completion.push_back(id(rng));
    s.advantage = i % 2 ? 1.0 : -1.0;
    out.push_back(std::move(s));
  }
  return out;
}

// The reference's step: sigma' from raw p (sakana-compat), W' recomposed with autograd for every
// target and loaded as the session's weights, full logits, dense backward.
double reference_step(const std::shared_ptr<const t2::Model>& model, const t2::Decomposition& dec,
                      const t2::ExpertVectors& expert,
                      const std::vector<t2::ScoredSequence>& seqs) {
  const auto start = Clock::now();
  t2::Session session(model);
  auto& impl = session.impl();
  std::vector<at::Tensor> params;
  for (const auto& m : expert.matrices) {
    const auto& f = t2::engine::svd_factors(dec, m.name);
    at::Tensor p = at::tensor(m.values).set_requires_grad(true);
    params.push_back(p);
    const at::Tensor mult = at::sigmoid(p);
    const at::Tensor scaled = f.s * mult;
    const at::Tensor sigma = scaled * (f.s.sum() / scaled.sum());
    impl.set_override(m.name, at::mm(f.u * sigma.unsqueeze(0), f.vh));
  }
  std::vector<std::vector<std::int32_t>> rows;
  for (const auto& s : seqs) {
    rows.push_back(s.prompt);
    rows.back().insert(rows.back().end(), s.completion.begin(), s.completion.end());
  }
  auto [ids, mask] = t2::detail::session::pad_left(rows, 0, model->config().vocab_size, at::kCPU);
  const auto& m = impl.m();
  const t2::engine::ForwardInput in{ids, t2::engine::positions_from_mask(mask), mask.eq(1)};
  const auto w = impl.weight_set();
  const at::Tensor logp = at::log_softmax(
      t2::engine::project_logits(w, t2::engine::forward_hidden(m, w, in, nullptr)), -1);
  at::Tensor loss = at::zeros({}, at::kFloat);
  const auto len = ids.size(1);
  for (std::size_t j = 0; j < seqs.size(); ++j) {
    const auto c = static_cast<std::int64_t>(seqs[j].completion.size());
    const at::Tensor pred = logp[static_cast<std::int64_t>(j)].narrow(0, len - c - 1, c);
    const at::Tensor tgt = ids[static_cast<std::int64_t>(j)].narrow(0, len - c, c);
    loss = loss - seqs[j].advantage * pred.gather(1, tgt.unsqueeze(1)).sum();
  }
  (loss / static_cast<double>(seqs.size())).backward();
  double norm = 0;
  for (const auto& p : params) norm += p.grad().pow(2).sum().item<double>();
  return since(start) + 0.0 * norm;
}

double ours_step(const std::shared_ptr<const t2::Model>& model, const t2::Decomposition& dec,
                 const t2::ExpertVectors& expert, const std::vector<t2::ScoredSequence>& seqs,
                 const std::string& scoring) {
  const auto start = Clock::now();
  t2::TrainParams params;
  params.scoring = t2::parse_choice<t2::ApplyMode>("scoring", scoring);
  // The trainer's default micro-batch (16 sequences per forward/backward), as `t2 train` runs.
  params.micro_batch = t2::TrainParams{}.micro_batch;
  const auto value = t2::svf_objective(model, dec, expert, seqs, params);
  return since(start) + 0.0 * value.loss;
}

void bench(const char* title, t2::ModelConfig config, const Batch& b, int repeats) {
  std::printf(
      "\n== %s: hidden %lld, intermediate %lld, %lld layers, vocab %lld; batch %d x (%d "
      "prompt + %d completion tokens) ==\n",
      title, static_cast<long long>(config.hidden_size),
      static_cast<long long>(config.intermediate_size),
      static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.vocab_size),
      b.prompts, b.prompt_tokens, b.completion_tokens);
  const auto model = t2::Model::random(config, 1);
  t2::DecomposeParams dp;
  dp.use_cache = false;
  const auto dec = t2::Decomposition::compute_or_load(*model, "", dp);
  const auto expert =
      t2::ExpertVectors::identity(config, dec.targets(), t2::Parametrization::SakanaCompat, 3);
  const auto seqs = make_sequences(config, b);
  std::vector<std::vector<std::int32_t>> prompts;
  for (const auto& s : seqs) prompts.push_back(s.prompt);
  // Rollout tokens of one step (prompt + completion, all rows): the cost model's T for ours.
  const double rollout_tokens =
      static_cast<double>(b.prompts) * (b.prompt_tokens + b.completion_tokens);
  double prefill_ours = 0, decode_ours = 0, rollout_prev = 1e30;
  double rollout_ref = 1e30, rollout_ours = 1e30, ours = 1e30, ours_dense = 1e30, ref = 1e30;
  std::size_t factored = 0;
  for (int r = 0; r < repeats; ++r) {
    // Rollouts: the reference merges every W' into dense weights before generating (its code
    // loads them into vLLM); ours run each matrix merged or factored by cost for these tokens.
    for (const bool reference : {true, false}) {
      const auto t = Clock::now();
      t2::Session session(model);
      t2::ApplyParams ap;
      ap.mode = reference ? t2::ApplyMode::Recompose : t2::ApplyMode::Auto;
      ap.expected_tokens = rollout_tokens;
      const auto report = t2::apply_expert(session, dec, expert, ap);
      if (!reference) factored = report.factored.size();
      t2::GenerateParams gp;
      gp.max_new_tokens = b.completion_tokens;
      gp.ignore_eos = true;
      const auto g = session.generate(prompts, gp);
      double& slot = reference ? rollout_ref : rollout_ours;
      if (since(t) < slot && !reference) {
        prefill_ours = g.prefill_seconds;
        decode_ours = g.decode_seconds;
      }
      slot = std::min(slot, since(t));
    }
    {  // The previous implementation: the same rollouts with the decode kernels switched off.
      t2::engine::set_skinny_gemm_enabled(false);
      t2::engine::set_decode_attention_enabled(false);
      const auto t = Clock::now();
      t2::Session session(model);
      t2::ApplyParams ap;
      ap.expected_tokens = rollout_tokens;
      t2::apply_expert(session, dec, expert, ap);
      t2::GenerateParams gp;
      gp.max_new_tokens = b.completion_tokens;
      gp.ignore_eos = true;
      session.generate(prompts, gp);
      rollout_prev = std::min(rollout_prev, since(t));
      t2::engine::set_skinny_gemm_enabled(true);
      t2::engine::set_decode_attention_enabled(true);
    }
    ours = std::min(ours, ours_step(model, dec, expert, seqs, "auto"));
    ours_dense = std::min(ours_dense, ours_step(model, dec, expert, seqs, "recompose"));
    ref = std::min(ref, reference_step(model, dec, expert, seqs));
  }
  std::printf(
      "rollout           ours %8.3f s   reference %8.3f s   ratio %.2fx  (%zu of %zu "
      "matrices factored for %.0f tokens)\n",
      rollout_ours, rollout_ref, rollout_ref / rollout_ours, factored, expert.matrices.size(),
      rollout_tokens);
  std::printf("  (ours: prefill %.3f s, decode %.3f s; with the decode kernels off %.3f s)\n",
              prefill_ours, decode_ours, rollout_prev);
  std::printf("scoring+backward  ours %8.3f s   reference %8.3f s   ratio %.2fx\n", ours, ref,
              ref / ours);
  std::printf("  (ours with --scoring recompose %8.3f s, ratio %.2fx)\n", ours_dense,
              ref / ours_dense);
  std::printf("whole iteration   ours %8.3f s   reference %8.3f s   ratio %.2fx\n",
              rollout_ours + ours, rollout_ref + ref, (rollout_ref + ref) / (rollout_ours + ours));
  // The reference loop in PyTorch eager (Python), same shapes, batch and threads.
  const auto eager = t2::bench::run_python_reference(
      "bench_rl_eager.py", {t2::bench::config_json(config), std::to_string(b.prompts),
                            std::to_string(b.prompt_tokens), std::to_string(b.completion_tokens),
                            std::to_string(at::get_num_threads()), std::to_string(repeats)});
  if (eager) {
    const double er = (*eager)["rollout_s"].get<double>();
    const double es = (*eager)["scoring_s"].get<double>();
    std::printf(
        "PyTorch eager     rollout %8.3f s   scoring+backward %8.3f s   iteration %8.3f s   "
        "ours/eager %.2fx faster\n",
        er, es, er + es, (er + es) / (rollout_ours + ours));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  // Which shapes: "all" (default), or one of demo, small, qwen2, qwen24.
  const std::string only = argc > 2 ? argv[2] : "all";
  auto wanted = [&](const char* name) { return only == "all" || only == name; };
  t2::Engine engine;
  if (wanted("demo")) {
    // The bundled demo model's recipe: hidden 128, 4 layers, intermediate 384, character
    // vocabulary.
    t2::ModelConfig demo = t2::bench::small_llama();
    demo.hidden_size = 128;
    demo.intermediate_size = 384;
    demo.num_attention_heads = 4;
    demo.num_key_value_heads = 4;
    demo.head_dim = 32;
    demo.vocab_size = 104;
    bench("demo recipe (recommended preset: 64 prompts)", demo, {64, 80, 48}, repeats);
  }
  if (wanted("small")) bench("demo-sized", t2::bench::small_llama(), {16, 48, 48}, repeats);
  if (wanted("qwen2")) {
    t2::ModelConfig c = t2::bench::qwen25_05b();
    c.num_hidden_layers = 2;
    c.sliding_window.assign(2, 0);
    bench("Qwen2.5-0.5B shapes, 2 layers", c, {8, 64, 64}, repeats);
  }
  if (only == "qwen24")
    bench("Qwen2.5-0.5B shapes, all 24 layers", t2::bench::qwen25_05b(), {8, 64, 64}, repeats);
  return 0;
}

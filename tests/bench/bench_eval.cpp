// Evaluation harness cost: evaluate() on the demo math test prompts with a demo-shaped random
// Llama (hidden 128, 4 layers, FFN 384, character vocabulary of 128) and a toy ChatML
// tokenizer, against the reference = the same prompts, pre-tokenized, through Session::generate
// in the same batches (what evaluate() must at least cost). Prints ms per example for several
// batch sizes, the harness/reference ratio (tokenizing, sorting, judging, bookkeeping) and the
// speed-up of batching over batch 1. Times are process CPU time (all threads), the best of
// REPEATS runs, which the shared 2-core machines disturb far less than wall time; pin
// single-threaded for stable figures: T2_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1. A random model
// rarely emits EOS, so most answers run to max_new_tokens (48, the demo math task's): a worst case
// for the demo's 50 ms target.
//
//   build/tests/bench/t2_bench_eval [ITEMS [MAX_NEW_TOKENS [REPEATS]]]   (defaults 64, 48, 3)
#include <t2/engine.h>

#include "../support/tiny_chat_model.h"
#include "bench_models.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
// Process CPU seconds (all threads).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

t2::ModelConfig demo_shaped() {
  t2::ModelConfig c = t2::bench::small_llama();
  c.vocab_size = 128;
  c.hidden_size = 128;
  c.intermediate_size = 384;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.head_dim = 32;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 2048;
  c.sliding_window.assign(4, 0);
  return c;
}

// The reference: Session::generate over the prompts evaluate() builds, in its batches.
double reference_seconds(t2::Session& session, const t2::Tokenizer& tokenizer,
                         const t2::ChatTemplate& chat, const t2::Task& task,
                         const std::vector<t2::TaskItem>& items, int batch, int max_new_tokens) {
  std::vector<std::vector<std::int32_t>> prompts;
  for (const auto& item : items)
    prompts.push_back(
        tokenizer.encode(t2::render_task_prompt(task.build_prompt(item), &chat).text, false));
  std::stable_sort(prompts.begin(), prompts.end(),
                   [](const auto& a, const auto& b) { return a.size() < b.size(); });
  t2::GenerateParams p;
  p.max_new_tokens = max_new_tokens;
  p.eos_ids = t2::end_of_generation_ids(session.model().config(), tokenizer, &chat);
  p.decode = t2::tokenizer_decoder(tokenizer);
  double seconds = 0.0;
  for (std::size_t b = 0; b < prompts.size(); b += static_cast<std::size_t>(batch)) {
    const std::size_t e = std::min(prompts.size(), b + static_cast<std::size_t>(batch));
    std::vector<std::vector<std::int32_t>> chunk(prompts.begin() + static_cast<long>(b),
                                                 prompts.begin() + static_cast<long>(e));
    const double start = cpu_seconds();
    session.generate(chunk, p);
    seconds += cpu_seconds() - start;
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int items = argc > 1 ? std::atoi(argv[1]) : 64;
  const int max_new_tokens = argc > 2 ? std::atoi(argv[2]) : 48;
  const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
  t2::Engine engine;
  const fs::path dir = fs::temp_directory_path() / "t2-bench-eval-tokenizer";
  t2_test::write_tiny_tokenizer(dir);
  const t2::Tokenizer tokenizer = t2::Tokenizer::from_model_dir(dir.string());
  const t2::ChatTemplate chat = t2::ChatTemplate::from_model_dir(dir.string());
  const t2::Task task =
      t2::Task::load(std::string(T2_SOURCE_DIR) + "/resources/demo/tasks/math/task.json");
  const auto task_items = task.load_split("test", static_cast<std::size_t>(items));
  t2::Session session(t2::Model::random(demo_shaped(), 7));
  std::printf(
      "demo-shaped random Llama (%lld parameters), %zu demo-math test prompts, "
      "max_new_tokens %d, %s threads\n",
      static_cast<long long>(session.model().parameter_count()), task_items.size(), max_new_tokens,
      std::getenv("T2_NUM_THREADS") ? std::getenv("T2_NUM_THREADS") : "all");
  std::printf("%6s %14s %14s %8s %12s %14s\n", "batch", "eval ms/ex", "generate ms/ex", "ratio",
              "tokens/ex", "speed-up vs 1");
  double batch1 = 0.0;
  for (int batch : {1, 4, 8, 16, 32}) {
    t2::EvalParams params;
    params.batch_size = batch;
    params.limit = static_cast<std::size_t>(items);
    params.max_new_tokens = max_new_tokens;
    t2::EvalReport report;
    double eval_s = 1e300, ref_s = 1e300;
    for (int r = 0; r < repeats; ++r) {  // alternate, keep the best of each
      const double start = cpu_seconds();
      report = t2::evaluate(session, tokenizer, &chat, task, params);
      eval_s = std::min(eval_s, cpu_seconds() - start);
      ref_s = std::min(ref_s, reference_seconds(session, tokenizer, chat, task, task_items, batch,
                                                max_new_tokens));
    }
    const double n = static_cast<double>(report.n);
    const double eval_ms = 1000.0 * eval_s / n, ref_ms = 1000.0 * ref_s / n;
    if (batch == 1) batch1 = eval_ms;
    std::printf("%6d %14.2f %14.2f %8.3f %12.1f %14.2f\n", batch, eval_ms, ref_ms, eval_ms / ref_ms,
                static_cast<double>(report.generated_tokens) / n, batch1 / eval_ms);
  }
  std::printf(
      "eval ms/ex: CPU time of evaluate() per item (load, tokenize, generate, judge), "
      "best of %d; ratio = eval / generate\n",
      repeats);
  return 0;
}

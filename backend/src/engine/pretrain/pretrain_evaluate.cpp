// Greedy accuracy of a model on task splits, prompted as evaluation prompts (render_task_prompt
// with the model's chat template), generation settings and judging from the task spec.
#include "pretrain_impl.h"

#include "../torch_guard.h"

#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/model.h>
#include <t2/tasks.h>

#include <algorithm>
#include <chrono>
#include <numeric>

namespace t2 {
namespace detail::pretrain {

// Greedy accuracy through the evaluation harness (t2::evaluate, what `t2 eval` reports), in
// batches of at most `batch` prompts and about kEvalBatchTokens prompt tokens: the
// classification prompt (~1,000 tokens) at batch 32 would need [B, H, T, T] attention scores of
// ~0.6 GB.
constexpr std::int64_t kEvalBatchTokens = 10240;

PretrainEvaluation evaluate_task(const std::shared_ptr<const Model>& model,
                                 const Tokenizer& tokenizer, const ChatTemplate& chat,
                                 const std::string& spec_path, const std::string& split, int limit,
                                 int batch, const JobContext& job) {
  const Task task = Task::load(spec_path);
  EvalParams params;
  params.split = split;
  params.limit = limit > 0 ? static_cast<std::size_t>(limit) : 0;
  const auto first = task.load_split(split, 1);
  std::int64_t longest = 1;
  if (!first.empty()) {
    const RenderedPrompt rp = render_task_prompt(task.build_prompt(first[0]), &chat);
    longest = static_cast<std::int64_t>(tokenizer.encode(rp.text, rp.add_special_tokens).size()) +
              task.spec().generation.max_new_tokens;
  }
  params.batch_size = static_cast<int>(
      std::clamp<std::int64_t>(kEvalBatchTokens / longest, 1, static_cast<std::int64_t>(batch)));
  Session session(model);
  const EvalReport report = evaluate(session, tokenizer, &chat, task, params, job);
  PretrainEvaluation e;
  e.items[report.task] = static_cast<int>(report.n);
  e.accuracy[report.task] = report.accuracy;
  e.seconds = report.generation_seconds + report.judging_seconds;
  e.ms_per_example = report.ms_per_example;
  return e;
}

// Adds one task's evaluation into `total` (seconds add up; ms/example is recomputed).
void merge_evaluation(PretrainEvaluation& total, const PretrainEvaluation& one) {
  for (const auto& [k, v] : one.accuracy) total.accuracy[k] = v;
  for (const auto& [k, v] : one.items) total.items[k] = v;
  total.seconds += one.seconds;
  int n = 0;
  for (const auto& [k, v] : total.items) n += v;
  total.ms_per_example = n > 0 ? 1000.0 * total.seconds / n : 0.0;
}

}  // namespace detail::pretrain

PretrainEvaluation evaluate_greedy(const std::string& model_dir,
                                   const std::vector<std::string>& task_specs,
                                   const std::string& split, int limit, int batch,
                                   const JobContext& job) {
  return detail::guarded([&] {
    if (batch < 1) throw Error(ErrorKind::InvalidArgument, "batch must be >= 1");
    const auto model = Model::load(model_dir);
    const Tokenizer tokenizer = Tokenizer::from_model_dir(model_dir);
    const ChatTemplate chat = ChatTemplate::from_model_dir(model_dir);
    PretrainEvaluation total;
    for (std::size_t i = 0; i < task_specs.size(); ++i) {
      job.report("evaluate", static_cast<double>(i) / task_specs.size(), task_specs[i]);
      detail::pretrain::merge_evaluation(
          total, detail::pretrain::evaluate_task(model, tokenizer, chat, task_specs[i], split,
                                                 limit, batch, job));
    }
    return total;
  });
}

}  // namespace t2

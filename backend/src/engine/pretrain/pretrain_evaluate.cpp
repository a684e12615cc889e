// Greedy accuracy of a model on task splits, prompted as evaluation prompts (render_task_prompt
// with the model's chat template), generation settings and judging from the task spec.
#include "pretrain_impl.h"

#include "../torch_guard.h"

#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/model.h>
#include <t2/tasks.h>

#include <algorithm>
#include <chrono>
#include <numeric>

namespace t2 {
namespace detail::pretrain {

// End of the generation batch starting at `begin` (prompts sorted by length): at most `batch`
// prompts and about kEvalBatchTokens prompt tokens (long prompts such as the classification
// prompt, ~1,000 tokens, would otherwise need [B, H, T, T] attention scores of ~0.6 GB).
constexpr std::size_t kEvalBatchTokens = 8192;
std::size_t chunk_end(const std::vector<std::vector<std::int32_t>>& prompts,
                      const std::vector<std::size_t>& order, std::size_t begin, std::size_t batch) {
  std::size_t end = begin + 1;
  while (end < order.size() && end - begin < batch &&
         (end - begin + 1) * prompts[order[end]].size() <= kEvalBatchTokens)
    ++end;
  return end;
}

PretrainEvaluation evaluate_task(const std::shared_ptr<const Model>& model,
                                 const Tokenizer& tokenizer, const ChatTemplate& chat,
                                 const std::string& spec_path, const std::string& split, int limit,
                                 int batch, const JobContext& job) {
  const auto start = std::chrono::steady_clock::now();
  const Task task = Task::load(spec_path);
  const auto items = task.load_split(split, limit > 0 ? static_cast<std::size_t>(limit) : 0);
  std::vector<std::vector<std::int32_t>> prompts;
  for (const auto& item : items) {
    const RenderedPrompt rp = render_task_prompt(task.build_prompt(item), &chat);
    prompts.push_back(tokenizer.encode(rp.text, rp.add_special_tokens));
  }
  // Similar lengths share a batch (less padding); results go back to item order.
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return prompts[a].size() < prompts[b].size();
  });
  GenerateParams gp;
  gp.max_new_tokens = task.spec().generation.max_new_tokens;
  gp.stop_strings = task.spec().generation.stop;
  gp.decode = [&tokenizer](const std::vector<std::int32_t>& ids) {
    return tokenizer.decode(ids, /*skip_special_tokens=*/true);
  };
  if (auto eos = tokenizer.eos_id()) gp.eos_ids = {*eos};
  gp.pad_id = tokenizer.token_to_id(CharTokenizerSpecials().pad).value_or(0);
  Session session(model);
  int correct = 0;
  for (std::size_t begin = 0, end = 0; begin < order.size(); begin = end) {
    job.throw_if_cancelled();
    end = chunk_end(prompts, order, begin, static_cast<std::size_t>(batch));
    std::vector<std::vector<std::int32_t>> chunk;
    for (std::size_t k = begin; k < end; ++k) chunk.push_back(prompts[order[k]]);
    const GenerateResult result = session.generate(chunk, gp, {}, job);
    for (std::size_t k = begin; k < end; ++k) {
      const std::string out = task.truncate_at_stop(result.sequences[k - begin].text);
      if (task.judge(out, items[order[k]]).correct) ++correct;
    }
  }
  PretrainEvaluation e;
  const std::string name = task.spec().name;
  e.items[name] = static_cast<int>(items.size());
  e.accuracy[name] = items.empty() ? 0.0 : static_cast<double>(correct) / items.size();
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.ms_per_example = items.empty() ? 0.0 : 1000.0 * e.seconds / items.size();
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

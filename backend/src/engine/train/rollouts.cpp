// Rollouts and evaluation: task prompts -> token ids, batched generation with the session's
// current (merged) weights, verdicts from Task::judge; advantages with a baseline.
#include "train_internal.h"

#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/generation_setup.h>

#include "core/tasks/spec_internal.h"

#include <algorithm>
#include <cmath>

namespace t2::engine::train {
namespace detail_rollouts {

std::shared_ptr<ChatTemplate> load_template(const std::string& model_dir) {
  try {
    return std::make_shared<ChatTemplate>(ChatTemplate::from_model_dir(model_dir));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Io || e.kind() == ErrorKind::Unsupported) return nullptr;
    throw;
  }
}

constexpr std::size_t kGenerateChunk = 64;  // prompts per generate() call

}  // namespace detail_rollouts

namespace drl = detail_rollouts;

Prompter::Prompter(const std::string& model_dir, const Task& task, const ModelConfig& config)
    : task_(&task),
      tokenizer_(Tokenizer::from_model_dir(model_dir)),
      chat_template_(drl::load_template(model_dir)),
      eos_(end_of_generation_ids(
          config, tokenizer_,
          task.spec().prompt.use_chat_template ? chat_template_.get() : nullptr)) {}

std::string Prompter::prompt_text(const TaskItem& item) const {
  return render_task_prompt(task_->build_prompt(item), chat_template_.get()).text;
}

std::vector<std::int32_t> Prompter::encode_prompt(const TaskItem& item) const {
  const RenderedPrompt r = render_task_prompt(task_->build_prompt(item), chat_template_.get());
  auto ids = tokenizer_.encode(r.text, r.add_special_tokens);
  if (ids.empty())
    throw Error(ErrorKind::InvalidArgument,
                "the prompt of item " + item.id + " encodes to no tokens; check the task spec");
  return ids;
}

std::vector<std::int32_t> Prompter::encode_answer(const TaskItem& item,
                                                  const std::string& answer_template) const {
  std::string text = reference_answer(item);
  if (!answer_template.empty())
    text = detail::tasks::substitute(answer_template, item.fields,
                                     "sft_answer template, item " + item.id);
  auto ids = tokenizer_.encode(text, false);
  if (!eos_.empty()) ids.push_back(eos_.front());
  if (ids.empty())
    throw Error(ErrorKind::InvalidArgument,
                "item " + item.id + " has no reference answer for next-token training");
  return ids;
}

GenerateParams Prompter::generate_params(int max_new_tokens, double temperature,
                                         std::int64_t seed) const {
  GenerateParams p;
  p.max_new_tokens = max_new_tokens;
  p.sampling.temperature = temperature;
  p.seed = seed;
  p.eos_ids = eos_;
  p.stop_strings = task_->spec().generation.stop;
  p.decode = tokenizer_decoder(tokenizer_);
  return p;
}

std::vector<Rollout> rollouts(Session& session, const Prompter& prompter, const Task& task,
                              const std::vector<TaskItem>& items, int k, double temperature,
                              int max_new_tokens, std::int64_t seed, const JobContext& job) {
  std::vector<Rollout> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto ids = prompter.encode_prompt(items[i]);
    for (int r = 0; r < k; ++r) out.push_back({i, ids, {}, {}, {}});
  }
  const GenerateParams base = prompter.generate_params(max_new_tokens, temperature, seed);
  for (std::size_t begin = 0; begin < out.size(); begin += drl::kGenerateChunk) {
    job.throw_if_cancelled();
    const std::size_t end = std::min(out.size(), begin + drl::kGenerateChunk);
    std::vector<std::vector<std::int32_t>> prompts;
    for (std::size_t j = begin; j < end; ++j) prompts.push_back(out[j].prompt);
    GenerateParams params = base;
    params.seed = seed < 0 ? -1 : seed + static_cast<std::int64_t>(begin);
    const GenerateResult result = session.generate(prompts, params, {}, job);
    for (std::size_t j = begin; j < end; ++j) {
      const auto& seq = result.sequences[j - begin];
      out[j].completion = seq.tokens;
      out[j].text = seq.text;
      out[j].verdict = task.judge(seq.text, items[out[j].item]);
    }
  }
  return out;
}

}  // namespace t2::engine::train

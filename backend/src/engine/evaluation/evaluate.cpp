// evaluate() (t2/evaluation.h): batched generation over a task split, judged by the task.
// Uses only the public Session API, so this file needs no torch header.
#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/generation_setup.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include "engine/torch_guard.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

namespace t2 {
namespace detail::evaluation {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct PreparedItem {
  TaskItem item;
  std::string prompt_text;
  std::vector<std::int32_t> ids;
};

std::vector<PreparedItem> prepare_items(std::vector<TaskItem> items, const Task& task,
                                        const Tokenizer& tokenizer,
                                        const ChatTemplate* chat_template) {
  std::vector<PreparedItem> out;
  out.reserve(items.size());
  for (auto& item : items) {
    const RenderedPrompt rendered = render_task_prompt(task.build_prompt(item), chat_template);
    PreparedItem p;
    p.ids = tokenizer.encode(rendered.text, rendered.add_special_tokens);
    if (p.ids.empty())
      throw Error(ErrorKind::InvalidArgument,
                  task.spec().path + ": item " + item.id +
                      " gives a prompt of no tokens; check the spec's prompt templates");
    p.prompt_text = rendered.text;
    p.item = std::move(item);
    out.push_back(std::move(p));
  }
  return out;
}

// Item positions ordered by prompt length (stable: equal lengths keep dataset order).
std::vector<std::size_t> length_order(const std::vector<PreparedItem>& items) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return items[a].ids.size() < items[b].ids.size();
  });
  return order;
}

GenerateParams generate_params(const Session& session, const Tokenizer& tokenizer,
                               const ChatTemplate* chat_template, const Task& task,
                               const EvalParams& params) {
  GenerateParams g;
  g.max_new_tokens =
      params.max_new_tokens > 0 ? params.max_new_tokens : task.spec().generation.max_new_tokens;
  g.sampling = params.sampling;
  g.eos_ids = end_of_generation_ids(session.model().config(), tokenizer, chat_template);
  g.stop_strings = task.spec().generation.stop;
  g.decode = tokenizer_decoder(tokenizer);
  return g;
}

EvalItemResult judge_item(const Task& task, const PreparedItem& p, std::int64_t index,
                          const GeneratedSequence& seq) {
  const Verdict verdict = task.judge(seq.text, p.item);
  EvalItemResult r;
  r.index = index;
  r.id = p.item.id;
  r.prompt = p.prompt_text;
  r.output = seq.text;
  r.found = verdict.extraction.found;
  r.extracted_answer = verdict.extraction.found ? verdict.extraction.answer : std::string();
  r.gold = verdict.gold;
  r.correct = verdict.correct;
  r.reward = verdict.reward;
  r.detail = verdict.detail;
  r.finish_reason = seq.finish_reason;
  r.prompt_tokens = static_cast<std::int64_t>(p.ids.size());
  r.generated_tokens = static_cast<std::int64_t>(seq.tokens.size());
  return r;
}

// Finished items in dataset order, with the task's name and split filled in.
EvalReport make_report(std::vector<EvalItemResult> done, double generation_seconds,
                       double judging_seconds, const Task& task, const EvalParams& params) {
  std::sort(done.begin(), done.end(),
            [](const EvalItemResult& a, const EvalItemResult& b) { return a.index < b.index; });
  EvalReport report = summarize_evaluation(std::move(done), generation_seconds, judging_seconds);
  report.task = task.spec().name;
  report.task_path = task.spec().path;
  report.split = params.split;
  return report;
}

std::string batch_message(std::size_t batch, std::size_t batches, std::size_t correct,
                          std::size_t done) {
  return "batch " + std::to_string(batch) + "/" + std::to_string(batches) + ": " +
         std::to_string(correct) + "/" + std::to_string(done) + " correct";
}

EvalReport evaluate_unguarded(Session& session, const Tokenizer& tokenizer,
                              const ChatTemplate* chat_template, const Task& task,
                              const EvalParams& params, const JobContext& job) {
  namespace ev = detail::evaluation;
  if (params.batch_size < 1)
    throw Error(ErrorKind::InvalidArgument,
                "evaluation batch size must be >= 1, got " + std::to_string(params.batch_size));
  if (params.max_new_tokens < 0)
    throw Error(ErrorKind::InvalidArgument, "max_new_tokens must be >= 0 (0 = the task's), got " +
                                                std::to_string(params.max_new_tokens));
  const ChatTemplate* tmpl = task.spec().prompt.use_chat_template ? chat_template : nullptr;
  const auto items =
      ev::prepare_items(task.load_split(params.split, params.limit, job), task, tokenizer, tmpl);
  GenerateParams gen = ev::generate_params(session, tokenizer, tmpl, task, params);
  const auto order = ev::length_order(items);
  const std::size_t batch = static_cast<std::size_t>(params.batch_size);
  const std::size_t batches = (items.size() + batch - 1) / batch;
  std::vector<EvalItemResult> done;
  done.reserve(items.size());
  double generation_seconds = 0.0, judging_seconds = 0.0;
  std::size_t correct = 0;
  const JobContext quiet({}, job.cancel_token());  // Session's per-step progress stays inside
  job.report("generate", 0.0, ev::batch_message(0, batches, 0, 0));
  for (std::size_t b = 0; b < batches; ++b) {
    job.throw_if_cancelled();
    const std::size_t begin = b * batch, end = std::min(items.size(), begin + batch);
    std::vector<std::vector<std::int32_t>> prompts;
    for (std::size_t k = begin; k < end; ++k) prompts.push_back(items[order[k]].ids);
    gen.seed = params.sampling.temperature > 0 ? params.seed + static_cast<std::int64_t>(b) : -1;
    auto start = ev::Clock::now();
    const GenerateResult result = session.generate(prompts, gen, {}, quiet);
    generation_seconds += ev::seconds_since(start);
    start = ev::Clock::now();
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = order[k];
      done.push_back(ev::judge_item(task, items[i], static_cast<std::int64_t>(i),
                                    result.sequences.at(k - begin)));
      correct += done.back().correct ? 1 : 0;
    }
    judging_seconds += ev::seconds_since(start);
    job.report("generate", static_cast<double>(b + 1) / static_cast<double>(batches),
               ev::batch_message(b + 1, batches, correct, done.size()));
    if (params.on_batch)
      params.on_batch(ev::make_report(done, generation_seconds, judging_seconds, task, params));
  }
  return ev::make_report(std::move(done), generation_seconds, judging_seconds, task, params);
}

}  // namespace detail::evaluation

EvalReport evaluate(Session& session, const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                    const Task& task, const EvalParams& params, const JobContext& job) {
  return detail::guarded([&] {
    return detail::evaluation::evaluate_unguarded(session, tokenizer, chat_template, task, params,
                                                  job);
  });
}

}  // namespace t2

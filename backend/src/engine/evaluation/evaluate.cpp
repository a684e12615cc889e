// evaluate() (t2/evaluation.h): batched generation over a task split, judged by the task.
// Uses only the public Session API, so this file needs no torch header.
#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/generation_setup.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include "engine/torch_guard.h"
#include "evaluation_internal.h"

#include <algorithm>
#include <chrono>
#include <exception>
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
  std::int64_t index = 0;  // position in the split
  TaskItem item;
  std::string prompt_text;
  std::vector<std::int32_t> ids;
};

std::vector<PreparedItem> prepare_items(std::vector<TaskItem> items, const Task& task,
                                        const Tokenizer& tokenizer,
                                        const ChatTemplate* chat_template,
                                        const std::vector<std::int64_t>& only) {
  std::vector<bool> keep(items.size(), only.empty());
  for (const std::int64_t i : only) {
    if (i < 0 || i >= static_cast<std::int64_t>(items.size()))
      throw Error(ErrorKind::InvalidArgument, "item " + std::to_string(i) +
                                                  " is outside the split (" +
                                                  std::to_string(items.size()) + " items)");
    if (keep[static_cast<std::size_t>(i)])
      throw Error(ErrorKind::InvalidArgument, "item " + std::to_string(i) + " is listed twice");
    keep[static_cast<std::size_t>(i)] = true;
  }
  std::vector<PreparedItem> out;
  out.reserve(items.size());
  for (std::size_t index = 0; index < items.size(); ++index) {
    if (!keep[index]) continue;
    auto& item = items[index];
    const RenderedPrompt rendered = render_task_prompt(task.build_prompt(item), chat_template);
    PreparedItem p;
    p.ids = tokenizer.encode(rendered.text, rendered.add_special_tokens);
    if (p.ids.empty())
      throw Error(ErrorKind::InvalidArgument,
                  task.spec().path + ": item " + item.id +
                      " gives a prompt of no tokens; check the spec's prompt templates");
    p.prompt_text = rendered.text;
    p.index = static_cast<std::int64_t>(index);
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

EvalItemResult judge_item(const Task& task, const PreparedItem& p, const GeneratedSequence& seq) {
  return engine::judge_generated(task, p.item, p.index, p.prompt_text, p.ids.size(), seq);
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

void check_params(const EvalParams& params) {
  if (params.batch_size < 1)
    throw Error(ErrorKind::InvalidArgument,
                "evaluation batch size must be >= 1, got " + std::to_string(params.batch_size));
  if (params.max_new_tokens < 0)
    throw Error(ErrorKind::InvalidArgument, "max_new_tokens must be >= 0 (0 = the task's), got " +
                                                std::to_string(params.max_new_tokens));
}

// One evaluation in progress: the prepared items, their batch order and what has finished.
class Evaluation {
 public:
  Evaluation(Session& session, const Tokenizer& tokenizer, const ChatTemplate* chat_template,
             const Task& task, const EvalParams& params, const JobContext& job)
      : session_(session), task_(task), params_(params), job_(job) {
    // Tasks that opt out of the chat template get plain text (and no end-of-turn EOS).
    const ChatTemplate* tmpl = task.spec().prompt.use_chat_template ? chat_template : nullptr;
    items_ = prepare_items(task.load_split(params.split, params.limit, job), task, tokenizer, tmpl,
                           params.items);
    order_ = length_order(items_);
    gen_ = engine::task_generate_params(session.model().config(), tokenizer, tmpl, task,
                                        params.max_new_tokens);
    gen_.sampling = params.sampling;
    gen_.reuse_prefix = params.reuse_prefix;
    done_.reserve(items_.size());
  }

  EvalReport run() {
    const std::size_t batch = static_cast<std::size_t>(params_.batch_size);
    const std::size_t batches = (items_.size() + batch - 1) / batch;
    job_.report("generate", 0.0, batch_message(0, batches, 0, 0));
    // Greedy: one continuous batch of batch_size rows over every item (a finished row takes the
    // next item at once). Sampled: fixed batches, each seeded with seed + its index as before.
    if (params_.sampling.temperature <= 0 && params_.continuous)
      return run_continuous(batch, batches);
    for (std::size_t b = 0; b < batches; ++b) {
      job_.throw_if_cancelled();
      run_batch(b, b * batch, std::min(items_.size(), (b + 1) * batch));
      job_.report("generate", static_cast<double>(b + 1) / static_cast<double>(batches),
                  batch_message(b + 1, batches, correct_, done_.size()));
      if (params_.on_batch) params_.on_batch(report(done_));
    }
    return report(std::move(done_));
  }

 private:
  void judge(std::size_t position, const GeneratedSequence& seq) {
    const std::size_t i = order_[position];
    done_.push_back(judge_item(task_, items_[i], seq));
    correct_ += done_.back().correct ? 1 : 0;
  }

  // Every item in one generate() call; items are judged as they finish, and progress (and
  // on_batch) is reported after every batch_size of them.
  EvalReport run_continuous(std::size_t batch, std::size_t batches) {
    std::vector<std::vector<std::int32_t>> prompts;
    for (std::size_t position : order_) prompts.push_back(items_[position].ids);
    GenerateParams gen = gen_;
    gen.seed = -1;
    gen.max_batch = static_cast<int>(batch);
    std::exception_ptr failed;
    gen.on_finished = [&](std::size_t position, const GeneratedSequence& seq) {
      if (failed) return;
      try {
        const auto start = Clock::now();
        judge(position, seq);
        judging_seconds_ += seconds_since(start);
        if (done_.size() % batch == 0 || done_.size() == items_.size()) {
          const std::size_t b = (done_.size() + batch - 1) / batch;
          job_.report("generate", static_cast<double>(done_.size()) / items_.size(),
                      batch_message(b, batches, correct_, done_.size()));
          if (params_.on_batch) params_.on_batch(report(done_));
        }
      } catch (...) {
        failed = std::current_exception();
      }
    };
    const JobContext quiet({}, job_.cancel_token());  // Session's per-step progress stays inside
    const auto start = Clock::now();
    if (!prompts.empty()) session_.generate(prompts, gen, {}, quiet);
    if (failed) std::rethrow_exception(failed);
    generation_seconds_ = seconds_since(start) - judging_seconds_;
    return report(std::move(done_));
  }

  // Generates and judges the items at positions [begin, end) of the length order.
  void run_batch(std::size_t b, std::size_t begin, std::size_t end) {
    std::vector<std::vector<std::int32_t>> prompts;
    for (std::size_t k = begin; k < end; ++k) prompts.push_back(items_[order_[k]].ids);
    gen_.seed = params_.sampling.temperature > 0 ? params_.seed + static_cast<std::int64_t>(b) : -1;
    const JobContext quiet({}, job_.cancel_token());  // Session's per-step progress stays inside
    auto start = Clock::now();
    const GenerateResult result = session_.generate(prompts, gen_, {}, quiet);
    generation_seconds_ += seconds_since(start);
    start = Clock::now();
    for (std::size_t k = begin; k < end; ++k) judge(k, result.sequences.at(k - begin));
    judging_seconds_ += seconds_since(start);
  }

  EvalReport report(std::vector<EvalItemResult> done) const {
    return make_report(std::move(done), generation_seconds_, judging_seconds_, task_, params_);
  }

  Session& session_;
  const Task& task_;
  const EvalParams& params_;
  const JobContext& job_;
  std::vector<PreparedItem> items_;  // dataset order
  std::vector<std::size_t> order_;   // positions in items_, by prompt length
  GenerateParams gen_;
  std::vector<EvalItemResult> done_;  // generation order
  std::size_t correct_ = 0;
  double generation_seconds_ = 0.0;
  double judging_seconds_ = 0.0;
};

}  // namespace detail::evaluation

EvalReport evaluate(Session& session, const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                    const Task& task, const EvalParams& params, const JobContext& job) {
  detail::evaluation::check_params(params);
  return detail::guarded([&] {
    return detail::evaluation::Evaluation(session, tokenizer, chat_template, task, params, job)
        .run();
  });
}

namespace engine {

GenerateParams task_generate_params(const ModelConfig& config, const Tokenizer& tokenizer,
                                    const ChatTemplate* chat_template, const Task& task,
                                    int max_new_tokens) {
  GenerateParams g;
  g.max_new_tokens = max_new_tokens > 0 ? max_new_tokens : task.spec().generation.max_new_tokens;
  g.eos_ids = end_of_generation_ids(config, tokenizer, chat_template);
  g.stop_strings = task.spec().generation.stop;
  g.decode = tokenizer_decoder(tokenizer);
  return g;
}

EvalItemResult judge_generated(const Task& task, const TaskItem& item, std::int64_t index,
                               const std::string& prompt_text, std::size_t prompt_tokens,
                               const GeneratedSequence& seq) {
  const Verdict verdict = task.judge(seq.text, item);
  EvalItemResult r;
  r.index = index;
  r.id = item.id;
  r.prompt = prompt_text;
  r.output = seq.text;
  r.found = verdict.extraction.found;
  r.extracted_answer = verdict.extraction.found ? verdict.extraction.answer : std::string();
  r.gold = verdict.gold;
  r.correct = verdict.correct;
  r.reward = verdict.reward;
  r.detail = verdict.detail;
  r.finish_reason = seq.finish_reason;
  r.prompt_tokens = static_cast<std::int64_t>(prompt_tokens);
  r.generated_tokens = static_cast<std::int64_t>(seq.tokens.size());
  return r;
}

}  // namespace engine
}  // namespace t2

// evaluate_prompt_dispatch (t2/adapt.h): two-pass evaluation with the classification prompt.
#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/generation_setup.h>
#include <t2/run_store.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace t2 {
namespace detail::dispatch {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The category an item truly belongs to: the task's, or for a task of category "other" (a mix
// of domains) the item's "domain" field when it starts with a library category.
std::string true_category(const Task& task, const TaskItem& item,
                          const std::vector<std::string>& categories) {
  const std::string own = to_string(task.spec().category);
  if (own != kOtherCategory) return own;
  const auto domain = item.fields.find("domain");
  if (domain == item.fields.end()) return {};
  for (const auto& c : categories)
    if (domain->second.rfind(c, 0) == 0) return c;
  return {};
}

// Pass 1 for every item: the classification prompt around the task's question, generated in
// one continuous batch with the base weights.
std::vector<Pass1Decision> pass1(Session& session, const Tokenizer& tokenizer,
                                 const ChatTemplate* chat_template, const Task& classifier,
                                 const Task& task, const std::vector<TaskItem>& items,
                                 const std::vector<std::string>& categories,
                                 const DispatchParams& params, DispatchReport& report,
                                 const JobContext& job) {
  const ChatTemplate* tmpl = classifier.spec().prompt.use_chat_template ? chat_template : nullptr;
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<std::string> prefills;
  for (const auto& item : items) {
    const BuiltPrompt question = task.build_prompt(item);
    TaskItem c;
    c.id = item.id;
    c.fields = {{"text", question.messages.back().content}, {"label", ""}};
    const BuiltPrompt built = classifier.build_prompt(c);
    const RenderedPrompt rendered = render_task_prompt(built, tmpl);
    prompts.push_back(tokenizer.encode(rendered.text, rendered.add_special_tokens));
    prefills.push_back(built.assistant_prefill);
    report.pass1_prompt_tokens += static_cast<std::int64_t>(prompts.back().size());
  }
  GenerateParams gen;
  gen.max_new_tokens = params.pass1_max_new_tokens > 0
                           ? params.pass1_max_new_tokens
                           : classifier.spec().generation.max_new_tokens;
  gen.eos_ids = end_of_generation_ids(session.model().config(), tokenizer, tmpl);
  gen.stop_strings = classifier.spec().generation.stop;
  gen.decode = tokenizer_decoder(tokenizer);
  gen.max_batch = params.eval.batch_size;
  gen.reuse_prefix = params.eval.reuse_prefix;
  job.report("pass 1", 0.0, "classifying " + std::to_string(items.size()) + " questions");
  const auto start = Clock::now();
  const GenerateResult result =
      session.generate(prompts, gen, {}, JobContext({}, job.cancel_token()));
  report.pass1_seconds = since(start);
  report.pass1_generated_tokens = result.generated_tokens;
  std::vector<Pass1Decision> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Pass1Decision d;
    d.index = static_cast<std::int64_t>(i);
    d.output = result.sequences[i].text;
    d.category = parse_boxed_category(prefills[i] + d.output, categories);
    d.true_category = true_category(task, items[i], categories);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace detail::dispatch

DispatchReport evaluate_prompt_dispatch(std::shared_ptr<const Model> model,
                                        const std::string& model_dir, const Tokenizer& tokenizer,
                                        const ChatTemplate* chat_template,
                                        const ExpertLibrary& library, const Task& classifier,
                                        const Task& task, const DispatchParams& params,
                                        RunStore* store, const JobContext& job) {
  namespace dd = detail::dispatch;
  if (classifier.spec().kind != TaskKind::Classification)
    throw Error(ErrorKind::InvalidArgument,
                classifier.spec().path +
                    " is not a classification task; give a spec of kind \"classification\"");
  check_library_for_model(library, model_fingerprint(model_dir));
  const std::vector<std::string> categories = library.categories();
  DispatchReport report;
  EvalRunInfo info;
  info.model_dir = model_dir;
  info.model_fingerprint = model_fingerprint(model_dir);
  info.architecture = model->config().architecture;
  info.task_path = task.spec().path;
  info.task_name = task.spec().name;
  info.strategy = Strategy::prompt(library.path);
  info.run_name = params.run_name.empty()
                      ? "adapt prompt " + task.spec().name + " " + params.eval.split
                      : params.run_name;
  EvalReport so_far;  // stored when the evaluation stops early
  if (store) report.run_id = begin_eval_run(*store, info, params.eval);
  try {
    const std::vector<TaskItem> items = task.load_split(params.eval.split, params.eval.limit, job);
    Session base(model);
    report.decisions = dd::pass1(base, tokenizer, chat_template, classifier, task, items,
                                 categories, params, report, job);
    std::int64_t known = 0, routed = 0;
    for (const auto& d : report.decisions) {
      if (d.true_category.empty()) continue;
      ++known;
      routed += d.category == d.true_category ? 1 : 0;
      ++report.confusion[d.true_category][d.category];
    }
    if (known > 0) report.routing_accuracy = static_cast<double>(routed) / known;
    if (report.pass1_seconds > 0)
      report.pass1_tokens_per_second = report.pass1_generated_tokens / report.pass1_seconds;

    // Pass 2: each category's items with its expert ("other": the base weights).
    std::map<std::string, std::vector<std::int64_t>> groups;
    for (const auto& d : report.decisions) groups[d.category].push_back(d.index);
    std::vector<EvalItemResult> done;
    double generation = 0.0, judging = 0.0;
    std::int64_t generated = 0;
    const auto start = dd::Clock::now();
    std::size_t g = 0;
    for (const auto& [category, indices] : groups) {
      job.report("pass 2", static_cast<double>(g++) / groups.size(),
                 category + ": " + std::to_string(indices.size()) + " items");
      Session session(model);
      const LibraryExpert* expert = library.find(category);
      if (expert) {
        ApplyParams apply;
        apply.expected_tokens = 1e9;  // one expert for a whole group: recompose
        apply_strategy(session, model_dir, Strategy::expert(library.resolve(*expert)), apply, job);
      }
      EvalParams p = params.eval;
      p.items = indices;
      p.on_batch = [&](const EvalReport& partial) {
        std::vector<EvalItemResult> all = done;
        all.insert(all.end(), partial.items.begin(), partial.items.end());
        so_far = summarize_evaluation(std::move(all), generation, judging);
      };
      const EvalReport r = evaluate(session, tokenizer, chat_template, task, p, job);
      done.insert(done.end(), r.items.begin(), r.items.end());
      generation += r.generation_seconds;
      judging += r.judging_seconds;
      generated += r.generated_tokens;
    }
    report.pass2_seconds = dd::since(start);
    std::sort(done.begin(), done.end(),
              [](const EvalItemResult& a, const EvalItemResult& b) { return a.index < b.index; });
    report.report = summarize_evaluation(std::move(done), generation, judging);
    report.report.task = task.spec().name;
    report.report.task_path = task.spec().path;
    report.report.split = params.eval.split;
    if (generation > 0) report.pass2_tokens_per_second = generated / generation;
  } catch (const Error& e) {
    if (store)
      finish_eval_run(*store, report.run_id, info, so_far,
                      e.is_cancelled() ? RunStatus::Cancelled : RunStatus::Failed, e.what());
    throw;
  }
  if (store) {
    store->log_metrics(
        report.run_id, 0,
        {{"routing_accuracy", report.routing_accuracy},
         {"pass1_seconds", report.pass1_seconds},
         {"pass2_seconds", report.pass2_seconds},
         {"pass1_over_pass2",
          report.pass2_seconds > 0 ? report.pass1_seconds / report.pass2_seconds : 0.0}});
    finish_eval_run(*store, report.run_id, info, report.report, RunStatus::Finished);
  }
  return report;
}

}  // namespace t2

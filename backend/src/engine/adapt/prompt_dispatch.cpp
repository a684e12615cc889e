// evaluate_prompt_dispatch (t2/adapt.h): two-pass evaluation with the classification prompt,
// answered by the base model (prompt) or the classifier expert (classifier, classifier-soft).
#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/generation_setup.h>
#include <t2/run_store.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include "../evaluation/evaluation_internal.h"
#include "dispatch_internal.h"
#include "engine/torch_guard.h"
#include "mix_rows.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

std::vector<Pass1Decision> pass1(Session& session, const Tokenizer& tokenizer,
                                 const ChatTemplate* chat_template, const Task& classifier,
                                 const std::vector<std::string>& questions,
                                 const std::vector<std::string>& categories,
                                 const DispatchParams& params, DispatchReport& report,
                                 std::vector<RenderedPrompt>& rendered_prompts,
                                 const JobContext& job) {
  const ChatTemplate* tmpl = classifier.spec().prompt.use_chat_template ? chat_template : nullptr;
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<std::string> prefills;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    TaskItem c;
    c.id = std::to_string(i);
    c.fields = {{"text", questions[i]}, {"label", ""}};
    const BuiltPrompt built = classifier.build_prompt(c);
    const RenderedPrompt rendered = render_task_prompt(built, tmpl);
    prompts.push_back(tokenizer.encode(rendered.text, rendered.add_special_tokens));
    prefills.push_back(built.assistant_prefill);
    rendered_prompts.push_back(rendered);
    report.pass1_prompt_tokens += static_cast<std::int64_t>(prompts.back().size());
  }
  GenerateParams gen = engine::task_generate_params(session.model().config(), tokenizer, tmpl,
                                                    classifier, params.pass1_max_new_tokens);
  gen.max_batch = params.eval.batch_size;
  gen.reuse_prefix = params.eval.reuse_prefix;
  job.report("pass 1", 0.0, "classifying " + std::to_string(questions.size()) + " questions");
  const auto start = Clock::now();
  const GenerateResult result =
      session.generate(prompts, gen, {}, JobContext({}, job.cancel_token()));
  report.pass1_seconds = since(start);
  report.pass1_generated_tokens = result.generated_tokens;
  std::vector<Pass1Decision> out;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    Pass1Decision d;
    d.index = static_cast<std::int64_t>(i);
    d.output = prefills[i] + result.sequences[i].text;
    d.category = parse_boxed_category(d.output, categories);
    out.push_back(std::move(d));
  }
  return out;
}

// classifier-soft pass 1: the probability of each category (and "other") after the first
// "\\boxed{" of each output, under the pass-1 session's weights. Where the labels start with
// distinct tokens (the demo's characters; single tokens in BPE vocabularies) that is the
// next-token distribution at the box, restricted to those first tokens and renormalised: one
// decode step per question, the classification prompt encoded once (shared prefix). Otherwise
// every "<label>}" is scored in full (teacher-forced, one forward each).
void soft_probabilities(Session& session, const Tokenizer& tokenizer,
                        const std::vector<RenderedPrompt>& rendered,
                        const std::vector<std::string>& categories,
                        std::vector<Pass1Decision>& decisions, const JobContext& job) {
  std::vector<std::string> labels = categories;
  labels.push_back(kOtherCategory);
  const std::size_t n_labels = labels.size();
  struct Pending {
    std::size_t item;
    std::vector<std::int32_t> head;
    std::vector<engine::Continuation> full;  // one per label
    std::vector<std::int32_t> first;         // first token of each label
    bool distinct = true;
  };
  std::vector<Pending> pending;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto at = decisions[i].output.find("\\boxed{");
    if (at == std::string::npos) {
      for (const auto& l : labels) decisions[i].probabilities[l] = l == kOtherCategory ? 1.0 : 0.0;
      continue;
    }
    const std::string head = rendered[i].text + decisions[i].output.substr(0, at + 7);
    Pending p;
    p.item = i;
    p.head = tokenizer.encode(head, rendered[i].add_special_tokens);
    std::set<std::int32_t> seen;
    for (const auto& l : labels) {
      const auto ids = tokenizer.encode(head + l + "}", rendered[i].add_special_tokens);
      std::size_t common = 0;
      while (common < p.head.size() && common < ids.size() && p.head[common] == ids[common])
        ++common;
      common = std::max<std::size_t>(1, std::min(common, ids.size() - 1));
      engine::Continuation c;
      c.prompt.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(common));
      c.answer.assign(ids.begin() + static_cast<std::ptrdiff_t>(common), ids.end());
      p.distinct = p.distinct && common == p.head.size() && seen.insert(c.answer.front()).second;
      p.first.push_back(c.answer.front());
      p.full.push_back(std::move(c));
    }
    pending.push_back(std::move(p));
  }
  auto set_probabilities = [&](std::size_t item, const std::vector<double>& lp) {
    const double top = *std::max_element(lp.begin(), lp.end());
    double z = 0.0;
    for (double v : lp) z += std::exp(v - top);
    for (std::size_t l = 0; l < n_labels; ++l)
      decisions[item].probabilities[labels[l]] = std::exp(lp[l] - top) / z;
  };
  constexpr std::size_t kRows = 64;
  std::vector<const Pending*> fast, slow;
  for (const auto& p : pending) (p.distinct ? fast : slow).push_back(&p);
  for (std::size_t begin = 0; begin < fast.size(); begin += kRows) {
    job.throw_if_cancelled();
    const std::size_t end = std::min(fast.size(), begin + kRows);
    std::vector<std::vector<std::int32_t>> heads;
    for (std::size_t j = begin; j < end; ++j) heads.push_back(fast[j]->head);
    GenerateParams g;
    g.max_new_tokens = 1;
    g.ignore_eos = true;
    g.collect_step_logits = true;
    const GenerateResult r = session.generate(heads, g, {}, JobContext({}, job.cancel_token()));
    const Logits& logits = r.step_logits.at(0);
    for (std::size_t j = begin; j < end; ++j) {
      const auto row = logits.row(static_cast<std::int64_t>(j - begin));
      std::vector<double> lp;
      for (const auto token : fast[j]->first) lp.push_back(row[static_cast<std::size_t>(token)]);
      set_probabilities(fast[j]->item, lp);  // softmax over the labels' first-token logits
    }
  }
  for (const Pending* p : slow) {
    job.throw_if_cancelled();
    std::vector<const engine::Continuation*> rows;
    for (const auto& c : p->full) rows.push_back(&c);
    set_probabilities(p->item, detail::guarded([&] {
                        return engine::continuation_log_probs(session.impl(), rows);
                      }));
  }
}

// classifier-soft pass 2: every item answered with its own mix of the experts and the identity
// (weights = its category probabilities), a batch of items per generate() call.
std::vector<EvalItemResult> soft_pass2(
    const std::shared_ptr<const Model>& model, const std::string& model_dir,
    const Tokenizer& tokenizer, const ChatTemplate* chat_template, const ExpertLibrary& library,
    const Task& task, const std::vector<TaskItem>& items,
    const std::vector<Pass1Decision>& decisions, const DispatchParams& params, double& generation,
    double& judging, std::int64_t& generated, const JobContext& job) {
  const engine::Mixer mx = engine::load_mixer(model_dir, library, AlphaShape::PerExpert, job, true);
  const ChatTemplate* tmpl = task.spec().prompt.use_chat_template ? chat_template : nullptr;
  GenerateParams gen = engine::task_generate_params(model->config(), tokenizer, tmpl, task,
                                                    params.eval.max_new_tokens);
  gen.reuse_prefix = false;
  std::vector<std::string> texts;
  std::vector<std::vector<std::int32_t>> ids;
  std::size_t longest = 0;
  for (const auto& item : items) {
    const RenderedPrompt r = render_task_prompt(task.build_prompt(item), tmpl);
    texts.push_back(r.text);
    ids.push_back(tokenizer.encode(r.text, r.add_special_tokens));
    if (ids.back().empty())
      throw Error(ErrorKind::InvalidArgument,
                  task.spec().path + ": item " + item.id + " gives a prompt of no tokens");
    longest = std::max(longest, ids.back().size());
  }
  const std::size_t rows = params.max_rows > 0 ? static_cast<std::size_t>(params.max_rows)
                                               : engine::auto_rows(model->config(), longest, 1);
  Session session(model);
  std::vector<EvalItemResult> out;
  for (std::size_t begin = 0; begin < items.size(); begin += rows) {
    job.throw_if_cancelled();
    const std::size_t end = std::min(items.size(), begin + rows);
    job.report("pass 2", static_cast<double>(begin) / static_cast<double>(items.size()),
               "items " + std::to_string(begin + 1) + "-" + std::to_string(end));
    std::vector<std::vector<std::vector<float>>> sigmas;
    std::vector<std::vector<std::int32_t>> prompts;
    for (std::size_t i = begin; i < end; ++i) {
      std::vector<double> alpha;
      for (const auto& c : mx.categories) alpha.push_back(decisions[i].probabilities.at(c));
      sigmas.push_back(engine::member_sigmas(mx, alpha));
      prompts.push_back(ids[i]);
    }
    const auto start = Clock::now();
    const GenerateResult result = detail::guarded([&] {
      engine::set_row_sigmas(session.impl(), mx, sigmas, 1);
      return session.generate(prompts, gen, {}, JobContext({}, job.cancel_token()));
    });
    generation += since(start);
    generated += result.generated_tokens;
    const auto judge_start = Clock::now();
    for (std::size_t i = begin; i < end; ++i) {
      const GeneratedSequence& seq = result.sequences[i - begin];
      EvalItemResult r = engine::judge_generated(task, items[i], static_cast<std::int64_t>(i),
                                                 texts[i], ids[i].size(), seq);
      out.push_back(std::move(r));
    }
    judging += since(judge_start);
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
  const StrategyKind kind = params.strategy;
  if (kind != StrategyKind::Prompt && kind != StrategyKind::Classifier &&
      kind != StrategyKind::ClassifierSoft)
    throw Error(ErrorKind::InvalidArgument,
                std::string("two-pass dispatch is prompt, classifier or classifier-soft, not ") +
                    to_string(kind));
  if (kind != StrategyKind::Prompt && !library.has_classifier())
    throw Error(ErrorKind::InvalidArgument,
                (library.path.empty() ? std::string("the expert library") : library.path) +
                    " has no classifier expert; train one on the classification task (t2 demo "
                    "build --experts --only classifier for the demo) and list it under "
                    "\"classifier\"");
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
  info.strategy = kind == StrategyKind::Prompt
                      ? Strategy::prompt(library.path)
                      : Strategy::classifier(library.path, kind == StrategyKind::ClassifierSoft);
  info.run_name = params.run_name.empty() ? std::string("adapt ") + to_string(kind) + " " +
                                                task.spec().name + " " + params.eval.split
                                          : params.run_name;
  EvalReport so_far;  // stored when the evaluation stops early
  if (store) report.run_id = begin_eval_run(*store, info, params.eval);
  try {
    const std::vector<TaskItem> items = task.load_split(params.eval.split, params.eval.limit, job);
    Session base(model);
    if (kind != StrategyKind::Prompt) {
      ApplyParams apply;
      apply.expected_tokens = 1e9;  // one expert for every question: recompose
      apply_strategy(base, model_dir, Strategy::expert(library.resolve(library.classifier)), apply,
                     job);
    }
    std::vector<RenderedPrompt> rendered;
    std::vector<std::string> questions;  // the task's user message of each item
    for (const auto& item : items)
      questions.push_back(task.build_prompt(item).messages.back().content);
    report.decisions = dd::pass1(base, tokenizer, chat_template, classifier, questions, categories,
                                 params, report, rendered, job);
    for (std::size_t i = 0; i < items.size(); ++i)
      report.decisions[i].true_category = dd::true_category(task, items[i], categories);
    if (kind == StrategyKind::ClassifierSoft) {
      const auto start = dd::Clock::now();
      dd::soft_probabilities(base, tokenizer, rendered, categories, report.decisions, job);
      report.pass1_seconds += dd::since(start);
    }
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

    // Pass 2: each category's items with its expert ("other": the base weights); soft: each
    // item with its own mix.
    std::map<std::string, std::vector<std::int64_t>> groups;
    if (kind != StrategyKind::ClassifierSoft)
      for (const auto& d : report.decisions) groups[d.category].push_back(d.index);
    std::vector<EvalItemResult> done;
    double generation = 0.0, judging = 0.0;
    std::int64_t generated = 0;
    const auto start = dd::Clock::now();
    if (kind == StrategyKind::ClassifierSoft)
      done = dd::soft_pass2(model, model_dir, tokenizer, chat_template, library, task, items,
                            report.decisions, params, generation, judging, generated, job);
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

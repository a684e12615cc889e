// few_shot_search and mix_fitness (t2/adapt.h): CEM over the mixing coefficients of a library's
// experts, each generation's whole population in one batch (per-row factored scales,
// Session::Impl::per_row_batch), fitness = accuracy on k shots with the answers' likelihood as
// the tie-break.
#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/generation_setup.h>
#include <t2/run_store.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>

#include "../evaluation/evaluation_internal.h"
#include "engine/torch_guard.h"
#include "mix_rows.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <set>

namespace t2 {
namespace detail::few_shot {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

using engine::Continuation;
using engine::Mixer;

struct Shot : Continuation {
  TaskItem item;
};

std::vector<Shot> prepare_shots(const Task& task, const Tokenizer& tokenizer,
                                const ChatTemplate* tmpl, const std::vector<std::int32_t>& eos,
                                const std::vector<TaskItem>& items) {
  std::vector<Shot> out;
  for (const auto& item : items) {
    Shot s;
    s.item = item;
    const RenderedPrompt r = render_task_prompt(task.build_prompt(item), tmpl);
    s.prompt = tokenizer.encode(r.text, r.add_special_tokens);
    s.answer = tokenizer.encode(reference_answer(item), false);
    if (!eos.empty()) s.answer.push_back(eos.front());
    if (s.prompt.empty() || s.answer.empty())
      throw Error(ErrorKind::InvalidArgument,
                  task.spec().path + ": item " + item.id +
                      " gives an empty prompt or reference answer; a shot needs both");
    out.push_back(std::move(s));
  }
  return out;
}

// What the fitness evaluation needs, prepared once.
struct FitnessSetup {
  const Mixer* mixer = nullptr;
  const Task* task = nullptr;
  std::vector<Shot> shots;
  GenerateParams gen;
  std::size_t max_rows = 512;
};

// Members [begin, end) of `population` in one batch of (end - begin) x k rows.
void chunk_fitness(Session& session, const FitnessSetup& f,
                   const std::vector<std::vector<double>>& population, std::size_t begin,
                   std::size_t end, std::vector<MemberFitness>& out, const JobContext& job) {
  const Mixer& mx = *f.mixer;
  const std::size_t k = f.shots.size(), members = end - begin;
  Session::Impl& s = session.impl();
  std::vector<std::vector<std::vector<float>>> sigmas;  // [member][target][r]
  for (std::size_t i = begin; i < end; ++i)
    sigmas.push_back(engine::member_sigmas(mx, population[i]));
  engine::set_row_sigmas(s, mx, sigmas, k);
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<const Continuation*> row_shots;
  for (std::size_t i = 0; i < members; ++i)
    for (const auto& shot : f.shots) {
      prompts.push_back(shot.prompt);
      row_shots.push_back(&shot);
    }
  // The answers' likelihood is scored on the generation's own prompt cache (the prompts are
  // encoded once for both), else afterwards with a full forward.
  std::vector<double> lp;
  bool scored = false;
  s.after_prefill = [&](engine::KvCache& cache, const std::vector<std::int64_t>& positions,
                        const at::Tensor& last) {
    scored = engine::continuation_log_probs_on_cache(s, row_shots, cache, positions, last, lp);
  };
  struct Unhook {
    Session::Impl& s;
    ~Unhook() { s.after_prefill = nullptr; }
  } unhook{s};
  const GenerateResult result =
      session.generate(prompts, f.gen, {}, JobContext({}, job.cancel_token()));
  job.throw_if_cancelled();
  if (!scored) lp = engine::continuation_log_probs(s, row_shots);
  for (std::size_t i = 0; i < members; ++i) {
    std::size_t correct = 0, tokens = 0;
    double log_prob = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t row = i * k + j;
      correct += f.task->judge(result.sequences[row].text, f.shots[j].item).correct ? 1 : 0;
      log_prob += lp[row];
      tokens += f.shots[j].answer.size();
    }
    MemberFitness m;
    m.accuracy = static_cast<double>(correct) / static_cast<double>(k);
    m.log_likelihood = log_prob / static_cast<double>(tokens);
    m.fitness = m.accuracy + std::exp(m.log_likelihood) / (2.0 * static_cast<double>(k));
    out[i] = m;
  }
}

std::vector<MemberFitness> population_fitness(Session& session, const FitnessSetup& f,
                                              const std::vector<std::vector<double>>& population,
                                              const JobContext& job) {
  return detail::guarded([&] {
    std::vector<MemberFitness> out(population.size());
    const std::size_t per_batch = std::max<std::size_t>(1, f.max_rows / f.shots.size());
    for (std::size_t begin = 0; begin < population.size(); begin += per_batch) {
      job.throw_if_cancelled();
      const std::size_t end = std::min(population.size(), begin + per_batch);
      std::vector<MemberFitness> part(end - begin);
      chunk_fitness(session, f, population, begin, end, part, job);
      std::copy(part.begin(), part.end(), out.begin() + static_cast<std::ptrdiff_t>(begin));
    }
    return out;
  });
}

FitnessSetup make_setup(const Mixer& mx, const Session& session, const Tokenizer& tokenizer,
                        const ChatTemplate* chat_template, const Task& task,
                        const std::vector<TaskItem>& items, int max_rows) {
  if (items.empty())
    throw Error(ErrorKind::InvalidArgument, "the few-shot fitness needs at least one shot");
  if (max_rows != 0 && max_rows < static_cast<int>(items.size()))
    throw Error(ErrorKind::InvalidArgument, "max_rows (" + std::to_string(max_rows) +
                                                ") must be at least the number of shots (" +
                                                std::to_string(items.size()) + ")");
  const ChatTemplate* tmpl = task.spec().prompt.use_chat_template ? chat_template : nullptr;
  FitnessSetup f;
  f.mixer = &mx;
  f.task = &task;
  f.max_rows = static_cast<std::size_t>(max_rows);
  f.gen = engine::task_generate_params(session.model().config(), tokenizer, tmpl, task, 0);
  f.gen.reuse_prefix = false;  // per-row weights: every row encodes its own prompt
  f.shots = prepare_shots(task, tokenizer, tmpl, f.gen.eos_ids, items);
  if (max_rows == 0) {
    std::size_t longest = 0;
    for (const auto& shot : f.shots) longest = std::max(longest, shot.prompt.size());
    f.max_rows = engine::auto_rows(session.model().config(), longest, f.shots.size());
  }
  return f;
}

// k positions of a split of `n` items: a seeded shuffle, then ascending.
std::vector<std::int64_t> pick_shots(std::size_t n, int k, std::uint64_t seed) {
  std::vector<std::int64_t> all(n);
  std::iota(all.begin(), all.end(), std::int64_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates with the generator's raw output
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(all[i - 1], all[j]);
  }
  all.resize(static_cast<std::size_t>(k));
  std::sort(all.begin(), all.end());
  return all;
}

std::string default_shot_split(const Task& task, const std::string& eval_split) {
  const auto splits = task.splits();
  auto has = [&](const std::string& s) { return std::count(splits.begin(), splits.end(), s) > 0; };
  for (const char* s : {"validation", "train"})
    if (has(s) && s != eval_split) return s;
  throw Error(
      ErrorKind::InvalidArgument,
      task.spec().path + " has no validation or train split to draw shots from (splits: " +
          [&] {
            std::string l;
            for (const auto& s : splits) l += (l.empty() ? "" : ", ") + s;
            return l;
          }() +
          "); add one, or pass a shot split (sakana-compat draws from the evaluated one)");
}

std::string alpha_key(const Mixer& mx, std::size_t k, std::size_t l) {
  std::string key = "alpha_" + mx.categories[k];
  if (mx.shape == AlphaShape::PerLayer) key += "_l" + std::to_string(mx.layers[l]);
  return key;
}

}  // namespace detail::few_shot

std::vector<MemberFitness> mix_fitness(std::shared_ptr<const Model> model,
                                       const std::string& model_dir, const Tokenizer& tokenizer,
                                       const ChatTemplate* chat_template,
                                       const ExpertLibrary& library, const Task& task,
                                       const std::vector<TaskItem>& shots, AlphaShape shape,
                                       const std::vector<std::vector<double>>& population,
                                       int max_rows, const JobContext& job) {
  namespace dfs = detail::few_shot;
  check_library_for_model(library, model_fingerprint(model_dir));
  const engine::Mixer mx = engine::load_mixer(model_dir, library, shape, job);
  Session session(model);
  const dfs::FitnessSetup f =
      dfs::make_setup(mx, session, tokenizer, chat_template, task, shots, max_rows);
  return dfs::population_fitness(session, f, population, job);
}

FewShotReport few_shot_search(std::shared_ptr<const Model> model, const std::string& model_dir,
                              const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                              const ExpertLibrary& library, const Task& task,
                              const FewShotParams& params, RunStore* store,
                              const std::function<void(const CemGeneration&)>& on_generation,
                              const JobContext& job) {
  namespace dfs = detail::few_shot;
  if (params.shots < 1)
    throw Error(ErrorKind::InvalidArgument,
                "shots must be >= 1, got " + std::to_string(params.shots));
  const std::string fingerprint = model_fingerprint(model_dir);
  check_library_for_model(library, fingerprint);
  const engine::Mixer mx =
      engine::load_mixer(model_dir, library, params.shape, job, params.include_base);

  FewShotReport rep;
  rep.experts = mx.categories;
  const std::string& eval_split = params.eval.split;
  rep.shot_split = params.sakana_compat        ? eval_split
                   : params.shot_split.empty() ? dfs::default_shot_split(task, eval_split)
                                               : params.shot_split;
  rep.selection =
      params.sakana_compat ? "selected on the evaluation items (sakana-compat)" : "held-out";
  // Shots from the evaluated split come from the evaluated items (its first eval.limit).
  const std::vector<TaskItem> pool =
      task.load_split(rep.shot_split, rep.shot_split == eval_split ? params.eval.limit : 0, job);
  if (static_cast<std::size_t>(params.shots) > pool.size())
    throw Error(ErrorKind::InvalidArgument,
                "the " + rep.shot_split + " split of " + task.spec().path + " has " +
                    std::to_string(pool.size()) + " items, fewer than " +
                    std::to_string(params.shots) + " shots; ask for fewer shots");
  rep.shot_indices = dfs::pick_shots(pool.size(), params.shots, params.shot_seed);
  std::vector<TaskItem> shot_items;
  for (auto i : rep.shot_indices) {
    shot_items.push_back(pool[static_cast<std::size_t>(i)]);
    rep.shot_ids.push_back(shot_items.back().id);
  }
  Session session(model);
  const dfs::FitnessSetup setup =
      dfs::make_setup(mx, session, tokenizer, chat_template, task, shot_items, params.max_rows);

  std::int64_t cem_run = 0;
  if (store) {
    dfs::Json p;
    p["model_dir"] = model_dir;
    p["model_fingerprint"] = fingerprint;
    p["task"] = task.spec().path;
    p["task_name"] = task.spec().name;
    p["library"] = library.path;
    p["experts"] = mx.categories;
    p["shape"] = params.shape == AlphaShape::PerLayer ? "per-layer" : "per-expert";
    p["shots"] = params.shots;
    p["shot_split"] = rep.shot_split;
    p["shot_seed"] = params.shot_seed;
    p["shot_ids"] = rep.shot_ids;
    p["sakana_compat"] = params.sakana_compat;
    p["include_base"] = params.include_base;
    p["selection"] = rep.selection;
    p["population"] = params.cem.population;
    p["elite_ratio"] = params.cem.elite_ratio;
    p["init_std"] = params.cem.init_std;
    p["generations"] = params.cem.generations;
    p["patience"] = params.cem.patience;
    p["seed"] = params.cem.seed;
    NewRun run;
    run.kind = "cem";
    run.name = params.run_name.empty()
                   ? "adapt cem " + task.spec().name + " " + std::to_string(params.shots) + " shots"
                   : params.run_name;
    run.params_json = p.dump();
    if (params.sakana_compat) run.tags = {"sakana-compat"};
    cem_run = store->begin_run(run);
    rep.search_run_id = cem_run;
  }

  MemberFitness best_seen;
  double best_seen_fitness = -std::numeric_limits<double>::infinity();
  const auto start = dfs::Clock::now();
  try {
    rep.cem = cem_search(
        mx.dim(), {},
        [&](const std::vector<std::vector<double>>& population) {
          const auto fit = dfs::population_fitness(session, setup, population, job);
          rep.members_evaluated += static_cast<std::int64_t>(population.size());
          std::vector<double> values;
          for (const auto& m : fit) {
            values.push_back(m.fitness);
            if (m.fitness > best_seen_fitness) {
              best_seen_fitness = m.fitness;
              best_seen = m;
            }
          }
          return values;
        },
        params.cem,
        [&](const CemGeneration& g) {
          if (store) {
            std::vector<std::pair<std::string, double>> metrics = {
                {"best_fitness", g.best_fitness},
                {"elite_fitness_mean", g.elite_fitness_mean},
                {"mean_fitness",
                 std::accumulate(g.fitness.begin(), g.fitness.end(), 0.0) /
                     static_cast<double>(std::max<std::size_t>(1, g.fitness.size()))},
                {"max_fitness", *std::max_element(g.fitness.begin(), g.fitness.end())},
                {"best_accuracy", best_seen.accuracy},
                {"seconds", g.seconds}};
            for (std::size_t k = 0; k < mx.categories.size(); ++k)
              for (std::size_t l = 0; l < mx.per_expert(); ++l) {
                const std::size_t d = k * mx.per_expert() + l;
                metrics.emplace_back(dfs::alpha_key(mx, k, l), g.best[d]);
                metrics.emplace_back("elite_" + dfs::alpha_key(mx, k, l), g.elite_mean[d]);
              }
            store->log_metrics(cem_run, g.generation, metrics);
          }
          if (on_generation) on_generation(g);
        },
        job);
  } catch (const Error& e) {
    if (store)
      store->finish_run(cem_run, e.is_cancelled() ? RunStatus::Cancelled : RunStatus::Failed,
                        e.what());
    throw;
  }
  rep.search_seconds = dfs::since(start);
  rep.best_accuracy = best_seen.accuracy;
  rep.best_log_likelihood = best_seen.log_likelihood;
  rep.alpha = mx.alpha(rep.cem.best);
  MixResult mixed = mix_experts(mx.experts, rep.alpha);
  rep.warnings = mixed.warnings;
  mixed.expert.metadata.run_id = cem_run > 0 ? std::to_string(cem_run) : std::string();
  mixed.expert.metadata.note = "few-shot mix of " + std::to_string(mx.categories.size()) +
                               " experts on " + std::to_string(params.shots) + " shots of " +
                               task.spec().name + " (" + rep.selection + ")";
  if (!params.mix_file.empty()) {
    write_expert(params.mix_file, mixed.expert);
    if (store) store->register_artifact(cem_run, "expert", params.mix_file);
  }
  if (store) {
    store->log_metrics(cem_run, rep.cem.generations_run,
                       {{"search_seconds", rep.search_seconds},
                        {"members_evaluated", static_cast<double>(rep.members_evaluated)}});
    store->finish_run(cem_run, RunStatus::Finished);
  }
  if (!params.evaluate_result) return rep;

  // The evaluation: never on a shot (same split and position, or the same prompt text) unless
  // sakana-compat, which evaluates every item as the reference does.
  const ChatTemplate* tmpl = task.spec().prompt.use_chat_template ? chat_template : nullptr;
  const std::vector<TaskItem> items = task.load_split(eval_split, params.eval.limit, job);
  std::set<std::string> shot_prompts;
  for (const auto& shot : shot_items)
    shot_prompts.insert(render_task_prompt(task.build_prompt(shot), tmpl).text);
  EvalParams eval = params.eval;
  eval.items.clear();
  const std::set<std::int64_t> shot_positions(rep.shot_indices.begin(), rep.shot_indices.end());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    const bool is_shot =
        (rep.shot_split == eval_split && shot_positions.count(index)) ||
        shot_prompts.count(render_task_prompt(task.build_prompt(items[i]), tmpl).text) > 0;
    if (params.sakana_compat || !is_shot) eval.items.push_back(index);
  }
  if (eval.items.empty())
    throw Error(ErrorKind::InvalidArgument, "every item of the " + eval_split +
                                                " split was a shot; nothing is left to evaluate");
  Session adapted(model);
  ApplyParams apply;
  apply.expected_tokens = 1e9;  // one mix for the whole split: recompose
  apply_expert(adapted, mx.decomposition(), mixed.expert, apply);
  EvalRunInfo info;
  info.model_dir = model_dir;
  info.model_fingerprint = fingerprint;
  info.architecture = model->config().architecture;
  info.strategy =
      Strategy::few_shot(params.mix_file.empty() ? std::string("(unsaved mix)") : params.mix_file);
  info.run_name = params.run_name.empty() ? "adapt few-shot " + task.spec().name + " " + eval_split
                                          : params.run_name;
  if (params.sakana_compat) info.tags = {"sakana-compat", "selected-on-eval-items"};
  const StoredEvaluation stored =
      evaluate_and_store(adapted, tokenizer, chat_template, task, eval, store, info, job);
  rep.report = stored.report;
  rep.run_id = stored.run_id;
  rep.evaluated = true;
  if (store && rep.run_id > 0)
    store->log_metrics(rep.run_id, 0,
                       {{"cem_run_id", static_cast<double>(cem_run)},
                        {"shots", static_cast<double>(params.shots)},
                        {"excluded_items", static_cast<double>(items.size() - eval.items.size())},
                        {"search_seconds", rep.search_seconds}});
  return rep;
}

}  // namespace t2

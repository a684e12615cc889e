// Few-shot mixing (t2/adapt.h) on the bundled demo model and expert library:
// - a one-hot mix reproduces its expert's logits bit for bit;
// - a whole population scored in one batch (per-row factored scales) equals each member scored
//   alone: accuracy from a plain evaluation of the shots with that member's mix applied, and the
//   answers' mean per-token log-likelihood from a full forward, computed here in double;
// - an all-zero alpha is never NaN;
// - the search's evaluation never contains a shot (item ids), unless sakana-compat, which says so;
//   its runs and the mix file are stored.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace {

namespace fs = std::filesystem;

const std::string kResources = std::string(T2_SOURCE_DIR) + "/resources";

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "few_shot" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Demo {
  t2::DemoInfo info;
  std::shared_ptr<const t2::Model> model;
  t2::ExpertLibrary library;
};

// nullopt-like: model == nullptr when the demo is missing.
Demo load_demo() {
  Demo d;
  d.info = t2::demo_info(kResources);
  if (!d.info.model_present || d.info.experts.size() < 2) return d;
  d.model = t2::Model::load(d.info.model_dir);
  d.library = t2::read_expert_library(d.info.experts_dir + "/library.json");
  return d;
}

std::vector<t2::ExpertVectors> library_experts(const Demo& d) {
  std::vector<t2::ExpertVectors> out;
  for (const auto& e : d.library.experts)
    out.push_back(t2::load_expert_file(d.info.model_dir, d.library.resolve(e)).expert);
  return out;
}

TEST(FewShotMix, OneHotMixReproducesTheExpertsLogitsExactly) {
  const Demo d = load_demo();
  if (!d.model) GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const auto experts = library_experts(d);
  const auto loaded =
      t2::load_expert_file(d.info.model_dir, d.library.resolve(d.library.experts[0]));
  t2::MixAlpha alpha;
  for (std::size_t k = 0; k < experts.size(); ++k) alpha.rows.push_back({k == 0 ? 1.0 : 0.0});
  const auto mixed = t2::mix_experts(experts, alpha);
  const std::vector<std::vector<std::int32_t>> prompts = {{1, 40, 41, 42, 43, 44}, {1, 50, 51}};
  for (auto mode : {t2::ApplyMode::Factored, t2::ApplyMode::Recompose}) {
    t2::ApplyParams p;
    p.mode = mode;
    t2::Session single(d.model), mix(d.model);
    t2::apply_expert(single, loaded.decomposition, loaded.expert, p);
    t2::apply_expert(mix, loaded.decomposition, mixed.expert, p);
    EXPECT_EQ(single.forward(prompts).data, mix.forward(prompts).data) << t2::apply_mode_name(mode);
  }
}

// Mean per-token log p(reference answer + end token | prompt) under `session`, in double.
double answer_log_likelihood(t2::Session& session, const t2::Tokenizer& tok,
                             const t2::ChatTemplate& chat, const t2::Task& task,
                             const std::vector<t2::TaskItem>& items) {
  const auto eos = t2::end_of_generation_ids(session.model().config(), tok, &chat);
  double sum = 0.0;
  std::size_t tokens = 0;
  for (const auto& item : items) {
    const auto r = t2::render_task_prompt(task.build_prompt(item), &chat);
    auto ids = tok.encode(r.text, r.add_special_tokens);
    const std::size_t prompt = ids.size();
    auto answer = tok.encode(t2::reference_answer(item), false);
    answer.push_back(eos.front());
    ids.insert(ids.end(), answer.begin(), answer.end());
    const auto logits = session.forward({ids});
    for (std::size_t t = prompt; t < ids.size(); ++t) {
      const auto row = logits.row(static_cast<std::int64_t>(t - 1));
      double top = -INFINITY;
      for (float v : row) top = std::max(top, static_cast<double>(v));
      double z = 0.0;
      for (float v : row) z += std::exp(static_cast<double>(v) - top);
      sum += static_cast<double>(row[static_cast<std::size_t>(ids[t])]) - top - std::log(z);
      ++tokens;
    }
  }
  return sum / static_cast<double>(tokens);
}

TEST(FewShotMix, APopulationInOneBatchEqualsEachMemberAlone) {
  const Demo d = load_demo();
  if (!d.model) GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const std::string dir = d.info.model_dir;
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  const auto task = t2::Task::load(kResources + "/demo/tasks/math-unseen/task.json");
  auto shots = task.load_split("validation", 6);
  const std::size_t k = d.library.experts.size();
  std::vector<std::vector<double>> population;
  for (std::size_t i = 0; i < k; ++i) {  // one-hot members
    population.emplace_back(k, 0.0);
    population.back()[i] = 1.0;
  }
  population.emplace_back(k, 0.0);        // all zero: the base weights
  population.emplace_back(k, 1.0 / k);    // uniform
  population.push_back({0.7, 0.2, 0.4});  // arbitrary
  population.back().resize(k, 0.3);
  // max_rows 12: two members per batch, so batches of different sizes are covered too.
  const auto fit = t2::mix_fitness(d.model, dir, tok, &chat, d.library, task, shots,
                                   t2::AlphaShape::PerExpert, population, 12);
  ASSERT_EQ(fit.size(), population.size());
  const auto experts = library_experts(d);
  const auto loaded = t2::load_expert_file(dir, d.library.resolve(d.library.experts[0]));
  std::vector<std::int64_t> positions(shots.size());
  for (std::size_t i = 0; i < shots.size(); ++i) positions[i] = static_cast<std::int64_t>(i);
  for (std::size_t m = 0; m < population.size(); ++m) {
    SCOPED_TRACE("member " + std::to_string(m));
    ASSERT_TRUE(std::isfinite(fit[m].fitness));
    ASSERT_TRUE(std::isfinite(fit[m].log_likelihood));
    t2::Session alone(d.model);
    t2::MixAlpha alpha;
    for (double a : population[m]) alpha.rows.push_back({a});
    const auto mixed = t2::mix_experts(experts, alpha);
    t2::apply_expert(alone, loaded.decomposition, mixed.expert);
    t2::EvalParams p;
    p.split = "validation";
    p.items = positions;
    p.limit = shots.size();
    const auto report = t2::evaluate(alone, tok, &chat, task, p);
    EXPECT_DOUBLE_EQ(fit[m].accuracy, report.accuracy);
    const double ll = answer_log_likelihood(alone, tok, chat, task, shots);
    EXPECT_NEAR(fit[m].log_likelihood, ll, 1e-4);
    EXPECT_NEAR(fit[m].fitness, report.accuracy + std::exp(ll) / (2.0 * shots.size()), 1e-4);
  }
  // The all-zero member (paper parametrization: z' = 0) is finite but not the base model.
  t2::Session base(d.model);
  EXPECT_LT(fit[k].log_likelihood, answer_log_likelihood(base, tok, chat, task, shots));
}

TEST(FewShotSearch, EvaluationNeverContainsAShotAndRunsAreStored) {
  const Demo d = load_demo();
  if (!d.model) GTEST_SKIP() << "no demo model or expert library in resources/demo";
  const std::string dir = d.info.model_dir;
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  const auto task = t2::Task::load(kResources + "/demo/tasks/code-unseen/task.json");
  const fs::path out = fresh("search");
  t2::RunStore store((out / "runs.db").string());
  t2::FewShotParams p;
  p.cem.population = 4;
  p.cem.generations = 2;
  p.cem.seed = 3;
  p.shots = 5;
  p.shot_split = "test";  // the evaluated split itself: the shots must be left out
  p.eval.limit = 30;
  p.mix_file = (out / "mix.safetensors").string();
  int generations = 0;
  const auto r = t2::few_shot_search(d.model, dir, tok, &chat, d.library, task, p, &store,
                                     [&](const t2::CemGeneration& g) {
                                       ++generations;
                                       EXPECT_EQ(g.fitness.size(), 4u);
                                     });
  EXPECT_EQ(generations, 2);
  ASSERT_TRUE(r.evaluated);
  ASSERT_EQ(r.shot_ids.size(), 5u);
  const std::set<std::string> shot_ids(r.shot_ids.begin(), r.shot_ids.end());
  // Left out: the shots, and any other item asking a shot's question word for word.
  std::set<std::string> shot_questions;
  const auto first30 = task.load_split("test", 30);
  for (const auto& item : first30)
    if (shot_ids.count(item.id)) shot_questions.insert(item.fields.at("question"));
  std::int64_t expected = 0;
  for (const auto& item : first30)
    expected += shot_questions.count(item.fields.at("question")) ? 0 : 1;
  EXPECT_LE(expected, 25);
  EXPECT_EQ(r.report.n, expected);
  for (const auto& item : r.report.items) EXPECT_EQ(shot_ids.count(item.id), 0u) << item.id;
  EXPECT_EQ(r.selection, "held-out");
  // The mix file is the best member's mix.
  const auto experts = library_experts(d);
  const auto mixed = t2::mix_experts(experts, r.alpha);
  const auto written = t2::read_expert(p.mix_file);
  ASSERT_EQ(written.matrices.size(), mixed.expert.matrices.size());
  for (std::size_t i = 0; i < written.matrices.size(); ++i)
    EXPECT_EQ(written.matrices[i].values, mixed.expert.matrices[i].values);
  // Stored: the search (kind cem, one metric point per generation) and the evaluation.
  const auto search = store.get_run(r.search_run_id);
  EXPECT_EQ(search.kind, "cem");
  EXPECT_EQ(search.status, t2::RunStatus::Finished);
  const auto best = store.best_values({r.search_run_id}, {"best_fitness"}, t2::BestMode::Last);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_DOUBLE_EQ(best[0].value, r.cem.best_fitness);
  const auto evals = store.evaluations(r.run_id);
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_EQ(evals[0].strategy, "few-shot:mix.safetensors");

  // sakana-compat: shots from the evaluated split and every item evaluated, labelled as such.
  p.sakana_compat = true;
  p.shot_split.clear();
  p.mix_file.clear();
  const auto c = t2::few_shot_search(d.model, dir, tok, &chat, d.library, task, p, &store);
  EXPECT_EQ(c.shot_split, "test");
  EXPECT_EQ(c.report.n, 30);
  std::size_t shots_in_eval = 0;
  for (const auto& item : c.report.items)
    shots_in_eval += std::count(c.shot_ids.begin(), c.shot_ids.end(), item.id);
  EXPECT_EQ(shots_in_eval, 5u);
  EXPECT_NE(c.selection.find("selected on the evaluation items"), std::string::npos);
  const auto tags = store.get_run(c.run_id).tags;
  EXPECT_NE(std::find(tags.begin(), tags.end(), "sakana-compat"), tags.end());

  // include_base: the identity is one more mixed "expert" (category "other").
  p.sakana_compat = false;
  p.include_base = true;
  p.evaluate_result = false;
  p.cem.generations = 1;
  const auto b = t2::few_shot_search(d.model, dir, tok, &chat, d.library, task, p);
  ASSERT_EQ(b.experts.size(), d.library.experts.size() + 1);
  EXPECT_EQ(b.experts.back(), "other");
  EXPECT_EQ(b.alpha.rows.size(), b.experts.size());
  EXPECT_FALSE(b.evaluated);
  p.include_base = false;

  // Bad input: more shots than the split has, no shots.
  p.sakana_compat = false;
  p.shots = 100000;
  EXPECT_THROW(t2::few_shot_search(d.model, dir, tok, &chat, d.library, task, p), t2::Error);
  p.shots = 0;
  EXPECT_THROW(t2::few_shot_search(d.model, dir, tok, &chat, d.library, task, p), t2::Error);
}

}  // namespace

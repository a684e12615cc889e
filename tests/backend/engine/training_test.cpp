// Training SVF experts (t2/training.h) on the tiny llama_f32 fixture: the gradient of the
// objective against central finite differences of an independently computed loss (apply_expert +
// Session::forward + a log-softmax written here), one sakana-compat step against a hand
// computation of the reference's formulas, next-token training, cancellation.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include "engine/train/train_internal.h"
#include "scored_sequences.h"
#include "training_fixture.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

namespace t2 {
namespace {

std::string out_dir(const std::string& name) {
  return (std::filesystem::path(T2_TEST_OUTPUT_DIR) / "training" / name).string();
}

// log-softmax of one logits row, in double.
std::vector<double> log_softmax(const std::vector<float>& row) {
  const double mx = *std::max_element(row.begin(), row.end());
  double sum = 0.0;
  for (float v : row) sum += std::exp(v - mx);
  std::vector<double> out;
  for (float v : row) out.push_back(v - mx - std::log(sum));
  return out;
}

struct LossOptions {
  bool token_mean = false;
  double kl = 0.0;
  bool full_kl = false;
};

// mean_j [-A_j log pi(y_j) + kl * KL_j], each sequence scored alone (no padding) with the expert
// applied through apply_expert, base log-probabilities from an unadapted session.
double reference_loss(const std::shared_ptr<const Model>& model, const Decomposition& dec,
                      const ExpertVectors& expert, const std::vector<ScoredSequence>& seqs,
                      const LossOptions& o) {
  Session adapted(model), base(model);
  apply_expert(adapted, dec, expert);
  double total = 0.0;
  for (const auto& s : seqs) {
    std::vector<std::int32_t> ids = s.prompt;
    ids.insert(ids.end(), s.completion.begin(), s.completion.end());
    const Logits cur = adapted.forward({ids});
    const Logits ref = o.kl > 0 ? base.forward({ids}) : cur;
    double lp = 0.0, kl = 0.0;
    for (std::size_t c = 0; c < s.completion.size(); ++c) {
      const auto pos = static_cast<std::int64_t>(s.prompt.size() + c - 1);
      const auto lc = log_softmax(cur.row(pos));
      const auto lr = log_softmax(ref.row(pos));
      const auto y = static_cast<std::size_t>(s.completion[c]);
      lp += lc[y];
      if (o.full_kl) {
        for (std::size_t v = 0; v < lc.size(); ++v) kl += std::exp(lr[v]) * (lr[v] - lc[v]);
      } else {
        const double d = lr[y] - lc[y];
        kl += std::exp(d) - d - 1.0;
      }
    }
    if (o.token_mean) {
      lp /= static_cast<double>(s.completion.size());
      kl /= static_cast<double>(s.completion.size());
    }
    total += -s.advantage * lp + o.kl * kl;
  }
  return total / static_cast<double>(seqs.size());
}

// Central difference of reference_loss in coordinate (matrix m, index i).
double finite_difference(const std::shared_ptr<const Model>& model, const Decomposition& dec,
                         ExpertVectors expert, const std::vector<ScoredSequence>& seqs,
                         const LossOptions& o, std::size_t m, std::size_t i, double h) {
  const float v = expert.matrices[m].values[i];
  expert.matrices[m].values[i] = static_cast<float>(v + h);
  const double up = reference_loss(model, dec, expert, seqs, o);
  expert.matrices[m].values[i] = static_cast<float>(v - h);
  const double down = reference_loss(model, dec, expert, seqs, o);
  return (up - down) / (2 * h);
}

class ModelTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    setup_ = test::make_tiny_training(
        out_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    model_ = Model::load(setup_.model_dir);
    DecomposeParams dp;
    dp.targets = "mlp";
    dp.use_cache = false;
    dec_ = std::make_unique<Decomposition>(Decomposition::compute_or_load(setup_.model_dir, dp));
  }

  ExpertVectors expert(Parametrization p, double mean, double std, std::uint64_t seed) const {
    ExpertVectors e = ExpertVectors::identity(model_->config(), dec_->targets(), p);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(mean, std);
    for (auto& m : e.matrices)
      for (auto& v : m.values) v = static_cast<float>(normal(rng));
    return e;
  }

  std::vector<ScoredSequence> sequences() const { return test::scored_sequences(); }

  // Checks every `stride`-th coordinate of the gradient against central differences.
  void check_gradient(const ExpertVectors& e, const TrainParams& params, const LossOptions& o,
                      std::size_t stride) {
    const auto seqs = sequences();
    const ObjectiveValue value = svf_objective(model_, *dec_, e, seqs, params);
    EXPECT_NEAR(value.loss, reference_loss(model_, *dec_, e, seqs, o), 1e-4);
    double max_abs = 0.0;
    for (const auto& m : value.gradient.matrices)
      for (float g : m.values) max_abs = std::max(max_abs, std::abs(static_cast<double>(g)));
    ASSERT_GT(max_abs, 1e-3) << "the gradient should not vanish on this fixture";
    int checked = 0;
    for (std::size_t m = 0; m < e.matrices.size(); ++m)
      for (std::size_t i = m % stride; i < e.matrices[m].values.size(); i += stride) {
        const double fd = finite_difference(model_, *dec_, e, seqs, o, m, i, 1e-2);
        const double g = value.gradient.matrices[m].values[i];
        EXPECT_NEAR(g, fd, 2e-3 * max_abs + 2e-2 * std::abs(fd))
            << e.matrices[m].name << "[" << i << "]";
        ++checked;
      }
    EXPECT_GE(checked, 20);
  }

  test::TinyTraining setup_;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Decomposition> dec_;
};

TEST_F(ModelTraining, PaperGradientMatchesFiniteDifferences) {
  TrainParams params;
  params.micro_batch = 3;  // two micro-batches with different padding
  for (const char* scoring : {"recompose", "factored"}) {
    SCOPED_TRACE(scoring);
    params.scoring = t2::parse_choice<t2::ApplyMode>("scoring", scoring);
    check_gradient(expert(Parametrization::Paper, 1.0, 0.1, 1), params, {}, 4);
  }
}

TEST_F(ModelTraining, FactoredAndRecomposedScoringAgree) {
  const ExpertVectors e = expert(Parametrization::SakanaCompat, 0.1, 0.5, 3);
  TrainParams dense, factored;
  dense.scoring = t2::ApplyMode::Recompose;
  factored.scoring = t2::ApplyMode::Factored;
  dense.kl = factored.kl = 0.2;
  const auto a = svf_objective(model_, *dec_, e, sequences(), dense);
  const auto b = svf_objective(model_, *dec_, e, sequences(), factored);
  EXPECT_NEAR(a.loss, b.loss, 1e-4 * std::abs(a.loss));
  EXPECT_NEAR(a.kl, b.kl, 1e-5);
  for (std::size_t m = 0; m < a.gradient.matrices.size(); ++m)
    for (std::size_t i = 0; i < a.gradient.matrices[m].values.size(); ++i)
      EXPECT_NEAR(a.gradient.matrices[m].values[i], b.gradient.matrices[m].values[i], 1e-4)
          << a.gradient.matrices[m].name << "[" << i << "]";
}

TEST_F(ModelTraining, SakanaGradientWithTokenMeanAndKlMatchesFiniteDifferences) {
  TrainParams params;
  params.log_prob = t2::LogProb::TokenMean;
  params.kl = 0.3;
  params.scoring = t2::ApplyMode::Factored;
  LossOptions o{true, 0.3, false};
  ExpertVectors e = expert(Parametrization::SakanaCompat, 0.1, 0.5, 2);
  check_gradient(e, params, o, 4);
  params.kl_estimator = t2::KlEstimator::Full;
  params.log_prob = t2::LogProb::Sum;
  o = {false, 0.3, true};
  check_gradient(e, params, o, 8);
}

// The reference's rollout of one step, done here with the public API: greedy generation with the
// expert applied, the task's verdict as reward (+1 / -1), the reward as the advantage.
std::vector<ScoredSequence> greedy_rollouts(const std::shared_ptr<const Model>& model,
                                            const Decomposition& dec, const ExpertVectors& e,
                                            const test::TinyTraining& setup) {
  const Task task = Task::load(setup.task);
  const Tokenizer tok = Tokenizer::from_model_dir(setup.model_dir);
  Session session(model);
  apply_expert(session, dec, e);
  std::vector<ScoredSequence> out;
  for (const auto& item : task.load_split("train")) {
    const RenderedPrompt r = render_task_prompt(task.build_prompt(item), nullptr);
    const auto prompt = tok.encode(r.text, r.add_special_tokens);
    GenerateParams gp;
    gp.max_new_tokens = task.spec().generation.max_new_tokens;
    gp.eos_ids = {2};
    gp.decode = [&](const std::vector<std::int32_t>& ids) { return tok.decode(ids); };
    const auto seq = session.generate({prompt}, gp).sequences.front();
    out.push_back({prompt, seq.tokens, task.judge(seq.text, item).reward});
  }
  return out;
}

TEST_F(ModelTraining, SakanaCompatTwoStepsMatchHandComputation) {
  // Trained twice: the reference's dense scoring and the factored one must give the same steps.
  std::vector<TrainReport> reports;
  // A third run also generates its rollouts with every matrix factored (never merged): the
  // greedy rollouts, and so the steps, must not change.
  std::vector<std::vector<double>> norms(3);
  for (const char* scoring : {"recompose", "factored", "factored-rollouts"}) {
    TrainParams params = train_preset("sakana-compat");
    params.task = setup_.task;
    params.iterations = 2;
    params.eval_every = 0;
    params.checkpoint_every = 0;
    params.init_std = 0.0;  // p = 0.1 everywhere, so that the test knows the start exactly
    params.scoring =
        std::string(scoring) == "recompose" ? t2::ApplyMode::Recompose : t2::ApplyMode::Factored;
    params.rollout_weights = std::string(scoring) == "factored-rollouts" ? t2::ApplyMode::Factored
                                                                         : t2::ApplyMode::Recompose;
    TrainOptions options;
    options.model_dir = setup_.model_dir;
    options.cache_dir = out_dir("sakana-cache");
    auto& n = norms[reports.size()];
    options.on_iteration = [&n](const TrainIteration& it) { n.push_back(it.grad_norm); };
    reports.push_back(train_expert(params, options));
    ASSERT_EQ(reports.back().iterations_done, 2);
    ASSERT_EQ(n.size(), 2u);
  }

  // By hand: the reference's formulas. sigma' = sigma * sigmoid(p) * sum(sigma)/sum(sigma*m) is
  // what apply_expert computes for sakana-compat; the loss mean_j -r_j sum_t log pi is
  // reference_loss; its gradient by central differences; clip_grad_norm_(1e-3); Adam(2e-3).
  ExpertVectors p = expert(Parametrization::SakanaCompat, 0.1, 0.0, 0);
  std::vector<std::vector<double>> m1(p.matrices.size()), v1(p.matrices.size());
  const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int step = 1; step <= 2; ++step) {
    const auto seqs = greedy_rollouts(model_, *dec_, p, setup_);
    std::vector<std::vector<double>> g(p.matrices.size());
    double sq = 0.0;
    for (std::size_t m = 0; m < p.matrices.size(); ++m)
      for (std::size_t i = 0; i < p.matrices[m].values.size(); ++i) {
        g[m].push_back(finite_difference(model_, *dec_, p, seqs, {}, m, i, 1e-2));
        sq += g[m].back() * g[m].back();
      }
    const double norm = std::sqrt(sq);
    for (const auto& n : norms)
      EXPECT_NEAR(n[static_cast<std::size_t>(step - 1)], norm, 1e-2 * norm) << "step " << step;
    const double coef = std::min(1.0, 1e-3 / (norm + 1e-6));
    for (std::size_t m = 0; m < p.matrices.size(); ++m) {
      m1[m].resize(g[m].size());
      v1[m].resize(g[m].size());
      for (std::size_t i = 0; i < g[m].size(); ++i) {
        const double gi = g[m][i] * coef;
        m1[m][i] = b1 * m1[m][i] + (1 - b1) * gi;
        v1[m][i] = b2 * v1[m][i] + (1 - b2) * gi * gi;
        const double mhat = m1[m][i] / (1 - std::pow(b1, step));
        const double vhat = v1[m][i] / (1 - std::pow(b2, step));
        p.matrices[m].values[i] -= static_cast<float>(lr * mhat / (std::sqrt(vhat) + eps));
      }
    }
  }
  // Coordinates whose update is decided by a ratio of tiny gradients are noisy under finite
  // differences; everything else must agree to a small fraction of one step.
  int close = 0, total = 0;
  for (const auto& report : reports)
    for (std::size_t m = 0; m < p.matrices.size(); ++m) {
      ASSERT_EQ(report.best_expert.matrices[m].name, p.matrices[m].name);
      for (std::size_t i = 0; i < p.matrices[m].values.size(); ++i) {
        const double diff =
            std::abs(report.best_expert.matrices[m].values[i] - p.matrices[m].values[i]);
        close += diff < 0.05 * lr ? 1 : 0;
        ++total;
        EXPECT_LT(diff, 0.5 * lr) << p.matrices[m].name << "[" << i << "]";
      }
    }
  std::printf("%d of %d coordinates within 5 %% of a step\n", close, total);
  EXPECT_GE(close, total * 95 / 100) << close << " of " << total << " within 5 % of a step";
}

TEST_F(ModelTraining, RolloutsRunFactoredMatricesWithoutRecomposingWhereThatIsCheaper) {
  engine::train::SvfState state(*dec_, expert(Parametrization::Paper, 1.0, 0.1, 4), model_->impl());
  const std::size_t n = state.size();
  const std::vector<bool> all(n, true), none(n, false);
  // The flop model written out: factored for T tokens costs T * 2 ((in + out) r - in out) more
  // than the dense forward; recomposing costs 2 out in r once.
  const TargetMatrix& t = state.matrix(0).target;
  const double extra =
      2.0 * ((t.in_features + t.out_features) * t.rank() - t.in_features * t.out_features);
  const double recompose = 2.0 * t.out_features * t.in_features * t.rank();
  ASSERT_GT(extra, 0.0) << "full-rank fixture matrices cost more per token when factored";
  const auto break_even = static_cast<std::int64_t>(recompose / extra);
  EXPECT_TRUE(state.choose_rollout_factored(ApplyMode::Auto, all, break_even - 1)[0]);
  EXPECT_FALSE(state.choose_rollout_factored(ApplyMode::Auto, all, break_even + 1)[0]);
  EXPECT_EQ(state.choose_rollout_factored(ApplyMode::Recompose, all, 1), none);
  EXPECT_EQ(state.choose_rollout_factored(ApplyMode::Factored, all, 1000000000), all);
  EXPECT_EQ(state.choose_rollout_factored(ApplyMode::Factored, none, 1), none)
      << "matrices scored dense are recomposed for the scoring anyway";

  // Built for the rollouts with every matrix factored: no layer is rebuilt (the fused weights
  // stay the model's own tensors), every target is a factored override with sigma', and greedy
  // generation equals the same expert merged by apply_expert.
  Session session(model_);
  {
    at::NoGradGuard no_grad;
    state.build(session.impl(), all, all);
  }
  const auto& base_layers = model_->impl().layers;
  for (std::size_t l = 0; l < base_layers.size(); ++l)
    EXPECT_TRUE(session.impl().layers[l].gate_up_wt.is_same(base_layers[l].gate_up_wt));
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_NE(session.impl().find_factored(state.matrix(i).target.name), nullptr);
  Session merged(model_);
  ApplyParams ap;
  ap.mode = ApplyMode::Recompose;
  apply_expert(merged, *dec_, state.to_expert(), ap);
  GenerateParams gp;
  gp.max_new_tokens = 12;
  gp.ignore_eos = true;
  const std::vector<std::vector<std::int32_t>> prompts = {{5, 9, 17, 33}, {7, 8}};
  const auto a = session.generate(prompts, gp), b = merged.generate(prompts, gp);
  ASSERT_EQ(a.sequences.size(), b.sequences.size());
  for (std::size_t i = 0; i < a.sequences.size(); ++i)
    EXPECT_EQ(a.sequences[i].tokens, b.sequences[i].tokens);
  state.release(session.impl());
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(session.impl().find_factored(state.matrix(i).target.name), nullptr);
}

TEST_F(ModelTraining, NextTokenObjectiveLowersTheLossOnReferenceAnswers) {
  TrainParams params = train_preset("recommended");
  params.task = setup_.task;
  params.objective = t2::Objective::Sft;
  params.iterations = 12;
  params.eval_every = 0;
  params.checkpoint_every = 0;
  params.lr = 0.05;
  params.schedule = t2::LrSchedule::Constant;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.cache_dir = out_dir("sft-cache");
  std::vector<double> losses;
  options.on_iteration = [&](const TrainIteration& it) { losses.push_back(it.loss); };
  const TrainReport report = train_expert(params, options);
  ASSERT_EQ(losses.size(), 12u);
  // The loss is the mean next-token loss of "answer</s>" given the prompt, before each step.
  EXPECT_GT(losses.front(), 1.0);
  EXPECT_LT(losses.back(), 0.9 * losses.front()) << losses.front() << " -> " << losses.back();
  EXPECT_EQ(report.trainable_parameters, total_rank(dec_->targets()));
}

// sft_answer: the first step's loss is the next-token loss of the filled template + </s> under
// the initial (identity) expert, computed here from the task's prompts by the reference loss.
TEST_F(ModelTraining, SftAnswerTemplateIsTheTextTrainedOn) {
  TrainParams params = train_preset("recommended");
  params.task = setup_.task;
  params.objective = t2::Objective::Sft;
  params.sft_answer = "={answer}.";
  params.iterations = 1;
  params.batch = 16;  // every train item
  params.eval_every = 0;
  params.checkpoint_every = 0;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.cache_dir = out_dir("sft-answer-cache");
  double loss = 0.0;
  options.on_iteration = [&](const TrainIteration& it) { loss = it.loss; };
  train_expert(params, options);

  const Task task = Task::load(setup_.task);
  const Tokenizer tokenizer = Tokenizer::from_model_dir(setup_.model_dir);
  std::vector<ScoredSequence> seqs;
  for (const TaskItem& item : task.load_split("train", 0)) {
    const RenderedPrompt r = render_task_prompt(task.build_prompt(item), nullptr);
    std::vector<std::int32_t> answer =
        tokenizer.encode("=" + item.fields.at("answer") + ".", false);
    answer.push_back(2);  // </s>
    seqs.push_back({tokenizer.encode(r.text, r.add_special_tokens), answer, 1.0});
  }
  ASSERT_EQ(seqs.size(), 16u);
  const double expected =
      reference_loss(model_, *dec_, expert(Parametrization::Paper, 1.0, 0.0, 0), seqs, {});
  EXPECT_NEAR(loss, expected, 1e-4 * std::abs(expected));

  params.sft_answer = "{answer} {nope}";
  try {
    train_expert(params, options);
    FAIL() << "an unknown placeholder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("{nope}"), std::string::npos) << e.what();
  }
}

// init_expert: one Adam step moves each value by at most lr from the file's values (the first
// Adam step is lr * g / (|g| + eps)), far less than the file's distance from the identity.
TEST_F(ModelTraining, WarmStartStartsFromTheExpertFile) {
  ExpertVectors start = expert(Parametrization::Paper, 1.0, 0.2, 11);
  start.metadata.base_fingerprint = model_fingerprint(setup_.model_dir);
  start.metadata.target_set = "mlp";
  const std::string file = out_dir("warm-start") + "/start.safetensors";
  std::filesystem::create_directories(out_dir("warm-start"));
  write_expert(file, start);
  TrainParams params = train_preset("recommended");
  params.task = setup_.task;
  params.objective = t2::Objective::Sft;
  params.init_expert = file;
  params.iterations = 1;
  params.eval_every = 0;
  params.checkpoint_every = 0;
  params.lr = 1e-3;
  params.schedule = t2::LrSchedule::Constant;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.cache_dir = out_dir("warm-start-cache");
  const TrainReport report = train_expert(params, options);
  ASSERT_EQ(report.best_expert.matrices.size(), start.matrices.size());
  int moved = 0;
  double far_from_identity = 0.0;
  for (std::size_t m = 0; m < start.matrices.size(); ++m)
    for (std::size_t i = 0; i < start.matrices[m].values.size(); ++i) {
      const double v0 = start.matrices[m].values[i], v1 = report.best_expert.matrices[m].values[i];
      EXPECT_LE(std::abs(v1 - v0), 1.001e-3) << start.matrices[m].name << "[" << i << "]";
      moved += std::abs(v1 - v0) > 5e-4 ? 1 : 0;
      far_from_identity = std::max(far_from_identity, std::abs(v0 - 1.0));
    }
  EXPECT_GT(moved, 20);  // the step happened
  EXPECT_GT(far_from_identity, 0.2);
}

TEST_F(ModelTraining, WarmStartRefusesAnExpertOfAnotherModelTargetsOrParametrization) {
  const std::string dir = out_dir("warm-start-refused");
  std::filesystem::create_directories(dir);
  TrainParams params = train_preset("recommended");
  params.task = setup_.task;
  params.iterations = 1;
  params.eval_every = 0;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.cache_dir = dir + "/cache";
  auto expect_refused = [&](ExpertVectors e, const std::string& name, const std::string& word) {
    const std::string file = dir + "/" + name + ".safetensors";
    write_expert(file, e);
    params.init_expert = file;
    try {
      train_expert(params, options);
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::InvalidArgument) << err.what();
      const std::string what = err.what();
      EXPECT_NE(what.find(file), std::string::npos) << what;
      EXPECT_NE(what.find(word), std::string::npos) << what;
    }
  };
  ExpertVectors good = expert(Parametrization::Paper, 1.0, 0.0, 0);
  good.metadata.base_fingerprint = model_fingerprint(setup_.model_dir);
  good.metadata.target_set = "mlp";
  ExpertVectors other_model = good;
  other_model.metadata.base_fingerprint = "0123456789abcdef";
  expect_refused(other_model, "other-model", "0123456789abcdef");
  ExpertVectors other_targets = good;
  other_targets.metadata.target_set = "attn";
  expect_refused(other_targets, "other-targets", "targets attn");
  ExpertVectors sakana = expert(Parametrization::SakanaCompat, 0.1, 0.0, 0);
  sakana.metadata.base_fingerprint = good.metadata.base_fingerprint;
  sakana.metadata.target_set = "mlp";
  expect_refused(sakana, "sakana", "parametrization sakana-compat");
  ExpertVectors short_vector = good;
  short_vector.matrices[1].values.pop_back();
  expect_refused(short_vector, "short", short_vector.matrices[1].name);
  params.init_expert = dir + "/missing.safetensors";
  EXPECT_THROW(train_expert(params, options), Error);
}

TEST_F(ModelTraining, CancelEndsTheRunCancelledWithItsBestExpert) {
  const std::string db = out_dir("cancel") + "/ws.db";
  std::filesystem::create_directories(out_dir("cancel"));
  std::filesystem::remove(db);
  TrainParams params = train_preset("sakana-compat");
  params.task = setup_.task;
  params.iterations = 50;
  params.eval_every = 2;
  params.checkpoint_every = 2;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.db_path = db;
  options.cache_dir = out_dir("cancel-cache");
  CancelToken cancel;
  options.on_iteration = [&](const TrainIteration& it) {
    if (it.iteration == 3) cancel.request_cancel();
  };
  try {
    train_expert(params, options, JobContext({}, cancel));
    FAIL() << "cancel did not stop training";
  } catch (const Error& e) {
    EXPECT_TRUE(e.is_cancelled()) << e.what();
  }
  RunStore store(db);
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::Cancelled);
  EXPECT_EQ(runs[0].kind, "train");
  EXPECT_EQ(train_params_from_json(runs[0].params_json).iterations, 50);
  const auto experts = store.experts(runs[0].id);
  ASSERT_EQ(experts.size(), 1u);
  const ExpertVectors best = read_expert(experts[0].path);
  EXPECT_EQ(best.metadata.parametrization, Parametrization::SakanaCompat);
  EXPECT_EQ(best.metadata.run_id, std::to_string(runs[0].id));
  EXPECT_EQ(best.total_values(), total_rank(dec_->targets()));
  // The best expert is the one of the best validation accuracy among iterations 0 and 2.
  const auto acc = store.metric_series({{runs[0].id}, {"accuracy_validation"}, 0});
  ASSERT_EQ(acc.size(), 1u);
  ASSERT_EQ(acc[0].points.size(), 2u);
  const std::int64_t best_step =
      acc[0].points[1].value > acc[0].points[0].value ? acc[0].points[1].step : 0;
  EXPECT_NE(best.metadata.note.find("iteration " + std::to_string(best_step)), std::string::npos)
      << best.metadata.note;
  // Iteration 3 finished before the cancel was seen; no iteration 4.
  const auto loss = store.metric_series({{runs[0].id}, {"loss"}, 0});
  ASSERT_EQ(loss.size(), 1u);
  EXPECT_EQ(loss[0].points.back().step, 3);
}

TEST_F(ModelTraining, ResumingFromACheckpointContinuesExactly) {
  const std::string dir = out_dir("resume-exact");
  std::filesystem::create_directories(dir);
  TrainParams params = train_preset("sakana-compat");  // no baseline: every rollout counts
  params.task = setup_.task;
  params.init_std = 0.0;
  params.iterations = 4;
  params.batch = 6;  // 16 items: batches cross epochs, so the order must be reproduced too
  params.eval_every = 0;
  params.checkpoint_every = 2;
  TrainOptions options;
  options.model_dir = setup_.model_dir;
  options.cache_dir = dir + "/cache";
  const TrainReport straight = train_expert(params, options);

  // The same run stopped during iteration 3 (after the checkpoint of iteration 2), its writer
  // then gone (interrupted), and resumed.
  options.db_path = dir + "/ws.db";
  std::filesystem::remove(options.db_path);
  CancelToken cancel;
  options.on_iteration = [&](const TrainIteration& it) {
    if (it.iteration == 3) cancel.request_cancel();
  };
  EXPECT_THROW(train_expert(params, options, JobContext({}, cancel)), Error);
  {
    RunStore store(options.db_path);
    store.finish_run(1, RunStatus::Interrupted, "simulated crash");
  }
  std::vector<int> seen;
  options.on_iteration = [&](const TrainIteration& it) { seen.push_back(it.iteration); };
  const TrainReport resumed = resume_training(1, options);
  EXPECT_EQ(seen, (std::vector<int>{3, 4}));  // from the checkpoint, not from the start
  EXPECT_EQ(resumed.iterations_done, 4);
  EXPECT_EQ(resumed.status, "finished");
  ASSERT_EQ(resumed.best_expert.matrices.size(), straight.best_expert.matrices.size());
  for (std::size_t m = 0; m < straight.best_expert.matrices.size(); ++m)
    for (std::size_t i = 0; i < straight.best_expert.matrices[m].values.size(); ++i)
      EXPECT_NEAR(resumed.best_expert.matrices[m].values[i],
                  straight.best_expert.matrices[m].values[i], 1e-6)
          << straight.best_expert.matrices[m].name << "[" << i << "]";
  // The values moved (a test of nothing otherwise).
  EXPECT_NE(straight.best_expert.matrices[0].values, std::vector<float>(32, 0.1f));
}

}  // namespace
}  // namespace t2

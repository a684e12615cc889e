// Two-pass prompt dispatch (t2/adapt.h) on the bundled demo model and expert library: pass-1
// decisions are the first \boxed{} category of pass 1's output; every pass-2 answer equals the
// answer of a plain evaluation of the whole split with the expert its question was routed to
// (base weights for "other"); routing of the demo's math-unseen questions is high; the run is
// stored with its metrics. Also EvalParams::items (a subset keeps split positions).
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

namespace {

namespace fs = std::filesystem;

const std::string kResources = std::string(T2_SOURCE_DIR) + "/resources";

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "adapt" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ModelPromptDispatch, AnswersEqualTheRoutedExpertsOwnEvaluation) {
  const auto demo = t2::demo_info(kResources);
  if (!demo.model_present || demo.experts.empty() || demo.classification_task.empty())
    GTEST_SKIP() << "no demo model, expert library or classification task in resources/demo";
  const std::string dir = demo.model_dir;
  const auto model = t2::Model::load(dir);
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  const auto library = t2::read_expert_library(demo.experts_dir + "/library.json");
  const auto classifier = t2::Task::load(demo.classification_task);
  const auto task = t2::Task::load(kResources + "/demo/tasks/math-unseen/task.json");
  t2::DispatchParams params;
  params.eval.limit = 40;
  t2::RunStore store((fresh("dispatch") / "runs.db").string());
  const auto d = t2::evaluate_prompt_dispatch(model, dir, tok, &chat, library, classifier, task,
                                              params, &store);
  ASSERT_EQ(d.report.n, 40);
  ASSERT_EQ(d.decisions.size(), 40u);
  const auto categories = library.categories();
  std::map<std::string, std::vector<std::int64_t>> routed;
  for (const auto& decision : d.decisions) {
    EXPECT_EQ(decision.category, t2::parse_boxed_category(decision.output, categories))
        << decision.output;
    EXPECT_EQ(decision.true_category, "math");
    routed[decision.category].push_back(decision.index);
  }
  // The demo model was pretrained on the classification prompt (classify accuracy 0.99).
  EXPECT_GE(d.routing_accuracy, 0.9);
  EXPECT_EQ(d.confusion.at("math").at("math"), static_cast<std::int64_t>(routed["math"].size()));
  EXPECT_GT(d.pass1_seconds, 0.0);
  EXPECT_GT(d.pass2_seconds, 0.0);

  // Independently: the whole split with each routed category's expert (or the base model).
  for (const auto& [category, indices] : routed) {
    t2::Session session(model);
    if (const auto* e = library.find(category)) {
      const auto loaded = t2::load_expert_file(dir, library.resolve(*e));
      t2::apply_expert(session, loaded.decomposition, loaded.expert);
    }
    t2::EvalParams whole;
    whole.limit = 40;
    const auto plain = t2::evaluate(session, tok, &chat, task, whole);
    for (const std::int64_t i : indices) {
      const auto& got = d.report.items.at(static_cast<std::size_t>(i));
      ASSERT_EQ(got.index, i);
      EXPECT_EQ(got.output, plain.items.at(static_cast<std::size_t>(i)).output)
          << category << " item " << i;
      EXPECT_EQ(got.correct, plain.items.at(static_cast<std::size_t>(i)).correct);
    }
  }

  // Stored: one finished eval run, strategy "prompt", with the routing metric.
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, t2::RunStatus::Finished);
  EXPECT_EQ(store.evaluations(runs[0].id).at(0).strategy, "prompt");
  const auto best = store.best_values({runs[0].id}, {"routing_accuracy"}, t2::BestMode::Last);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_DOUBLE_EQ(best[0].value, d.routing_accuracy);

  // A classifier that is not a classification task is refused.
  EXPECT_THROW(t2::evaluate_prompt_dispatch(model, dir, tok, &chat, library, task, task, params),
               t2::Error);
}

TEST(ModelPromptDispatch, EvaluatingASubsetKeepsSplitPositions) {
  const auto demo = t2::demo_info(kResources);
  if (!demo.model_present) GTEST_SKIP() << "no demo model in resources/demo";
  t2::Session session(t2::Model::load(demo.model_dir));
  const auto tok = t2::Tokenizer::from_model_dir(demo.model_dir);
  const auto chat = t2::ChatTemplate::from_model_dir(demo.model_dir);
  const auto task = t2::Task::load(kResources + "/demo/tasks/math/task.json");
  t2::EvalParams all;
  all.limit = 6;
  const auto whole = t2::evaluate(session, tok, &chat, task, all);
  t2::EvalParams some = all;
  some.items = {4, 1};
  const auto part = t2::evaluate(session, tok, &chat, task, some);
  ASSERT_EQ(part.n, 2);
  EXPECT_EQ(part.items[0].index, 1);
  EXPECT_EQ(part.items[1].index, 4);
  EXPECT_EQ(part.items[0].output, whole.items[1].output);
  EXPECT_EQ(part.items[1].output, whole.items[4].output);
  some.items = {6};  // outside the first 6
  EXPECT_THROW(t2::evaluate(session, tok, &chat, task, some), t2::Error);
  some.items = {2, 2};
  EXPECT_THROW(t2::evaluate(session, tok, &chat, task, some), t2::Error);
}

// A copy of the demo library whose classifier is `classifier_file` (absolute paths).
t2::ExpertLibrary library_with_classifier(const t2::DemoInfo& demo, const std::string& file) {
  auto lib = t2::read_expert_library(demo.experts_dir + "/library.json");
  for (auto& e : lib.experts) e.file = lib.resolve(e);
  lib.classifier = {};
  lib.classifier.file = file;
  lib.path = (fresh("classifier-lib") / "library.json").string();
  return lib;
}

TEST(ModelPromptDispatch, ClassifierStrategiesRunPass1WithTheClassifierExpert) {
  const auto demo = t2::demo_info(kResources);
  if (!demo.model_present || demo.experts.size() < 3 || demo.classification_task.empty())
    GTEST_SKIP() << "no demo model, expert library or classification task in resources/demo";
  const std::string dir = demo.model_dir;
  const auto model = t2::Model::load(dir);
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  const auto classify = t2::Task::load(demo.classification_task);
  const auto task = t2::Task::load(kResources + "/demo/tasks/mixed/task.json");
  // Any expert can serve as the pass-1 expert; the math expert changes pass 1 measurably.
  auto lib = t2::read_expert_library(demo.experts_dir + "/library.json");
  const std::string math_file = lib.resolve(*lib.find("math"));
  const auto library = library_with_classifier(demo, math_file);
  t2::DispatchParams params;
  params.eval.limit = 12;
  params.strategy = t2::StrategyKind::Classifier;
  const auto hard =
      t2::evaluate_prompt_dispatch(model, dir, tok, &chat, library, classify, task, params);
  // Independently: pass 1 of the first question, generated alone with the expert applied.
  t2::Session with_expert(model);
  const auto loaded = t2::load_expert_file(dir, math_file);
  t2::apply_expert(with_expert, loaded.decomposition, loaded.expert);
  const auto items = task.load_split("test", 12);
  t2::TaskItem c;
  c.id = items[0].id;
  c.fields = {{"text", task.build_prompt(items[0]).messages.back().content}, {"label", ""}};
  const auto rendered = t2::render_task_prompt(classify.build_prompt(c), &chat);
  t2::GenerateParams g;
  g.max_new_tokens = classify.spec().generation.max_new_tokens;
  g.eos_ids = t2::end_of_generation_ids(model->config(), tok, &chat);
  g.stop_strings = classify.spec().generation.stop;
  g.decode = t2::tokenizer_decoder(tok);
  const auto alone =
      with_expert.generate({tok.encode(rendered.text, rendered.add_special_tokens)}, g);
  EXPECT_EQ(hard.decisions[0].output, alone.sequences[0].text);

  // classifier-soft: probabilities over the categories and "other" that sum to 1, and each
  // answer equals a plain generation with that question's mix applied.
  params.strategy = t2::StrategyKind::ClassifierSoft;
  const auto soft =
      t2::evaluate_prompt_dispatch(model, dir, tok, &chat, library, classify, task, params);
  ASSERT_EQ(soft.report.n, 12);
  std::vector<t2::ExpertVectors> experts;
  for (const auto& e : library.experts) experts.push_back(t2::load_expert_file(dir, e.file).expert);
  t2::ExpertVectors identity = experts[0];
  for (auto& m : identity.matrices) m.values.assign(m.values.size(), 1.0f);
  experts.push_back(identity);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& d = soft.decisions[i];
    ASSERT_EQ(d.probabilities.size(), 4u);
    double sum = 0.0;
    t2::MixAlpha alpha;
    for (const auto& category : {"math", "code", "reasoning", "other"}) {
      const double p = d.probabilities.at(category);
      EXPECT_GE(p, 0.0);
      sum += p;
      alpha.rows.push_back({p});
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    t2::Session mixed(model);
    t2::apply_expert(mixed, loaded.decomposition, t2::mix_experts(experts, alpha).expert);
    t2::EvalParams one;
    one.limit = 12;
    one.items = {static_cast<std::int64_t>(i)};
    const auto plain = t2::evaluate(mixed, tok, &chat, task, one);
    EXPECT_EQ(soft.report.items[i].output, plain.items[0].output) << "item " << i;
  }

  // A library without a classifier expert is refused for both.
  auto none = library;
  none.classifier = {};
  EXPECT_THROW(t2::evaluate_prompt_dispatch(model, dir, tok, &chat, none, classify, task, params),
               t2::Error);
}

TEST(ModelTwoPassChat, ATurnAnswersWithTheRoutedExpertAndIsStored) {
  const auto demo = t2::demo_info(kResources);
  if (!demo.model_present || demo.experts.size() < 3 || demo.classification_task.empty())
    GTEST_SKIP() << "no demo model, expert library or classification task in resources/demo";
  const std::string dir = demo.model_dir;
  const auto model = t2::Model::load(dir);
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat_template = t2::ChatTemplate::from_model_dir(dir);
  const auto classify = t2::Task::load(demo.classification_task);
  const auto library = t2::read_expert_library(demo.experts_dir + "/library.json");
  t2::TwoPassChat chat(model, dir, tok, &chat_template, library, &classify);
  const std::string message =
      "There are 3 pens in a box. Ann puts in 4 more. How many pens are in the box now?";
  t2::ChatTurnParams params;
  params.strategy = t2::Strategy::prompt(library.path);
  params.generation.max_new_tokens = 40;
  int decisions = 0;
  params.on_decision = [&](const t2::ChatTurn& t) {
    ++decisions;
    EXPECT_FALSE(t.decision.empty());
  };
  std::string streamed;
  t2::TextCallbacks cb;
  cb.on_text = [&](const std::string& piece) { streamed += piece; };
  const auto turn = chat.reply({}, message, params, cb);
  EXPECT_EQ(decisions, 1);
  EXPECT_EQ(streamed, turn.answer.sequence.text);
  // Pass 1 is the classification prompt's answer, parsed as evaluation parses it.
  EXPECT_EQ(turn.decision, t2::parse_boxed_category(turn.pass1_output, library.categories()));
  ASSERT_EQ(turn.mix.size(), 1u);
  EXPECT_EQ(turn.mix.begin()->first, turn.decision);
  // Pass 2 equals generate_text on a session with that category's expert (base for "other").
  t2::Session expected(model);
  if (const auto* e = library.find(turn.decision))
    t2::apply_strategy(expected, dir, t2::Strategy::expert(library.resolve(*e)));
  t2::TextPrompt prompt;
  prompt.kind = t2::TextPrompt::Kind::Chat;
  prompt.text = message;
  const auto alone = t2::generate_text(expected, &tok, &chat_template, prompt, params.generation);
  EXPECT_EQ(turn.answer.sequence.text, alone.sequence.text);
  EXPECT_GT(turn.pass1_seconds, 0.0);
  EXPECT_GE(turn.first_token_seconds, turn.pass1_seconds);

  // A second turn sees the first in its history; base answers without a pass 1.
  t2::ChatTurnParams base = params;
  base.strategy = t2::Strategy::base();
  decisions = 0;
  const auto second = chat.reply({{"user", message}, {"assistant", turn.answer.sequence.text}},
                                 "And then Ann takes 2 out?", base);
  EXPECT_EQ(decisions, 0);
  EXPECT_TRUE(second.decision.empty());
  EXPECT_TRUE(second.mix.empty());

  // Stored: one chat, user and assistant messages with the decision, mix and timings.
  t2::RunStore store((fresh("chat") / "runs.db").string());
  const auto id = t2::store_chat_turn(store, 0, message, turn);
  EXPECT_EQ(t2::store_chat_turn(store, id, "And then?", second), id);
  const auto messages = store.messages(id);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1].role, "assistant");
  EXPECT_EQ(messages[1].content, turn.answer.sequence.text);
  EXPECT_EQ(messages[1].pass1_decision, turn.decision);
  EXPECT_NE(messages[1].timings_json.find("pass1_ms"), std::string::npos);

  // Two-pass strategies need a library and the classification task.
  t2::TwoPassChat bare(model, dir, tok, &chat_template);
  EXPECT_THROW(bare.reply({}, message, params), t2::Error);
}

}  // namespace

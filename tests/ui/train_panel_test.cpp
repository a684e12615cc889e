// The Train dock on the tiny training set-up (tests/training_fixture.h): a short RL run plots one
// point per iteration (live, before the job ends), validation points at the evaluated
// iterations, stores a finished run of kind "train" with its params and best expert, and its
// "Evaluate it" button (enabled once a run has finished) hands the best expert on; a LoRA run's
// adapter, applied by the Evaluate dock, gives the engine's answers with the adapter, which differ
// from the base model's; Stop ends the run cancelled; bad input says what to do.
#include "train_panel.h"
#include "eval_panel.h"
#include "job_runner.h"
#include "model_panel.h"
#include "plot/line_chart.h"
#include "test_support.h"
#include "training_fixture.h"
#include "workspace.h"

#include <t2/engine.h>

#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

namespace {

namespace fs = std::filesystem;

std::string root(const char* name) {
  return (fs::path(T2_TEST_OUTPUT_DIR) / "train-panel-test" / name).string();
}

struct Fixture {
  explicit Fixture(const char* name) : setup(t2::test::make_tiny_training(root(name))) {}
  t2::test::TinyTraining setup;
  JobRunner jobs;
  ModelPanel models{&jobs};
  TrainPanel panel{&jobs};
  std::string db = root("runs.db");
  Workspace workspace;
  std::optional<t2::RunStore> store;  // the workspace's run store (the GUI's connection)

  bool load() {
    models.openFolder(QString::fromStdString(setup.model_dir));
    if (!waitUntil([&] { return !models.isLoading() && models.model() != nullptr; })) return false;
    panel.setModel(models.model());
    panel.setTaskSpecs({QString::fromStdString(setup.task)});
    fs::remove(db);
    store.emplace(db);
    workspace.setStore(&*store);
    panel.setWorkspace(&workspace);
    panel.presetBox()->setCurrentText(QStringLiteral("recommended"));
    return true;
  }
};

// The dock's "Evaluate it" button (it has no accessor; found by its label).
QPushButton* evaluateItButton(const TrainPanel& panel) {
  for (auto* button : panel.findChildren<QPushButton*>())
    if (button->text() == QStringLiteral("Evaluate it")) return button;
  return nullptr;
}

}  // namespace

TEST(TrainPanel, ARunPlotsEveryIterationAndStoresItsBestExpert) {
  Fixture f("run");
  ASSERT_TRUE(f.load());
  f.panel.setIterations(4);
  f.panel.setBatch(4);
  f.panel.setEvalEvery(2);
  QSignalSpy evaluate(&f.panel, &TrainPanel::evaluateExpert);
  QPushButton* evaluateIt = evaluateItButton(f.panel);
  ASSERT_NE(evaluateIt, nullptr);
  EXPECT_FALSE(evaluateIt->isEnabled()) << "no expert trained yet";
  f.panel.train();
  ASSERT_TRUE(f.panel.isTraining()) << f.panel.errorText().toStdString();
  EXPECT_FALSE(evaluateIt->isEnabled()) << "still training";
  ASSERT_TRUE(waitUntil([&] { return !f.panel.isTraining(); }, 120000));
  ASSERT_TRUE(f.panel.errorText().isEmpty()) << f.panel.errorText().toStdString();

  // One point per iteration, in order; validation at iterations 2 and 4 only.
  const auto& points = f.panel.points();
  ASSERT_EQ(points.size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(points[i].iteration, i + 1);
  EXPECT_LT(points[0].validationAccuracy, 0);
  EXPECT_GE(points[1].validationAccuracy, 0);
  EXPECT_LT(points[2].validationAccuracy, 0);
  EXPECT_GE(points[3].validationAccuracy, 0);
  EXPECT_EQ(f.panel.rewardChart()->seriesCount(), 1);
  EXPECT_EQ(f.panel.accuracyChart()->seriesCount(), 2);  // train + validation
  EXPECT_TRUE(f.panel.statusText().contains(QStringLiteral("Finished 4 iterations")))
      << f.panel.statusText().toStdString();

  // Stored: a finished train run with the dock's settings and the best expert on disk.
  t2::RunStore store(f.db);
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].kind, "train");
  EXPECT_EQ(runs[0].status, t2::RunStatus::Finished);
  const t2::TrainParams stored = t2::train_params_from_json(runs[0].params_json);
  EXPECT_EQ(stored.iterations, 4);
  EXPECT_EQ(stored.batch, 4);
  EXPECT_EQ(stored.preset, "recommended");
  ASSERT_FALSE(f.panel.bestExpertPath().isEmpty());
  EXPECT_TRUE(fs::exists(f.panel.bestExpertPath().toStdString()));

  // "Evaluate it" is enabled now and hands exactly that file on, once per click.
  EXPECT_EQ(evaluate.count(), 0) << "nothing is handed on before the click";
  ASSERT_TRUE(evaluateIt->isEnabled());
  evaluateIt->click();
  ASSERT_EQ(evaluate.count(), 1);
  EXPECT_EQ(evaluate.at(0).at(0).toString(), f.panel.bestExpertPath());

  f.panel.resize(520, 640);
  EXPECT_TRUE(f.panel.grab().save(testOutputPath(QStringLiteral("screenshots/train_dock.png"))));
}

TEST(TrainPanel, LoraMethodTrainsAnAdapterThatTheEvaluateDockApplies) {
  Fixture f("lora");
  ASSERT_TRUE(f.load());
  const int lora = f.panel.methodBox()->findData(QStringLiteral("lora"));
  ASSERT_GE(lora, 0);
  f.panel.methodBox()->setCurrentIndex(lora);
  f.panel.setLoraRank(2);
  f.panel.setIterations(3);
  f.panel.setBatch(4);
  f.panel.setEvalEvery(0);
  f.panel.setLearningRate(0.05);
  f.panel.train();
  ASSERT_TRUE(f.panel.isTraining()) << f.panel.errorText().toStdString();
  ASSERT_TRUE(waitUntil([&] { return !f.panel.isTraining(); }, 120000));
  ASSERT_TRUE(f.panel.errorText().isEmpty()) << f.panel.errorText().toStdString();
  ASSERT_EQ(f.panel.points().size(), 3);

  // Stored as a LoRA run with the dock's rank (alpha = 2 r); the best output is a PEFT folder.
  t2::RunStore store(f.db);
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  const t2::TrainParams stored = t2::train_params_from_json(runs[0].params_json);
  EXPECT_EQ(stored.method, t2::TrainMethod::Lora);
  EXPECT_EQ(stored.lora_rank, 2);
  EXPECT_DOUBLE_EQ(stored.lora_alpha, 4.0);
  const std::string adapterDir = f.panel.bestExpertPath().toStdString();
  ASSERT_TRUE(fs::is_directory(adapterDir)) << adapterDir;
  const t2::LoraAdapter adapter = t2::read_lora_adapter(adapterDir);
  EXPECT_EQ(adapter.config.rank, 2);
  float max_b = 0.0f;
  for (const auto& m : adapter.matrices)
    for (float b : m.b) max_b = std::max(max_b, std::abs(b));
  EXPECT_GT(max_b, 0.0f) << "training moved B away from its zero init";

  // The Evaluate dock takes the folder ("Evaluate it") and applies it: its outputs equal the
  // engine's evaluation of a session with the adapter merged.
  EvalPanel eval(&f.jobs);
  eval.setModel(f.models.model());
  eval.setTaskSpecs({QString::fromStdString(f.setup.task)});
  eval.setExpertFile(f.panel.bestExpertPath());
  eval.splitBox()->setCurrentText(QStringLiteral("validation"));
  eval.setLimit(6);
  eval.evaluate();
  ASSERT_TRUE(waitUntil([&] { return !eval.isEvaluating() && !f.jobs.isRunning(); }, 60000));
  ASSERT_TRUE(eval.errorText().isEmpty()) << eval.errorText().toStdString();
  ASSERT_TRUE(eval.lastReport().has_value());
  t2::Session session(t2::Model::load(f.setup.model_dir));
  t2::apply_lora(session, adapter);
  const auto tokenizer = t2::Tokenizer::from_model_dir(f.setup.model_dir);
  std::optional<t2::ChatTemplate> chat;
  try {
    chat = t2::ChatTemplate::from_model_dir(f.setup.model_dir);
  } catch (const t2::Error&) {
  }
  t2::EvalParams params;
  params.split = "validation";
  params.limit = 6;
  const t2::EvalReport want = t2::evaluate(session, tokenizer, chat ? &*chat : nullptr,
                                           t2::Task::load(f.setup.task), params);
  const t2::EvalReport& got = *eval.lastReport();
  ASSERT_EQ(got.items.size(), want.items.size());
  for (std::size_t i = 0; i < want.items.size(); ++i)
    EXPECT_EQ(got.items[i].output, want.items[i].output) << i;

  // The adapter matters, so that agreeing means something: the engine's evaluation of the base
  // model (no adapter) answers at least one of these items differently.
  t2::Session baseSession(t2::Model::load(f.setup.model_dir));
  const t2::EvalReport base = t2::evaluate(baseSession, tokenizer, chat ? &*chat : nullptr,
                                           t2::Task::load(f.setup.task), params);
  ASSERT_EQ(base.items.size(), got.items.size());
  std::size_t changed = 0;
  for (std::size_t i = 0; i < base.items.size(); ++i)
    changed += got.items[i].output != base.items[i].output;
  EXPECT_GT(changed, 0u) << "the Evaluate dock's outputs with the adapter equal the base model's";
}

TEST(TrainPanel, StopEndsTheRunCancelled) {
  Fixture f("stop");
  ASSERT_TRUE(f.load());
  f.panel.setIterations(500);
  f.panel.setBatch(4);
  f.panel.setEvalEvery(0);
  f.panel.train();
  ASSERT_TRUE(waitUntil([&] { return f.panel.points().size() >= 1; }, 60000));
  f.panel.stop();
  ASSERT_TRUE(waitUntil([&] { return !f.panel.isTraining(); }, 60000));
  EXPECT_LT(f.panel.points().size(), 500);
  EXPECT_TRUE(f.panel.statusText().contains(QStringLiteral("stopped")))
      << f.panel.statusText().toStdString();
  t2::RunStore store(f.db);
  const auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, t2::RunStatus::Cancelled);
}

TEST(TrainPanel, WithoutAModelItSaysWhatToOpen) {
  JobRunner jobs;
  TrainPanel panel(&jobs);
  panel.train();
  EXPECT_FALSE(panel.isTraining());
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("Open a model folder")));
}

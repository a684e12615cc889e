// The Train dock on the tiny training set-up (tests/training_fixture.h): a short RL run plots one
// point per iteration (live, before the job ends), validation points at the evaluated
// iterations, stores a finished run of kind "train" with its params and best expert, and hands
// the best expert to "Evaluate it"; Stop ends the run cancelled; bad input says what to do.
#include "job_runner.h"
#include "model_panel.h"
#include "plot/line_chart.h"
#include "test_support.h"
#include "train_panel.h"
#include "training_fixture.h"

#include <t2/engine.h>

#include <QComboBox>
#include <QSignalSpy>

#include <gtest/gtest.h>

#include <filesystem>

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

  bool load() {
    models.openFolder(QString::fromStdString(setup.model_dir));
    if (!waitUntil([&] { return !models.isLoading() && models.model() != nullptr; })) return false;
    panel.setModel(models.model());
    panel.setTaskSpecs({QString::fromStdString(setup.task)});
    fs::remove(db);
    panel.setWorkspace(QString::fromStdString(db));
    panel.presetBox()->setCurrentText(QStringLiteral("recommended"));
    return true;
  }
};

}  // namespace

TEST(TrainPanel, ARunPlotsEveryIterationAndStoresItsBestExpert) {
  Fixture f("run");
  ASSERT_TRUE(f.load());
  f.panel.setIterations(4);
  f.panel.setBatch(4);
  f.panel.setEvalEvery(2);
  QSignalSpy evaluate(&f.panel, &TrainPanel::evaluateExpert);
  f.panel.train();
  ASSERT_TRUE(f.panel.isTraining()) << f.panel.errorText().toStdString();
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

  f.panel.evaluateExpert(f.panel.bestExpertPath());
  ASSERT_EQ(evaluate.count(), 1);

  f.panel.resize(520, 640);
  EXPECT_TRUE(f.panel.grab().save(testOutputPath(QStringLiteral("screenshots/train_dock.png"))));
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

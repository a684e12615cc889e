// The Evaluate dock on the tiny chat model (tests/support/tiny_chat_model.h): its report equals
// t2::evaluate called directly with the same settings; the run lands in the store with every
// item; "Wrong only" shows exactly the wrong items; export writes the report; errors are shown.
#include "eval_panel.h"
#include "job_runner.h"
#include "model_panel.h"
#include "plot/bar_chart.h"
#include "support/tiny_chat_model.h"
#include "test_support.h"
#include "workspace.h"

#include <t2/engine.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTableWidget>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;

fs::path workDir() { return fs::path(T2_TEST_OUTPUT_DIR) / "eval-panel-test"; }

// A generic task whose gold answers make some items right: gold = the first word the tiny model
// happens to produce is unknown in advance, so half the golds are "" (never matched by a
// non-empty output) and the test compares against t2::evaluate instead of fixed values.
QString writeTask() {
  const fs::path dir = workDir() / "task";
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "test.jsonl");
    const char* questions[] = {"two plus two?", "a colour", "hi", "apple backwards", "x", "sky?"};
    for (const char* q : questions)
      out << nlohmann::json{{"question", q}, {"answer", "a"}}.dump() << "\n";
  }
  const nlohmann::json spec = {{"name", "ui-eval"},
                               {"kind", "generic"},
                               {"data", {{"test", "test.jsonl"}, {"validation", "test.jsonl"}}},
                               {"prompt", {{"user", "Q: {question}"}}},
                               {"generation", {{"max_new_tokens", 6}, {"stop", {"e"}}}},
                               {"extractor", {{"kind", "exact"}}}};
  std::ofstream(dir / "task.json") << spec.dump(2);
  return QString::fromStdString((dir / "task.json").string());
}

struct Fixture {
  JobRunner jobs;
  ModelPanel models{&jobs};
  EvalPanel panel{&jobs};
  QString modelDir = QString::fromStdString(t2_test::write_tiny_chat_model(workDir() / "model"));
  QString task = writeTask();

  bool load() {
    models.openFolder(modelDir);
    if (!waitUntil([&] { return !models.isLoading() && models.model() != nullptr; })) return false;
    panel.setModel(models.model());
    panel.setTaskSpecs({task});
    return true;
  }
  bool run() {
    panel.evaluate();
    return waitUntil([&] { return !panel.isEvaluating() && !jobs.isRunning(); }, 60000);
  }
};

}  // namespace

TEST(EvalPanel, ReportEqualsTheEngineAndIsStoredWithEveryItem) {
  Fixture f;
  ASSERT_TRUE(f.load());
  const fs::path db = workDir() / "runs.db";
  fs::remove(db);
  t2::RunStore store(db.string());
  Workspace workspace;
  workspace.setStore(&store);
  f.panel.setWorkspace(&workspace);
  f.panel.setLimit(5);
  f.panel.setBatchSize(2);
  ASSERT_EQ(f.panel.splitBox()->currentText(), QStringLiteral("test"));
  ASSERT_TRUE(f.run());
  ASSERT_TRUE(f.panel.errorText().isEmpty()) << f.panel.errorText().toStdString();
  ASSERT_TRUE(f.panel.lastReport().has_value());
  const t2::EvalReport& got = *f.panel.lastReport();

  // The same evaluation straight through the engine.
  const std::string dir = f.modelDir.toStdString();
  t2::Session session(t2::Model::load(dir));
  const auto tokenizer = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  const auto task = t2::Task::load(f.task.toStdString());
  t2::EvalParams params;
  params.limit = 5;
  params.batch_size = 2;
  const t2::EvalReport want = t2::evaluate(session, tokenizer, &chat, task, params);
  ASSERT_EQ(got.n, 5);
  ASSERT_EQ(got.items.size(), want.items.size());
  for (std::size_t i = 0; i < want.items.size(); ++i) {
    EXPECT_EQ(got.items[i].output, want.items[i].output) << i;
    EXPECT_EQ(got.items[i].correct, want.items[i].correct) << i;
  }
  EXPECT_EQ(got.correct, want.correct);
  EXPECT_TRUE(f.panel.summaryText().contains(QStringLiteral("ui-eval")));

  // Stored: a finished eval run with one evaluation holding every item.
  ASSERT_GE(f.panel.lastRunId(), 0);
  const t2::RunRecord run = store.get_run(f.panel.lastRunId());
  EXPECT_EQ(run.kind, "eval");
  EXPECT_EQ(run.status, t2::RunStatus::Finished);
  const auto evaluations = store.evaluations(run.id);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_EQ(evaluations[0].n, 5);
  EXPECT_EQ(evaluations[0].correct, want.correct);
  EXPECT_EQ(store.evaluation_items(evaluations[0].id).size(), 5u);

  // Table: every item, then only the wrong ones. One bar in the chart.
  EXPECT_EQ(f.panel.itemsTable()->rowCount(), 5);
  f.panel.findChild<QCheckBox*>()->setChecked(true);
  EXPECT_EQ(f.panel.itemsTable()->rowCount(), 5 - static_cast<int>(want.correct));
  EXPECT_EQ(f.panel.chart()->barCount(), 1);

  // Export: the report with its items.
  const QString json = QString::fromStdString((workDir() / "export.json").string());
  ASSERT_TRUE(f.panel.exportJsonTo(json).isEmpty());
  QFile file(json);
  ASSERT_TRUE(file.open(QIODevice::ReadOnly));
  const QJsonObject doc = QJsonDocument::fromJson(file.readAll()).object();
  EXPECT_EQ(doc.value(QStringLiteral("n")).toInt(), 5);
  EXPECT_EQ(doc.value(QStringLiteral("items")).toArray().size(), 5);

  f.panel.resize(720, 640);
  EXPECT_TRUE(f.panel.grab().save(testOutputPath(QStringLiteral("screenshots/eval_dock.png"))));
}

TEST(EvalPanel, WithoutAModelItSaysWhatToOpen) {
  JobRunner jobs;
  EvalPanel panel(&jobs);
  panel.setTaskSpecs({writeTask()});
  panel.evaluate();
  EXPECT_FALSE(panel.isEvaluating());
  EXPECT_TRUE(panel.errorText().contains(QStringLiteral("Open a model folder")));
}

TEST(EvalPanel, AMissingExpertFileFailsTheRunWithItsPath) {
  Fixture f;
  ASSERT_TRUE(f.load());
  f.panel.setExpertFile(QStringLiteral("/nonexistent/expert.json"));
  ASSERT_TRUE(f.run());
  EXPECT_TRUE(f.panel.errorText().contains(QStringLiteral("/nonexistent/expert.json")))
      << f.panel.errorText().toStdString();
}

// Stop ends the job as cancelled (not finished) and the run is stored as cancelled with what
// finished; the panel shows the stopped state.
TEST(EvalPanel, StopEndsTheJobAndTheRunAsCancelled) {
  Fixture f;
  ASSERT_TRUE(f.load());
  const fs::path db = workDir() / "cancel.db";
  fs::remove(db);
  t2::RunStore store(db.string());
  Workspace workspace;
  workspace.setStore(&store);
  f.panel.setWorkspace(&workspace);
  f.panel.setLimit(0);
  f.panel.setBatchSize(1);
  ASSERT_TRUE(f.run());  // loads the weights into the workspace
  ASSERT_TRUE(f.panel.errorText().isEmpty()) << f.panel.errorText().toStdString();
  const auto finishedRun = f.panel.lastRunId();
  ASSERT_GE(finishedRun, 0);

  QSignalSpy cancelled(&f.jobs, &JobRunner::jobCancelled);
  QSignalSpy finished(&f.jobs, &JobRunner::jobFinished);
  f.panel.evaluate();
  ASSERT_TRUE(f.panel.isEvaluating());
  f.panel.stop();  // before the first decode step has run
  ASSERT_TRUE(waitUntil([&] { return !f.panel.isEvaluating() && !f.jobs.isRunning(); }, 60000));
  EXPECT_EQ(cancelled.count(), 1);
  EXPECT_EQ(finished.count(), 0);
  EXPECT_TRUE(f.panel.summaryText().contains(QStringLiteral("stopped")))
      << f.panel.summaryText().toStdString();
  // The second run is stored as cancelled (the first stays finished).
  const auto runs = store.list_runs();
  std::int64_t cancelledRuns = 0;
  for (const auto& run : runs) {
    if (run.id == finishedRun) EXPECT_EQ(run.status, t2::RunStatus::Finished);
    if (run.id != finishedRun && run.kind == "eval") {
      EXPECT_EQ(run.status, t2::RunStatus::Cancelled);
      ++cancelledRuns;
    }
  }
  EXPECT_EQ(cancelledRuns, 1);
}

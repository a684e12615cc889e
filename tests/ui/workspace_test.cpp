// The shared GUI workspace in the main window, on the bundled demo model: its weights are read
// from disk once and every dock that runs the model (Generate, Evaluate, Train, Spectra) uses that
// one t2::Model instance; a chat turn (the Generate tab, on the interactive job lane) completes
// while a training job (the long lane) runs. Plus the Workspace's cache on its own.
#include "workspace.h"
#include "app_settings.h"
#include "eval_panel.h"
#include "generate_tab.h"
#include "job_runner.h"
#include "main_window.h"
#include "model_panel.h"
#include "spectra_panel.h"
#include "tasks_panel.h"
#include "test_support.h"
#include "train_panel.h"

#include <t2/engine.h>

#include <QComboBox>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

const QString kDemoModel = QStringLiteral(T2_SOURCE_DIR "/resources/demo/model");

class WorkspaceWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QFile::exists(kDemoModel + QStringLiteral("/model.safetensors")))
      GTEST_SKIP() << "no demo model in resources/demo/model (t2 demo build --with-model)";
    ASSERT_TRUE(m_dir.isValid());
    m_settings = std::make_unique<AppSettings>(m_dir.filePath(QStringLiteral("settings.ini")));
    m_window = std::make_unique<MainWindow>(m_engine, *m_settings);
    ASSERT_TRUE(m_window->openWorkspace(m_dir.filePath(QStringLiteral("w.db"))).isEmpty());
    m_window->spectraPanel()->setCacheDir(m_dir.filePath(QStringLiteral("cache")));
    m_window->openModelFolder(kDemoModel);
    ASSERT_TRUE(waitUntil([&] { return m_window->modelPanel()->model() != nullptr; }));
    const int math = m_window->tasksPanel()->findSpec(QStringLiteral("demo-math"));
    ASSERT_GE(math, 0);
    m_window->tasksPanel()->selectSpec(math);
    ASSERT_EQ(m_window->trainPanel()->taskBox()->currentText(), QStringLiteral("demo-math"));
  }

  GenerateTab* generate() { return m_window->modelPanel()->generateTab(); }
  // A short greedy answer in the Generate tab (a chat turn's worth of work).
  void startChatTurn() {
    generate()->setPrompt(QStringLiteral("What is 2 plus 3?"));
    t2::GenerateParams p;
    p.max_new_tokens = 12;
    generate()->setParams(p);
    generate()->generate();
  }
  void setShortTraining(int iterations) {
    TrainPanel* train = m_window->trainPanel();
    train->presetBox()->setCurrentText(QStringLiteral("recommended"));
    train->setIterations(iterations);
    train->setBatch(2);
    train->setEvalEvery(0);
  }

  QTemporaryDir m_dir;
  t2::Engine m_engine;
  std::unique_ptr<AppSettings> m_settings;
  std::unique_ptr<MainWindow> m_window;
};

TEST_F(WorkspaceWindowTest, GenerateEvaluateTrainAndSpectraUseOneModelInstance) {
  Workspace* workspace = m_window->workspace();
  ASSERT_NE(workspace, nullptr);
  EXPECT_EQ(workspace->model(), m_window->modelPanel()->model());
  EXPECT_EQ(workspace->weightLoads(), 0) << "opening a folder reads no weights";

  startChatTurn();
  ASSERT_TRUE(waitUntil([&] { return !generate()->isGenerating(); }, 60000));
  ASSERT_TRUE(generate()->errorText().isEmpty()) << generate()->errorText().toStdString();
  ASSERT_TRUE(generate()->lastResult().has_value());

  EvalPanel* eval = m_window->evalPanel();
  eval->setLimit(4);
  m_window->evaluateTask();
  ASSERT_TRUE(waitUntil([&] { return !eval->isEvaluating(); }, 120000));
  ASSERT_TRUE(eval->lastReport().has_value()) << eval->errorText().toStdString();

  SpectraPanel* spectra = m_window->spectraPanel();
  spectra->decompose();
  ASSERT_TRUE(waitUntil([&] { return !spectra->isRunning(); }, 120000));
  ASSERT_TRUE(spectra->hasResult()) << spectra->errorText().toStdString();
  EXPECT_EQ(workspace->decomposition() != nullptr, true) << "published to the workspace";

  setShortTraining(1);
  TrainPanel* train = m_window->trainPanel();
  train->train();
  ASSERT_TRUE(train->isTraining()) << train->errorText().toStdString();
  ASSERT_TRUE(waitUntil([&] { return !train->isTraining(); }, 180000));
  ASSERT_TRUE(train->errorText().isEmpty()) << train->errorText().toStdString();

  // One read from disk; every dock ran on that instance.
  EXPECT_EQ(workspace->weightLoads(), 1);
  const auto shared = workspace->cachedWeights(kDemoModel);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(generate()->lastWeights(), shared.get());
  EXPECT_EQ(eval->lastWeights(), shared.get());
  EXPECT_EQ(spectra->lastWeights(), shared.get());
  EXPECT_EQ(train->lastWeights(), shared.get());
}

TEST_F(WorkspaceWindowTest, AChatTurnCompletesWhileTrainingRuns) {
  setShortTraining(500);  // minutes of work: still running when the chat turn is done
  TrainPanel* train = m_window->trainPanel();
  JobRunner& jobs = m_window->jobRunner();
  train->train();
  ASSERT_TRUE(train->isTraining()) << train->errorText().toStdString();
  ASSERT_TRUE(jobs.isRunning(JobLane::Long));
  // Let the training get going (its first iteration plotted), then ask.
  ASSERT_TRUE(waitUntil([&] { return !train->points().isEmpty(); }, 120000))
      << train->statusText().toStdString();

  QSignalSpy finished(&jobs, &JobRunner::jobFinished);
  startChatTurn();
  ASSERT_TRUE(generate()->isGenerating()) << generate()->errorText().toStdString();
  ASSERT_TRUE(waitUntil([&] { return !generate()->isGenerating(); }, 60000));
  EXPECT_TRUE(generate()->errorText().isEmpty()) << generate()->errorText().toStdString();
  ASSERT_TRUE(generate()->lastResult().has_value());
  EXPECT_FALSE(generate()->lastResult()->sequence.tokens.empty());
  EXPECT_TRUE(train->isTraining()) << "the chat turn finished while training ran";
  EXPECT_TRUE(jobs.isRunning(JobLane::Long));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_EQ(finished.at(0).at(0).toString(), QStringLiteral("Generate"));

  train->stop();
  ASSERT_TRUE(waitUntil([&] { return !train->isTraining(); }, 120000));
  EXPECT_FALSE(jobs.isRunning());
}

// Concurrent callers of one key get one load and one instance; other keys load their own.
TEST(Workspace, ConcurrentCallersShareOneLoad) {
  const QString dir = QStringLiteral(T2_SOURCE_DIR "/tests/fixtures/models/llama_f32");
  Workspace workspace;
  std::vector<std::shared_ptr<const t2::Model>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = workspace.weights(dir, {}, {}); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(workspace.weightLoads(), 1);
  for (const auto& m : got) EXPECT_EQ(m, got.front());
  t2::LoadParams bf16;
  bf16.dtype = "bf16";
  const auto other = workspace.weights(dir, bf16, {});
  EXPECT_NE(other, got.front());
  EXPECT_EQ(other->dtype(), "bf16");
  EXPECT_EQ(workspace.weightLoads(), 2);
  // "auto" shares the entry of the device it stands for.
  workspace.setAutoDevice("cpu");
  t2::LoadParams autoDevice;
  autoDevice.device = "auto";
  EXPECT_EQ(workspace.weights(dir, autoDevice, {}), got.front());
  EXPECT_EQ(workspace.weightLoads(), 2);
  // Dropping a folder forgets every entry of it.
  workspace.dropWeights(dir);
  EXPECT_EQ(workspace.cachedWeights(dir), nullptr);
  EXPECT_NE(workspace.weights(dir, {}, {}), got.front());
  EXPECT_EQ(workspace.weightLoads(), 3);
  // A failed load caches nothing and says why.
  EXPECT_THROW(workspace.weights(QStringLiteral("/nonexistent/model"), {}, {}), t2::Error);
  EXPECT_EQ(workspace.weightLoads(), 3);
}

}  // namespace

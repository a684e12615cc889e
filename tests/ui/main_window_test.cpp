#include "main_window.h"
#include "about_dialog.h"
#include "app_settings.h"
#include "eval_panel.h"
#include "job_runner.h"
#include "model_panel.h"
#include "plot/bar_chart.h"
#include "tasks_panel.h"
#include "test_support.h"

#include <t2/engine.h>

#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QToolButton>

#include <gtest/gtest.h>

#include <thread>

namespace {

t2::SelfCheckParams quickParams() {
  t2::SelfCheckParams p;
  p.gemm_sizes = {128, 256};
  p.min_seconds_per_size = 0.02;
  p.bandwidth_bytes = 4 << 20;
  return p;
}

class MainWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_dir.isValid());
    m_settings = std::make_unique<AppSettings>(m_dir.filePath(QStringLiteral("settings.ini")));
  }
  std::unique_ptr<MainWindow> makeWindow() {
    auto w = std::make_unique<MainWindow>(m_engine, *m_settings);
    w->setSelfCheckParams(quickParams());
    return w;
  }

  QTemporaryDir m_dir;
  t2::Engine m_engine;
  std::unique_ptr<AppSettings> m_settings;
};

TEST_F(MainWindowTest, StatusBarShowsDeviceAndThreads) {
  auto w = makeWindow();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_TRUE(w->statusText().contains(QStringLiteral("Device: cpu")))
      << w->statusText().toStdString();
  EXPECT_TRUE(w->statusText().contains(QStringLiteral("Threads: %1 of %1").arg(cores)))
      << w->statusText().toStdString();
  EXPECT_TRUE(w->reportText().contains(QStringLiteral("LibTorch")));
}

TEST_F(MainWindowTest, SelfCheckShowsTheReportAndChart) {
  auto w = makeWindow();
  w->resize(1100, 720);
  w->show();
  QSignalSpy finished(&w->jobRunner(), &JobRunner::jobFinished);
  w->runSelfCheck();
  EXPECT_TRUE(w->jobRunner().isRunning());
  ASSERT_TRUE(waitUntil([&] { return finished.count() == 1; }));

  ASSERT_TRUE(w->lastReport().has_value());
  const QString text = w->reportText();
  EXPECT_TRUE(text.contains(QStringLiteral("Self-check on cpu"))) << text.toStdString();
  EXPECT_TRUE(text.contains(QStringLiteral("GEMM 256^3"))) << text.toStdString();
  EXPECT_TRUE(text.contains(QStringLiteral("GFLOP/s")));
  EXPECT_TRUE(text.contains(QStringLiteral("GB/s")));
  EXPECT_EQ(w->throughputChart()->barCount(), 2);
  QCoreApplication::processEvents();  // let the queued replot happen

  const QString shot = testOutputPath(QStringLiteral("screenshots/main_window.png"));
  ASSERT_TRUE(w->grab().save(shot));
  QImage image(shot);
  EXPECT_GE(image.width(), 800);
  EXPECT_GE(image.height(), 500);

  // The About dialog shows the same report.
  AboutDialog about(w->reportText(), w.get());
  auto* report = about.findChild<QPlainTextEdit*>(QStringLiteral("aboutReport"));
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->toPlainText(), text);
  about.show();
  about.grab().save(testOutputPath(QStringLiteral("screenshots/about_dialog.png")));
}

TEST_F(MainWindowTest, CancelStopsTheSelfCheck) {
  auto w = makeWindow();
  t2::SelfCheckParams slow = quickParams();
  slow.gemm_sizes = {256, 256, 256, 256};
  slow.min_seconds_per_size = 30.0;
  w->setSelfCheckParams(slow);
  QSignalSpy cancelled(&w->jobRunner(), &JobRunner::jobCancelled);
  QSignalSpy progress(&w->jobRunner(), &JobRunner::progressChanged);
  w->runSelfCheck();
  ASSERT_TRUE(waitUntil([&] { return progress.count() > 0; }));
  w->cancelJob();
  ASSERT_TRUE(waitUntil([&] { return cancelled.count() == 1; }, 5000));
  EXPECT_FALSE(w->lastReport().has_value());
  EXPECT_FALSE(w->jobRunner().isRunning());
}

TEST_F(MainWindowTest, FailedJobIsReportedWithoutBlocking) {
  auto w = makeWindow();
  w->show();
  t2::SelfCheckParams bad = quickParams();
  bad.device = "tpu";
  w->setSelfCheckParams(bad);
  QSignalSpy failed(&w->jobRunner(), &JobRunner::jobFailed);
  w->runSelfCheck();
  ASSERT_TRUE(waitUntil([&] { return failed.count() == 1; }));
  EXPECT_TRUE(failed.at(0).at(1).toString().contains(QStringLiteral("unknown device 'tpu'")));
  QCoreApplication::processEvents();
  auto* box = w->findChild<QMessageBox*>();
  ASSERT_NE(box, nullptr);  // shown, and the test got here: it did not block
  EXPECT_TRUE(box->text().contains(QStringLiteral("use cpu, cuda or auto")));
}

TEST_F(MainWindowTest, DockLayoutIsSavedAndRestored) {
  {
    auto w = makeWindow();
    w->show();
    w->addDockWidget(Qt::LeftDockWidgetArea, w->logDock());
    w->throughputDock()->hide();
    w->close();
  }
  auto restored = makeWindow();
  EXPECT_EQ(restored->dockWidgetArea(restored->logDock()), Qt::LeftDockWidgetArea);
  EXPECT_TRUE(restored->throughputDock()->isHidden());

  restored->resetLayout();
  EXPECT_EQ(restored->dockWidgetArea(restored->logDock()), Qt::BottomDockWidgetArea);
  EXPECT_FALSE(restored->throughputDock()->isHidden());
}

TEST_F(MainWindowTest, ModelAndTasksDocksAreWiredAndTheirLayoutRestored) {
  {
    auto w = makeWindow();
    ASSERT_NE(w->modelDock(), nullptr);
    ASSERT_NE(w->tasksDock(), nullptr);
    EXPECT_EQ(w->modelDock()->objectName(), QStringLiteral("ModelDock"));
    EXPECT_EQ(w->tasksDock()->objectName(), QStringLiteral("TasksDock"));
    EXPECT_EQ(w->modelDock()->widget(), w->modelPanel());
    EXPECT_EQ(w->modelPanel()->statusText(), QString::fromUtf8(ModelPanel::kHint));
    // The shipped demo specs are listed (the resources folder is found from the test binary).
    EXPECT_GE(w->tasksPanel()->specCount(), 7);
    EXPECT_NE(w->tasksPanel()->task(), nullptr);
    // Menus: File > Open model folder (Ctrl+O), Open task spec (Ctrl+T); View toggles both docks.
    QStringList shortcuts, viewActions;
    for (QAction* menu : w->menuBar()->actions()) {
      for (QAction* a : menu->menu()->actions()) {
        if (!a->shortcut().isEmpty())
          shortcuts << a->text() + QLatin1Char('=') + a->shortcut().toString();
        if (menu->text() == QStringLiteral("&View")) viewActions << a->text();
      }
    }
    EXPECT_TRUE(shortcuts.contains(QStringLiteral("Open &model folder...=Ctrl+O")))
        << shortcuts.join(' ').toStdString();
    EXPECT_TRUE(shortcuts.contains(QStringLiteral("Open &task spec...=Ctrl+T")));
    EXPECT_TRUE(viewActions.contains(QStringLiteral("Model")));
    EXPECT_TRUE(viewActions.contains(QStringLiteral("Tasks")));
    w->show();
    w->addDockWidget(Qt::RightDockWidgetArea, w->modelDock());
    w->tasksDock()->hide();
    w->close();
  }
  auto restored = makeWindow();
  EXPECT_EQ(restored->dockWidgetArea(restored->modelDock()), Qt::RightDockWidgetArea);
  EXPECT_TRUE(restored->tasksDock()->isHidden());
  restored->resetLayout();
  EXPECT_EQ(restored->dockWidgetArea(restored->modelDock()), Qt::LeftDockWidgetArea);
  EXPECT_FALSE(restored->tasksDock()->isHidden());
}

TEST_F(MainWindowTest, RemembersTheModelFolderAndOpenedSpecs) {
  const QString qwen = QStringLiteral(T2_NPM_REFS_DIR "/tokenizer-qwen3/package/models");
  if (!QFile::exists(qwen + QStringLiteral("/tokenizer.json")))
    GTEST_SKIP() << "fetch tests/fixtures/fetch_npm_refs.sh build/test-data/npm";
  const QString spec = QStringLiteral(T2_SOURCE_DIR "/resources/demo/tasks/code/task.json");
  {
    auto w = makeWindow();
    w->openModelFolder(qwen);
    ASSERT_TRUE(waitUntil([&] { return w->modelPanel()->model() != nullptr; }));
    EXPECT_EQ(m_settings->lastModelDir(), QFileInfo(qwen).absoluteFilePath());
    // A spec outside the shipped list is remembered; a shipped one is just selected.
    QTemporaryDir dir;
    QFile::copy(spec, dir.filePath(QStringLiteral("task.json")));
    QFile::copy(QFileInfo(spec).absolutePath() + QStringLiteral("/test.jsonl"),
                dir.filePath(QStringLiteral("test.jsonl")));
    QFile::copy(QFileInfo(spec).absolutePath() + QStringLiteral("/train.jsonl"),
                dir.filePath(QStringLiteral("train.jsonl")));
    QFile::copy(QFileInfo(spec).absolutePath() + QStringLiteral("/validation.jsonl"),
                dir.filePath(QStringLiteral("validation.jsonl")));
    ASSERT_EQ(w->tasksPanel()->openSpec(dir.filePath(QStringLiteral("task.json"))), QString());
    EXPECT_EQ(m_settings->taskSpecs(),
              QStringList{QFileInfo(dir.filePath(QStringLiteral("task.json"))).absoluteFilePath()});
    ASSERT_EQ(w->tasksPanel()->openSpec(spec), QString());
    EXPECT_EQ(m_settings->taskSpecs().size(), 1);
  }
}

TEST_F(MainWindowTest, ExportsTheReportAsJsonAndText) {
  auto w = makeWindow();
  const QString json = m_dir.filePath(QStringLiteral("report.json"));
  ASSERT_EQ(w->exportReportTo(json), QString());
  QFile f(json);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  const auto doc = QJsonDocument::fromJson(f.readAll()).object();
  EXPECT_EQ(doc.value(QStringLiteral("intra_op_threads")).toInt(),
            m_engine.system_info().intra_op_threads);

  const QString txt = m_dir.filePath(QStringLiteral("report.txt"));
  ASSERT_EQ(w->exportReportTo(txt), QString());
  QFile t(txt);
  ASSERT_TRUE(t.open(QIODevice::ReadOnly));
  EXPECT_TRUE(t.readAll().contains("LibTorch"));

  EXPECT_TRUE(w->exportReportTo(QStringLiteral("/nonexistent-dir/r.json"))
                  .contains(QStringLiteral("could not write")));
}

}  // namespace

// File > Open demo model loads the bundled model; the Evaluate dock offers the bundled experts.
TEST_F(MainWindowTest, FileMenuOpensTheDemoModelAndEvalOffersItsExperts) {
  const QString model = QStringLiteral(T2_SOURCE_DIR "/resources/demo/model");
  if (!QFile::exists(model + QStringLiteral("/model.safetensors")))
    GTEST_SKIP() << "resources/demo/model is not shipped";
  auto w = makeWindow();
  QAction* openDemo = nullptr;
  for (QAction* menu : w->menuBar()->actions())
    for (QAction* a : menu->menu()->actions())
      if (a->text() == QStringLiteral("Open &demo model")) openDemo = a;
  ASSERT_NE(openDemo, nullptr);
  ASSERT_TRUE(openDemo->isEnabled());
  openDemo->trigger();
  ASSERT_TRUE(waitUntil([&] {
    return QFileInfo(w->modelPanel()->folder()).canonicalFilePath() ==
               QFileInfo(model).canonicalFilePath() &&
           !w->modelPanel()->isLoading() && w->modelPanel()->model() != nullptr;
  }));
  // The "Demo" button's menu: the base model, then one entry per shipped expert; choosing one
  // fills the expert field with its file.
  const t2::DemoInfo demo = t2::demo_info(T2_SOURCE_DIR "/resources");
  if (demo.experts.empty()) GTEST_SKIP() << "no bundled experts (t2 demo build --experts)";
  QToolButton* bundled = nullptr;
  for (auto* b : w->findChildren<QToolButton*>())
    if (b->text() == QStringLiteral("Demo")) bundled = b;
  ASSERT_NE(bundled, nullptr);
  ASSERT_TRUE(bundled->isEnabled());
  ASSERT_NE(bundled->menu(), nullptr);
  const auto actions = bundled->menu()->actions();
  ASSERT_EQ(actions.size(), static_cast<int>(demo.experts.size()) + 1);
  actions.back()->trigger();
  bool found = false;
  for (auto* edit : w->findChildren<QLineEdit*>())
    found = found || edit->text() == QString::fromStdString(demo.experts.back().file);
  EXPECT_TRUE(found) << "the expert field holds " << demo.experts.back().file;
}

// The demo end to end in the window: the bundled model opens, the Evaluate dock follows the
// Tasks dock's selection, and an evaluation of demo-math stores a run that the Runs dock lists.
// Its screenshot is the README's picture (resources/screenshots/workbench.png is a copy).
TEST_F(MainWindowTest, DemoModelEvaluatesTheSelectedTaskAndListsTheRun) {
  const QString model = QStringLiteral(T2_SOURCE_DIR "/resources/demo/model");
  if (!QFile::exists(model + QStringLiteral("/model.safetensors")))
    GTEST_SKIP() << "no demo model in resources/demo/model (t2 demo build --with-model)";
  auto w = makeWindow();
  ASSERT_TRUE(w->openWorkspace(m_dir.filePath(QStringLiteral("demo.db"))).isEmpty());
  w->resize(1400, 900);
  w->show();
  w->openModelFolder(model);
  ASSERT_TRUE(waitUntil([&] { return w->modelPanel()->model() != nullptr; }));
  const int math = w->tasksPanel()->findSpec(QStringLiteral("demo-math"));
  ASSERT_GE(math, 0);
  w->tasksPanel()->selectSpec(math);
  EXPECT_EQ(w->evalPanel()->taskBox()->currentText(), QStringLiteral("demo-math"));
  w->evalPanel()->setLimit(40);
  w->evaluateTask();
  ASSERT_TRUE(waitUntil([&] { return !w->evalPanel()->isEvaluating(); }, 120000));
  ASSERT_TRUE(w->evalPanel()->lastReport().has_value())
      << w->evalPanel()->errorText().toStdString();
  EXPECT_EQ(w->evalPanel()->lastReport()->n, 40);
  ASSERT_NE(w->store(), nullptr);
  const auto runs = w->store()->list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].kind, "eval");
  w->runsDock()->raise();
  w->evalPanel()->itemsTable()->selectRow(0);
  waitUntil([] { return false; }, 300);  // let the docks lay out and the charts replot
  EXPECT_TRUE(w->grab().save(testOutputPath(QStringLiteral("screenshots/workbench_demo.png"))));
}

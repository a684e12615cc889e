#include "runs_panel.h"
#include "app_settings.h"
#include "main_window.h"
#include "plot/line_chart.h"
#include "runs_model.h"
#include "test_support.h"

#include <t2/engine.h>
#include <t2/run_store.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLineEdit>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <cmath>

namespace {

class RunsPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_dir.isValid());
    m_store = std::make_unique<t2::RunStore>(path("workspace.db").toStdString());
    m_a = m_store->begin_run({"train-expert", "math svf", R"({"lr":0.002})", "", {"math"}, {}});
    m_b = m_store->begin_run({"train-expert", "code svf", R"({"lr":0.01})", "", {"code"}, {}});
    m_c = m_store->begin_run({"eval", "broken eval", "{}", "", {}, {}});
    for (int step = 0; step < 100; ++step) {
      m_store->log_metrics(m_a, step, {{"loss", 1.0 / (step + 1)}});
      m_store->log_metrics(m_b, step, {{"loss", 2.0 / (step + 1)}, {"reward", step * 0.01}});
    }
    m_store->finish_run(m_a, t2::RunStatus::Finished);
    m_store->finish_run(m_b, t2::RunStatus::Finished);
    m_store->finish_run(m_c, t2::RunStatus::Failed, "task file missing");
  }
  QString path(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)); }

  QTemporaryDir m_dir;
  std::unique_ptr<t2::RunStore> m_store;
  std::int64_t m_a = 0, m_b = 0, m_c = 0;
};

TEST_F(RunsPanelTest, ListsFiltersAndChartsRuns) {
  RunsPanel panel;
  QAbstractItemModelTester tester(panel.model(),
                                  QAbstractItemModelTester::FailureReportingMode::Fatal);
  panel.setStore(m_store.get());
  EXPECT_EQ(panel.model()->rowCount(), 3);

  panel.findChild<QLineEdit*>()->setText(QStringLiteral("code"));
  ASSERT_EQ(panel.model()->rowCount(), 1);
  EXPECT_EQ(panel.model()->runAt(0)->id, m_b);
  panel.findChild<QLineEdit*>()->clear();
  auto* status = panel.findChildren<QComboBox*>().first();
  status->setCurrentIndex(status->findText(QStringLiteral("failed")));
  ASSERT_EQ(panel.model()->rowCount(), 1);
  EXPECT_EQ(panel.model()->runAt(0)->id, m_c);
  EXPECT_EQ(panel.model()->data(panel.model()->index(0, RunsModel::Status)).toString(),
            QStringLiteral("failed"));
  EXPECT_TRUE(panel.model()
                  ->data(panel.model()->index(0, RunsModel::Name), Qt::ToolTipRole)
                  .toString()
                  .contains(QStringLiteral("task file missing")));
  status->setCurrentIndex(0);
  ASSERT_EQ(panel.model()->rowCount(), 3);

  panel.selectRuns({m_a, m_b});
  EXPECT_EQ(panel.selectedRunIds(), (std::vector<std::int64_t>{m_a, m_b}));
  QStringList keys;
  for (int i = 0; i < panel.metricBox()->count(); ++i) keys << panel.metricBox()->itemText(i);
  EXPECT_EQ(keys, (QStringList{QStringLiteral("loss"), QStringLiteral("reward")}));
  panel.metricBox()->setCurrentText(QStringLiteral("loss"));
  EXPECT_EQ(panel.chart()->seriesCount(), 2);
  panel.metricBox()->setCurrentText(QStringLiteral("reward"));
  EXPECT_EQ(panel.chart()->seriesCount(), 1);  // only run B logged a reward

  panel.resize(1000, 420);
  panel.show();
  QCoreApplication::processEvents();
  panel.grab().save(testOutputPath(QStringLiteral("screenshots/runs_panel.png")));
}

TEST_F(RunsPanelTest, ExportsAndDeletes) {
  RunsPanel panel;
  panel.setStore(m_store.get());
  const QString csv = path("metrics.csv");
  ASSERT_EQ(panel.exportRuns({m_a, m_b}, csv), QString());
  QFile file(csv);
  ASSERT_TRUE(file.open(QIODevice::ReadOnly));
  EXPECT_EQ(file.readAll().toStdString(), m_store->metrics_csv({m_a, m_b}));
  EXPECT_FALSE(panel.exportRuns({}, csv).isEmpty());

  ASSERT_EQ(panel.deleteRuns({m_c}, false), QString());
  EXPECT_EQ(panel.model()->rowCount(), 2);
  EXPECT_FALSE(m_store->find_run(m_c).has_value());
}

TEST_F(RunsPanelTest, MainWindowOpensWorkspacesAndReportsBadOnes) {
  t2::Engine engine;
  AppSettings settings(path("settings.ini"));
  MainWindow window(engine, settings);
  QFile junk(path("not-a-database.db"));
  ASSERT_TRUE(junk.open(QIODevice::WriteOnly));
  junk.write("this is not an SQLite file\n");
  junk.close();
  const QString error = window.openWorkspace(path("not-a-database.db"));
  EXPECT_FALSE(error.isEmpty());
  EXPECT_EQ(window.store(), nullptr);
  EXPECT_EQ(window.runsPanel()->model()->rowCount(), 0);

  ASSERT_EQ(window.openWorkspace(path("workspace.db")), QString());
  ASSERT_NE(window.store(), nullptr);
  EXPECT_EQ(window.runsPanel()->model()->rowCount(), 3);
  EXPECT_TRUE(window.runsDock()->windowTitle().contains(QStringLiteral("workspace.db")));
}

}  // namespace

// The Spectra dock on the tiny fixture checkpoints: the table equals t2::matrix_spectra of an
// independent (uncached) decomposition, the charts carry its singular values and per-layer
// metrics, a second Decompose hits the cache, cancel works, a folder without weights shows the
// hint. Every decomposition goes to a temporary cache root (never the user's cache).
#include "spectra_panel.h"
#include "app_settings.h"
#include "job_runner.h"
#include "main_window.h"
#include "model_panel.h"
#include "plot/line_chart.h"
#include "spectra_table_model.h"
#include "test_support.h"

#include <t2/engine.h>

#include <QAbstractItemModelTester>
#include <QDockWidget>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

namespace {

QString fixture(const char* name) {
  return QStringLiteral(T2_FIXTURES_DIR "/models/%1").arg(QLatin1String(name));
}

std::shared_ptr<const LoadedModel> folderModel(const QString& dir, bool hasWeights = true) {
  auto model = std::make_shared<LoadedModel>();
  model->dir = dir;
  model->hasWeights = hasWeights;
  return model;
}

int numHiddenLayers(const QString& dir) {
  QFile f(dir + QStringLiteral("/config.json"));
  if (!f.open(QIODevice::ReadOnly)) return -1;
  return QJsonDocument::fromJson(f.readAll())
      .object()
      .value(QStringLiteral("num_hidden_layers"))
      .toInt();
}

// The reference: an uncached decomposition computed here, not by the panel.
t2::Decomposition reference(const QString& dir, const std::string& targets) {
  t2::DecomposeParams p;
  p.targets = targets;
  p.use_cache = false;
  return t2::Decomposition::compute_or_load(dir.toStdString(), p);
}

class SpectraPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_cache.isValid());
    m_panel = std::make_unique<SpectraPanel>(&m_jobs);
    m_panel->setCacheDir(m_cache.path());
    m_panel->resize(1100, 820);
  }
  bool decomposeAndWait() {
    m_panel->decompose();
    return waitUntil([&] { return !m_panel->isRunning(); }) && m_panel->hasResult();
  }

  QTemporaryDir m_cache;
  JobRunner m_jobs;
  std::unique_ptr<SpectraPanel> m_panel;
};

TEST_F(SpectraPanelTest, TableRowsEqualMatrixSpectra) {
  const QString dir = fixture("qwen3");
  m_panel->setModel(folderModel(dir));
  m_panel->setTargetSet(QStringLiteral("all-linear"));
  QAbstractItemModelTester tester(m_panel->tableModel(),
                                  QAbstractItemModelTester::FailureReportingMode::Fatal);
  ASSERT_TRUE(decomposeAndWait()) << m_panel->errorText().toStdString();
  EXPECT_EQ(m_panel->errorText(), QString());

  const auto expected = t2::matrix_spectra(reference(dir, "all-linear"));
  const int layers = numHiddenLayers(dir);
  ASSERT_GT(layers, 0);
  ASSERT_EQ(expected.size(), size_t(7 * layers));  // q k v o gate up down per layer
  auto* model = m_panel->tableModel();
  ASSERT_EQ(model->rowCount(), int(expected.size()));
  EXPECT_EQ(model->columnCount(), int(SpectraTableModel::ColumnCount));
  for (int row = 0; row < model->rowCount(); ++row) {
    const auto& e = expected[size_t(row)];
    const auto cell = [&](int column, int role = Qt::DisplayRole) {
      return model->data(model->index(row, column), role);
    };
    EXPECT_EQ(cell(SpectraTableModel::Name).toString().toStdString(), e.name);
    EXPECT_EQ(cell(SpectraTableModel::Layer, Qt::UserRole).toLongLong(), e.layer);
    EXPECT_EQ(cell(SpectraTableModel::Part).toString().toStdString(), e.part);
    EXPECT_EQ(cell(SpectraTableModel::Shape).toString(),
              QStringLiteral("%1 x %2").arg(e.out_features).arg(e.in_features));
    EXPECT_EQ(cell(SpectraTableModel::Rank, Qt::UserRole).toLongLong(), e.metrics.rank);
    EXPECT_EQ(e.metrics.rank, std::min(e.out_features, e.in_features));
    EXPECT_NEAR(cell(SpectraTableModel::SigmaMax, Qt::UserRole).toDouble(), e.metrics.sigma_max,
                1e-5 * e.metrics.sigma_max);
    EXPECT_NEAR(cell(SpectraTableModel::StableRank, Qt::UserRole).toDouble(), e.metrics.stable_rank,
                1e-4 * e.metrics.stable_rank);
    // alpha: blank exactly when the fit failed.
    EXPECT_EQ(cell(SpectraTableModel::Alpha).toString().isEmpty(), !e.metrics.power_law.ok);
  }

  // Sorting by sigma_max (numeric, through the proxy) orders the view descending.
  auto* view = m_panel->tableView();
  view->sortByColumn(SpectraTableModel::SigmaMax, Qt::DescendingOrder);
  double previous = INFINITY;
  for (int row = 0; row < view->model()->rowCount(); ++row) {
    const double v =
        view->model()->index(row, SpectraTableModel::SigmaMax).data(Qt::UserRole).toDouble();
    EXPECT_LE(v, previous);
    previous = v;
  }

  // CSV export: header + one line per matrix, names in model order.
  const QString csvPath = m_cache.filePath(QStringLiteral("spectra.csv"));
  ASSERT_EQ(m_panel->exportCsvTo(csvPath), QString());
  QFile csv(csvPath);
  ASSERT_TRUE(csv.open(QIODevice::ReadOnly));
  const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), int(expected.size()) + 1);
  EXPECT_TRUE(lines[0].startsWith(QStringLiteral("name,layer,part,")));
  EXPECT_TRUE(lines[1].startsWith(QString::fromStdString(expected[0].name) + ','));
  EXPECT_TRUE(m_panel->exportCsvTo(QStringLiteral("/nonexistent-dir/x.csv"))
                  .contains(QStringLiteral("could not write")));
}

TEST_F(SpectraPanelTest, SigmaChartHasOneSeriesPerSelectedMatrix) {
  const QString dir = fixture("llama_f32");
  m_panel->setModel(folderModel(dir));
  m_panel->setTargetSet(QStringLiteral("mlp"));
  ASSERT_TRUE(decomposeAndWait()) << m_panel->errorText().toStdString();
  const auto ref = reference(dir, "mlp");
  const QStringList names{QStringLiteral("model.layers.0.mlp.gate_proj.weight"),
                          QStringLiteral("model.layers.1.mlp.down_proj.weight")};
  m_panel->selectMatrices(names);
  EXPECT_EQ(m_panel->selectedMatrices(), names);
  const auto& series = m_panel->sigmaChart()->series();
  ASSERT_EQ(series.size(), 2);
  EXPECT_TRUE(m_panel->sigmaChart()->logY());
  for (int i = 0; i < 2; ++i) {
    const auto sigma = ref.singular_values(names[i].toStdString());
    ASSERT_EQ(series[i].y.size(), int(sigma.size()));
    for (size_t k = 0; k < sigma.size(); ++k) {
      EXPECT_EQ(series[i].x[int(k)], double(k + 1));
      EXPECT_NEAR(series[i].y[int(k)], sigma[k], 1e-5 * sigma[0]);
    }
  }
  EXPECT_EQ(series[0].name, QStringLiteral("L0 gate_proj"));

  // Save the dock in a realistic state (two matrices selected, alpha per layer).
  m_panel->show();
  QCoreApplication::processEvents();
  const QString shot = testOutputPath(QStringLiteral("screenshots/spectra_dock.png"));
  EXPECT_TRUE(m_panel->grab().save(shot));
}

TEST_F(SpectraPanelTest, LayerChartHasOneSeriesPerPartWithOnePointPerLayer) {
  const QString dir = fixture("qwen3");
  m_panel->setModel(folderModel(dir));
  m_panel->setTargetSet(QStringLiteral("mlp"));
  ASSERT_TRUE(decomposeAndWait());
  const int layers = numHiddenLayers(dir);
  const auto expected = t2::matrix_spectra(reference(dir, "mlp"));
  for (auto metric : {SpectraPanel::EffectiveRank, SpectraPanel::StableRank, SpectraPanel::Alpha}) {
    m_panel->setMetric(metric);
    const auto& series = m_panel->layerChart()->series();
    ASSERT_EQ(series.size(), 3);
    std::set<QString> parts;
    for (const auto& s : series) {
      parts.insert(s.name);
      ASSERT_EQ(s.x.size(), layers);
      for (int l = 0; l < layers; ++l) {
        EXPECT_EQ(s.x[l], double(l));
        const t2::MatrixSpectrum* e = nullptr;
        for (const auto& m : expected)
          if (m.layer == l && QString::fromStdString(m.part) == s.name) e = &m;
        ASSERT_NE(e, nullptr);
        const double want = metric == SpectraPanel::EffectiveRank ? e->metrics.effective_rank
                            : metric == SpectraPanel::StableRank  ? e->metrics.stable_rank
                            : e->metrics.power_law.ok             ? e->metrics.power_law.alpha
                                                                  : NAN;
        if (std::isnan(want))
          EXPECT_TRUE(std::isnan(s.y[l]));
        else
          EXPECT_NEAR(s.y[l], want, 1e-4 * std::abs(want));
      }
    }
    EXPECT_EQ(parts, (std::set<QString>{QStringLiteral("gate_proj"), QStringLiteral("up_proj"),
                                        QStringLiteral("down_proj")}));
  }
}

TEST_F(SpectraPanelTest, SecondDecomposeHitsTheCache) {
  m_panel->setModel(folderModel(fixture("llama_f32")));
  ASSERT_TRUE(decomposeAndWait());
  EXPECT_FALSE(m_panel->decomposition()->from_cache());
  EXPECT_TRUE(m_panel->statusText().startsWith(QStringLiteral("Decomposed 6 matrices (mlp)")))
      << m_panel->statusText().toStdString();
  EXPECT_TRUE(m_panel->statusText().contains(QStringLiteral("cached for next time")));
  EXPECT_TRUE(
      QString::fromStdString(m_panel->decomposition()->cache_path()).startsWith(m_cache.path()));
  ASSERT_TRUE(decomposeAndWait());
  EXPECT_TRUE(m_panel->decomposition()->from_cache());
  EXPECT_TRUE(m_panel->statusText().startsWith(
      QStringLiteral("Loaded 6 matrices (mlp) from the cache in ")))
      << m_panel->statusText().toStdString();
  EXPECT_EQ(m_panel->tableModel()->rowCount(), 6);
}

TEST_F(SpectraPanelTest, CancelStopsTheJobAndKeepsNoResult) {
  m_panel->setModel(folderModel(fixture("llama_f32")));
  std::atomic<bool> release{false};
  m_panel->setWorkerHook([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  QSignalSpy cancelled(&m_jobs, &JobRunner::jobCancelled);
  m_panel->decompose();
  ASSERT_TRUE(m_panel->isRunning());
  EXPECT_TRUE(m_panel->cancelButton()->isVisibleTo(m_panel.get()));
  EXPECT_FALSE(m_panel->decomposeButton()->isEnabled());
  m_panel->cancelButton()->click();
  release = true;
  ASSERT_TRUE(waitUntil([&] { return cancelled.count() == 1; }));
  EXPECT_FALSE(m_panel->isRunning());
  EXPECT_FALSE(m_panel->hasResult());
  EXPECT_EQ(m_panel->tableModel()->rowCount(), 0);
  EXPECT_TRUE(m_panel->statusText().contains(QStringLiteral("cancelled")));
  EXPECT_TRUE(m_panel->decomposeButton()->isEnabled());
  // Nothing was written to the cache root.
  EXPECT_TRUE(QDir(m_cache.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).isEmpty());
  // And the next run works.
  m_panel->setWorkerHook({});
  ASSERT_TRUE(decomposeAndWait());
  EXPECT_EQ(m_panel->tableModel()->rowCount(), 6);
}

TEST_F(SpectraPanelTest, FolderWithoutWeightsShowsTheHint) {
  const QString hint = QString::fromUtf8(SpectraPanel::kHint);
  EXPECT_EQ(m_panel->statusText(), hint);
  EXPECT_FALSE(m_panel->decomposeButton()->isEnabled());
  QTemporaryDir empty;
  m_panel->setModel(folderModel(empty.path(), false));
  EXPECT_EQ(m_panel->statusText(), hint);
  EXPECT_FALSE(m_panel->decomposeButton()->isEnabled());
  m_panel->decompose();  // ignored
  EXPECT_FALSE(m_panel->isRunning());
}

TEST_F(SpectraPanelTest, BrokenWeightsShowAnErrorInRed) {
  QTemporaryDir dir;
  QFile::copy(fixture("llama_f32") + QStringLiteral("/config.json"),
              dir.filePath(QStringLiteral("config.json")));
  QFile bad(dir.filePath(QStringLiteral("model.safetensors")));
  ASSERT_TRUE(bad.open(QIODevice::WriteOnly));
  bad.write("not a safetensors file");
  bad.close();
  QSignalSpy messages(m_panel.get(), &SpectraPanel::message);
  m_panel->setModel(folderModel(dir.path()));
  m_panel->decompose();
  ASSERT_TRUE(waitUntil([&] { return !m_panel->isRunning(); }));
  EXPECT_FALSE(m_panel->hasResult());
  EXPECT_TRUE(m_panel->errorText().contains(QStringLiteral("model.safetensors")))
      << m_panel->errorText().toStdString();
  ASSERT_GE(messages.count(), 1);
  EXPECT_TRUE(messages.last().at(0).toString().contains(m_panel->errorText()));
}

TEST(SpectraDockTest, FollowsTheModelDockAndItsLayoutIsRestored) {
  QTemporaryDir dir;
  ASSERT_TRUE(dir.isValid());
  t2::Engine engine;
  AppSettings settings(dir.filePath(QStringLiteral("settings.ini")));
  const QString folder = fixture("llama_f32");
  {
    MainWindow w(engine, settings);
    ASSERT_NE(w.spectraDock(), nullptr);
    EXPECT_EQ(w.spectraDock()->objectName(), QStringLiteral("SpectraDock"));
    EXPECT_EQ(w.spectraDock()->widget(), w.spectraPanel());
    QStringList viewActions;
    for (QAction* menu : w.menuBar()->actions())
      if (menu->text() == QStringLiteral("&View"))
        for (QAction* a : menu->menu()->actions()) viewActions << a->text();
    EXPECT_TRUE(viewActions.contains(QStringLiteral("Spectra")));
    w.spectraPanel()->setCacheDir(dir.filePath(QStringLiteral("cache")));
    EXPECT_EQ(w.spectraPanel()->statusText(), QString::fromUtf8(SpectraPanel::kHint));
    w.openModelFolder(folder);
    ASSERT_TRUE(waitUntil([&] { return w.spectraPanel()->canDecompose(); }));
    EXPECT_TRUE(w.spectraPanel()->statusText().contains(QStringLiteral("Decompose")));
    w.show();
    w.addDockWidget(Qt::RightDockWidgetArea, w.spectraDock());
    w.close();
  }
  MainWindow restored(engine, settings);
  EXPECT_EQ(restored.dockWidgetArea(restored.spectraDock()), Qt::RightDockWidgetArea);
  restored.resetLayout();
  EXPECT_EQ(restored.dockWidgetArea(restored.spectraDock()), Qt::LeftDockWidgetArea);
}

}  // namespace

// The Spectra dock (`SpectraDock`): per-matrix and per-layer singular-value spectra of the model
// folder open in the Model dock. A target set (mlp / attn / attn-qv / all-linear) and
// "Decompose" run t2::Decomposition::compute_or_load (of the workspace's shared weights) +
// t2::matrix_spectra as one job on the long lane
// (progress and Cancel in the dock; the status says whether the cache was used and how long it
// took). Then:
//  - a per-matrix table (SpectraTableModel, sortable; right click > Export table as CSV...);
//  - the singular values of the selected matrices (log y, index on x, one line per matrix);
//  - one metric (alpha, effective rank, stable rank) across layers, one line per part.
// Without weights the dock shows a hint; errors show in red here and go to the log.
#pragma once

#include "model_tab.h"

#include <t2/decomposition.h>

#include <QString>
#include <QStringList>
#include <QWidget>

#include <functional>
#include <memory>

class JobRunner;
class Workspace;
class LineChart;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class SpectraTableModel;

class SpectraPanel : public QWidget {
  Q_OBJECT

 public:
  static const char* const kHint;
  enum Metric { Alpha, EffectiveRank, StableRank };

  // `jobs` must outlive the panel.
  explicit SpectraPanel(JobRunner* jobs, QWidget* parent = nullptr);

  // The folder of the Model dock (null: none). Clears the results of another folder.
  // The shared workspace: Decompose uses its weights and publishes the result to it. A private
  // one until this is called.
  void setWorkspace(Workspace* workspace) { m_workspace = workspace; }
  void setModel(std::shared_ptr<const LoadedModel> model);
  const t2::Model* lastWeights() const { return m_lastWeights; }  // of the last decomposition
  // Cache root for DecomposeParams::cache_dir ("" = the default, $T2_CACHE/...).
  void setCacheDir(const QString& dir) { m_cacheDir = dir; }
  void setTargetSet(const QString& preset);  // "mlp", "attn", "attn-qv" or "all-linear"
  QString targetSet() const;
  void setMetric(Metric metric);
  // Selects the table rows of these parameter names (the sigma chart follows).
  void selectMatrices(const QStringList& names);
  QStringList selectedMatrices() const;  // in table (view) order

  bool isRunning() const { return m_running; }
  bool hasResult() const { return m_decomposition != nullptr; }
  const t2::Decomposition* decomposition() const { return m_decomposition.get(); }
  QString statusText() const;
  QString errorText() const;  // the red line ("" when none)
  bool canDecompose() const;

  SpectraTableModel* tableModel() const { return m_table; }
  QTableView* tableView() const { return m_view; }
  LineChart* sigmaChart() const { return m_sigmaChart; }
  LineChart* layerChart() const { return m_layerChart; }
  QPushButton* decomposeButton() const { return m_decompose; }
  QPushButton* cancelButton() const { return m_cancel; }

  QString exportCsvTo(const QString& path) const;  // empty on success, else the error

  // Test hook: runs on the worker thread at the start of the job (e.g. to hold it until a
  // cancel was requested).
  void setWorkerHook(std::function<void()> hook) { m_workerHook = std::move(hook); }

 public Q_SLOTS:
  void decompose();
  void cancel();
  void exportCsv();  // a save dialog

 Q_SIGNALS:
  void message(const QString& text);  // for the log

 private:
  struct Result;
  void buildUi();
  void apply(const Result& result);
  void clearResults();
  void updateSigmaChart();
  void updateLayerChart();
  void updateEnabled();
  void showError(const QString& error);
  void showTableMenu(const QPoint& pos);

  JobRunner* m_jobs;
  Workspace* m_workspace;
  const t2::Model* m_lastWeights = nullptr;
  std::shared_ptr<const LoadedModel> m_model;
  QString m_cacheDir;
  bool m_running = false;
  std::shared_ptr<const t2::Decomposition> m_decomposition;
  QString m_resultDir;
  std::function<void()> m_workerHook;

  QLabel* m_folder;
  QComboBox* m_targets;
  QPushButton* m_decompose;
  QPushButton* m_cancel;
  QProgressBar* m_progress;
  QLabel* m_status;
  QLabel* m_error;
  SpectraTableModel* m_table;
  QSortFilterProxyModel* m_proxy;
  QTableView* m_view;
  LineChart* m_sigmaChart;
  QComboBox* m_metric;
  LineChart* m_layerChart;
};

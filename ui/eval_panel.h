// The Evaluate dock: evaluates the Model dock's folder with the workspace's shared weights on a
// task spec from the Tasks dock, a split, an optional item limit and a strategy (base, an SVF
// expert file, or a LoRA adapter folder: t2::Strategy::from_path). The job runs the engine's
// operations — t2::apply_strategy, then t2::evaluate_and_store, which records the run of kind
// "eval" in the workspace's database (its own connection) whatever the ending. Evaluate (Tools >
// Evaluate, Ctrl+Shift+E) starts it on the long job lane; Stop (or Esc) cancels between batches:
// the job ends as cancelled, and the finished items are shown and stored. Live: "batch i/N,
// correct/done" as the job's progress message. Result: accuracy with its 95 % Wilson interval,
// ms per example, and a table of every item (correct, gold, extracted answer, output; "Wrong
// only" filters); the selected item shows the prompt the model saw and its full output. Every
// evaluation this session is a bar in the chart (accuracy in %, labelled task/split/strategy).
// Export writes the report with items as JSON.
#pragma once

#include "model_tab.h"

#include <t2/evaluation.h>
#include <t2/model.h>

#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <memory>
#include <optional>

class BarChart;
class JobRunner;
class Workspace;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QToolButton;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

class EvalPanel : public QWidget {
  Q_OBJECT

 public:
  // `jobs` must outlive the panel.
  explicit EvalPanel(JobRunner* jobs, QWidget* parent = nullptr);

  // The shared workspace (weights, run store); the panel has a private one until this is called.
  void setWorkspace(Workspace* workspace);
  void setModel(std::shared_ptr<const LoadedModel> model);  // the Model dock's folder
  // The task specs to offer (paths); keeps the current one selected when it is still listed.
  void setTaskSpecs(const QStringList& paths);
  void selectTask(const QString& path);

  // Inputs.
  QComboBox* taskBox() const { return m_task; }
  QComboBox* splitBox() const { return m_split; }
  void setLimit(int limit);                 // 0 = all items
  void setBatchSize(int batch);             // >= 1
  void setExpertFile(const QString& path);  // "" = the base model
  // The bundled library's experts (name, file), offered by the "Demo experts" menu button.
  void setBundledExperts(const QVector<QPair<QString, QString>>& experts);

  bool isEvaluating() const { return m_running; }
  const std::optional<t2::EvalReport>& lastReport() const { return m_report; }
  std::int64_t lastRunId() const { return m_runId; }              // -1: not stored
  const t2::Model* lastWeights() const { return m_lastWeights; }  // used by the last evaluation
  QString summaryText() const;
  QString errorText() const;
  QTableWidget* itemsTable() const { return m_items; }
  BarChart* chart() const { return m_chart; }
  QString exportJsonTo(const QString& path) const;  // empty on success, else the error

 public Q_SLOTS:
  void evaluate();
  void stop();
  void exportJson();  // a save dialog

 Q_SIGNALS:
  void message(const QString& text);   // for the log
  void runStored(std::int64_t runId);  // a run was added to the store (refresh the Runs dock)

 private:
  void showSplits();
  void showReport(const t2::EvalReport& report, const QString& status);
  void fillItems();
  void showItem();
  void showError(const QString& error);
  void updateControls();

  JobRunner* m_jobs;
  Workspace* m_workspace;
  std::shared_ptr<const LoadedModel> m_model;
  const t2::Model* m_lastWeights = nullptr;
  QString m_strategyLabel;  // of the running / last evaluation

  QComboBox* m_task;
  QComboBox* m_split;
  QSpinBox* m_limit;
  QSpinBox* m_batch;
  QLineEdit* m_expert;
  QToolButton* m_bundled;
  QPushButton* m_run;
  QPushButton* m_stop;
  QPushButton* m_export;
  QLabel* m_summary;
  QLabel* m_error;
  QCheckBox* m_wrongOnly;
  QTableWidget* m_items;
  QPlainTextEdit* m_detail;
  BarChart* m_chart;
  QVector<QString> m_history;       // chart labels
  QVector<double> m_historyValues;  // accuracy in %

  bool m_running = false;
  std::optional<t2::EvalReport> m_report;
  std::int64_t m_runId = -1;
};

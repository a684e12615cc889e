// The Train dock: trains an SVF expert (or a LoRA adapter, the baseline) on the Model dock's
// folder with t2::train_expert — a task spec from the Tasks dock, a preset (sakana-compat / paper /
// recommended) and the knobs a researcher changes most (method and LoRA rank, objective, targets,
// iterations, batch, learning rate, seed; the rest comes from the preset), with the workspace's
// shared weights (TrainOptions::model). Train (Tools > Train expert, Ctrl+Shift+T) starts a job
// on the long lane of the JobRunner; Stop (or Esc) cancels at the next safe point and the run
// keeps its best expert.
//
// Live: every iteration (TrainOptions::on_iteration, batched to the GUI thread through a
// PartialChannel, at most 10 deliveries a second) adds points to
// two charts — reward mean and train accuracy per iteration; validation accuracy at the
// evaluated iterations — and updates a line with iteration i/N, loss, grad norm, KL, tokens/s
// and the ETA. The run, its metrics, samples and experts go to the open workspace database (the
// Runs dock shows them). At the end: base vs best validation accuracy, trainable parameters and
// the best expert's file, which "Evaluate it" hands to the Evaluate dock.
#pragma once

#include "model_tab.h"

#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <memory>

namespace t2 {
class Model;
}
class JobRunner;
class Workspace;
class LineChart;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

// One iteration as the panel keeps it (a copy of t2::TrainIteration's fields it plots).
struct TrainPoint {
  int iteration = 0;
  double rewardMean = 0.0;
  double trainAccuracy = 0.0;
  double validationAccuracy = -1.0;  // -1: not evaluated at this iteration
};

class TrainPanel : public QWidget {
  Q_OBJECT

 public:
  // `jobs` must outlive the panel.
  explicit TrainPanel(JobRunner* jobs, QWidget* parent = nullptr);

  void setModel(std::shared_ptr<const LoadedModel> model);
  // The shared workspace: weights, and the run store the run is written to (its database, on
  // the job's own connection; none = train without a run store). A private one until set.
  void setWorkspace(Workspace* workspace);
  void setTaskSpecs(const QStringList& paths);
  void selectTask(const QString& path);

  // Inputs.
  QComboBox* taskBox() const { return m_task; }
  QComboBox* presetBox() const { return m_preset; }
  QComboBox* objectiveBox() const { return m_objective; }
  QComboBox* methodBox() const { return m_method; }  // svf | lora
  void setLoraRank(int rank);
  void setIterations(int iterations);
  void setBatch(int batch);
  void setLearningRate(double lr);
  void setEvalEvery(int every);

  bool isTraining() const { return m_running; }
  const QVector<TrainPoint>& points() const { return m_points; }
  const t2::Model* lastWeights() const { return m_lastWeights; }  // of the last run
  QString statusText() const;
  QString errorText() const;
  QString bestExpertPath() const { return m_bestExpert; }
  LineChart* rewardChart() const { return m_reward; }
  LineChart* accuracyChart() const { return m_accuracy; }

 public Q_SLOTS:
  void train();
  void stop();

 Q_SIGNALS:
  void message(const QString& text);               // for the log
  void runsChanged();                              // a run was created or ended
  void evaluateExpert(const QString& expertFile);  // "Evaluate it"

 private:
  void applyPreset();
  void replot();
  void showError(const QString& error);
  void updateControls();

  JobRunner* m_jobs;
  std::shared_ptr<const LoadedModel> m_model;
  Workspace* m_workspace;
  const t2::Model* m_lastWeights = nullptr;

  QComboBox* m_task;
  QComboBox* m_preset;
  QComboBox* m_objective;
  QComboBox* m_method;
  QSpinBox* m_loraRank;
  QLabel* m_loraRankLabel;
  QComboBox* m_targets;
  QSpinBox* m_iterations;
  QSpinBox* m_batch;
  QDoubleSpinBox* m_lr;
  QSpinBox* m_evalEvery;
  QSpinBox* m_seed;
  QPushButton* m_run;
  QPushButton* m_stop;
  QPushButton* m_evaluate;
  QLabel* m_status;
  QLabel* m_error;
  LineChart* m_reward;
  LineChart* m_accuracy;

  bool m_running = false;
  QVector<TrainPoint> m_points;
  QString m_bestExpert;
};

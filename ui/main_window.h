// The workbench's main window: menus, docks (throughput chart, log), status bar with device,
// threads and job progress, and the actions that start engine jobs through the JobRunner.
// The window never calls a long engine method on the GUI thread.
#pragma once

#include <t2/engine.h>

#include <QMainWindow>

#include <memory>
#include <optional>
#include <string>

class AppSettings;
class BarChart;
class EvalPanel;
class TrainPanel;
class JobRunner;
class Workspace;
class ModelPanel;
class TasksPanel;
class QAction;
class QDockWidget;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QToolButton;
class RunsPanel;
class SelfCheckPanel;
class SpectraPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `engine` and `settings` must outlive the window.
  MainWindow(t2::Engine& engine, AppSettings& settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  JobRunner& jobRunner() { return *m_jobs; }
  Workspace* workspace() const { return m_workspace; }
  void setSelfCheckParams(const t2::SelfCheckParams& params) { m_selfCheckParams = params; }
  const std::optional<t2::SelfCheckReport>& lastReport() const { return m_lastReport; }
  QString reportText() const;  // what the report view shows
  QString statusText() const;  // device and threads, as in the status bar
  QDockWidget* logDock() const { return m_logDock; }
  QDockWidget* throughputDock() const { return m_chartDock; }
  BarChart* throughputChart() const { return m_chart; }

  // Opens (creating if needed) the workspace database. On failure the Runs dock says why and the
  // previous workspace is closed; returns the error (empty on success).
  QString openWorkspace(const QString& path);
  t2::RunStore* store() const { return m_store.get(); }
  RunsPanel* runsPanel() const { return m_runs; }
  QDockWidget* runsDock() const { return m_runsDock; }

  ModelPanel* modelPanel() const { return m_model; }
  QDockWidget* modelDock() const { return m_modelDock; }
  SpectraPanel* spectraPanel() const { return m_spectra; }
  QDockWidget* spectraDock() const { return m_spectraDock; }
  EvalPanel* evalPanel() const { return m_eval; }
  QDockWidget* evalDock() const { return m_evalDock; }
  TrainPanel* trainPanel() const { return m_train; }
  QDockWidget* trainDock() const { return m_trainDock; }
  TasksPanel* tasksPanel() const { return m_tasks; }
  QDockWidget* tasksDock() const { return m_tasksDock; }
  // Opens a model folder in the Model dock (loaded in the background) and remembers it.
  void openModelFolder(const QString& dir);

  // Writes the current report as JSON (.json) or text (any other suffix). Empty on success.
  QString exportReportTo(const QString& path) const;

 public Q_SLOTS:
  void runSelfCheck();
  void cancelJob();
  void showAbout();
  void exportReport();
  void resetLayout();
  void chooseWorkspace();
  void evaluateTask();  // shows the Evaluate dock and starts an evaluation
  void trainExpert();   // shows the Train dock and starts training

 protected:
  void closeEvent(QCloseEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  void buildDocks();
  void syncEvalTasks();  // the Evaluate dock offers the Tasks dock's specs
  void applyDefaultDockSizes();
  void buildMenus();
  void buildStatusBar();
  void connectJobs();
  void showReport(const t2::SelfCheckReport& report);
  void log(const QString& line);

  t2::Engine& m_engine;
  AppSettings& m_settings;
  JobRunner* m_jobs;
  Workspace* m_workspace;  // what the docks share (model, weights, store, experts)
  t2::SystemInfo m_info;
  // The bundled resources folder (t2::find_resources_dir next to the executable); "" = none.
  std::string m_resourcesDir;
  // What resources/demo ships (model, tasks, expert library), read once at start-up.
  t2::DemoInfo m_demo;
  t2::SelfCheckParams m_selfCheckParams;
  std::optional<t2::SelfCheckReport> m_lastReport;
  QByteArray m_defaultState;
  bool m_hasSavedLayout = false;
  bool m_firstShow = true;

  SelfCheckPanel* m_panel = nullptr;
  BarChart* m_chart = nullptr;
  QDockWidget* m_chartDock = nullptr;
  QDockWidget* m_logDock = nullptr;
  RunsPanel* m_runs = nullptr;
  QDockWidget* m_runsDock = nullptr;
  ModelPanel* m_model = nullptr;
  QDockWidget* m_modelDock = nullptr;
  SpectraPanel* m_spectra = nullptr;
  QDockWidget* m_spectraDock = nullptr;
  TasksPanel* m_tasks = nullptr;
  QDockWidget* m_tasksDock = nullptr;
  EvalPanel* m_eval = nullptr;
  QDockWidget* m_evalDock = nullptr;
  TrainPanel* m_train = nullptr;
  QDockWidget* m_trainDock = nullptr;
  std::unique_ptr<t2::RunStore> m_store;
  QPlainTextEdit* m_log = nullptr;
  QAction* m_runAction = nullptr;
  QAction* m_cancelAction = nullptr;
  QLabel* m_deviceLabel = nullptr;
  QLabel* m_threadsLabel = nullptr;
  QProgressBar* m_progress = nullptr;
  QToolButton* m_cancelButton = nullptr;
};

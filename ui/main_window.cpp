#include "main_window.h"

#include "about_dialog.h"
#include "app_settings.h"
#include "eval_panel.h"
#include "job_runner.h"
#include "model_panel.h"
#include "plot/bar_chart.h"
#include "runs_panel.h"
#include "self_check_panel.h"
#include "spectra_panel.h"
#include "tasks_panel.h"
#include "train_panel.h"
#include "workspace.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QCoreApplication>
#include <QDateTime>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QIcon>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QShowEvent>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>

#include <t2/demo_suite.h>

namespace {
const QString kSelfCheckJob = QStringLiteral("Self-check");
}

MainWindow::MainWindow(t2::Engine& engine, AppSettings& settings, QWidget* parent)
    : QMainWindow(parent),
      m_engine(engine),
      m_settings(settings),
      m_jobs(new JobRunner(this)),
      m_workspace(new Workspace(this)),
      m_info(engine.system_info()),
      m_resourcesDir(t2::find_resources_dir(QCoreApplication::applicationDirPath().toStdString())),
      m_demo(t2::demo_info(m_resourcesDir.empty() ? std::string(".") : m_resourcesDir)) {
  {  // "auto" loads on the first usable CUDA device, else the CPU (SystemInfo lists them)
    std::string autoDevice = "cpu";
    for (const auto& d : m_info.devices)
      if (d.id.rfind("cuda", 0) == 0) {
        autoDevice = d.id;
        break;
      }
    m_workspace->setAutoDevice(autoDevice);
  }
  setWindowTitle(tr("T2 Workbench"));
  setWindowIcon(QIcon(QStringLiteral(":/t2/icons/t2-workbench.svg")));
  setObjectName(QStringLiteral("MainWindow"));
  m_panel = new SelfCheckPanel(this);
  m_panel->setSystemInfo(m_info);
  setCentralWidget(m_panel);
  buildDocks();
  buildMenus();
  buildStatusBar();
  connectJobs();
  resize(1280, 800);

  m_defaultState = saveState();
  restoreGeometry(m_settings.windowGeometry());
  m_hasSavedLayout = restoreState(m_settings.windowState());
  log(tr("T2 Workbench %1 ready: LibTorch %2, %3 intra-op threads.")
          .arg(QString::fromLatin1(t2::version()), QString::fromStdString(m_info.torch_version))
          .arg(m_info.intra_op_threads));
}

MainWindow::~MainWindow() = default;

void MainWindow::buildDocks() {
  m_chart = new BarChart(this);
  m_chart->setTitles(tr("GEMM throughput (float32)"), tr("matrix size n"), tr("GFLOP/s"));
  m_chart->setPlaceholder(tr("Run Tools > Run self-check (F5)"));
  m_chartDock = new QDockWidget(tr("Throughput"), this);
  m_chartDock->setObjectName(QStringLiteral("ThroughputDock"));
  m_chartDock->setWidget(m_chart);
  addDockWidget(Qt::RightDockWidgetArea, m_chartDock);

  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_log->setMaximumBlockCount(5000);
  m_logDock = new QDockWidget(tr("Log"), this);
  m_logDock->setObjectName(QStringLiteral("LogDock"));
  m_logDock->setWidget(m_log);
  addDockWidget(Qt::BottomDockWidgetArea, m_logDock);

  m_runs = new RunsPanel(this);
  m_runsDock = new QDockWidget(tr("Runs"), this);
  m_runsDock->setObjectName(QStringLiteral("RunsDock"));
  m_runsDock->setWidget(m_runs);
  addDockWidget(Qt::BottomDockWidgetArea, m_runsDock);
  tabifyDockWidget(m_logDock, m_runsDock);
  m_logDock->raise();
  connect(m_runs, &RunsPanel::message, this, &MainWindow::log);

  m_model = new ModelPanel(m_jobs, this);
  m_model->setWorkspace(m_workspace);
  m_modelDock = new QDockWidget(tr("Model"), this);
  m_modelDock->setObjectName(QStringLiteral("ModelDock"));
  m_modelDock->setWidget(m_model);
  addDockWidget(Qt::LeftDockWidgetArea, m_modelDock);
  m_tasks = new TasksPanel(m_jobs, this);
  m_tasksDock = new QDockWidget(tr("Tasks"), this);
  m_tasksDock->setObjectName(QStringLiteral("TasksDock"));
  m_tasksDock->setWidget(m_tasks);
  addDockWidget(Qt::LeftDockWidgetArea, m_tasksDock);
  tabifyDockWidget(m_modelDock, m_tasksDock);
  m_spectra = new SpectraPanel(m_jobs, this);
  m_spectra->setWorkspace(m_workspace);
  m_spectraDock = new QDockWidget(tr("Spectra"), this);
  m_spectraDock->setObjectName(QStringLiteral("SpectraDock"));
  m_spectraDock->setWidget(m_spectra);
  addDockWidget(Qt::LeftDockWidgetArea, m_spectraDock);
  tabifyDockWidget(m_tasksDock, m_spectraDock);
  m_eval = new EvalPanel(m_jobs, this);
  m_eval->setWorkspace(m_workspace);
  {
    QVector<QPair<QString, QString>> bundled;  // the demo's expert library
    for (const auto& e : m_demo.experts)
      if (e.present)
        bundled.push_back({QString::fromStdString(e.name), QString::fromStdString(e.file)});
    m_workspace->setExperts(bundled);
    m_eval->setBundledExperts(bundled);
  }
  m_evalDock = new QDockWidget(tr("Evaluate"), this);
  m_evalDock->setObjectName(QStringLiteral("EvalDock"));
  m_evalDock->setWidget(m_eval);
  addDockWidget(Qt::RightDockWidgetArea, m_evalDock);
  tabifyDockWidget(m_chartDock, m_evalDock);
  m_train = new TrainPanel(m_jobs, this);
  m_train->setWorkspace(m_workspace);
  m_trainDock = new QDockWidget(tr("Train"), this);
  m_trainDock->setObjectName(QStringLiteral("TrainDock"));
  m_trainDock->setWidget(m_train);
  addDockWidget(Qt::RightDockWidgetArea, m_trainDock);
  tabifyDockWidget(m_evalDock, m_trainDock);
  m_evalDock->raise();
  m_modelDock->raise();
  resizeDocks({m_modelDock}, {460}, Qt::Horizontal);
  connect(m_model, &ModelPanel::message, this, &MainWindow::log);
  connect(m_model, &ModelPanel::folderLoaded, this,
          [this](const QString& dir) { m_settings.setLastModelDir(dir); });
  // Every dock follows the workspace's folder (the Model dock publishes it).
  connect(m_workspace, &Workspace::modelChanged, this,
          [this](std::shared_ptr<const LoadedModel> model) {
            m_spectra->setModel(model);
            m_eval->setModel(model);
            m_train->setModel(model);
          });
  connect(m_train, &TrainPanel::message, this, &MainWindow::log);
  connect(m_train, &TrainPanel::runsChanged, m_runs, &RunsPanel::refresh);
  connect(m_train, &TrainPanel::evaluateExpert, this, [this](const QString& file) {
    m_eval->setExpertFile(file);
    m_eval->selectTask(m_train->taskBox()->currentData().toString());
    m_evalDock->show();
    m_trainDock->show();
    m_evalDock->raise();
  });
  connect(m_eval, &EvalPanel::message, this, &MainWindow::log);
  connect(m_eval, &EvalPanel::runStored, m_runs, &RunsPanel::refresh);
  connect(m_spectra, &SpectraPanel::message, this, &MainWindow::log);
  connect(m_tasks, &TasksPanel::message, this, &MainWindow::log);
  connect(m_tasks, &TasksPanel::specOpened, this, [this] {
    m_settings.setTaskSpecs(m_tasks->openedSpecs());
    syncEvalTasks();
  });
  connect(m_tasks->specList(), &QListWidget::currentRowChanged, this, [this](int row) {
    m_eval->selectTask(m_tasks->specPath(row));
    m_train->selectTask(m_tasks->specPath(row));
  });
  m_tasks->setResourcesDir(QString::fromStdString(m_resourcesDir));
  for (const QString& spec : m_settings.taskSpecs())
    if (QFileInfo::exists(spec)) m_tasks->openSpec(spec);
  syncEvalTasks();
  if (m_tasks->specCount() > 0) m_tasks->selectSpec(0);
}

void MainWindow::syncEvalTasks() {
  QStringList specs;
  for (int row = 0; row < m_tasks->specCount(); ++row) specs << m_tasks->specPath(row);
  m_eval->setTaskSpecs(specs);
  m_train->setTaskSpecs(specs);
}

void MainWindow::trainExpert() {
  m_trainDock->show();
  m_trainDock->raise();
  m_train->train();
}

void MainWindow::evaluateTask() {
  m_evalDock->show();
  m_trainDock->show();
  m_evalDock->raise();
  m_eval->evaluate();
}

void MainWindow::openModelFolder(const QString& dir) {
  if (!dir.isEmpty()) m_model->openFolder(dir);
}

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &workspace database..."), this, &MainWindow::chooseWorkspace)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  file->addAction(tr("Open &model folder..."), m_model, &ModelPanel::chooseFolder)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_O));
  file->addAction(tr("Open &task spec..."), m_tasks, &TasksPanel::chooseSpec)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
  // The bundled demo models, when this build ships them (t2::demo_info).
  const std::string& resources = m_resourcesDir;
  const t2::DemoInfo& demo = m_demo;
  auto* openDemo = file->addAction(tr("Open &demo model"), this, [this, dir = demo.model_dir] {
    openModelFolder(QString::fromStdString(dir));
  });
  openDemo->setEnabled(!resources.empty() && demo.model_present);
  auto* exportAction = file->addAction(tr("&Export report..."), this, &MainWindow::exportReport);
  exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  auto* view = menuBar()->addMenu(tr("&View"));
  view->addAction(m_chartDock->toggleViewAction());
  view->addAction(m_logDock->toggleViewAction());
  view->addAction(m_runsDock->toggleViewAction());
  view->addAction(m_modelDock->toggleViewAction());
  view->addAction(m_tasksDock->toggleViewAction());
  view->addAction(m_spectraDock->toggleViewAction());
  view->addAction(m_evalDock->toggleViewAction());
  view->addAction(m_trainDock->toggleViewAction());
  view->addAction(tr("Refresh &runs"), m_runs, &RunsPanel::refresh)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  view->addSeparator();
  view->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);

  auto* tools = menuBar()->addMenu(tr("&Tools"));
  m_runAction = tools->addAction(tr("&Run self-check"), this, &MainWindow::runSelfCheck);
  m_runAction->setShortcut(QKeySequence(Qt::Key_F5));
  tools->addAction(tr("&Evaluate on task"), this, &MainWindow::evaluateTask)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  tools->addAction(tr("&Train expert"), this, &MainWindow::trainExpert)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
  m_cancelAction = tools->addAction(tr("&Cancel job"), this, &MainWindow::cancelJob);
  m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
  m_cancelAction->setEnabled(false);

  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About T2 Workbench"), this, &MainWindow::showAbout)
      ->setShortcut(QKeySequence::HelpContents);
}

void MainWindow::buildStatusBar() {
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_progress->setMaximumWidth(220);
  m_progress->setVisible(false);
  m_cancelButton = new QToolButton(this);
  m_cancelButton->setText(tr("Cancel"));
  m_cancelButton->setToolTip(tr("Cancel the running job (Esc)"));
  m_cancelButton->setVisible(false);
  connect(m_cancelButton, &QToolButton::clicked, this, &MainWindow::cancelJob);

  QString device = QStringLiteral("cpu");
  for (const auto& d : m_info.devices)
    if (d.id.rfind("cuda", 0) == 0) device += QStringLiteral(", ") + QString::fromStdString(d.id);
  m_deviceLabel = new QLabel(tr("Device: %1").arg(device), this);
  m_deviceLabel->setToolTip(QString::fromStdString(m_info.devices.front().name));
  m_threadsLabel = new QLabel(
      tr("Threads: %1 of %2").arg(m_info.intra_op_threads).arg(m_info.hardware_threads), this);
  m_threadsLabel->setToolTip(QString::fromStdString(m_info.threads_source));
  statusBar()->addPermanentWidget(m_progress);
  statusBar()->addPermanentWidget(m_cancelButton);
  statusBar()->addPermanentWidget(m_deviceLabel);
  statusBar()->addPermanentWidget(m_threadsLabel);
  statusBar()->showMessage(tr("Ready"));
}

void MainWindow::connectJobs() {
  connect(m_panel, &SelfCheckPanel::runRequested, this, &MainWindow::runSelfCheck);
  connect(m_jobs, &JobRunner::runningChanged, this, [this](bool running) {
    m_runAction->setEnabled(!running);
    m_cancelAction->setEnabled(running);
    m_panel->setBusy(running);
    m_progress->setVisible(running);
    m_cancelButton->setVisible(running);
    if (running) m_progress->setValue(0);
  });
  connect(m_jobs, &JobRunner::jobStarted, this, [this](const QString& name) {
    statusBar()->showMessage(tr("%1 running...").arg(name));
    log(tr("%1 started").arg(name));
  });
  connect(m_jobs, &JobRunner::progressChanged, this,
          [this](const QString& name, double fraction, const QString& message) {
            m_progress->setValue(int(fraction * 1000));
            statusBar()->showMessage(QStringLiteral("%1: %2").arg(name, message));
            if (!message.isEmpty()) log(message);
          });
  connect(m_jobs, &JobRunner::jobFinished, this, [this](const QString& name, double seconds) {
    statusBar()->showMessage(tr("%1 finished in %2 s").arg(name).arg(seconds, 0, 'f', 1), 10000);
    log(tr("%1 finished in %2 s").arg(name).arg(seconds, 0, 'f', 1));
  });
  connect(m_jobs, &JobRunner::jobCancelled, this, [this](const QString& name) {
    statusBar()->showMessage(tr("%1 cancelled").arg(name), 10000);
    log(tr("%1 cancelled").arg(name));
  });
  connect(m_jobs, &JobRunner::jobFailed, this, [this](const QString& name, const QString& error) {
    statusBar()->showMessage(tr("%1 failed").arg(name), 10000);
    log(tr("%1 failed: %2").arg(name, error));
    auto* box = new QMessageBox(QMessageBox::Warning, name, error, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();  // non-blocking: the event loop (and other jobs) keep running
  });
}

void MainWindow::runSelfCheck() {
  const t2::SelfCheckParams params = m_selfCheckParams;
  t2::Engine* engine = &m_engine;
  m_jobs->run<t2::SelfCheckReport>(
      kSelfCheckJob,
      [engine, params](const t2::JobContext& job) { return engine->self_check(params, job); },
      [this](const t2::SelfCheckReport& report) { showReport(report); });
}

void MainWindow::cancelJob() {
  if (!m_jobs->isRunning()) return;
  // Esc stops the interactive job (a generation, a check) first, then the long one.
  const JobLane lane =
      m_jobs->isRunning(JobLane::Interactive) ? JobLane::Interactive : JobLane::Long;
  statusBar()->showMessage(tr("Cancelling %1...").arg(m_jobs->currentJob(lane)));
  m_jobs->cancel(lane);
}

void MainWindow::showReport(const t2::SelfCheckReport& report) {
  m_lastReport = report;
  m_panel->setReport(report);
  QVector<QString> labels;
  QVector<double> values;
  for (const auto& g : report.gemm) {
    labels << QString::number(g.n) + QChar(0x00B3);  // n cubed
    values << g.gflops;
  }
  m_chart->setData(labels, values);
  for (const auto& w : report.warnings) log(tr("WARNING: %1").arg(QString::fromStdString(w)));
}

QString MainWindow::reportText() const { return m_panel->reportText(); }

QString MainWindow::statusText() const {
  return m_deviceLabel->text() + QStringLiteral(" | ") + m_threadsLabel->text();
}

QString MainWindow::exportReportTo(const QString& path) const {
  const bool json =
      QFileInfo(path).suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0;
  std::string content;
  if (m_lastReport)
    content = json ? t2::to_json(*m_lastReport) + "\n" : t2::to_text(*m_lastReport);
  else
    content = json ? t2::to_json(m_info) + "\n" : t2::to_text(m_info);
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return tr("could not write %1: %2").arg(path, file.errorString());
  file.write(content.data(), qint64(content.size()));
  return {};
}

void MainWindow::exportReport() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export report"), m_settings.lastExportDir() + QStringLiteral("/t2-report.json"),
      tr("JSON (*.json);;Text (*.txt)"));
  if (path.isEmpty()) return;
  m_settings.setLastExportDir(QFileInfo(path).absolutePath());
  const QString error = exportReportTo(path);
  if (!error.isEmpty())
    QMessageBox::warning(this, tr("Export report"), error);
  else
    log(tr("Report exported to %1").arg(path));
}

void MainWindow::showAbout() {
  AboutDialog dialog(reportText(), this);
  dialog.exec();
}

void MainWindow::resetLayout() {
  restoreState(m_defaultState);
  applyDefaultDockSizes();
  m_chartDock->show();
  m_logDock->show();
  m_runsDock->show();
  m_modelDock->show();
  m_tasksDock->show();
  m_spectraDock->show();
  m_evalDock->show();
  m_trainDock->show();
}

QString MainWindow::openWorkspace(const QString& path) {
  m_runs->setStore(nullptr);
  m_workspace->setStore(nullptr);
  m_store.reset();
  QString error;
  try {
    m_store = std::make_unique<t2::RunStore>(path.toStdString());
  } catch (const std::exception& e) {
    error = QString::fromStdString(e.what());
  }
  if (m_store) {
    log(tr("Workspace: %1").arg(path));
    for (auto id : m_store->interrupted_on_open())
      log(tr("Run %1 was marked interrupted (its process had ended)").arg(id));
    m_runsDock->setWindowTitle(tr("Runs - %1").arg(QFileInfo(path).fileName()));
  } else {
    log(tr("Could not open the workspace %1: %2").arg(path, error));
    m_runsDock->setWindowTitle(tr("Runs"));
  }
  m_workspace->setStore(m_store.get());
  m_runs->setStore(m_store.get(),
                   error.isEmpty() ? QString() : tr("Workspace not open: %1").arg(error));
  return error;
}

void MainWindow::chooseWorkspace() {
  const QString current =
      m_store ? QString::fromStdString(m_store->path()) : m_settings.databasePath();
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Open or create a workspace database"), current,
      tr("T2 workspace (*.db);;All files (*)"), nullptr, QFileDialog::DontConfirmOverwrite);
  if (path.isEmpty()) return;
  const QString error = openWorkspace(path);
  if (error.isEmpty())
    m_settings.setDatabasePath(path);
  else
    QMessageBox::warning(this, tr("Open workspace"), error);
}

void MainWindow::applyDefaultDockSizes() {
  // The model/tasks docks get the most room, the log and runs a strip at the bottom.
  resizeDocks({m_modelDock, m_chartDock}, {width() * 45 / 100, width() / 5}, Qt::Horizontal);
  resizeDocks({m_logDock}, {height() / 4}, Qt::Vertical);
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  // Dock sizes need a laid-out window: apply them once the show has been processed.
  if (m_firstShow && !m_hasSavedLayout)
    QTimer::singleShot(0, this, &MainWindow::applyDefaultDockSizes);
  m_firstShow = false;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  m_jobs->cancel(JobLane::Interactive);
  m_jobs->cancel(JobLane::Long);
  m_settings.setWindowGeometry(saveGeometry());
  m_settings.setWindowState(saveState());
  m_settings.sync();
  event->accept();
}

void MainWindow::log(const QString& line) {
  m_log->appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss  ")) +
                         line);
}

// t2-workbench: the GUI. Wiring only: options, display check, engine, main window.
#include "app_settings.h"
#include "job_runner.h"
#include "main_window.h"
#include "qt_messages.h"

#include <t2/engine.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTimer>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

constexpr int kExitNoDisplay = 3;

bool displayAvailable() {
  const auto has = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
  };
  return has("QT_QPA_PLATFORM") || has("DISPLAY") || has("WAYLAND_DISPLAY");
}

// Qt wants a private runtime directory; headless sessions (CI, ssh, containers) often lack one.
// Create the same fallback Qt would, but quietly.
void ensureRuntimeDir() {
  const char* current = std::getenv("XDG_RUNTIME_DIR");
  if (current != nullptr && *current != '\0') return;
  const std::string dir = "/tmp/runtime-" + std::to_string(::getuid());
  ::mkdir(dir.c_str(), 0700);
  ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 0);
}

struct Options {
  int threads = 0;
  QString settingsFile;
  QString db;
  QString screenshot;
  QString model;
  bool selfCheck = false;
  bool quick = false;
  bool quit = false;
  bool failOnWarning = false;
};

// Parses without a QCoreApplication so that --help works without a display.
Options parseOptions(int argc, char** argv) {
  QStringList args;
  for (int i = 0; i < argc; ++i) args << QString::fromLocal8Bit(argv[i]);
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "T2 Workbench: decompose LLM weights by SVD, train and evaluate SVF expert vectors, and see "
      "spectra, training curves and evaluations. Without a display, use the command line: "
      "t2 --help");
  const auto help = parser.addHelpOption();
  const auto version = parser.addVersionOption();
  const QCommandLineOption threads("threads", "Torch intra-op threads (default: all cores).", "N");
  const QCommandLineOption settings("settings", "Use this INI file for settings.", "FILE");
  const QCommandLineOption db("db",
                              "Workspace database (default: the last one opened, else "
                              "$T2_DB, else $XDG_DATA_HOME/t2-workbench/workspace.db).",
                              "PATH");
  const QCommandLineOption model("model",
                                 "Model folder for the Model dock (default: the last one "
                                 "opened, else the bundled demo model).",
                                 "DIR");
  const QCommandLineOption screenshot("screenshot", "Save a PNG of the window once shown.", "FILE");
  const QCommandLineOption selfCheck("self-check", "Run the compute self-check at start.");
  const QCommandLineOption quick("quick", "With --self-check: short measurements.");
  const QCommandLineOption quit("quit", "Quit once started (after --self-check / --screenshot).");
  const QCommandLineOption failOnWarning("fail-on-warning", "Exit 1 if Qt logged warnings.");
  parser.addOptions(
      {threads, settings, db, model, screenshot, selfCheck, quick, quit, failOnWarning});
  if (!parser.parse(args)) {
    std::fprintf(stderr, "t2-workbench: %s\nRun 't2-workbench --help' for usage.\n",
                 qPrintable(parser.errorText()));
    std::exit(2);
  }
  if (parser.isSet(help)) {
    std::printf("%s", qPrintable(parser.helpText()));
    std::exit(0);
  }
  if (parser.isSet(version)) {
    std::printf("t2-workbench %s\n", t2::version());
    std::exit(0);
  }
  Options o;
  if (parser.isSet(threads)) {
    bool ok = false;
    o.threads = parser.value(threads).toInt(&ok);
    if (!ok || o.threads < 1) {
      std::fprintf(stderr, "t2-workbench: --threads needs a positive integer\n");
      std::exit(2);
    }
  }
  o.settingsFile = parser.value(settings);
  o.db = parser.value(db);
  o.screenshot = parser.value(screenshot);
  o.model = parser.value(model);
  o.selfCheck = parser.isSet(selfCheck);
  o.quick = parser.isSet(quick);
  o.quit = parser.isSet(quit);
  o.failOnWarning = parser.isSet(failOnWarning);
  return o;
}

void printNoDisplayHelp(const char* argv0) {
  const QString dir = QFileInfo(QString::fromLocal8Bit(argv0)).absolutePath();
  std::fprintf(stderr,
               "t2-workbench: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the "
               "workbench window cannot open.\n"
               "Everything the workbench does is also available from the command line:\n"
               "    %s/t2 --help\n"
               "    %s/t2 info          # versions, devices, threads, GEMM and memory speed\n"
               "    %s/t2 demo info     # the bundled demo model and tasks\n"
               "    %s/t2 eval DEMO_MODEL --task TASK_SPEC --limit 100   # accuracy on a task\n"
               "To open the window without a screen, use a virtual display:\n"
               "    xvfb-run -a %s/t2-workbench\n",
               qPrintable(dir), qPrintable(dir), qPrintable(dir), qPrintable(dir), qPrintable(dir));
}

// The demo model that ships under resources/demo/model, or "" when this build has none.
QString bundledDemoModel() {
  const std::string resources =
      t2::find_resources_dir(QCoreApplication::applicationDirPath().toStdString());
  if (resources.empty()) return {};
  const t2::DemoInfo info = t2::demo_info(resources);
  return info.model_present ? QString::fromStdString(info.model_dir) : QString();
}

}  // namespace

int main(int argc, char** argv) {
  t2::relaunch_with_runtime_env(argv);
  const Options options = parseOptions(argc, argv);
  if (!displayAvailable()) {
    printNoDisplayHelp(argv[0]);
    return kExitNoDisplay;
  }
  ensureRuntimeDir();
  installQtMessageHandler();
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("t2-workbench"));
  QApplication::setApplicationDisplayName(QStringLiteral("T2 Workbench"));
  QApplication::setOrganizationName(QStringLiteral("T2 Workbench"));
  QApplication::setApplicationVersion(QString::fromLatin1(t2::version()));

  std::unique_ptr<t2::Engine> engine;
  try {
    t2::EngineOptions engineOptions;
    engineOptions.threads = options.threads;
    engine = std::make_unique<t2::Engine>(engineOptions);
  } catch (const t2::Error& e) {
    std::fprintf(stderr, "t2-workbench: %s\n", e.what());
    return 1;
  }
  auto settings = options.settingsFile.isEmpty()
                      ? std::make_unique<AppSettings>()
                      : std::make_unique<AppSettings>(options.settingsFile);
  MainWindow window(*engine, *settings);
  window.openWorkspace(options.db.isEmpty() ? settings->databasePath() : options.db);
  if (options.quick) {
    t2::SelfCheckParams quick;
    quick.gemm_sizes = {256, 512};
    quick.min_seconds_per_size = 0.05;
    quick.bandwidth_bytes = 32 << 20;
    window.setSelfCheckParams(quick);
  }
  window.show();
  // The model folder loads through the JobRunner: after the self-check when one is asked for.
  QString modelDir = options.model.isEmpty() ? settings->lastModelDir() : options.model;
  if (modelDir.isEmpty()) modelDir = bundledDemoModel();

  int exitCode = 0;
  // Screenshot and quit once the start-up work (the self-check, if asked, and the model folder's
  // loading) is done: checked after every job and once at start.
  bool finished = false;
  auto finishStartup = [&] {
    if (finished || window.jobRunner().isRunning()) return;
    finished = true;
    if (!options.screenshot.isEmpty()) {
      QDir().mkpath(QFileInfo(options.screenshot).absolutePath());
      if (!window.grab().save(options.screenshot)) {
        std::fprintf(stderr, "t2-workbench: could not save %s\n", qPrintable(options.screenshot));
        exitCode = 1;
      }
    }
    if (options.quit) window.close();
  };
  const bool finishes = options.quit || !options.screenshot.isEmpty();
  if (finishes) {
    QObject::connect(&window.jobRunner(), &JobRunner::runningChanged, &window, [&](bool running) {
      if (!running) QTimer::singleShot(200, &window, finishStartup);
    });
  }
  if (options.selfCheck) {
    QObject::connect(&window.jobRunner(), &JobRunner::runningChanged, &window,
                     [&, opened = false](bool running) mutable {
                       if (running || opened) return;
                       opened = true;
                       window.openModelFolder(modelDir);
                     });
    QTimer::singleShot(0, &window, &MainWindow::runSelfCheck);
  } else {
    window.openModelFolder(modelDir);
  }
  if (!options.selfCheck && finishes) QTimer::singleShot(300, &window, finishStartup);
  const int rc = app.exec();
  if (options.failOnWarning && qtWarningCount() > 0) {
    std::fprintf(stderr, "t2-workbench: %d Qt warning(s) logged (--fail-on-warning)\n",
                 qtWarningCount());
    return 1;
  }
  return rc != 0 ? rc : exitCode;
}

#include "qt_messages.h"

#include <QLatin1String>
#include <QString>
#include <QtGlobal>

#include <atomic>
#include <cstdio>

namespace {

std::atomic<int> g_warnings{0};

void handler(QtMsgType type, const QMessageLogContext&, const QString& message) {
  // The offscreen platform plugin logs this for every top-level window with size constraints;
  // it says nothing about the workbench, so it is neither shown nor counted.
  if (message == QLatin1String("This plugin does not support propagateSizeHints()")) return;
  if (type == QtWarningMsg || type == QtCriticalMsg || type == QtFatalMsg) ++g_warnings;
  std::fprintf(stderr, "%s\n", qPrintable(message));
}

}  // namespace

void installQtMessageHandler() { qInstallMessageHandler(handler); }

int qtWarningCount() { return g_warnings.load(); }

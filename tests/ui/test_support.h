// Helpers for widget tests.
#pragma once

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QString>
#include <QThread>

#include <functional>

// Processes events until `done()` or the timeout; returns done().
inline bool waitUntil(const std::function<bool()>& done, int timeoutMs = 20000) {
  QElapsedTimer clock;
  clock.start();
  while (!done() && clock.elapsed() < timeoutMs) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    QThread::msleep(2);
  }
  return done();
}

// A file under the build tree's test-output directory (created on demand).
inline QString testOutputPath(const QString& name) {
  const QString dir = QStringLiteral(T2_TEST_OUTPUT_DIR);
  QDir().mkpath(dir + QStringLiteral("/screenshots"));
  return dir + QLatin1Char('/') + name;
}

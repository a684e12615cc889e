#include "job_runner.h"

#include <t2/error.h>

#include <QMetaObject>
#include <QThread>

#include <chrono>

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
  if (m_thread) {
    m_cancel->request_cancel();
    m_thread->wait();
    delete m_thread;
  }
}

bool JobRunner::start(const QString& name, Work work) {
  if (m_running) return false;
  if (m_thread) {  // the previous worker has finished; reclaim it
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
  }
  m_running = true;
  m_name = name;
  m_cancel = std::make_unique<t2::CancelToken>();
  m_clock.start();

  // Progress is throttled to ~30 updates/s so that a chatty job cannot flood the event loop.
  auto lastPost = std::make_shared<std::chrono::steady_clock::time_point>();
  auto progress = [this, name, lastPost](const t2::Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (p.fraction < 1.0 && now - *lastPost < std::chrono::milliseconds(33)) return;
    *lastPost = now;
    const double fraction = p.fraction;
    const QString message = QString::fromStdString(p.message);
    QMetaObject::invokeMethod(
        this, [this, name, fraction, message] { Q_EMIT progressChanged(name, fraction, message); },
        Qt::QueuedConnection);
  };
  t2::JobContext job(progress, *m_cancel);

  m_thread = QThread::create([this, name, work = std::move(work), job] {
    std::function<void()> deliver;
    try {
      auto continuation = work(job);
      deliver = [this, name, continuation] {
        if (continuation) continuation();
        const double seconds = m_clock.elapsed() / 1000.0;
        finish();
        Q_EMIT jobFinished(name, seconds);
      };
    } catch (...) {
      const t2::Error error = t2::error_from_current_exception();
      if (error.is_cancelled()) {
        deliver = [this, name] {
          finish();
          Q_EMIT jobCancelled(name);
        };
      } else {
        const QString message = QString::fromStdString(error.what());
        deliver = [this, name, message] {
          finish();
          Q_EMIT jobFailed(name, message);
        };
      }
    }
    QMetaObject::invokeMethod(this, deliver, Qt::QueuedConnection);
  });
  m_thread->setObjectName(QStringLiteral("t2-job"));
  Q_EMIT jobStarted(name);
  Q_EMIT runningChanged(true);
  m_thread->start();
  return true;
}

void JobRunner::cancel() {
  if (m_running && m_cancel) m_cancel->request_cancel();
}

void JobRunner::finish() {
  m_running = false;
  Q_EMIT runningChanged(false);
}

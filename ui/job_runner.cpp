#include "job_runner.h"

#include <t2/error.h>

#include <QMetaObject>
#include <QThread>

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
  for (Slot& s : m_slots)
    if (s.thread) s.cancel->request_cancel();
  for (Slot& s : m_slots) {
    if (!s.thread) continue;
    s.thread->wait();
    delete s.thread;
  }
}

bool JobRunner::isRunning() const {
  return isRunning(JobLane::Long) || isRunning(JobLane::Interactive);
}

bool JobRunner::start(const QString& name, Work work, JobLane lane, JobEnd onEnd) {
  Slot& s = slot(lane);
  if (s.running) return false;
  if (s.thread) {  // the previous worker of this lane has finished; reclaim it
    s.thread->wait();
    delete s.thread;
    s.thread = nullptr;
  }
  s.running = true;
  s.name = name;
  s.cancel = std::make_unique<t2::CancelToken>();
  s.clock.start();

  // Progress is throttled to 10 updates/s so that a chatty job cannot flood the event loop.
  auto lastPost = std::make_shared<std::chrono::steady_clock::time_point>();
  auto progress = [this, name, lastPost](const t2::Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (p.fraction < 1.0 && now - *lastPost < std::chrono::milliseconds(100)) return;
    *lastPost = now;
    const double fraction = p.fraction;
    const QString message = QString::fromStdString(p.message);
    QMetaObject::invokeMethod(
        this, [this, name, fraction, message] { Q_EMIT progressChanged(name, fraction, message); },
        Qt::QueuedConnection);
  };
  t2::JobContext job(progress, *s.cancel);

  s.thread = QThread::create([this, name, lane, work = std::move(work), onEnd, job] {
    std::function<void()> deliver;
    try {
      auto continuation = work(job);
      deliver = [this, name, lane, continuation, onEnd] {
        if (continuation) continuation();
        const double seconds = slot(lane).clock.elapsed() / 1000.0;
        finish(lane);
        if (onEnd) onEnd(JobOutcome::Finished, {});
        Q_EMIT jobFinished(name, seconds);
      };
    } catch (...) {
      const t2::Error error = t2::error_from_current_exception();
      if (error.is_cancelled()) {
        deliver = [this, name, lane, onEnd] {
          finish(lane);
          if (onEnd) onEnd(JobOutcome::Cancelled, {});
          Q_EMIT jobCancelled(name);
        };
      } else {
        const QString message = QString::fromStdString(error.what());
        deliver = [this, name, lane, message, onEnd] {
          finish(lane);
          if (onEnd) onEnd(JobOutcome::Failed, message);
          Q_EMIT jobFailed(name, message);
        };
      }
    }
    QMetaObject::invokeMethod(this, deliver, Qt::QueuedConnection);
  });
  s.thread->setObjectName(lane == JobLane::Long ? QStringLiteral("t2-job")
                                                : QStringLiteral("t2-interactive"));
  Q_EMIT jobStarted(name);
  Q_EMIT runningChanged(true);
  s.thread->start();
  return true;
}

void JobRunner::cancel() {
  cancel(isRunning(JobLane::Interactive) ? JobLane::Interactive : JobLane::Long);
}

void JobRunner::cancel(JobLane lane) {
  Slot& s = slot(lane);
  if (s.running && s.cancel) s.cancel->request_cancel();
}

void JobRunner::finish(JobLane lane) {
  slot(lane).running = false;
  Q_EMIT runningChanged(isRunning());
}

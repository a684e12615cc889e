// The job bridge: runs one engine call at a time on a worker thread, turns the backend's plain
// progress callback into Qt signals, delivers the result on the GUI thread, and cancels.
//
// Invariants: at most one job runs; every started job ends with exactly one of jobFinished,
// jobFailed or jobCancelled (emitted on the GUI thread, after which isRunning() is false).
// Destroying the runner cancels a running job and waits for its worker.
#pragma once

#include <t2/job.h>

#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>

class QThread;

class JobRunner : public QObject {
  Q_OBJECT

 public:
  // Work runs on the worker thread and returns a continuation that runs on the GUI thread.
  using Work = std::function<std::function<void()>(const t2::JobContext&)>;

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  // Starts `work`; returns false (and does nothing) while another job runs.
  bool start(const QString& name, Work work);

  // Typed convenience: `compute` runs on the worker, `onResult` on the GUI thread.
  template <class R>
  bool run(const QString& name, std::function<R(const t2::JobContext&)> compute,
           std::function<void(const R&)> onResult) {
    return start(name,
                 [compute = std::move(compute), onResult = std::move(onResult)](
                     const t2::JobContext& job) -> std::function<void()> {
                   auto result = std::make_shared<R>(compute(job));
                   return [onResult, result] { onResult(*result); };
                 });
  }

  bool isRunning() const { return m_running; }
  QString currentJob() const { return m_name; }

 public Q_SLOTS:
  void cancel();  // cooperative: the job stops at its next safe point

 Q_SIGNALS:
  void jobStarted(const QString& name);
  void progressChanged(const QString& name, double fraction, const QString& message);
  void jobFinished(const QString& name, double seconds);
  void jobFailed(const QString& name, const QString& message);
  void jobCancelled(const QString& name);
  void runningChanged(bool running);

 private:
  void finish();

  bool m_running = false;
  QString m_name;
  QThread* m_thread = nullptr;
  std::unique_ptr<t2::CancelToken> m_cancel;
  QElapsedTimer m_clock;
};

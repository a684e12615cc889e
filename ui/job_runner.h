// The job bridge: runs engine calls on worker threads, turns the backend's plain progress
// callback into Qt signals, delivers results on the GUI thread, and cancels.
//
// Two lanes, one job each (the policy that lets a short interactive job run beside a long one):
//  - Long: training, evaluation, decomposition, task checks — anything that can take minutes or
//    writes the run store;
//  - Interactive: short jobs a user waits for (a generation / chat turn, loading a model
//    folder). They never write the run store, and each builds its own t2::Session over the
//    workspace's shared, immutable t2::Model — so no two jobs ever write one session.
// Invariants: every started job ends with exactly one of jobFinished, jobFailed or jobCancelled
// (GUI thread), after its JobEnd callback ran and after which isRunning(lane) is false.
// Destroying the runner cancels running jobs and waits for their workers.
//
// Partial results (streamed tokens, training iterations) go through PartialChannel<T>: the
// worker push()es typed values; the GUI receives them in batches, at most 10 times a second.
#pragma once

#include <t2/job.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>
#include <QVector>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

class QThread;

enum class JobLane { Long = 0, Interactive = 1 };
enum class JobOutcome { Finished, Failed, Cancelled };

class JobRunner : public QObject {
  Q_OBJECT

 public:
  // Work runs on the worker thread and returns a continuation that runs on the GUI thread.
  using Work = std::function<std::function<void()>(const t2::JobContext&)>;
  // Called on the GUI thread when the job ends (after the continuation of a finished job);
  // `error` is the message of a failed job, empty otherwise.
  using JobEnd = std::function<void(JobOutcome outcome, const QString& error)>;

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  // Starts `work` on `lane`; returns false (and does nothing) while that lane runs a job.
  bool start(const QString& name, Work work, JobLane lane = JobLane::Long, JobEnd onEnd = {});

  // Typed convenience: `compute` runs on the worker, `onResult` on the GUI thread.
  template <class R>
  bool run(const QString& name, std::function<R(const t2::JobContext&)> compute,
           std::function<void(const R&)> onResult, JobLane lane = JobLane::Long,
           JobEnd onEnd = {}) {
    return start(
        name,
        [compute = std::move(compute),
         onResult = std::move(onResult)](const t2::JobContext& job) -> std::function<void()> {
          auto result = std::make_shared<R>(compute(job));
          return [onResult, result] { onResult(*result); };
        },
        lane, std::move(onEnd));
  }

  bool isRunning() const;  // any lane
  bool isRunning(JobLane lane) const { return slot(lane).running; }
  QString currentJob(JobLane lane = JobLane::Long) const { return slot(lane).name; }

 public Q_SLOTS:
  // Cooperative: the job stops at its next safe point. cancel() cancels the interactive job
  // when one runs (the most recent, short thing), else the long one.
  void cancel();
  void cancel(JobLane lane);

 Q_SIGNALS:
  void jobStarted(const QString& name);
  void progressChanged(const QString& name, double fraction, const QString& message);
  void jobFinished(const QString& name, double seconds);
  void jobFailed(const QString& name, const QString& message);
  void jobCancelled(const QString& name);
  void runningChanged(bool running);  // isRunning() (any lane) after a start or an end

 private:
  struct Slot {
    bool running = false;
    QString name;
    QThread* thread = nullptr;
    std::unique_ptr<t2::CancelToken> cancel;
    QElapsedTimer clock;
  };
  Slot& slot(JobLane lane) { return m_slots[static_cast<int>(lane)]; }
  const Slot& slot(JobLane lane) const { return m_slots[static_cast<int>(lane)]; }
  void finish(JobLane lane);

  std::array<Slot, 2> m_slots;
};

// Typed partial results from a worker to the GUI, batched: push() (any thread) queues a value;
// the receiver gets every queued value, in order, at most once per `interval` (default 100 ms,
// i.e. <= 10 deliveries a second) and once more after flush(). Values pushed after the receiver
// is destroyed are dropped. Create with std::make_shared on the GUI thread.
template <class T>
class PartialChannel : public std::enable_shared_from_this<PartialChannel<T>> {
 public:
  using Receiver = std::function<void(const QVector<T>& batch)>;
  PartialChannel(QObject* context, Receiver receiver,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(100))
      : m_context(context), m_receiver(std::move(receiver)), m_interval(interval) {}

  void push(T value) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending.push_back(std::move(value));
    if (m_scheduled) return;
    m_scheduled = true;
    const auto now = std::chrono::steady_clock::now();
    const auto wait =
        m_last + m_interval > now
            ? std::chrono::duration_cast<std::chrono::milliseconds>(m_last + m_interval - now)
            : std::chrono::milliseconds(0);
    schedule(static_cast<int>(wait.count()));
  }
  // Delivers what is queued now (call on the GUI thread, e.g. when the job ends).
  void flush() { deliver(); }

 private:
  // Runs on the application object (alive for the whole program), so that a worker never
  // posts to a receiver that is being destroyed; deliver() checks the receiver on the GUI thread.
  void schedule(int delayMs) {
    auto self = this->shared_from_this();
    QObject* app = QCoreApplication::instance();
    QMetaObject::invokeMethod(
        app,
        [self, app, delayMs] { QTimer::singleShot(delayMs, app, [self] { self->deliver(); }); },
        Qt::QueuedConnection);
  }
  void deliver() {
    QVector<T> batch;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      batch.swap(m_pending);
      m_scheduled = false;
      m_last = std::chrono::steady_clock::now();
    }
    if (!batch.isEmpty() && m_context) m_receiver(batch);
  }

  QPointer<QObject> m_context;
  Receiver m_receiver;
  std::chrono::milliseconds m_interval;
  std::mutex m_mutex;
  QVector<T> m_pending;
  bool m_scheduled = false;
  std::chrono::steady_clock::time_point m_last{};
};

#include "job_runner.h"
#include "test_support.h"

#include <t2/error.h>

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QThread>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

namespace {

// A job that runs until cancelled (polling like engine jobs do).
int untilCancelled(const t2::JobContext& job) {
  while (true) {
    job.throw_if_cancelled();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(JobRunner, RunsOffTheGuiThreadAndDeliversOnIt) {
  JobRunner runner;
  QSignalSpy started(&runner, &JobRunner::jobStarted);
  QSignalSpy finished(&runner, &JobRunner::jobFinished);
  QSignalSpy progress(&runner, &JobRunner::progressChanged);
  QSignalSpy running(&runner, &JobRunner::runningChanged);
  QThread* gui = QThread::currentThread();
  std::atomic<QThread*> workerThread{nullptr};
  QThread* deliveryThread = nullptr;
  int value = 0;

  ASSERT_TRUE(runner.run<int>(
      QStringLiteral("answer"),
      [&](const t2::JobContext& job) {
        workerThread = QThread::currentThread();
        job.report("compute", 0.5, "half way");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        job.report("compute", 1.0, "done");
        return 42;
      },
      [&](const int& result) {
        deliveryThread = QThread::currentThread();
        value = result;
      }));
  EXPECT_TRUE(runner.isRunning());
  EXPECT_EQ(runner.currentJob(), QStringLiteral("answer"));
  ASSERT_TRUE(waitUntil([&] { return finished.count() == 1; }));

  EXPECT_EQ(value, 42);
  EXPECT_NE(workerThread.load(), gui);
  EXPECT_EQ(deliveryThread, gui);
  EXPECT_FALSE(runner.isRunning());
  EXPECT_EQ(started.count(), 1);
  EXPECT_EQ(finished.at(0).at(0).toString(), QStringLiteral("answer"));
  EXPECT_GE(finished.at(0).at(1).toDouble(), 0.05);
  ASSERT_GE(progress.count(), 1);  // throttled, but the final 100 % always arrives
  EXPECT_DOUBLE_EQ(progress.last().at(1).toDouble(), 1.0);
  EXPECT_EQ(progress.last().at(2).toString(), QStringLiteral("done"));
  ASSERT_EQ(running.count(), 2);
  EXPECT_TRUE(running.at(0).at(0).toBool());
  EXPECT_FALSE(running.at(1).at(0).toBool());
}

TEST(JobRunner, CancelEndsTheJobAsCancelled) {
  JobRunner runner;
  QSignalSpy cancelled(&runner, &JobRunner::jobCancelled);
  QSignalSpy finished(&runner, &JobRunner::jobFinished);
  QSignalSpy failed(&runner, &JobRunner::jobFailed);
  bool delivered = false;
  ASSERT_TRUE(runner.run<int>(QStringLiteral("forever"), untilCancelled,
                              [&](const int&) { delivered = true; }));
  QThread::msleep(30);
  runner.cancel();
  ASSERT_TRUE(waitUntil([&] { return cancelled.count() == 1; }, 5000));
  EXPECT_EQ(finished.count(), 0);
  EXPECT_EQ(failed.count(), 0);
  EXPECT_FALSE(delivered);
  EXPECT_FALSE(runner.isRunning());
}

TEST(JobRunner, ErrorsBecomeJobFailedWithTheMessage) {
  JobRunner runner;
  QSignalSpy failed(&runner, &JobRunner::jobFailed);
  runner.run<int>(
      QStringLiteral("svd"),
      [](const t2::JobContext&) -> int {
        throw t2::Error(t2::ErrorKind::InvalidArgument,
                        "rank 128 exceeds min(dim)=64; lower --rank");
      },
      [](const int&) {});
  ASSERT_TRUE(waitUntil([&] { return failed.count() == 1; }));
  EXPECT_EQ(failed.at(0).at(0).toString(), QStringLiteral("svd"));
  EXPECT_EQ(failed.at(0).at(1).toString(),
            QStringLiteral("rank 128 exceeds min(dim)=64; lower --rank"));

  runner.run<int>(
      QStringLiteral("std"), [](const t2::JobContext&) -> int { throw std::runtime_error("boom"); },
      [](const int&) {});
  ASSERT_TRUE(waitUntil([&] { return failed.count() == 2; }));
  EXPECT_TRUE(failed.at(1).at(1).toString().contains(QStringLiteral("boom")));
}

TEST(JobRunner, OneJobAtATime) {
  JobRunner runner;
  QSignalSpy cancelled(&runner, &JobRunner::jobCancelled);
  ASSERT_TRUE(runner.run<int>(QStringLiteral("first"), untilCancelled, [](const int&) {}));
  EXPECT_FALSE(runner.run<int>(
      QStringLiteral("second"), [](const t2::JobContext&) { return 1; }, [](const int&) {}));
  EXPECT_EQ(runner.currentJob(), QStringLiteral("first"));
  runner.cancel();
  ASSERT_TRUE(waitUntil([&] { return cancelled.count() == 1; }));
  QSignalSpy finished(&runner, &JobRunner::jobFinished);
  EXPECT_TRUE(runner.run<int>(
      QStringLiteral("third"), [](const t2::JobContext&) { return 3; }, [](const int&) {}));
  ASSERT_TRUE(waitUntil([&] { return finished.count() == 1; }));
}

TEST(JobRunner, DestructionCancelsAndJoinsTheWorker) {
  std::atomic<bool> sawCancel{false};
  auto* runner = new JobRunner;
  runner->run<int>(
      QStringLiteral("long"),
      [&](const t2::JobContext& job) {
        while (!job.cancel_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        sawCancel = true;
        return 0;
      },
      [](const int&) {});
  QThread::msleep(20);
  const auto start = std::chrono::steady_clock::now();
  delete runner;  // must not hang or crash
  EXPECT_TRUE(sawCancel.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  QCoreApplication::processEvents();  // queued deliveries to the dead runner are dropped
}

}  // namespace

namespace {

// The interactive lane runs beside the long one; each lane still holds one job.
TEST(JobRunner, AnInteractiveJobRunsWhileALongOneIsActive) {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::jobFinished);
  QSignalSpy cancelled(&runner, &JobRunner::jobCancelled);
  ASSERT_TRUE(runner.run<int>(QStringLiteral("training"), untilCancelled, [](const int&) {}));
  EXPECT_FALSE(runner.run<int>(
      QStringLiteral("another long one"), [](const t2::JobContext&) { return 1; },
      [](const int&) {}));
  std::vector<JobOutcome> ends;
  int answer = 0;
  ASSERT_TRUE(runner.run<int>(
      QStringLiteral("chat turn"), [](const t2::JobContext&) { return 42; },
      [&](const int& r) { answer = r; }, JobLane::Interactive,
      [&](JobOutcome outcome, const QString&) { ends.push_back(outcome); }));
  EXPECT_EQ(runner.currentJob(JobLane::Interactive), QStringLiteral("chat turn"));
  ASSERT_TRUE(waitUntil([&] { return finished.count() == 1; }));
  EXPECT_EQ(answer, 42);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0], JobOutcome::Finished);
  EXPECT_TRUE(runner.isRunning(JobLane::Long)) << "the long job is untouched";
  EXPECT_FALSE(runner.isRunning(JobLane::Interactive));
  EXPECT_TRUE(runner.isRunning());
  // cancel() takes the interactive job first, the long one when no interactive job runs.
  runner.cancel();
  ASSERT_TRUE(waitUntil([&] { return cancelled.count() == 1; }, 5000));
  EXPECT_EQ(cancelled.at(0).at(0).toString(), QStringLiteral("training"));
  EXPECT_FALSE(runner.isRunning());
}

// The JobEnd callback tells how every job ended, before the runner's signal.
TEST(JobRunner, TheEndCallbackSeesFailuresAndCancellations) {
  JobRunner runner;
  std::vector<std::pair<JobOutcome, QString>> ends;
  const auto record = [&](JobOutcome o, const QString& e) { ends.push_back({o, e}); };
  runner.run<int>(
      QStringLiteral("bad"),
      [](const t2::JobContext&) -> int {
        throw t2::Error(t2::ErrorKind::InvalidArgument, "no such split");
      },
      [](const int&) {}, JobLane::Long, record);
  ASSERT_TRUE(waitUntil([&] { return ends.size() == 1; }));
  EXPECT_EQ(ends[0].first, JobOutcome::Failed);
  EXPECT_EQ(ends[0].second, QStringLiteral("no such split"));
  runner.run<int>(
      QStringLiteral("stopped"), untilCancelled, [](const int&) {}, JobLane::Long, record);
  runner.cancel(JobLane::Long);
  ASSERT_TRUE(waitUntil([&] { return ends.size() == 2; }));
  EXPECT_EQ(ends[1].first, JobOutcome::Cancelled);
  EXPECT_TRUE(ends[1].second.isEmpty());
}

// Partial results arrive in order, batched: many pushes, few deliveries (<= 10 per second).
TEST(PartialChannel, DeliversEveryValueInOrderInFewBatches) {
  QObject receiver;
  std::vector<int> got;
  int deliveries = 0;
  auto channel = std::make_shared<PartialChannel<int>>(&receiver, [&](const QVector<int>& batch) {
    ++deliveries;
    got.insert(got.end(), batch.begin(), batch.end());
  });
  std::thread worker([channel] {
    for (int i = 0; i < 300; ++i) {
      channel->push(i);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  QElapsedTimer clock;
  clock.start();
  ASSERT_TRUE(waitUntil([&] { return got.size() == 300u; }, 10000));
  worker.join();
  const double seconds = clock.elapsed() / 1000.0;
  for (int i = 0; i < 300; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], i);
  EXPECT_LE(deliveries, static_cast<int>(seconds * 10.0) + 2) << seconds << " s";
  EXPECT_LT(deliveries, 300);
  // Values pushed after the receiver is gone are dropped, not delivered to a dead object.
  bool delivered = false;
  auto* gone = new QObject;
  auto orphan = std::make_shared<PartialChannel<int>>(
      gone, [&delivered](const QVector<int>&) { delivered = true; });
  delete gone;
  orphan->push(1);
  waitUntil([] { return false; }, 300);
  EXPECT_FALSE(delivered);
}

}  // namespace

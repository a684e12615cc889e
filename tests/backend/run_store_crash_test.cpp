// Run store under stress: liveness of writers, interrupted runs, a concurrent reader and
// writer, and a writer process killed with SIGKILL in the middle of logging.
#include <t2/run_store.h>

#include "backend/run_store_test_support.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

namespace {

using t2_test::fresh_dir;
using t2_test::RawDb;
using Clock = std::chrono::steady_clock;

t2::NewRun new_run(const std::string& name) {
  t2::NewRun run;
  run.kind = "train-expert";
  run.name = name;
  return run;
}

// A pid that certainly belonged to a process which has exited and been reaped.
pid_t reaped_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST(RunStoreLiveness, CurrentProcessIsAliveAndItsRunsStayRunning) {
  const auto me = t2::current_process_identity();
  EXPECT_EQ(t2::process_liveness(me), t2::Liveness::Alive);
  const auto db = (fresh_dir() / "w.db").string();
  t2::RunStore writer(db);
  const auto id = writer.begin_run(new_run("live"));
  t2::RunStore reader(db);  // a second open, e.g. by the GUI, while this process still runs
  EXPECT_TRUE(reader.interrupted_on_open().empty());
  EXPECT_EQ(reader.get_run(id).status, t2::RunStatus::Running);
}

TEST(RunStoreLiveness, DeadReusedZombieAndForeignWriters) {
  const auto me = t2::current_process_identity();
  EXPECT_EQ(t2::process_liveness({reaped_pid(), me.host, me.start_token}), t2::Liveness::Dead);
  EXPECT_EQ(t2::process_liveness({me.pid, me.host, me.start_token + "0"}), t2::Liveness::Dead);
  EXPECT_EQ(t2::process_liveness({me.pid, me.host + "-elsewhere", me.start_token}),
            t2::Liveness::Unknown);
  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT);  // exited, not reaped
  EXPECT_EQ(t2::process_liveness({zombie, me.host, ""}), t2::Liveness::Dead);
  ::waitpid(zombie, nullptr, 0);
}

TEST(RunStoreLiveness, OpenMarksOnlyRunsOfGoneWritersInterrupted) {
  const auto db = (fresh_dir() / "w.db").string();
  std::int64_t dead = 0, reused = 0, foreign = 0, mine = 0, done = 0;
  {
    t2::RunStore store(db);
    dead = store.begin_run(new_run("dead"));
    reused = store.begin_run(new_run("reused"));
    foreign = store.begin_run(new_run("foreign"));
    mine = store.begin_run(new_run("mine"));
    done = store.begin_run(new_run("done"));
    store.finish_run(done, t2::RunStatus::Finished);
  }
  {
    RawDb raw(db);
    raw.exec("UPDATE runs SET pid = " + std::to_string(reaped_pid()) +
             " WHERE id = " + std::to_string(dead));
    raw.exec("UPDATE runs SET process_token = 'x:1' WHERE id = " + std::to_string(reused));
    raw.exec("UPDATE runs SET host = 'far-away' WHERE id = " + std::to_string(foreign));
    raw.exec("UPDATE runs SET pid = 1 WHERE id = " + std::to_string(done));
  }
  t2::RunStore store(db);
  EXPECT_EQ(store.interrupted_on_open(), (std::vector<std::int64_t>{dead, reused}));
  EXPECT_EQ(store.get_run(dead).status, t2::RunStatus::Interrupted);
  EXPECT_NE(store.get_run(dead).message.find("ended without finishing"), std::string::npos);
  EXPECT_TRUE(store.get_run(dead).finished_at.has_value());
  EXPECT_EQ(store.get_run(reused).status, t2::RunStatus::Interrupted);
  EXPECT_EQ(store.get_run(foreign).status, t2::RunStatus::Running);
  EXPECT_EQ(store.get_run(mine).status, t2::RunStatus::Running);
  EXPECT_EQ(store.get_run(done).status, t2::RunStatus::Finished);
  t2::RunStore again(db);
  EXPECT_TRUE(again.interrupted_on_open().empty());
}

TEST(RunStoreConcurrency, ReaderNeverBlocksOrSeesAPartialBatch) {
  const auto db = (fresh_dir() / "w.db").string();
  std::int64_t run = 0;
  {
    t2::RunStore store(db);
    run = store.begin_run(new_run("busy"));
  }
  constexpr int kKeys = 20, kPerFlush = 10;  // 10 steps of 20 keys per transaction
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> steps_written{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
      t2::MetricWriterOptions options;
      options.flush_rows = kKeys * kPerFlush;
      t2::MetricWriter w(db, run, options);
      const auto until = Clock::now() + std::chrono::milliseconds(1000);
      for (std::int64_t step = 0; Clock::now() < until; ++step) {
        for (int k = 0; k < kKeys; ++k) w.log(step, "k" + std::to_string(k), step + k);
        steps_written = step + 1;
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    done = true;
  });
  t2::RunStore reader(db);
  double worst_ms = 0;
  int reads = 0;
  std::int64_t last_count = 0;
  while (!done) {
    const auto t0 = Clock::now();
    const auto count = reader.metric_count(run);
    const auto series = reader.metric_series({{run}, {"k0", "k19"}, 100});
    reader.list_runs();
    worst_ms =
        std::max(worst_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++reads;
    EXPECT_EQ(count % (kKeys * kPerFlush), 0) << "a reader saw part of a batch";
    EXPECT_GE(count, last_count);
    ASSERT_EQ(series.size(), 2u);
    EXPECT_EQ(series[0].total_points, series[1].total_points);  // same batches on both keys
    last_count = count;
  }
  writer.join();
  EXPECT_EQ(writer_error, "");
  EXPECT_GT(reads, 5);
  EXPECT_GT(steps_written.load(), 100);
  EXPECT_EQ(reader.metric_count(run), steps_written.load() * kKeys);  // final flush on exit
  // Generous bound for a loaded 2-core CI machine; a blocked reader would wait for the
  // busy timeout (10 s) or fail with SQLITE_BUSY.
  EXPECT_LT(worst_ms, 1000.0) << "a read took " << worst_ms << " ms";
  std::cout << "[ reader   ] " << reads << " reads, worst " << worst_ms << " ms, writer "
            << steps_written.load() << " steps\n";
}

// Starts `store_crash_writer crash DB` with its stdout on a pipe.
struct Writer {
  pid_t pid = -1;
  int out = -1;
  std::string pending;

  explicit Writer(const std::string& db) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(T2_STORE_WRITER, T2_STORE_WRITER, "crash", db.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out = fds[0];
  }
  ~Writer() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
  // Next full line, or "" on EOF / after `timeout_ms`.
  std::string line(int timeout_ms = 10000) {
    const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (pending.find('\n') == std::string::npos) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
      pollfd p{out, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, left) <= 0) return "";
      char buffer[4096];
      const auto n = ::read(out, buffer, sizeof buffer);
      if (n <= 0) return "";
      pending.append(buffer, static_cast<std::size_t>(n));
    }
    const auto end = pending.find('\n');
    std::string result = pending.substr(0, end);
    pending.erase(0, end + 1);
    return result;
  }
  int kill_and_reap() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
};

TEST(RunStoreCrash, SigkilledWriterKeepsCommittedMetricsAndIsInterrupted) {
  const auto dir = fresh_dir();
  // Kill at different moments: after a few batches, after more, and at once after a batch.
  const int kill_after_commits[] = {3, 17, 40};
  for (int round = 0; round < 3; ++round) {
    const auto db = (dir / ("crash" + std::to_string(round) + ".db")).string();
    { t2::RunStore create(db); }  // the writer opens an existing workspace
    Writer writer(db);
    const std::string first = writer.line();
    ASSERT_EQ(first.rfind("run ", 0), 0u) << "writer said '" << first << "'";
    const std::int64_t run = std::stoll(first.substr(4));
    std::int64_t committed = -1;
    for (int i = 0; i < kill_after_commits[round]; ++i) {
      const std::string l = writer.line();
      ASSERT_EQ(l.rfind("committed ", 0), 0u) << "writer said '" << l << "'";
      committed = std::stoll(l.substr(10));
    }
    if (round == 0) {  // while the writer lives, opening the store must leave its run alone
      t2::RunStore peek(db);
      EXPECT_TRUE(peek.interrupted_on_open().empty());
      EXPECT_EQ(peek.get_run(run).status, t2::RunStatus::Running);
    }
    if (round == 1) ::usleep(3000);  // land somewhere inside the next batch
    const int status = writer.kill_and_reap();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended by itself (status " << status << ") before being killed";
    for (std::string l = writer.line(500); !l.empty(); l = writer.line(500)) {
      if (l.rfind("committed ", 0) == 0) committed = std::stoll(l.substr(10));  // said pre-kill
    }

    t2::RunStore store(db);
    EXPECT_EQ(store.integrity_check(), "ok") << "round " << round;
    EXPECT_EQ(store.interrupted_on_open(), (std::vector<std::int64_t>{run}));
    EXPECT_EQ(store.get_run(run).status, t2::RunStatus::Interrupted);
    // Every reported batch is there, complete and correct; anything beyond is whole batches.
    const auto series = store.metric_series({{run}, {}, 0});
    ASSERT_EQ(series.size(), 20u) << "round " << round;
    std::map<std::string, int> key_index;
    for (int k = 0; k < 20; ++k) key_index["m" + std::to_string(k)] = k;
    const auto stored_steps = series[0].points.size();
    EXPECT_GE(stored_steps, static_cast<std::size_t>(committed + 1)) << "lost committed rows";
    EXPECT_EQ(stored_steps % 10, 0u) << "a partial batch survived";
    for (const auto& s : series) {
      ASSERT_EQ(s.points.size(), stored_steps) << s.key;
      for (std::size_t i = 0; i < s.points.size(); ++i) {
        ASSERT_EQ(s.points[i].step, static_cast<std::int64_t>(i)) << s.key;
        ASSERT_EQ(s.points[i].value, static_cast<double>(i * 100 + key_index[s.key])) << s.key;
      }
    }
    std::cout << "[ crash    ] round " << round << ": writer reported step " << committed
              << ", store holds " << stored_steps << " steps\n";
  }
}

}  // namespace

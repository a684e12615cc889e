// Run-store benchmark: metric-insert throughput of the buffered MetricWriter vs. one
// transaction per row (and per step), and the overhead of logging 20 metrics per step in a
// simulated training loop of 20 ms steps (50 steps/s), with and without a polling reader.
//   t2_bench_run_store [FOLDER]   (default: the system temp folder; the db is removed after)
#include <t2/run_store.h>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr int kKeys = 20;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<std::string> key_names() {
  std::vector<std::string> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back("train/metric_" + std::to_string(k));
  return keys;
}

std::int64_t new_run(t2::RunStore& store, const std::string& name) {
  t2::NewRun run;
  run.kind = "bench";
  run.name = name;
  return store.begin_run(run);
}

// Rows per second for `steps` steps of kKeys metrics; `mode` picks the way of writing.
enum class Mode { Buffered, PerStep, PerRow };
double throughput(const std::string& db, Mode mode, int steps) {
  t2::RunStore store(db);
  const auto run = new_run(store, "throughput");
  const auto keys = key_names();
  const auto t0 = Clock::now();
  if (mode == Mode::Buffered) {
    t2::MetricWriter writer(db, run);
    for (int s = 0; s < steps; ++s) {
      for (int k = 0; k < kKeys; ++k) writer.log(s, keys[k], s * 0.001 + k);
    }
    writer.flush();
  } else {
    for (int s = 0; s < steps; ++s) {
      if (mode == Mode::PerStep) {
        std::vector<std::pair<std::string, double>> row;
        for (int k = 0; k < kKeys; ++k) row.emplace_back(keys[k], s * 0.001 + k);
        store.log_metrics(run, s, row);
      } else {
        for (int k = 0; k < kKeys; ++k) store.log_metrics(run, s, {{keys[k], s * 0.001 + k}});
      }
    }
  }
  return steps * kKeys / seconds_since(t0);
}

void spin_for(double seconds) {  // simulated compute: a busy CPU, not a sleep
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
  }
}

struct LoopResult {
  double overhead_percent = 0;  // time in logging calls (+ final flush) / (steps * step_time)
  double overrun_percent = 0;   // (wall - steps * step_time) / (steps * step_time): includes
                                // scheduling noise from other processes on a busy machine
  double mean_log_ms = 0;       // logging time per step
  double worst_log_ms = 0;      // slowest step's logging (a flush)
  int reader_polls = 0;
};

// A training loop of `steps` steps of `step_s` compute, logging kKeys metrics per step.
LoopResult simulated_loop(const std::string& db, Mode mode, int steps, double step_s,
                          bool with_reader) {
  t2::RunStore store(db);
  const auto run = new_run(store, "loop");
  const auto keys = key_names();
  std::atomic<bool> done{false};
  LoopResult result;
  std::thread reader;
  if (with_reader) {  // the GUI: polls downsampled curves of two keys every 100 ms
    reader = std::thread([&] {
      t2::RunStore view(db);
      while (!done) {
        view.metric_series({{run}, {keys[0], keys[1]}, 500});
        ++result.reader_polls;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  std::unique_ptr<t2::MetricWriter> writer;
  if (mode == Mode::Buffered) writer = std::make_unique<t2::MetricWriter>(db, run);
  double logging = 0;
  const auto t0 = Clock::now();
  for (int s = 0; s < steps; ++s) {
    spin_for(step_s);
    const auto l0 = Clock::now();
    if (writer) {
      for (int k = 0; k < kKeys; ++k) writer->log(s, keys[k], s * 0.001 + k);
    } else {
      for (int k = 0; k < kKeys; ++k) store.log_metrics(run, s, {{keys[k], s * 0.001 + k}});
    }
    const double took = seconds_since(l0);
    logging += took;
    result.worst_log_ms = std::max(result.worst_log_ms, took * 1e3);
  }
  const auto f0 = Clock::now();
  if (writer) writer->flush();  // the end of training pays for the last batch
  logging += seconds_since(f0);
  const double wall = seconds_since(t0);
  done = true;
  if (reader.joinable()) reader.join();
  result.overhead_percent = 100.0 * logging / (steps * step_s);
  result.overrun_percent = 100.0 * (wall - steps * step_s) / (steps * step_s);
  result.mean_log_ms = 1e3 * logging / steps;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path folder = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path();
  const fs::path dir = folder / ("t2-bench-run-store-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int next = 0;
  auto fresh_db = [&] { return (dir / ("b" + std::to_string(next++) + ".db")).string(); };
  std::printf("run store benchmark (SQLite %s, WAL, synchronous=FULL) in %s\n\n",
              sqlite3_libversion(), dir.c_str());

  const double buffered = throughput(fresh_db(), Mode::Buffered, 10000);
  const double per_step = throughput(fresh_db(), Mode::PerStep, 500);
  const double per_row = throughput(fresh_db(), Mode::PerRow, 100);
  std::printf("metric inserts (%d keys/step)             rows/s     vs per-row\n", kKeys);
  std::printf("  MetricWriter (batched, 2000 rows/tx)  %10.0f   %8.1fx\n", buffered,
              buffered / per_row);
  std::printf("  log_metrics per step (1 tx/20 rows)   %10.0f   %8.1fx\n", per_step,
              per_step / per_row);
  std::printf("  log_metrics per row (1 tx/row, naive) %10.0f   %8.1fx\n\n", per_row, 1.0);

  const double step_s = 0.020;  // 50 steps/s
  const double amortised_ms = 1e3 * kKeys / buffered;
  std::printf(
      "amortised cost of %d metrics/step with MetricWriter: %.3f ms = %.2f %% of a "
      "20 ms step (target < 5 %%)\n\n",
      kKeys, amortised_ms, 100.0 * amortised_ms / 20.0);

  std::printf(
      "simulated training loop: 150 steps of 20 ms busy compute (50 steps/s), %d "
      "metrics/step\n",
      kKeys);
  std::printf("  %-38s %10s %12s %12s %13s\n", "", "overhead", "mean log", "worst step",
              "wall overrun");
  const auto b = simulated_loop(fresh_db(), Mode::Buffered, 150, step_s, false);
  std::printf("  %-38s %9.2f%% %9.3f ms %9.3f ms %12.2f%%\n", "MetricWriter", b.overhead_percent,
              b.mean_log_ms, b.worst_log_ms, b.overrun_percent);
  const auto r = simulated_loop(fresh_db(), Mode::Buffered, 150, step_s, true);
  std::printf("  %-38s %9.2f%% %9.3f ms %9.3f ms %12.2f%%  (%d reader polls)\n",
              "MetricWriter + GUI reader every 100 ms", r.overhead_percent, r.mean_log_ms,
              r.worst_log_ms, r.overrun_percent, r.reader_polls);
  const auto n = simulated_loop(fresh_db(), Mode::PerRow, 150, step_s, false);
  std::printf("  %-38s %9.2f%% %9.3f ms %9.3f ms %12.2f%%\n", "log_metrics per row (naive)",
              n.overhead_percent, n.mean_log_ms, n.worst_log_ms, n.overrun_percent);
  std::printf(
      "  overhead = time inside logging calls / compute time (target < 5 %%); wall overrun\n"
      "  also counts the scheduler taking the CPU away from the loop on a busy machine\n");
  std::printf("  ratio naive / MetricWriter logging time: %.1fx\n",
              n.mean_log_ms / std::max(1e-9, b.mean_log_ms));
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

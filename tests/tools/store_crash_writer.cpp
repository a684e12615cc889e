// Test helper for the run store (not installed).
//   store_crash_writer crash DB   begins a run, prints "run ID", then logs 20 metrics per step
//                                 forever (values step*100 + k), printing "committed STEP" after
//                                 each batch commit, until it is killed (or 120 s pass)
//   store_crash_writer fill DB    writes the small deterministic workspace the CLI tests read
// Lines go to stdout unbuffered, so a reader sees each one as soon as it is true.
#include <t2/run_store.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

namespace {

void say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) < 0) std::_Exit(3);
}

int crash(const std::string& db) {
  t2::RunStore store(db);
  t2::NewRun spec;
  spec.kind = "train-expert";
  spec.name = "crash-writer";
  spec.params_json = R"({"steps": 1000000})";
  const auto run = store.begin_run(spec);
  say("run " + std::to_string(run));
  t2::MetricWriterOptions options;
  options.flush_rows = 200;  // 10 steps of 20 metrics per transaction
  options.flush_seconds = 3600;
  t2::MetricWriter writer(db, run, options);
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t step = 0; std::chrono::steady_clock::now() - start < std::chrono::seconds(120);
       ++step) {
    for (int k = 0; k < 20; ++k) {
      writer.log(step, "m" + std::to_string(k), static_cast<double>(step * 100 + k));
    }
    if (writer.buffered_rows() == 0) say("committed " + std::to_string(step));
  }
  return 0;
}

int fill(const std::string& db) {
  namespace fs = std::filesystem;
  t2::RunStore store(db);
  const fs::path folder = fs::absolute(db).parent_path();

  t2::NewRun alpha{"train-expert",
                   "alpha",
                   R"({"lr": 0.001, "optimizer": {"name": "adam", "beta1": 0.9}, "steps": 100})",
                   "first try",
                   {"math", "svf"},
                   std::nullopt};
  const auto a = store.begin_run(alpha);
  const double loss[] = {1.0, 0.8, 0.6, 0.5, 0.55};
  for (int step = 0; step < 5; ++step) {
    store.log_metrics(a, step, {{"loss", loss[step]}, {"reward", 0.1 * step}});
  }
  const std::string expert = (folder / "alpha.expert").string();
  store.save_artifact(a, "expert", expert, [](const std::string& temp) {
    std::FILE* f = std::fopen(temp.c_str(), "wb");
    std::fputs("expert-bytes", f);
    std::fclose(f);
  });
  t2::ExpertRecord record;
  record.run_id = a;
  record.name = "alpha-math";
  record.path = expert;
  record.parametrization = "svf-z";
  record.target_set = "mlp";
  record.base_fingerprint = "fp-demo";
  store.add_expert(record);
  store.finish_run(a, t2::RunStatus::Finished);

  t2::NewRun beta{
      "eval", "beta",   R"({"lr": 0.002, "optimizer": {"name": "adam", "beta1": 0.9}, "seed": 7})",
      "",     {"math"}, std::nullopt};
  const auto b = store.begin_run(beta);
  store.log_metrics(b, 0, {{"loss", 2.0}, {"acc, top-1", 0.25}});
  store.log_metrics(b, 10, {{"loss", 1.5}, {"acc, top-1", 0.5}});
  store.add_evaluation(
      {0, b, "gsm8k", "base", 0, 0, 0.0, 0.0},
      {{0, "1+1?", "2", "It is 2", "2", true}, {1, "2+2?", "4", "It is 5", "5", false}});
  store.finish_run(b, t2::RunStatus::Failed, "out of memory");

  for (int i = 0; i < 2; ++i) {
    const auto d = store.begin_run({"cem", "dup", "{}", "", {}, std::nullopt});
    store.finish_run(d, t2::RunStatus::Finished);
  }
  say("filled " + std::to_string(store.list_runs().size()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: store_crash_writer crash|fill DB\n";
    return 2;
  }
  try {
    const std::string mode = argv[1];
    if (mode == "crash") return crash(argv[2]);
    if (mode == "fill") return fill(argv[2]);
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "store_crash_writer: " << e.what() << "\n";
    return 1;
  }
}

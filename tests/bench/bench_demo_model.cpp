// Greedy generation speed and accuracy of the bundled demo model on the demo test splits, at
// batch 8 (issue 6's target: a full answer in <= 50 ms per example on 2 cores), beside that
// target as a ratio. Wall time per example covers prompt encoding, prefill, decoding until EOS,
// a stop string or max_new_tokens, and judging.
//
// Usage: t2_bench_demo_model [MODEL_DIR] [ITEMS_PER_TASK] [BATCH]
//   defaults: <source>/resources/demo/model, 96, 8
#include <t2/engine.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  const std::string resources = std::string(T2_SOURCE_DIR) + "/resources";
  const std::string model = argc > 1 ? argv[1] : resources + "/demo/model";
  const int items = argc > 2 ? std::stoi(argv[2]) : 96;
  const int batch = argc > 3 ? std::stoi(argv[3]) : 8;
  constexpr double kTargetMs = 50.0;
  try {
    t2::relaunch_with_runtime_env(argv);
    t2::Engine engine;
    const auto info = t2::demo_info(resources);
    auto specs = info.training_tasks;
    specs.push_back(info.classification_task);
    std::printf("demo model %s, %d test items per task, batch %d, %d threads\n", model.c_str(),
                items, batch, engine.system_info().intra_op_threads);
    std::printf("%-16s %9s %12s %10s %s\n", "task", "accuracy", "ms/example", "target",
                "ratio (target / measured)");
    for (const auto& spec : specs) {
      const auto e = t2::evaluate_greedy(model, {spec}, "test", items, batch);
      for (const auto& [task, acc] : e.accuracy)
        std::printf("%-16s %9.3f %12.2f %10.1f %.2fx\n", task.c_str(), acc, e.ms_per_example,
                    kTargetMs, kTargetMs / e.ms_per_example);
    }
  } catch (const t2::Error& e) {
    std::fprintf(stderr, "t2_bench_demo_model: %s\n", e.what());
    return 1;
  }
  return 0;
}

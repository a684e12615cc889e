// `t2 demo build` (generate the demo task suite from a seed) and `t2 demo info` (what ships).
#include "commands.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

// resources/ next to this executable (build tree, install prefix) or in the current directory.
std::string resources_dir_or_default() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string found = find_resources_dir(ec ? std::string() : exe.parent_path().string());
  return found.empty() ? "resources" : found;
}

}  // namespace

void add_demo_command(CLI::App& app, const GlobalOptions& /*global*/, const Runner*& chosen) {
  auto* demo =
      app.add_subcommand("demo", "The bundled demo: build the task suite, list what ships");
  demo->require_subcommand(1);

  struct BuildOptions {
    std::string out;
    DemoSuiteParams params;
  };
  auto build = std::make_shared<BuildOptions>();
  auto* sub = demo->add_subcommand(
      "build",
      "Generate the demo task suite (3 training tasks, 3 unseen variants, a classifier "
      "task) from a seed; the same seed gives byte-identical files");
  sub->add_option("--out", build->out, "Output folder (default: <resources>/demo/tasks)");
  sub->add_option("--seed", build->params.seed, "Master seed")->capture_default_str();
  sub->add_option("--train", build->params.train_items, "Train items per training task")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--validation", build->params.validation_items,
                  "Validation items per training task")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--test", build->params.test_items, "Test items per training task")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--unseen-test", build->params.unseen_test_items, "Test items per unseen task")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  auto build_runner = std::make_shared<Runner>([build]() {
    const std::string out =
        build->out.empty() ? resources_dir_or_default() + "/demo/tasks" : build->out;
    const DemoSuite suite = build_demo_suite(out, build->params, make_cli_job());
    std::cout << "wrote " << suite.files.size() << " files to " << suite.dir << "\n";
    for (const auto& f : suite.files) std::cout << "  " << f << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, build_runner] { chosen = build_runner.get(); });

  struct InfoOptions {
    bool json = false;
    std::string resources;
  };
  auto info = std::make_shared<InfoOptions>();
  auto* info_sub = demo->add_subcommand("info", "List the demo model and task specs that ship");
  info_sub->add_flag("--json", info->json, "Print one JSON document");
  info_sub->add_option("--resources", info->resources,
                       "Resources folder (default: $T2_RESOURCES_DIR, else found next to t2)");
  auto info_runner = std::make_shared<Runner>([info]() {
    const DemoInfo d =
        demo_info(info->resources.empty() ? resources_dir_or_default() : info->resources);
    if (info->json) {
      std::cout << to_json(d) << "\n";
    } else {
      std::cout << "model:          " << d.model_dir
                << (d.model_present ? "" : "  (missing: not built yet)") << "\n";
      std::cout << "training tasks:\n";
      for (const auto& t : d.training_tasks) std::cout << "  " << t << "\n";
      std::cout << "unseen tasks:\n";
      for (const auto& t : d.unseen_tasks) std::cout << "  " << t << "\n";
      std::cout << "classification: " << d.classification_task << "\n";
    }
    for (const auto& m : d.missing) std::cerr << "t2: WARNING: missing " << m << "\n";
    return kExitOk;
  });
  info_sub->callback([&chosen, info_runner] { chosen = info_runner.get(); });
}

}  // namespace t2::cli

// `t2 demo build` (generate the demo task suite from a seed) and `t2 demo info` (what ships).
#include "commands.h"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

struct ModelOptions {
  bool with_model = false;
  std::string model_out;  // default <resources>/demo/model
  std::string recipe;     // default <model_out>/recipe.json
  std::string work;       // training folder (checkpoints); default a temp folder
};

// Pretrains the demo model with `recipe` on the suite in `tasks_dir` and installs the chosen
// checkpoint (HF files), the recipe and training_report.json into model_out.
void build_demo_model(const ModelOptions& o, const std::string& tasks_dir, bool tasks_moved,
                      const GlobalOptions& global) {
  namespace fs = std::filesystem;
  const std::string model_out =
      o.model_out.empty() ? resources_dir_or_default() + "/demo/model" : o.model_out;
  const std::string recipe_path = o.recipe.empty() ? model_out + "/recipe.json" : o.recipe;
  PretrainRecipe recipe = load_pretrain_recipe(recipe_path);
  if (tasks_moved)  // the recipe's specs name the shipped suite: point them at the new one
    for (auto& t : recipe.tasks)
      t.spec = tasks_dir + "/" + fs::path(t.spec).parent_path().filename().string() + "/task.json";
  PretrainParams params;
  params.out_dir =
      o.work.empty()
          ? (fs::temp_directory_path() / ("t2-demo-model-" + std::to_string(::getpid()))).string()
          : o.work;
  params.db_path = global.db.empty() ? default_run_store_path() : global.db;
  params.run_name = "demo model";
  std::cout << "pretraining the demo model in " << params.out_dir << " (checkpoints there)\n";
  std::cout.flush();
  const PretrainReport report = pretrain(recipe, params, make_cli_job());
  fs::create_directories(model_out);
  for (const char* f :
       {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(report.model_dir + "/" + f, model_out + "/" + f,
                  fs::copy_options::overwrite_existing);
  if (!fs::exists(model_out + "/recipe.json") ||
      !fs::equivalent(recipe_path, model_out + "/recipe.json"))
    fs::copy_file(recipe_path, model_out + "/recipe.json", fs::copy_options::overwrite_existing);
  write_file_atomically(model_out + "/training_report.json", to_json(report) + "\n");
  std::cout << "demo model (step " << report.selected_step
            << (report.selected_in_band ? ", inside every band" : ", NOT inside every band")
            << ") written to " << model_out << "\n";
  for (const auto& [task, acc] : report.test.accuracy)
    std::cout << "  test " << task << ": " << acc << "\n";
}

}  // namespace

void add_demo_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  auto* demo =
      app.add_subcommand("demo", "The bundled demo: build the task suite, list what ships");
  demo->require_subcommand(1);

  struct BuildOptions {
    std::string out;
    DemoSuiteParams params;
    ModelOptions model;
    bool experts = false;
    std::vector<std::string> only;
    std::string experts_out;
  };
  auto build = std::make_shared<BuildOptions>();
  auto* sub = demo->add_subcommand(
      "build",
      "Generate the demo task suite (3 training tasks, 4 unseen tasks, a classifier task) from a "
      "seed (the same seed gives byte-identical files); optionally pretrain the demo model and "
      "train the bundled experts");
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
  sub->add_option("--unseen-pretrain", build->params.unseen_pretrain_items,
                  "Pretrain-split items per single-domain unseen task (the base model's corpus)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_flag("--with-model", build->model.with_model,
                "Also pretrain the demo model with its recipe (~30 min on 2 cores) and install it");
  sub->add_option("--model-out", build->model.model_out,
                  "Where the model goes (default: <resources>/demo/model)");
  sub->add_option("--recipe", build->model.recipe,
                  "Pretraining recipe (default: <model-out>/recipe.json)");
  sub->add_option("--work", build->model.work,
                  "Training folder for checkpoints (default: a new folder under $TMPDIR)");
  sub->add_flag("--experts", build->experts,
                "Also train the bundled expert library (resources/demo/experts: one SVF expert per "
                "training task and the pass-1 classifier expert, each from its recipe.json, ~2-4 "
                "min each on 2 cores) and evaluate each beside the base model on its whole test "
                "split");
  sub->add_option("--only", build->only,
                  "With --experts: only these experts (math, code, reasoning, classifier)")
      ->needs("--experts");
  sub->add_option("--experts-out", build->experts_out,
                  "With --experts: library folder (default: <resources>/demo/experts)")
      ->needs("--experts");
  auto build_runner = std::make_shared<Runner>([build, &global]() {
    std::unique_ptr<Engine> engine;  // threads and passive OpenMP waiting for training
    if (build->model.with_model || build->experts)
      engine = std::make_unique<Engine>(make_engine(global));
    if (build->experts && !build->out.empty() && !build->model.with_model)
      throw Error(ErrorKind::InvalidArgument,
                  "--experts trains on the shipped suite and model; drop --out (or add "
                  "--with-model to rebuild all three)");
    const std::string out =
        build->out.empty() ? resources_dir_or_default() + "/demo/tasks" : build->out;
    const DemoSuite suite = build_demo_suite(out, build->params, make_cli_job());
    std::cout << "wrote " << suite.files.size() << " files to " << suite.dir << "\n";
    for (const auto& f : suite.files) std::cout << "  " << f << "\n";
    if (build->model.with_model)
      build_demo_model(build->model, suite.dir, !build->out.empty(), global);
    if (build->experts) {
      DemoExpertsParams p;
      p.resources_dir = resources_dir_or_default();
      p.out_dir = build->experts_out;
      p.only = build->only;
      p.db_path = global.db.empty() ? default_run_store_path() : global.db;
      p.threads = global.threads;
      for (const auto& e : build_demo_experts(p, make_cli_job())) {
        char line[160];
        std::snprintf(line, sizeof line,
                      "  %s: test accuracy %.3f (base %.3f, n %lld), %.0f s, run %lld\n",
                      e.name.c_str(), e.test_accuracy, e.base_test_accuracy,
                      static_cast<long long>(e.test_items), e.train_seconds,
                      static_cast<long long>(e.train_run_id));
        std::cout << line;
      }
    }
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
      std::cout << "experts:        " << d.experts_dir
                << (d.experts.empty() ? "  (none: t2 demo build --experts)" : "") << "\n";
      for (const auto& e : d.experts)
        std::cout << "  " << e.name << " (" << e.category << "): " << e.file
                  << (e.present ? "" : "  (missing)") << "\n";
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

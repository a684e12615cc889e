// `t2 pretrain --out DIR [--recipe FILE] [--steps N] [--seed S] [--stop-at N] [--json]` or
// `t2 pretrain --resume DIR [--out DIR] [--stop-at N] [--json]`: pretrains a small Llama model
// from a recipe (default: the demo model's resources/demo/model/recipe.json); metrics go to the
// run store (--db).
#include "commands.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace detail::pretrain_cmd {

struct Options {
  std::string recipe;
  PretrainParams params;
  std::int64_t seed = -1;
  bool json = false;
};

void print_text(const PretrainReport& r) {
  std::cout << "model:       " << r.model_dir << "  (step " << r.selected_step
            << (r.selected_in_band ? ", inside every validation band" : ", last step") << ")\n";
  std::cout << "parameters:  " << r.parameters << "  vocabulary " << r.vocab_size << "\n";
  std::cout << "steps:       " << r.steps_done << " in " << r.train_seconds << " s, final loss "
            << r.final_loss << "\n";
  for (const auto& v : r.validations) {
    std::cout << "validation step " << v.step << ":";
    for (const auto& [task, acc] : v.accuracy) std::cout << " " << task << " " << acc;
    std::cout << (v.in_band ? "  (in band)" : "") << "\n";
  }
  if (!r.test.items.empty()) {
    std::cout << "test:";
    for (const auto& [task, acc] : r.test.accuracy) std::cout << " " << task << " " << acc;
    std::cout << "  (" << r.test.ms_per_example << " ms/example)\n";
  }
  if (r.run_id) std::cout << "run:         " << r.run_id << "\n";
}

}  // namespace detail::pretrain_cmd

// The demo recipe that ships: <resources>/demo/model/recipe.json.
std::string default_pretrain_recipe() {
  return resources_dir_or_default() + "/demo/model/recipe.json";
}

void add_pretrain_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  using detail::pretrain_cmd::Options;
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "pretrain",
      "Pretrain a small Llama model from a recipe (the bundled demo model's by default): "
      "AdamW, cosine schedule, periodic validation and checkpoints, metrics in the run store");
  sub->add_option("--out", opts->params.out_dir,
                  "Output folder: checkpoint/, model/ (the chosen checkpoint), report.json "
                  "(required unless --resume; with --resume it defaults to that folder)");
  sub->add_option("--recipe", opts->recipe,
                  "Recipe JSON (default: <resources>/demo/model/recipe.json)");
  sub->add_option("--steps", opts->params.steps, "Total optimiser steps (overrides the recipe)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
  sub->add_option("--seed", opts->seed, "Seed (overrides the recipe)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{INT64_MAX}));
  sub->add_option("--resume", opts->params.resume_dir,
                  "Continue the run whose output folder is DIR (its checkpoint/ and recipe)");
  sub->add_option("--stop-at", opts->params.stop_at_step,
                  "Stop after this step (the schedule still spans --steps); resume later")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
  sub->add_flag("--keep-validated", opts->params.keep_validated,
                "Also keep every validated model as validated/step-N in the output folder");
  sub->add_option("--name", opts->params.run_name, "Run name in the workspace database");
  sub->add_flag("--json", opts->json, "Print the report as JSON");

  auto runner = std::make_shared<Runner>([opts, &global]() {
    Engine engine = make_engine(global);
    PretrainRecipe recipe;
    if (opts->params.resume_dir.empty()) {
      recipe =
          load_pretrain_recipe(opts->recipe.empty() ? default_pretrain_recipe() : opts->recipe);
      if (opts->seed >= 0) recipe.seed = static_cast<std::uint64_t>(opts->seed);
    } else if (!opts->recipe.empty() || opts->seed >= 0) {
      throw Error(ErrorKind::InvalidArgument,
                  "--resume continues with the checkpoint's recipe and seed; drop --recipe/--seed");
    }
    if (opts->params.out_dir.empty())
      opts->params.out_dir = opts->params.resume_dir;  // continue in the same folder
    opts->params.db_path = global.db.empty() ? default_run_store_path() : global.db;
    const PretrainReport report = pretrain(recipe, opts->params, make_cli_job());
    if (opts->json)
      std::cout << to_json(report) << "\n";
    else
      detail::pretrain_cmd::print_text(report);
    return kExitOk;
  });
  sub->callback([&chosen, runner, opts] {
    if (opts->params.out_dir.empty() && opts->params.resume_dir.empty())
      throw CLI::RequiredError("--out (or --resume DIR)");
    chosen = runner.get();
  });
}

}  // namespace t2::cli

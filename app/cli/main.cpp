// t2: the T2 Workbench command line. Every GUI action has a subcommand here.
#include "commands.h"

int main(int argc, char** argv) {
  using namespace t2::cli;
  CLI::App app{
      "t2 - T2 Workbench command line: self-adaptive LLMs (Transformer-squared) on your "
      "machine.\nExit codes: 0 ok, 1 error, 2 bad usage, 130 cancelled (Ctrl+C)."};
  app.name("t2");
  app.set_version_flag("--version", std::string("t2 ") + t2::version());
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions global;
  app.add_option("--threads", global.threads,
                 "Torch intra-op threads (default: $T2_NUM_THREADS, else all cores)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--db", global.db,
                 "Workspace database (default: $T2_DB, else "
                 "$XDG_DATA_HOME/t2-workbench/workspace.db)");

  const Runner* chosen = nullptr;
  add_info_command(app, global, chosen);
  add_runs_command(app, global, chosen);
  add_tokenize_command(app, global, chosen);
  add_demo_command(app, global, chosen);
  add_task_command(app, global, chosen);
  add_template_command(app, global, chosen);
  add_inspect_command(app, global, chosen);
  add_logits_command(app, global, chosen);
  add_generate_command(app, global, chosen);
  add_decompose_command(app, global, chosen);
  add_spectrum_command(app, global, chosen);
  add_expert_command(app, global, chosen);
  add_train_command(app, global, chosen);
  add_eval_command(app, global, chosen);
  add_pretrain_command(app, global, chosen);
  add_lora_command(app, global, chosen);
  add_adapt_command(app, global, chosen);
  add_chat_command(app, global, chosen);
  return run_cli(app, argc, argv, &chosen);
}

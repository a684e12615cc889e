// One function per `t2` subcommand; each registers itself and sets `chosen` when selected.
#pragma once

#include "cli_support.h"

namespace t2::cli {

void add_info_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_runs_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_tokenize_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_demo_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_task_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_template_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_inspect_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_logits_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_generate_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_decompose_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_spectrum_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_expert_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_train_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_eval_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_pretrain_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_lora_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
void add_adapt_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);
// `t2 adapt library` (cmd_adapt_library.cpp), registered under `adapt`.
void add_adapt_library_command(CLI::App* adapt, const GlobalOptions& global, const Runner*& chosen);
void add_chat_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen);

// <resources>/demo/model/recipe.json: the recipe of the bundled demo model.
std::string default_pretrain_recipe();

}  // namespace t2::cli

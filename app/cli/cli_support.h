// Shared plumbing for `t2` subcommands: global options, engine creation, progress on a TTY,
// Ctrl+C as cooperative cancel, and error reporting with exit codes.
#pragma once

#include <t2/engine.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace t2::cli {

// Exit codes (documented in `t2 --help`).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;        // the engine reported an error (message on stderr)
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitCancelled = 130;  // Ctrl+C (cooperative cancel)

struct GlobalOptions {
  int threads = 0;  // --threads; 0 = $T2_NUM_THREADS or all cores
  std::string db;   // --db; "" = $T2_DB, else the default workspace (default_run_store_path)
};

// Job context whose cancel token is tripped by SIGINT and whose progress is drawn on stderr
// when stderr is a terminal (silent otherwise, so pipes and tests see clean output).
JobContext make_cli_job();

Engine make_engine(const GlobalOptions& global);

// The resources folder (t2::find_resources_dir next to this executable, else in the current
// directory); "resources" when none is found.
std::string resources_dir_or_default();

// The workspace database named by --db (else $T2_DB, else the default path). With must_exist,
// a missing file is an error that says how to choose one (read commands should not create an
// empty workspace by accident); otherwise it is created with its folders.
RunStore open_store(const GlobalOptions& global, bool must_exist = true);

// MODEL_DIR, --targets, --cache-dir and --no-cache: shared by the commands that decompose.
struct DecompositionOptions {
  std::string model_dir;
  DecomposeParams params;
  bool no_cache = false;
};
void add_decomposition_options(CLI::App* sub, DecompositionOptions& options);
// Decomposition::compute_or_load with the options (progress on a TTY, Ctrl+C cancels).
Decomposition decompose_for_cli(DecompositionOptions options);

// An expert ready to apply to the model in model_dir, with the decomposition of its targets.
using CliExpert = LoadedExpert;  // t2/adaptation.h
// --expert FILE and --allow-transfer, as load_cli_expert reads them.
void add_expert_file_options(CLI::App* sub, std::string& expert, bool& allow_transfer,
                             bool required);
// t2::load_expert_file (t2/adaptation.h: expert file or JSON z map, + decomposition).
CliExpert load_cli_expert(const std::string& model_dir, const std::string& file,
                          bool allow_transfer, const JobContext& job);

// Registers one subcommand; `run` is called after parsing and returns the exit code.
using Runner = std::function<int()>;

// Runs the command line; maps t2::Error and CLI11 errors to messages on stderr + exit codes.
int run_cli(CLI::App& app, int argc, char** argv, const Runner* const* chosen);

}  // namespace t2::cli

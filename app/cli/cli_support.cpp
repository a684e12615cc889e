#include "cli_support.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace t2::cli {
namespace {

CancelToken& interrupt_token() {
  static CancelToken token;
  return token;
}

extern "C" void on_sigint(int) { interrupt_token().request_cancel(); }

}  // namespace

JobContext make_cli_job() {
  std::signal(SIGINT, on_sigint);
  ProgressCallback progress;
  if (::isatty(STDERR_FILENO)) {
    progress = [](const Progress& p) {
      std::fprintf(stderr, "\r\033[K[%3d%%] %s", static_cast<int>(p.fraction * 100 + 0.5),
                   p.message.c_str());
      if (p.fraction >= 1.0) std::fputc('\n', stderr);
      std::fflush(stderr);
    };
  }
  return JobContext(progress, interrupt_token());
}

static char** g_argv = nullptr;  // for the relaunch in make_engine

Engine make_engine(const GlobalOptions& global) {
  // Commands that compute call this before any output: relaunch with the thread pools' settings.
  relaunch_with_runtime_env(g_argv);
  EngineOptions options;
  options.threads = global.threads;
  return Engine(options);
}

std::string resources_dir_or_default() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string found = find_resources_dir(ec ? std::string() : exe.parent_path().string());
  return found.empty() ? "resources" : found;
}

RunStore open_store(const GlobalOptions& global, bool must_exist) {
  const std::string path = global.db.empty() ? default_run_store_path() : global.db;
  RunStoreOptions options;
  options.create = !must_exist;
  return RunStore(path, options);
}

void add_decomposition_options(CLI::App* sub, DecompositionOptions& o) {
  sub->add_option("MODEL_DIR", o.model_dir, "Folder with config.json and *.safetensors")
      ->required();
  sub->add_option("--targets", o.params.targets,
                  "mlp | attn | attn-qv | all-linear | part list (q_proj,v_proj) | regex:PATTERN")
      ->capture_default_str();
  sub->add_option("--cache-dir", o.params.cache_dir,
                  "Decomposition cache root (default: $T2_CACHE/decompositions, else "
                  "$XDG_CACHE_HOME/t2-workbench/decompositions, else ~/.cache/...)");
  sub->add_flag("--no-cache", o.no_cache, "Neither read nor write the decomposition cache");
}

Decomposition decompose_for_cli(DecompositionOptions o) {
  o.params.use_cache = !o.no_cache;
  return Decomposition::compute_or_load(o.model_dir, o.params, make_cli_job());
}

int run_cli(CLI::App& app, int argc, char** argv, const Runner* const* chosen) {
  g_argv = argv;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints help to stdout, returns 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (app.get_subcommands().empty()) {
      // Name an unknown command instead of CLI11's generic "A subcommand is required".
      for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const CLI::Option* previous = i > 1 ? app.get_option_no_throw(argv[i - 1]) : nullptr;
        const bool is_value = previous != nullptr && previous->get_type_size() != 0;
        if (!arg.empty() && arg[0] != '-' && !is_value) {
          message = "unknown command '" + arg + "'";
          break;
        }
      }
    }
    std::cerr << "t2: error: " << message << "\n"
              << "Run 't2 --help' (or 't2 COMMAND --help') for usage.\n";
    return kExitUsage;
  }
  if (*chosen == nullptr) {
    std::cerr << "t2: error: no command given; run 't2 --help'\n";
    return kExitUsage;
  }
  try {
    return (**chosen)();
  } catch (const Error& e) {
    if (e.is_cancelled()) {
      std::cerr << "\nt2: cancelled\n";
      return kExitCancelled;
    }
    std::cerr << "t2: error (" << to_string(e.kind()) << "): " << e.what() << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    std::cerr << "t2: internal error: " << e.what() << " (please report this)\n";
    return kExitError;
  }
}

}  // namespace t2::cli

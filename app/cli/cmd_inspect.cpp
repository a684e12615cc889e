// `t2 inspect MODEL_DIR [--json]`: architecture, dims, parameter count, dtypes, tensor list —
// from config.json and the safetensors headers only (instant; no weights are read).
#include "commands.h"

#include <iostream>
#include <memory>

namespace t2::cli {

void add_inspect_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    std::string model_dir;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "inspect",
      "Show a Hugging Face checkpoint's architecture, dimensions, parameter count, "
      "dtypes and tensors (reads only headers)");
  sub->add_option("MODEL_DIR", opts->model_dir, "Folder with config.json and *.safetensors")
      ->required();
  sub->add_flag("--json", opts->json, "Print one JSON document instead of text");
  auto runner = std::make_shared<Runner>([opts, &global]() {
    (void)global;
    const auto summary = inspect_model(opts->model_dir);
    std::cout << (opts->json ? to_json(summary) + "\n" : to_text(summary));
    for (const auto& name : summary.missing_tensors)
      std::cerr << "t2: WARNING: tensor '" << name << "' is missing; the model will not load\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

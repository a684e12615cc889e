// `t2 lora info ADAPTER_DIR [--json]` and `t2 lora merge MODEL_DIR ADAPTER_DIR --out DIR
// [--force]`: inspect a PEFT LoRA adapter folder and fold it into a Hugging Face checkpoint.
// (Training: `t2 train --method lora`; evaluating: `t2 eval --adapter`.)
#include "commands.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace detail::lora_cmd {

void print_info(const LoraAdapter& a, bool json) {
  const LoraConfig& c = a.config;
  if (json) {
    nlohmann::ordered_json j;
    j["rank"] = c.rank;
    j["alpha"] = c.alpha;
    j["scaling"] = c.scaling();
    j["dropout"] = c.dropout;
    j["rslora"] = c.rslora;
    if (c.target_regex.empty())
      j["target_modules"] = c.target_modules;
    else
      j["target_modules"] = c.target_regex;
    j["base_model"] = c.base_model;
    j["matrices"] = a.matrices.size();
    j["parameters"] = a.parameter_count();
    std::cout << j.dump() << "\n";
    return;
  }
  std::string targets = c.target_regex;
  for (const auto& m : c.target_modules) targets += (targets.empty() ? "" : ",") + m;
  std::printf("LoRA adapter: rank %d, alpha %g (scaling %g%s), dropout %g\n", c.rank, c.alpha,
              c.scaling(), c.rslora ? ", rsLoRA" : "", c.dropout);
  std::printf("targets: %s (%zu matrices)\n", targets.c_str(), a.matrices.size());
  std::printf("trainable parameters: %lld\n", static_cast<long long>(a.parameter_count()));
  if (!c.base_model.empty()) std::printf("base model: %s\n", c.base_model.c_str());
}

void add_info(CLI::App& parent, const Runner*& chosen) {
  struct Options {
    std::string dir;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "info", "Show a LoRA adapter's rank, alpha, targets and trainable parameter count");
  sub->add_option("ADAPTER_DIR", o->dir, "PEFT adapter folder")->required();
  sub->add_flag("--json", o->json, "Print one JSON object");
  auto runner = std::make_shared<Runner>([o]() {
    print_info(read_lora_adapter(o->dir), o->json);
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

void add_merge(CLI::App& parent, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    std::string model_dir, adapter_dir;
    ExportMergedParams params;
  };
  auto o = std::make_shared<Options>();
  auto* sub = parent.add_subcommand(
      "merge",
      "Write a Hugging Face checkpoint with the adapter merged in (W + s B A for its matrices, "
      "every other tensor unchanged; config and tokenizer files copied)");
  sub->add_option("MODEL_DIR", o->model_dir, "Base model folder")->required();
  sub->add_option("ADAPTER_DIR", o->adapter_dir, "PEFT adapter folder")->required();
  sub->add_option("--out", o->params.out_dir, "Folder to write (must be empty unless --force)")
      ->required();
  sub->add_flag("--force", o->params.force, "Write into a non-empty folder");
  auto runner = std::make_shared<Runner>([o, &global]() {
    Engine engine = make_engine(global);
    const auto job = make_cli_job();
    const auto r = merge_lora(o->model_dir, read_lora_adapter(o->adapter_dir), o->params, job);
    std::cout << "wrote " << r.safetensors_path << ": " << r.tensors_written << " tensors, "
              << r.changed.size() << " adapted\ncopied:";
    for (const auto& f : r.copied_files) std::cout << " " << f;
    std::cout << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace detail::lora_cmd

void add_lora_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  auto* sub = app.add_subcommand("lora", "Inspect LoRA adapters (PEFT format) and merge them");
  sub->require_subcommand(1);
  detail::lora_cmd::add_info(*sub, chosen);
  detail::lora_cmd::add_merge(*sub, global, chosen);
}

}  // namespace t2::cli

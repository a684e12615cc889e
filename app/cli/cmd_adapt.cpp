// `t2 adapt eval MODEL_DIR --task SPEC [--task SPEC]... --strategy prompt [--library LIB]
// [--classify SPEC] [--split test] [--limit N] [--batch 32] [--json] [--no-store]`: two-pass
// self-adaptation on task splits (t2/adapt.h). Per task: accuracy with its 95 % interval, pass-1
// routing accuracy and confusion (true -> predicted category), the time of each pass and their
// ratio, tokens/s of each; stored as a run of kind "eval" (strategy "prompt") unless --no-store.
// Without --library / --classify the bundled demo library and classification task are used.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace t2::cli {
namespace detail::adapt_cmd {

struct Options {
  std::string model_dir;
  std::vector<std::string> tasks;
  std::string strategy = "prompt";
  std::string library;
  std::string classify;
  DispatchParams params;
  LoadParams load;
  bool json = false;
  bool no_store = false;
};

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

void print_text(const DispatchReport& d) {
  const EvalReport& r = d.report;
  std::cout << r.task << " [" << r.split << "] prompt dispatch: accuracy " << percent(r.accuracy)
            << " (95% CI " << percent(r.ci_low) << " - " << percent(r.ci_high) << "), " << r.correct
            << "/" << r.n << " correct\n";
  if (d.routing_accuracy >= 0)
    std::cout << "  pass 1 routing: " << percent(d.routing_accuracy) << " to the true category\n";
  for (const auto& [truth, row] : d.confusion) {
    std::cout << "    " << truth << " ->";
    for (const auto& [predicted, n] : row) std::cout << " " << predicted << " " << n;
    std::cout << "\n";
  }
  char timing[256];
  std::snprintf(timing, sizeof timing,
                "  pass 1 %.2f s (%.0f tok/s), pass 2 %.2f s (%.0f tok/s), pass 1 / pass 2 = %.2f",
                d.pass1_seconds, d.pass1_tokens_per_second, d.pass2_seconds,
                d.pass2_tokens_per_second,
                d.pass2_seconds > 0 ? d.pass1_seconds / d.pass2_seconds : 0.0);
  std::cout << timing;
  if (d.run_id > 0) std::cout << "; run " << d.run_id;
  std::cout << "\n";
  std::cout.flush();
}

void print_json(const DispatchReport& d) {
  auto j = nlohmann::ordered_json::parse(to_json(d.report));
  j["strategy"] = "prompt";
  j["routing_accuracy"] = d.routing_accuracy;
  j["confusion"] = d.confusion;
  j["pass1_seconds"] = d.pass1_seconds;
  j["pass2_seconds"] = d.pass2_seconds;
  j["pass1_over_pass2"] = d.pass2_seconds > 0 ? d.pass1_seconds / d.pass2_seconds : 0.0;
  j["pass1_tokens_per_s"] = d.pass1_tokens_per_second;
  j["pass2_tokens_per_s"] = d.pass2_tokens_per_second;
  nlohmann::ordered_json decisions = nlohmann::ordered_json::array();
  for (const auto& p : d.decisions)
    decisions.push_back({{"index", p.index},
                         {"category", p.category},
                         {"true_category", p.true_category},
                         {"output", p.output}});
  j["decisions"] = decisions;
  j["run_id"] = d.run_id > 0 ? nlohmann::ordered_json(d.run_id) : nlohmann::ordered_json();
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

int run(Options& o, const GlobalOptions& global) {
  if (o.strategy != "prompt")
    throw Error(ErrorKind::Unsupported,
                "strategy '" + o.strategy +
                    "' is not built yet; the prompt strategy is (classifier and few-shot follow)");
  Engine engine = make_engine(global);
  const JobContext job = make_cli_job();
  if (o.library.empty() || o.classify.empty()) {
    const DemoInfo demo = demo_info(resources_dir_or_default());
    if (o.library.empty()) {
      if (demo.experts_dir.empty())
        throw Error(ErrorKind::InvalidArgument, "give the expert library: --library LIB.json");
      o.library = (std::filesystem::path(demo.experts_dir) / "library.json").string();
    }
    if (o.classify.empty()) {
      if (demo.classification_task.empty())
        throw Error(ErrorKind::InvalidArgument,
                    "give the pass-1 classification task: --classify SPEC");
      o.classify = demo.classification_task;
    }
  }
  const ExpertLibrary library = read_expert_library(o.library);
  const Task classifier = Task::load(o.classify);
  std::vector<Task> tasks;
  for (const auto& spec : o.tasks) tasks.push_back(Task::load(spec));
  const Tokenizer tokenizer = Tokenizer::from_model_dir(o.model_dir);
  std::optional<ChatTemplate> chat;
  try {
    chat.emplace(ChatTemplate::from_model_dir(o.model_dir));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unsupported && e.kind() != ErrorKind::Io) throw;
  }
  const auto model = Model::load(o.model_dir, o.load, job);
  std::optional<RunStore> store;
  if (!o.no_store) store.emplace(open_store(global, /*must_exist=*/false));
  const std::string dir = std::filesystem::absolute(o.model_dir).lexically_normal().string();
  for (const auto& task : tasks) {
    const DispatchReport d =
        evaluate_prompt_dispatch(model, dir, tokenizer, chat ? &*chat : nullptr, library,
                                 classifier, task, o.params, store ? &*store : nullptr, job);
    if (o.json)
      print_json(d);
    else
      print_text(d);
  }
  return kExitOk;
}

}  // namespace detail::adapt_cmd

void add_adapt_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  using detail::adapt_cmd::Options;
  auto* adapt = app.add_subcommand(
      "adapt", "Two-pass self-adaptation: pass 1 picks an expert per question, pass 2 answers");
  adapt->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto* sub = adapt->add_subcommand(
      "eval",
      "Evaluate task splits with two-pass adaptation: accuracy (95% interval), pass-1 routing "
      "and confusion, time and tokens/s of each pass; stored as a run of kind 'eval'");
  sub->add_option("MODEL_DIR", o->model_dir, "Base model folder")->required();
  sub->add_option("--task", o->tasks, "Task spec to evaluate; repeat for several")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--strategy", o->strategy,
                  "prompt (the base model answers the classification prompt)")
      ->capture_default_str();
  sub->add_option("--library", o->library,
                  "Expert library (t2-expert-library JSON); default: the bundled demo library");
  sub->add_option("--classify", o->classify,
                  "Classification task spec for pass 1; default: the bundled demo's");
  sub->add_option("--split", o->params.eval.split, "Split to evaluate")->capture_default_str();
  sub->add_option("--limit", o->params.eval.limit, "First N items of the split; 0 = all")
      ->capture_default_str();
  sub->add_option("--batch", o->params.eval.batch_size, "Rows generated together")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_option("--name", o->params.run_name, "Run name");
  sub->add_option("--dtype", o->load.dtype, "f32 | bf16")->capture_default_str();
  sub->add_option("--device", o->load.device, "cpu | cuda | auto")->capture_default_str();
  sub->add_flag("--json", o->json, "One JSON object per task (with every pass-1 decision)");
  sub->add_flag("--no-store", o->no_store, "Do not record runs in the workspace database");
  auto runner =
      std::make_shared<Runner>([o, &global]() { return detail::adapt_cmd::run(*o, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

// `t2 eval MODEL_DIR --task SPEC [--task SPEC]... [--split test] [--expert FILE]
// [--allow-transfer] [--adapter DIR] [--limit N] [--batch 32] [--max-new-tokens N]
// [--temperature T --seed S] [--dtype f32|bf16] [--device cpu|cuda|auto] [--name NAME]
// [--json [--items]] [--no-store]`: evaluates a model (or model + expert or LoRA adapter) on task
// splits with batched greedy (or, with --temperature, sampled) generation. One line per task
// (accuracy, 95 % Wilson interval, n, timings, run id); --json prints one JSON object per task per
// line. Every task is a run of kind "eval" in the workspace (--db) unless --no-store; Ctrl+C stores
// the finished items as a cancelled run and exits 130.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2::cli {
namespace detail::eval_cmd {

struct Options {
  std::string model_dir;
  std::vector<std::string> tasks;
  EvalParams params;
  std::string expert;
  std::string adapter;  // LoRA adapter folder (PEFT format); exclusive with expert
  bool allow_transfer = false;
  LoadParams load;
  std::string name;
  bool json = false;
  bool items = false;
  bool no_store = false;
};

// Loads every spec and checks the split before anything heavy runs, so that a typo fails fast
// and leaves no run behind.
std::vector<Task> load_tasks(const Options& o) {
  std::vector<Task> tasks;
  for (const auto& spec : o.tasks) {
    tasks.push_back(Task::load(spec));
    const auto& data = tasks.back().spec().data;
    if (data.count(o.params.split) == 0) {
      std::string known;
      for (const auto& kv : data) known += (known.empty() ? "" : ", ") + kv.first;
      throw Error(ErrorKind::InvalidArgument, spec + ": no split \"" + o.params.split +
                                                  "\" (splits: " + known +
                                                  "); choose one with "
                                                  "--split");
    }
  }
  return tasks;
}

// The model's chat template, or none (plain-text prompts) when its folder has none.
std::optional<ChatTemplate> load_chat_template(const std::string& model_dir,
                                               const std::vector<Task>& tasks) {
  try {
    return ChatTemplate::from_model_dir(model_dir);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unsupported && e.kind() != ErrorKind::Io) throw;
    for (const auto& t : tasks) {
      if (t.spec().prompt.use_chat_template) {
        std::cerr << "t2: note: " << model_dir << " has no chat template; prompts are plain text ("
                  << e.what() << ")\n";
        break;
      }
    }
    return std::nullopt;
  }
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

void print_line(const EvalReport& r, std::optional<std::int64_t> run_id) {
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.1f ms/example, %.2f s generating, %.2f s judging",
                r.ms_per_example, r.generation_seconds, r.judging_seconds);
  std::cout << r.task << " [" << r.split << "]: accuracy " << percent(r.accuracy) << " (95% CI "
            << percent(r.ci_low) << " - " << percent(r.ci_high) << "), " << r.correct << "/" << r.n
            << " correct, " << r.unextractable << " unextractable; " << timing;
  if (run_id) std::cout << "; run " << *run_id;
  std::cout << "\n";
  std::cout.flush();
}

// --expert FILE / --adapter DIR / neither, as the engine's strategy.
Strategy strategy(const Options& o) {
  if (!o.adapter.empty()) return Strategy::adapter(o.adapter);
  if (!o.expert.empty()) return Strategy::expert(o.expert, o.allow_transfer);
  return Strategy::base();
}

void print_json(const EvalReport& r, const Options& o, std::optional<std::int64_t> run_id) {
  auto j = nlohmann::ordered_json::parse(to_json(r, o.items));
  j["model"] = o.model_dir;
  j["strategy"] = strategy_label(strategy(o));
  j["run_id"] = run_id ? nlohmann::ordered_json(*run_id) : nlohmann::ordered_json();
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

struct Context {
  const Options& options;
  Session& session;
  const Tokenizer& tokenizer;
  const ChatTemplate* chat_template;
  RunStore* store;  // null with --no-store
  EvalRunInfo info;
  const JobContext& job;
};

// Evaluates one task; the run (if any) is finished as finished, cancelled or failed.
void evaluate_task(Context& c, const Task& task) {
  EvalRunInfo info = c.info;
  if (!c.options.name.empty())
    info.run_name =
        c.options.tasks.size() > 1 ? c.options.name + " " + task.spec().name : c.options.name;
  EvalParams params = c.options.params;
  std::int64_t finished = 0;  // items judged so far, for the message when it stops early
  params.on_batch = [&finished](const EvalReport& so_far) { finished = so_far.n; };
  StoredEvaluation done;
  try {
    done = evaluate_and_store(c.session, c.tokenizer, c.chat_template, task, params, c.store, info,
                              c.job);
  } catch (const Error& e) {
    if (c.store)
      std::cerr << "\nt2: the run is stored as " << (e.is_cancelled() ? "cancelled" : "failed")
                << " with " << finished << " finished items\n";
    throw;
  }
  const std::optional<std::int64_t> run_id =
      c.store ? std::optional<std::int64_t>(done.run_id) : std::nullopt;
  if (c.options.json)
    print_json(done.report, c.options, run_id);
  else
    print_line(done.report, run_id);
}

int run(const Options& o, const GlobalOptions& global) {
  Engine engine = make_engine(global);
  const JobContext job = make_cli_job();
  const std::vector<Task> tasks = load_tasks(o);
  const Tokenizer tokenizer = Tokenizer::from_model_dir(o.model_dir);
  const std::optional<ChatTemplate> chat = load_chat_template(o.model_dir, tasks);
  Session session(Model::load(o.model_dir, o.load, job));
  apply_strategy(session, o.model_dir, strategy(o), {}, job);
  std::optional<RunStore> store;
  if (!o.no_store) store.emplace(open_store(global, /*must_exist=*/false));
  EvalRunInfo info;
  info.model_dir = std::filesystem::absolute(o.model_dir).lexically_normal().string();
  info.model_fingerprint = model_fingerprint(o.model_dir);
  info.architecture = session.model().config().architecture;
  info.strategy = strategy(o);
  Context c{o, session, tokenizer, chat ? &*chat : nullptr, store ? &*store : nullptr, info, job};
  for (const auto& task : tasks) evaluate_task(c, task);
  return kExitOk;
}

}  // namespace detail::eval_cmd

void add_eval_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  using detail::eval_cmd::Options;
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "eval",
      "Evaluate a model (optionally with an SVF expert) on task splits with batched greedy "
      "generation: accuracy with a 95% Wilson interval, stored as a run of kind 'eval'");
  sub->add_option("MODEL_DIR", o->model_dir,
                  "Folder with config.json, *.safetensors, tokenizer.json (and "
                  "tokenizer_config.json with a chat template)")
      ->required();
  sub->add_option("--task", o->tasks, "Task spec file (JSON); repeat for several tasks")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--split", o->params.split, "Split to evaluate")->capture_default_str();
  add_expert_file_options(sub, o->expert, o->allow_transfer, /*required=*/false);
  sub->add_option("--adapter", o->adapter,
                  "LoRA adapter folder (PEFT format: adapter_config.json + "
                  "adapter_model.safetensors), merged into the weights")
      ->excludes(sub->get_option("--expert"));
  sub->add_option("--limit", o->params.limit, "First N items of the split; 0 = all")
      ->capture_default_str();
  sub->add_option("--batch", o->params.batch_size, "Prompts generated together (rows)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_flag("!--no-prefix-cache", o->params.reuse_prefix,
                "Encode every prompt in full (default: the prompts' common prefix once)");
  sub->add_flag("!--fixed-batches", o->params.continuous,
                "Greedy in fixed batches that wait for their longest answer (default: a finished "
                "row takes the next item at once)");
  sub->add_option("--max-new-tokens", o->params.max_new_tokens,
                  "Tokens per answer; 0 = the task's generation.max_new_tokens")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  sub->add_option("--temperature", o->params.sampling.temperature,
                  "Sampling temperature; 0 = greedy (as the paper evaluates); > 0 samples, e.g. "
                  "for pass@k over several --seed values")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  sub->add_option("--seed", o->params.seed,
                  "Sampling seed (with --temperature > 0): batch b uses seed + b")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62))
      ->capture_default_str();
  sub->add_option("--dtype", o->load.dtype, "Compute dtype: f32 or bf16")->capture_default_str();
  sub->add_option("--device", o->load.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--name", o->name, "Run name (default: 'eval TASK SPLIT')");
  auto* json = sub->add_flag("--json", o->json,
                             "Print one JSON object per task per line: the report (task, split, "
                             "n, correct, accuracy, ci_low, ci_high, timings...), model, "
                             "strategy and run_id");
  sub->add_flag("--items", o->items, "With --json: include every item (prompt, output, answer)")
      ->needs(json);
  sub->add_flag("--no-store", o->no_store, "Do not record the evaluation in the workspace");
  auto runner =
      std::make_shared<Runner>([o, &global]() { return detail::eval_cmd::run(*o, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

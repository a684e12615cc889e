// `t2 adapt eval MODEL_DIR --task SPEC [--task SPEC]... --strategy S [--library LIB]
// [--classify SPEC] [--split test] [--limit N] [--batch 32] [--json] [--no-store]`: two-pass
// self-adaptation on task splits (t2/adapt.h), S = prompt | classifier | classifier-soft |
// few-shot. Dispatch strategies: accuracy with its 95 % interval, pass-1
// routing accuracy and confusion (true -> predicted category), the time of each pass and their
// ratio, tokens/s of each. few-shot: a CEM search on --shots items of another split (CEM
// options as `t2 adapt cem`), then the held-out evaluation. Stored as runs unless --no-store.
// `t2 adapt table MODEL_DIR --task SPEC... [--rows ...]`: the paper's Table 2 (every cell a run).
// `t2 adapt cem MODEL_DIR --task SPEC ...`: the search alone; the found mix is written as an
// expert file next to the library and added to it as a named mix (unless --no-save).
// Without --library / --classify the bundled demo library and classification task are used.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
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
  FewShotParams few_shot;
  bool per_layer = false;
  std::string mix_name;           // cem: the library entry's name ("" = from the task's name)
  bool no_save = false;           // cem: do not write the mix or touch the library
  std::vector<std::string> rows;  // table: rows ("" = all)
  std::string csv_out, markdown_out;
  LoadParams load;
  bool json = false;
  bool no_store = false;
};

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

struct Dispatched : DispatchReport {
  StrategyKind strategy = StrategyKind::Prompt;
};

void print_text(const Dispatched& d) {
  const EvalReport& r = d.report;
  std::cout << r.task << " [" << r.split << "] " << to_string(d.strategy) << " dispatch: accuracy "
            << percent(r.accuracy) << " (95% CI " << percent(r.ci_low) << " - "
            << percent(r.ci_high) << "), " << r.correct << "/" << r.n << " correct\n";
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

void print_json(const Dispatched& d) {
  auto j = nlohmann::ordered_json::parse(to_json(d.report));
  j["strategy"] = to_string(d.strategy);
  j["routing_accuracy"] = d.routing_accuracy;
  j["confusion"] = d.confusion;
  j["pass1_seconds"] = d.pass1_seconds;
  j["pass2_seconds"] = d.pass2_seconds;
  j["pass1_over_pass2"] = d.pass2_seconds > 0 ? d.pass1_seconds / d.pass2_seconds : 0.0;
  j["pass1_tokens_per_s"] = d.pass1_tokens_per_second;
  j["pass2_tokens_per_s"] = d.pass2_tokens_per_second;
  nlohmann::ordered_json decisions = nlohmann::ordered_json::array();
  for (const auto& p : d.decisions) {
    nlohmann::ordered_json x = {{"index", p.index},
                                {"category", p.category},
                                {"true_category", p.true_category},
                                {"output", p.output}};
    if (!p.probabilities.empty()) x["probabilities"] = p.probabilities;
    decisions.push_back(std::move(x));
  }
  j["decisions"] = decisions;
  j["run_id"] = d.run_id > 0 ? nlohmann::ordered_json(d.run_id) : nlohmann::ordered_json();
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

// What every adapt command loads.
struct Loaded {
  Engine engine;
  ExpertLibrary library;
  std::optional<Task> classifier;
  std::vector<Task> tasks;
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat;
  std::shared_ptr<const Model> model;
  std::optional<RunStore> store;
  std::string dir;
  const ChatTemplate* chat_template() const { return chat ? &*chat : nullptr; }
  RunStore* run_store() { return store ? &*store : nullptr; }
};

Loaded load(Options& o, const GlobalOptions& global, bool need_classifier, const JobContext& job) {
  if (o.library.empty() || (need_classifier && o.classify.empty())) {
    const DemoInfo demo = demo_info(resources_dir_or_default());
    if (o.library.empty()) {
      if (demo.experts_dir.empty())
        throw Error(ErrorKind::InvalidArgument, "give the expert library: --library LIB.json");
      o.library = (std::filesystem::path(demo.experts_dir) / "library.json").string();
    }
    if (need_classifier && o.classify.empty()) {
      if (demo.classification_task.empty())
        throw Error(ErrorKind::InvalidArgument,
                    "give the pass-1 classification task: --classify SPEC");
      o.classify = demo.classification_task;
    }
  }
  Engine engine = make_engine(global);
  ExpertLibrary library = read_expert_library(o.library);
  std::optional<Task> classifier;
  if (need_classifier) classifier.emplace(Task::load(o.classify));
  std::vector<Task> tasks;
  for (const auto& spec : o.tasks) tasks.push_back(Task::load(spec));
  Tokenizer tokenizer = Tokenizer::from_model_dir(o.model_dir);
  std::optional<ChatTemplate> chat;
  try {
    chat.emplace(ChatTemplate::from_model_dir(o.model_dir));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unsupported && e.kind() != ErrorKind::Io) throw;
  }
  auto model = Model::load(o.model_dir, o.load, job);
  std::optional<RunStore> store;
  if (!o.no_store) store.emplace(open_store(global, /*must_exist=*/false));
  return {std::move(engine),
          std::move(library),
          std::move(classifier),
          std::move(tasks),
          std::move(tokenizer),
          std::move(chat),
          std::move(model),
          std::move(store),
          std::filesystem::absolute(o.model_dir).lexically_normal().string()};
}

std::string alpha_text(const std::vector<std::string>& experts, const MixAlpha& alpha) {
  std::string out;
  char buf[64];
  for (std::size_t k = 0; k < experts.size() && k < alpha.rows.size(); ++k) {
    double mean = 0.0;
    for (double a : alpha.rows[k]) mean += a;
    mean /= static_cast<double>(std::max<std::size_t>(1, alpha.rows[k].size()));
    std::snprintf(buf, sizeof buf, "%s%s %.3f", out.empty() ? "" : ", ", experts[k].c_str(), mean);
    out += buf;
  }
  return alpha.shape == AlphaShape::PerLayer ? out + " (mean over layers)" : out;
}

void print_generation(const CemGeneration& g, int generations) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "  generation %d/%d: best %.4f, elite mean %.4f, %.2f s\n",
                g.generation, generations, g.best_fitness, g.elite_fitness_mean, g.seconds);
  std::cerr << buf;
}

void print_few_shot(const FewShotReport& f, const std::string& task) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s few-shot search: %zu shots of [%s], %d generations (%s), %lld members in "
                "%.1f s; best on the shots: %s correct, log-likelihood %.3f/token\n",
                task.c_str(), f.shot_indices.size(), f.shot_split.c_str(), f.cem.generations_run,
                f.cem.stopped_early ? "stopped early" : "all",
                static_cast<long long>(f.members_evaluated), f.search_seconds,
                percent(f.best_accuracy).c_str(), f.best_log_likelihood);
  std::cout << buf << "  alpha: " << alpha_text(f.experts, f.alpha) << "\n";
  for (const auto& w : f.warnings) std::cout << "  warning: " << w << "\n";
  if (f.evaluated) {
    const EvalReport& r = f.report;
    std::cout << r.task << " [" << r.split << "] few-shot mix: accuracy " << percent(r.accuracy)
              << " (95% CI " << percent(r.ci_low) << " - " << percent(r.ci_high) << "), "
              << r.correct << "/" << r.n << " correct; " << f.selection << "\n";
  }
  if (f.search_run_id > 0) std::cout << "  search run " << f.search_run_id;
  if (f.run_id > 0) std::cout << ", evaluation run " << f.run_id;
  if (f.search_run_id > 0 || f.run_id > 0) std::cout << "\n";
  std::cout.flush();
}

nlohmann::ordered_json few_shot_json(const FewShotReport& f) {
  nlohmann::ordered_json j =
      f.evaluated ? nlohmann::ordered_json::parse(to_json(f.report)) : nlohmann::ordered_json{};
  j["strategy"] = "few-shot";
  j["selection"] = f.selection;
  j["experts"] = f.experts;
  j["shape"] = f.alpha.shape == AlphaShape::PerLayer ? "per-layer" : "per-expert";
  j["alpha"] = f.alpha.rows;
  j["shot_split"] = f.shot_split;
  j["shot_ids"] = f.shot_ids;
  j["best_accuracy"] = f.best_accuracy;
  j["best_log_likelihood"] = f.best_log_likelihood;
  j["best_fitness"] = f.cem.best_fitness;
  j["generations_run"] = f.cem.generations_run;
  j["stopped_early"] = f.cem.stopped_early;
  j["members_evaluated"] = f.members_evaluated;
  j["search_seconds"] = f.search_seconds;
  j["warnings"] = f.warnings;
  j["search_run_id"] =
      f.search_run_id > 0 ? nlohmann::ordered_json(f.search_run_id) : nlohmann::ordered_json();
  j["run_id"] = f.run_id > 0 ? nlohmann::ordered_json(f.run_id) : nlohmann::ordered_json();
  return j;
}

// Lowercase [a-z0-9_-] name from a task name, for mix entries.
std::string mix_name_for(const std::string& task_name) {
  std::string out;
  for (char c : task_name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '_' || l == '-') ? l : '-';
  }
  return out.empty() ? "mix" : out;
}

FewShotParams few_shot_params(const Options& o, bool evaluate) {
  FewShotParams p = o.few_shot;
  p.shape = o.per_layer ? AlphaShape::PerLayer : AlphaShape::PerExpert;
  p.eval = o.params.eval;
  p.evaluate_result = evaluate;
  p.run_name = o.params.run_name;
  return p;
}

void print_json_line(const nlohmann::ordered_json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

int run_eval(Options& o, const GlobalOptions& global) {
  const std::vector<std::string> known = {"prompt", "classifier", "classifier-soft", "few-shot"};
  if (std::find(known.begin(), known.end(), o.strategy) == known.end())
    throw Error(ErrorKind::InvalidArgument,
                "unknown strategy '" + o.strategy +
                    "'; use prompt, classifier, classifier-soft or few-shot");
  const JobContext job = make_cli_job();
  Loaded l = load(o, global, o.strategy != "few-shot", job);
  for (const auto& task : l.tasks) {
    if (o.strategy == "few-shot") {
      FewShotParams p = few_shot_params(o, true);
      if (l.store && p.mix_file.empty()) {
        const auto folder = std::filesystem::path(l.store->path()).parent_path() / "mixes";
        std::filesystem::create_directories(folder);
        p.mix_file =
            (folder / (mix_name_for(task.spec().name) + "-" +
                       std::to_string(static_cast<long long>(std::time(nullptr))) + ".safetensors"))
                .string();
      }
      const FewShotReport f = few_shot_search(
          l.model, l.dir, l.tokenizer, l.chat_template(), l.library, task, p, l.run_store(),
          [&](const CemGeneration& g) {
            if (!o.json) print_generation(g, p.cem.generations);
          },
          job);
      if (o.json)
        print_json_line(few_shot_json(f));
      else
        print_few_shot(f, task.spec().name);
      continue;
    }
    DispatchParams params = o.params;
    params.strategy = o.strategy == "prompt"       ? StrategyKind::Prompt
                      : o.strategy == "classifier" ? StrategyKind::Classifier
                                                   : StrategyKind::ClassifierSoft;
    Dispatched d;
    static_cast<DispatchReport&>(d) =
        evaluate_prompt_dispatch(l.model, l.dir, l.tokenizer, l.chat_template(), l.library,
                                 *l.classifier, task, params, l.run_store(), job);
    d.strategy = params.strategy;
    if (o.json)
      print_json(d);
    else
      print_text(d);
  }
  return kExitOk;
}

int run_cem(Options& o, const GlobalOptions& global) {
  const JobContext job = make_cli_job();
  Loaded l = load(o, global, false, job);
  for (const auto& task : l.tasks) {
    FewShotParams p = few_shot_params(o, false);
    const std::string name =
        o.mix_name.empty() || l.tasks.size() > 1 ? mix_name_for(task.spec().name) : o.mix_name;
    const auto folder = std::filesystem::path(l.library.path).parent_path() / "mixes";
    if (!o.no_save) {
      std::filesystem::create_directories(folder);
      p.mix_file = (folder / (name + ".safetensors")).string();
    }
    const FewShotReport f = few_shot_search(
        l.model, l.dir, l.tokenizer, l.chat_template(), l.library, task, p, l.run_store(),
        [&](const CemGeneration& g) {
          if (!o.json) print_generation(g, p.cem.generations);
        },
        job);
    if (!o.no_save) {
      // Re-read the library: another process may have changed it since it was loaded.
      ExpertLibrary lib = read_expert_library(l.library.path);
      LibraryMix mix;
      mix.name = name;
      mix.file = "mixes/" + name + ".safetensors";
      mix.task = std::filesystem::absolute(task.spec().path).lexically_normal().string();
      mix.experts = f.experts;
      mix.shape = f.alpha.shape == AlphaShape::PerLayer ? "per-layer" : "per-expert";
      mix.alpha = f.alpha.rows;
      mix.run_id = f.search_run_id;
      mix.selection = o.few_shot.sakana_compat ? "sakana-compat" : "held-out";
      lib.mixes.erase(std::remove_if(lib.mixes.begin(), lib.mixes.end(),
                                     [&](const LibraryMix& m) { return m.name == name; }),
                      lib.mixes.end());
      lib.mixes.push_back(mix);
      write_expert_library(lib.path, lib);
    }
    if (o.json) {
      auto j = few_shot_json(f);
      j["mix_name"] = o.no_save ? nlohmann::ordered_json() : nlohmann::ordered_json(name);
      j["mix_file"] = o.no_save ? nlohmann::ordered_json() : nlohmann::ordered_json(p.mix_file);
      print_json_line(j);
    } else {
      print_few_shot(f, task.spec().name);
      if (!o.no_save)
        std::cout << "  saved as mix '" << name << "' of " << l.library.path << " (" << p.mix_file
                  << ")\n";
    }
  }
  return kExitOk;
}

int run_table(Options& o, const GlobalOptions& global) {
  const JobContext job = make_cli_job();
  AdaptTableParams p;
  if (!o.rows.empty()) p.rows = o.rows;
  const bool dispatch = std::any_of(p.rows.begin(), p.rows.end(), [](const std::string& r) {
    return r == "prompt" || r == "classifier" || r == "classifier-soft";
  });
  Loaded l = load(o, global, dispatch, job);
  p.eval = o.params.eval;
  p.few_shot = few_shot_params(o, true);
  const AdaptTable table = adaptation_table(
      l.model, l.dir, l.tokenizer, l.chat_template(), l.library,
      l.classifier ? &*l.classifier : nullptr, l.tasks, p, l.run_store(),
      [](const AdaptTableCell& c) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "  %-16s %-24s %5.1f%% (%lld/%lld)\n", c.row.c_str(),
                      c.task.c_str(), 100.0 * c.accuracy, static_cast<long long>(c.correct),
                      static_cast<long long>(c.n));
        std::cerr << buf;
      },
      job);
  const std::string markdown = adaptation_table_markdown(table);
  if (!o.markdown_out.empty()) write_file_atomically(o.markdown_out, markdown);
  if (!o.csv_out.empty()) write_file_atomically(o.csv_out, adaptation_table_csv(table));
  if (o.json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& c : table.cells)
      j.push_back({{"row", c.row},
                   {"task", c.task},
                   {"n", c.n},
                   {"correct", c.correct},
                   {"accuracy", c.accuracy},
                   {"ci_low", c.ci_low},
                   {"ci_high", c.ci_high},
                   {"routing_accuracy", c.routing_accuracy},
                   {"pass1_over_pass2", c.pass1_over_pass2},
                   {"run_id", c.run_id}});
    print_json_line(j);
  } else {
    std::cout << markdown;
    std::cout.flush();
  }
  return kExitOk;
}

// The options of the few-shot search, shared by `eval --strategy few-shot` and `cem`.
void add_cem_options(CLI::App* sub, Options& o) {
  sub->add_option("--shots", o.few_shot.shots, "k: items the fitness is measured on")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--shot-split", o.few_shot.shot_split,
                  "Split to draw the shots from; default validation, else train");
  sub->add_option("--shot-seed", o.few_shot.shot_seed, "Which shots (seeded shuffle)")
      ->capture_default_str();
  sub->add_option("--population", o.few_shot.cem.population, "CEM members per generation")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  sub->add_option("--elite-ratio", o.few_shot.cem.elite_ratio, "Fraction kept as elites")
      ->capture_default_str();
  sub->add_option("--init-std", o.few_shot.cem.init_std, "Initial sigma of every alpha")
      ->capture_default_str();
  sub->add_option("--generations", o.few_shot.cem.generations, "Most generations")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--patience", o.few_shot.cem.patience,
                  "Stop after N generations without the elite mean improving; 0 = never")
      ->capture_default_str();
  sub->add_option("--seed", o.few_shot.cem.seed, "CEM sampling seed")->capture_default_str();
  sub->add_option("--max-rows", o.few_shot.max_rows,
                  "Most rows (members x shots) per batch; 0 = auto (activations under ~24 MiB)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_flag("--per-layer", o.per_layer, "Search one alpha per expert and layer");
  sub->add_flag("--with-base", o.few_shot.include_base,
                "Mix the base weights (identity) as one more expert, so the search can keep the "
                "base model");
  sub->add_flag("--sakana-compat", o.few_shot.sakana_compat,
                "The reference's selection: shots from the evaluated split, every item "
                "evaluated (results are labelled selected on the evaluation items)");
}

void add_common_options(CLI::App* sub, Options& o) {
  sub->add_option("MODEL_DIR", o.model_dir, "Base model folder")->required();
  sub->add_option("--task", o.tasks, "Task spec; repeat for several")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--library", o.library,
                  "Expert library (t2-expert-library JSON); default: the bundled demo library");
  sub->add_option("--name", o.params.run_name, "Run name");
  sub->add_option("--dtype", o.load.dtype, "f32 | bf16")->capture_default_str();
  sub->add_option("--device", o.load.device, "cpu | cuda | auto")->capture_default_str();
  sub->add_flag("--json", o.json, "One JSON object per task");
  sub->add_flag("--no-store", o.no_store, "Do not record runs in the workspace database");
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
      "Evaluate task splits with self-adaptation: accuracy (95% interval); prompt: pass-1 "
      "routing and confusion, time and tokens/s of each pass; few-shot: CEM search on held-out "
      "shots, then the evaluation. Stored as runs");
  add_common_options(sub, *o);
  sub->add_option("--strategy", o->strategy,
                  "prompt (the base model answers the classification prompt) | classifier (the "
                  "library's classifier expert answers it) | classifier-soft (pass 2 mixes the "
                  "experts by the classifier's category probabilities) | few-shot (CEM mix of "
                  "the library's experts)")
      ->capture_default_str();
  sub->add_option("--classify", o->classify,
                  "Classification task spec for pass 1; default: the bundled demo's");
  sub->add_option("--split", o->params.eval.split, "Split to evaluate")->capture_default_str();
  sub->add_option("--limit", o->params.eval.limit, "First N items of the split; 0 = all")
      ->capture_default_str();
  sub->add_option("--batch", o->params.eval.batch_size, "Rows generated together")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_option("--mix-out", o->few_shot.mix_file,
                  "few-shot: write the found mix here; default: mixes/ beside the database");
  add_cem_options(sub, *o);
  auto runner =
      std::make_shared<Runner>([o, &global]() { return detail::adapt_cmd::run_eval(*o, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });

  auto ot = std::make_shared<Options>();
  auto* table = adapt->add_subcommand(
      "table",
      "The paper's Table 2 on your tasks: base, each expert and every strategy, accuracy with "
      "95% intervals; Markdown (stdout or --markdown) and CSV (--csv); every cell a stored run");
  add_common_options(table, *ot);
  table
      ->add_option("--rows", ot->rows,
                   "Rows: base, experts, prompt, classifier, classifier-soft, few-shot "
                   "(default: all)")
      ->delimiter(',');
  table->add_option("--classify", ot->classify,
                    "Classification task spec for pass 1; default: the bundled demo's");
  table->add_option("--split", ot->params.eval.split, "Split to evaluate")->capture_default_str();
  table->add_option("--limit", ot->params.eval.limit, "First N items of each split; 0 = all")
      ->capture_default_str();
  table->add_option("--batch", ot->params.eval.batch_size, "Rows generated together")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  table->add_option("--csv", ot->csv_out, "Also write the table as CSV here");
  table->add_option("--markdown", ot->markdown_out, "Also write the Markdown table here");
  add_cem_options(table, *ot);
  auto table_runner = std::make_shared<Runner>(
      [ot, &global]() { return detail::adapt_cmd::run_table(*ot, global); });
  table->callback([&chosen, table_runner] { chosen = table_runner.get(); });

  add_adapt_library_command(adapt, global, chosen);

  auto oc = std::make_shared<Options>();
  auto* cem = adapt->add_subcommand(
      "cem",
      "Few-shot search alone: CEM over the mixing coefficients of the library's experts on k "
      "shots; the mix is saved beside the library and added to it as a named mix");
  add_common_options(cem, *oc);
  cem->add_option("--split", oc->params.eval.split,
                  "The evaluation split the shots must not come from")
      ->capture_default_str();
  cem->add_option("--mix-name", oc->mix_name, "Name of the library entry; default: the task's");
  cem->add_flag("--no-save", oc->no_save, "Do not write the mix or change the library");
  add_cem_options(cem, *oc);
  auto cem_runner =
      std::make_shared<Runner>([oc, &global]() { return detail::adapt_cmd::run_cem(*oc, global); });
  cem->callback([&chosen, cem_runner] { chosen = cem_runner.get(); });
}

}  // namespace t2::cli

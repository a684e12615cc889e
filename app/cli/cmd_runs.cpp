// `t2 runs`: list, show, export, delete and diff the runs kept in the workspace database.
#include "commands.h"
#include "runs_format.h"

#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

struct RunsOptions {
  bool json = false;
  // list
  std::string kind, status, tag, name, sort = "started";
  int limit = 0;
  // show / export / delete / diff
  std::vector<std::string> runs;
  std::string csv, json_file;
  bool files = false, force = false;
};

std::vector<std::int64_t> resolve_all(RunStore& store, const std::vector<std::string>& runs) {
  std::vector<std::int64_t> ids;
  for (const auto& r : runs) ids.push_back(store.resolve_run(r));
  return ids;
}

RunSort parse_sort(const std::string& text) {
  if (text == "started") return RunSort::StartedDesc;
  if (text == "oldest") return RunSort::StartedAsc;
  if (text == "name") return RunSort::NameAsc;
  if (text == "id") return RunSort::IdAsc;
  throw Error(ErrorKind::InvalidArgument,
              "unknown sort '" + text + "'; use started, oldest, name or id");
}

int list_runs(const GlobalOptions& global, const RunsOptions& o) {
  RunStore store = open_store(global);
  RunFilter filter;
  filter.kind = o.kind;
  if (!o.status.empty()) filter.status = run_status_from_string(o.status);
  filter.tag = o.tag;
  filter.name_contains = o.name;
  filter.sort = parse_sort(o.sort);
  filter.limit = o.limit;
  const auto runs = store.list_runs(filter);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : runs) out.push_back(run_json(r));
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << runs_table(runs);
  }
  return kExitOk;
}

int show_run(const GlobalOptions& global, const RunsOptions& o) {
  RunStore store = open_store(global);
  const auto details = load_details(store, store.resolve_run(o.runs.at(0)));
  std::cout << (o.json ? details_json(details).dump(2) + "\n" : details_text(details));
  return kExitOk;
}

int export_runs(const GlobalOptions& global, const RunsOptions& o) {
  if (o.csv.empty() && o.json_file.empty()) {
    throw Error(ErrorKind::InvalidArgument,
                "say where to export: --csv FILE and/or --json FILE "
                "(FILE '-' writes to stdout)");
  }
  RunStore store = open_store(global);
  const auto ids = resolve_all(store, o.runs);
  if (o.csv == "-") std::cout << store.metrics_csv(ids);
  if (o.json_file == "-") std::cout << store.metrics_json(ids) << "\n";
  if (!o.csv.empty() && o.csv != "-") {
    store.export_metrics_csv(ids, o.csv);
    std::cerr << "t2: wrote metrics of " << ids.size() << " run(s) to " << o.csv << "\n";
  }
  if (!o.json_file.empty() && o.json_file != "-") {
    store.export_metrics_json(ids, o.json_file);
    std::cerr << "t2: wrote metrics of " << ids.size() << " run(s) to " << o.json_file << "\n";
  }
  return kExitOk;
}

int delete_run(const GlobalOptions& global, const RunsOptions& o) {
  RunStore store = open_store(global);
  const auto run = store.get_run(store.resolve_run(o.runs.at(0)));
  if (run.status == RunStatus::Running && !o.force &&
      process_liveness(run.writer) != Liveness::Dead) {
    throw Error(ErrorKind::InvalidArgument,
                "run " + std::to_string(run.id) + " is still running (pid " +
                    std::to_string(run.writer.pid) + " on " + run.writer.host +
                    "); stop it first, or pass --force to delete it anyway");
  }
  const auto removed = store.delete_run(run.id, o.files);
  std::cout << "deleted run " << run.id << " (" << run.name << ")\n";
  for (const auto& file : removed) std::cout << "removed " << file << "\n";
  return kExitOk;
}

int diff_runs(const GlobalOptions& global, const RunsOptions& o) {
  RunStore store = open_store(global);
  const auto ids = resolve_all(store, o.runs);
  std::vector<RunRecord> runs;
  for (const auto id : ids) runs.push_back(store.get_run(id));
  const auto diffs = store.diff_params(ids);
  std::cout << (o.json ? diff_json(runs, diffs).dump(2) + "\n" : diff_text(runs, diffs));
  return kExitOk;
}

// Registers `t2 runs NAME` whose runner calls `action`.
CLI::App* add_action(CLI::App* runs, const std::string& name, const std::string& help,
                     const GlobalOptions& global, const Runner*& chosen,
                     std::shared_ptr<RunsOptions> opts,
                     int (*action)(const GlobalOptions&, const RunsOptions&)) {
  auto* sub = runs->add_subcommand(name, help);
  auto runner = std::make_shared<Runner>([&global, opts, action] { return action(global, *opts); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
  return sub;
}

}  // namespace

void add_runs_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  auto opts = std::make_shared<RunsOptions>();
  auto* runs = app.add_subcommand(
      "runs",
      "List, show, export, delete and compare the runs kept in the workspace database "
      "(--db, $T2_DB, or the default workspace)");
  runs->require_subcommand(1);

  auto* list = add_action(runs, "list", "List runs, newest first", global, chosen, opts, list_runs);
  list->add_flag("--json", opts->json, "Print a JSON array instead of a table");
  list->add_option("--kind", opts->kind, "Only runs of this kind (e.g. train-expert, eval)");
  list->add_option("--status", opts->status,
                   "Only runs with this status: running, finished, failed, cancelled, "
                   "interrupted");
  list->add_option("--tag", opts->tag, "Only runs carrying this tag");
  list->add_option("--name", opts->name, "Only runs whose name contains this text");
  list->add_option("--sort", opts->sort, "started (newest first), oldest, name or id")
      ->capture_default_str();
  list->add_option("--limit", opts->limit, "At most this many runs (0 = all)")
      ->check(CLI::NonNegativeNumber);

  auto* show = add_action(runs, "show",
                          "Show one run: status, params, metric summary, "
                          "evaluations, experts, artifacts",
                          global, chosen, opts, show_run);
  show->add_option("RUN", opts->runs, "Run id or unique run name")->required()->expected(1);
  show->add_flag("--json", opts->json, "Print one JSON document");

  auto* exp = add_action(runs, "export",
                         "Export the metrics of runs to CSV (long format: run, "
                         "step, key, value) and/or JSON",
                         global, chosen, opts, export_runs);
  exp->add_option("RUN", opts->runs, "Run ids or unique run names")->required();
  exp->add_option("--csv", opts->csv, "CSV file to write ('-' = stdout)");
  exp->add_option("--json", opts->json_file, "JSON file to write ('-' = stdout)");

  auto* del = add_action(runs, "delete", "Delete a run and everything stored for it", global,
                         chosen, opts, delete_run);
  del->add_option("RUN", opts->runs, "Run id or unique run name")->required()->expected(1);
  del->add_flag("--files", opts->files, "Also delete its artifact and expert files");
  del->add_flag("--force", opts->force, "Delete even if its writer process is still running");

  auto* diff = add_action(runs, "diff", "Show the params that differ between runs", global, chosen,
                          opts, diff_runs);
  diff->add_option("RUN", opts->runs, "Two (or more) run ids or unique run names")
      ->required()
      ->expected(2, 64);
  diff->add_flag("--json", opts->json, "Print one JSON document");
}

}  // namespace t2::cli

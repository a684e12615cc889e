// begin_eval_run / finish_eval_run (t2/evaluation.h): an evaluation as a run of kind "eval".
#include <t2/evaluation.h>

#include <nlohmann/json.hpp>

namespace t2 {

std::int64_t begin_eval_run(RunStore& store, const EvalRunInfo& info, const EvalParams& params) {
  validate_strategy(info.strategy);
  nlohmann::ordered_json p;
  p["model_dir"] = info.model_dir;
  p["model_fingerprint"] = info.model_fingerprint;
  p["task"] = info.task_path;
  p["task_name"] = info.task_name;
  p["split"] = params.split;
  p["limit"] = params.limit;
  const Strategy& strategy = info.strategy;
  // "expert": the one file of an expert or adapter (as before strategies had kinds)
  p["expert"] = strategy.kind == StrategyKind::Expert || strategy.kind == StrategyKind::Adapter
                    ? strategy.files.front()
                    : std::string();
  p["strategy"] = strategy_label(strategy);
  p["strategy_kind"] = to_string(strategy.kind);
  p["strategy_files"] = strategy.files;
  p["strategy_weights"] = strategy.weights;
  p["batch_size"] = params.batch_size;
  p["max_new_tokens"] = params.max_new_tokens;
  p["sampling"] = {{"temperature", params.sampling.temperature},
                   {"top_k", params.sampling.top_k},
                   {"top_p", params.sampling.top_p},
                   {"repetition_penalty", params.sampling.repetition_penalty}};
  p["seed"] = params.seed;
  NewRun run;
  run.kind = "eval";
  run.name = info.run_name.empty() ? "eval " + info.task_name + " " + params.split : info.run_name;
  run.params_json = p.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  run.tags = info.tags;
  if (!info.model_fingerprint.empty()) {
    ModelRecord model;
    model.path = info.model_dir;
    model.fingerprint = info.model_fingerprint;
    model.architecture = info.architecture;
    run.model_id = store.add_model(model);
  }
  return store.begin_run(run);
}

std::int64_t finish_eval_run(RunStore& store, std::int64_t run_id, const EvalRunInfo& info,
                             const EvalReport& report, RunStatus status,
                             const std::string& message) {
  store.log_metrics(run_id, 0,
                    {{"accuracy", report.accuracy},
                     {"ci_low", report.ci_low},
                     {"ci_high", report.ci_high},
                     {"ms_per_example", report.ms_per_example},
                     {"examples_per_second", report.examples_per_second},
                     {"n", static_cast<double>(report.n)},
                     {"correct", static_cast<double>(report.correct)},
                     {"unextractable", static_cast<double>(report.unextractable)}});
  EvaluationRecord evaluation;
  evaluation.run_id = run_id;
  evaluation.task = info.task_name.empty() ? report.task : info.task_name;
  evaluation.strategy = strategy_label(info.strategy);
  evaluation.n = report.n;
  evaluation.correct = report.correct;
  std::vector<EvaluationItem> items;
  items.reserve(report.items.size());
  for (const auto& r : report.items) {
    EvaluationItem item;
    item.index = r.index;
    item.prompt = r.prompt;
    item.reference = r.gold;
    item.prediction = r.output;
    item.extracted_answer = r.extracted_answer;
    item.correct = r.correct;
    items.push_back(std::move(item));
  }
  const std::int64_t evaluation_id = store.add_evaluation(evaluation, items);
  store.finish_run(run_id, status, message);
  return evaluation_id;
}

}  // namespace t2

// summarize_evaluation and the report's JSON (t2/evaluation.h).
#include <t2/evaluation.h>

#include <nlohmann/json.hpp>

namespace t2 {

EvalReport summarize_evaluation(std::vector<EvalItemResult> items, double generation_seconds,
                                double judging_seconds) {
  EvalReport r;
  r.n = static_cast<std::int64_t>(items.size());
  for (const auto& item : items) {
    r.correct += item.correct ? 1 : 0;
    r.unextractable += item.found ? 0 : 1;
    r.prompt_tokens += item.prompt_tokens;
    r.generated_tokens += item.generated_tokens;
  }
  r.accuracy = r.n > 0 ? static_cast<double>(r.correct) / static_cast<double>(r.n) : 0.0;
  const ConfidenceInterval ci = wilson_interval(r.correct, r.n);
  r.ci_low = ci.low;
  r.ci_high = ci.high;
  r.generation_seconds = generation_seconds;
  r.judging_seconds = judging_seconds;
  const double total = generation_seconds + judging_seconds;
  if (r.n > 0 && total > 0) r.examples_per_second = static_cast<double>(r.n) / total;
  if (r.n > 0) r.ms_per_example = 1000.0 * generation_seconds / static_cast<double>(r.n);
  r.items = std::move(items);
  return r;
}

namespace {  // t2_core is not a unity build

nlohmann::ordered_json item_json(const EvalItemResult& item) {
  nlohmann::ordered_json j;
  j["index"] = item.index;
  j["id"] = item.id;
  j["prompt"] = item.prompt;
  j["output"] = item.output;
  j["extracted_answer"] = item.extracted_answer;
  j["found"] = item.found;
  j["gold"] = item.gold;
  j["correct"] = item.correct;
  j["reward"] = item.reward;
  j["detail"] = item.detail;
  j["finish_reason"] = item.finish_reason;
  j["prompt_tokens"] = item.prompt_tokens;
  j["generated_tokens"] = item.generated_tokens;
  return j;
}

}  // namespace

std::string to_json(const EvalReport& report, bool with_items, int indent) {
  nlohmann::ordered_json j;
  j["task"] = report.task;
  j["task_path"] = report.task_path;
  j["split"] = report.split;
  j["n"] = report.n;
  j["correct"] = report.correct;
  j["accuracy"] = report.accuracy;
  j["ci_low"] = report.ci_low;
  j["ci_high"] = report.ci_high;
  j["unextractable"] = report.unextractable;
  j["prompt_tokens"] = report.prompt_tokens;
  j["generated_tokens"] = report.generated_tokens;
  j["generation_seconds"] = report.generation_seconds;
  j["judging_seconds"] = report.judging_seconds;
  j["examples_per_second"] = report.examples_per_second;
  j["ms_per_example"] = report.ms_per_example;
  if (with_items) {
    j["items"] = nlohmann::ordered_json::array();
    for (const auto& item : report.items) j["items"].push_back(item_json(item));
  }
  // Model output may hold invalid UTF-8 (a character cut by max_new_tokens): replace it.
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace t2

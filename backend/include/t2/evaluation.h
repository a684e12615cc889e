// Evaluation harness: a model (optionally with an expert applied to its Session) answers a task
// split with batched generation; each output is judged by the task; the report has accuracy with
// a 95 % Wilson interval, per-item records and timings, and can be stored in the run store as a
// run of kind "eval". Plain C++ API (no torch types), included from t2/engine.h.
//
// Pipeline per item: Task::build_prompt -> render_task_prompt (t2/tasks.h; chat template +
// assistant prefill, or plain text) -> Tokenizer::encode(text, rendered.add_special_tokens) ->
// Session::generate (batched, left-padded; the task's stop strings; EOS ids from
// end_of_generation_ids) -> Task::judge(sequence text, item) (the extractor sees prefill + text).
//
// Batching: items are sorted by prompt length (stable), so a batch pads little; the report lists
// items in dataset order. Greedy: one continuous batch of batch_size rows (a finished row takes
// the next item at once, no row waits for the batch's longest answer; the prompts' common prefix
// is encoded once); an item's output is its solo output. Sampled: fixed batches of batch_size.
//
// Cancellation: checked between batches (and between decode steps inside Session::generate); it
// throws t2::Error{Cancelled}. What finished before is not lost: EvalParams::on_batch receives
// the report of all finished items after every batch, so the caller keeps the last one (the CLI
// stores it as a cancelled run). A batch interrupted mid-generation is dropped whole.
//
// Thread-safety: evaluate() uses `session` exclusively for its duration; the Tokenizer, the
// ChatTemplate and the Task are only read.
#pragma once

#include <t2/job.h>
#include <t2/model.h>
#include <t2/run_store.h>
#include <t2/strategy.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;
class Task;
class Tokenizer;

// ---- statistics (torch-free, t2_core) ---------------------------------------------------------

struct ConfidenceInterval {
  double low = 0.0;   // in [0, 1]
  double high = 1.0;  // in [low, 1]
};

constexpr double kZ95 = 1.959963984540054;  // standard normal quantile of 0.975

// Wilson score interval for a binomial proportion successes / n:
//   center = (p + z^2 / 2n) / (1 + z^2 / n),
//   half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2),   p = successes / n.
// n = 0 gives [0, 1] (nothing is known); successes = 0 gives low = 0 exactly and successes = n
// high = 1 exactly. Throws InvalidArgument when n < 0, successes < 0, successes > n or z <= 0.
ConfidenceInterval wilson_interval(std::int64_t successes, std::int64_t n, double z = kZ95);

// ---- evaluation -------------------------------------------------------------------------------

struct EvalItemResult {
  std::int64_t index = 0;        // 0-based position in the split (dataset order)
  std::string id;                // TaskItem::id
  std::string prompt;            // the rendered prompt text the model saw
  std::string output;            // generated text (without EOS, cut before a stop string)
  std::string extracted_answer;  // the extractor's answer ("" when none was found)
  bool found = false;            // false = unextractable (counted wrong)
  std::string gold;
  bool correct = false;
  double reward = 0.0;                // the task's reward for this verdict
  std::string detail;                 // the verdict's explanation ("no number found", ...)
  std::string finish_reason;          // "eos" | "stop" | "length"
  std::int64_t prompt_tokens = 0;     // tokens of this prompt
  std::int64_t generated_tokens = 0;  // tokens generated (including the EOS/stop token)
};

struct EvalReport {
  std::string task;       // TaskSpec::name
  std::string task_path;  // the spec file
  std::string split;
  std::int64_t n = 0;  // items judged
  std::int64_t correct = 0;
  double accuracy = 0.0;  // correct / n; 0 when n = 0
  double ci_low = 0.0;    // 95 % Wilson interval of the accuracy
  double ci_high = 1.0;
  std::int64_t unextractable = 0;  // items whose output held no answer (also counted wrong)
  std::int64_t prompt_tokens = 0;  // sum over items
  std::int64_t generated_tokens = 0;
  double generation_seconds = 0.0;    // wall time inside Session::generate (all batches)
  double judging_seconds = 0.0;       // wall time inside Task::judge (code tasks: the sandbox)
  double examples_per_second = 0.0;   // n / (generation + judging seconds)
  double ms_per_example = 0.0;        // 1000 * generation_seconds / n (generation only)
  std::vector<EvalItemResult> items;  // in dataset order (index ascending)
};

struct EvalParams {
  std::string split = "test";  // a split the task declares
  std::size_t limit = 0;       // first N items of the split (dataset order); 0 = all
  // When not empty: only these items (0-based positions in the split, after `limit`; any order,
  // no repeats); each keeps its split position as EvalItemResult::index. InvalidArgument for a
  // position outside the split. Two-pass dispatch evaluates each expert's items this way.
  std::vector<std::int64_t> items;
  // rows decoded together, >= 1. 32: with continuous batching no row waits for a longer one, and
  // on the measured 2-core machine the demo model evaluated 1.6x faster than at 8 (decode is
  // per-op overhead bound there) and Qwen2.5-0.5B shapes decoded 1.4x more tokens/s.
  int batch_size = 32;
  bool reuse_prefix = true;  // encode the prompts' common prefix once (GenerateParams)
  bool continuous = true;    // greedy: one continuous batch; false: fixed batches (as sampled)
  int max_new_tokens = 0;    // tokens per item, >= 0; 0 = the task's generation.max_new_tokens
  SamplingParams sampling;   // default greedy (temperature 0), as the paper evaluates
  std::int64_t seed = 0;     // sampling only: batch b (in generation order) uses seed + b
  // Called after every batch_size finished items with the report of all items so far (dataset
  // order, totals and interval over them); must not throw. Keep the last one to store a
  // cancelled evaluation.
  std::function<void(const EvalReport& so_far)> on_batch;
};

// Evaluates `task` on params.split with the session's current weights (apply an expert first to
// evaluate it). chat_template: the model's template, or null to prompt with plain text (tasks
// whose spec sets chat_template false use plain text either way). Progress: stage "load" while
// reading the split, then "generate" once per batch (message "batch i/N: correct/done").
// Throws InvalidArgument (unknown split, batch_size < 1, a prompt encoding to no tokens), the
// Task's dataset errors (Io/Corrupt naming file and line), or Cancelled (see above).
EvalReport evaluate(Session& session, const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                    const Task& task, const EvalParams& params, const JobContext& job = {});

// The totals, interval and rates of `items` (in any order; the report keeps that order).
// `generation_seconds` / `judging_seconds` are copied into the report.
EvalReport summarize_evaluation(std::vector<EvalItemResult> items, double generation_seconds,
                                double judging_seconds);

// The report as JSON: every field above except `items`, which are included only when
// `with_items` (each item with every field of EvalItemResult). indent < 0 = one line.
std::string to_json(const EvalReport& report, bool with_items = false, int indent = -1);

// ---- run store (torch-free, t2_core) ----------------------------------------------------------

// What the stored run records about how the evaluation was made (its params_json).
struct EvalRunInfo {
  std::string model_dir;          // the model folder
  std::string model_fingerprint;  // model_fingerprint(model_dir); "" = not recorded
  std::string architecture;       // e.g. "LlamaForCausalLM"; registers the model with fingerprint
  std::string task_path;          // the task spec file
  std::string task_name;          // TaskSpec::name (the evaluation's `task`)
  Strategy strategy;              // how the session's weights were adapted (base by default)
  std::string run_name;           // "" = "eval <task name> <split>"
  std::vector<std::string> tags;
};

// Creates a `running` run of kind "eval" with params {model_dir, model_fingerprint, task,
// task_name, split, limit, expert (the expert file or adapter folder; "" otherwise), strategy
// (strategy_label), strategy_kind, strategy_files, strategy_weights, batch_size, max_new_tokens,
// sampling, seed} and, when info.model_fingerprint is set, the model registered
// (RunStore::add_model). Returns its id. InvalidArgument for a malformed info.strategy.
std::int64_t begin_eval_run(RunStore& store, const EvalRunInfo& info, const EvalParams& params);

// Writes the report into run `run_id` and finishes it with `status` (Finished, Cancelled or
// Failed; `message` explains the latter two): metrics at step 0 (accuracy, ci_low, ci_high,
// ms_per_example, n, correct, unextractable, examples_per_second) and one EvaluationRecord
// (task = info.task_name, strategy = strategy_label(info.strategy)) holding every item of
// the report (prompt, reference = gold, prediction = output, extracted_answer, correct).
// Returns the evaluation id. A cancelled or failed run stores what completed (possibly nothing).
std::int64_t finish_eval_run(RunStore& store, std::int64_t run_id, const EvalRunInfo& info,
                             const EvalReport& report, RunStatus status,
                             const std::string& message = {});

// ---- one stored evaluation (engine) -------------------------------------------------------

struct StoredEvaluation {
  EvalReport report;
  std::int64_t run_id = 0;  // 0 when not stored
};

// evaluate() recorded as a run of kind "eval" in `store` (null = not recorded): the run is begun
// before the first item (info.task_path / task_name are taken from `task`) and finished as
// finished; when evaluate() throws, the items completed so far are stored as cancelled
// (Cancelled) or failed, and the error is rethrown. params.on_batch is still called.
StoredEvaluation evaluate_and_store(Session& session, const Tokenizer& tokenizer,
                                    const ChatTemplate* chat_template, const Task& task,
                                    EvalParams params, RunStore* store, EvalRunInfo info,
                                    const JobContext& job = {});

}  // namespace t2

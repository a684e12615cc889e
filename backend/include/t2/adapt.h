// Self-adaptation on an evaluation split (Transformer²'s inference): pass 1 decides
// which expert a question needs, pass 2 answers it with that expert. Strategy "prompt": pass 1
// asks the base model the classification task's prompt (the paper's system prompt, the task's
// user message as the question) and takes the first \boxed{...} (parse_boxed_category,
// t2/two_pass.h): a library category selects its expert, anything else the base weights.
// Plain C++ API, included from t2/engine.h.
//
// Both passes are batched: pass 1 generates every question's classification in one continuous
// batch (the long fixed prompt is a shared prefix, encoded once); pass 2 evaluates each
// category's items with t2::evaluate (EvalParams::items) on a session with that expert applied.
// The report lists items in dataset order, as t2::evaluate's does.
#pragma once

#include <t2/evaluation.h>
#include <t2/experts.h>
#include <t2/job.h>
#include <t2/model.h>
#include <t2/tasks.h>
#include <t2/text_generation.h>
#include <t2/two_pass.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;
class RunStore;
class Tokenizer;

struct Pass1Decision {
  std::int64_t index = 0;     // position in the split
  std::string output;         // pass 1: the assistant prefill and the generated text
  std::string category;       // the library category it names, or "other"
  std::string true_category;  // the task's (or the item's "domain" field's) category; "" = unknown
  // classifier-soft: probability of each library category and "other" (softmax of the
  // classifier's log-likelihood of "<category>}" after the output's first "\boxed{"; no box:
  // other = 1); pass 2 mixes the experts (and the identity for "other") by these weights.
  std::map<std::string, double> probabilities;
};

struct DispatchReport {
  EvalReport report;                     // pass 2, every item, dataset order
  std::vector<Pass1Decision> decisions;  // dataset order
  // confusion[true category][predicted category] = count (items with a known true category)
  std::map<std::string, std::map<std::string, std::int64_t>> confusion;
  double routing_accuracy = -1.0;  // fraction routed to their true category; -1 = none known
  double pass1_seconds = 0.0;      // pass 1 generation (wall)
  double pass2_seconds = 0.0;      // pass 2: expert switches + generation + judging (wall)
  std::int64_t pass1_prompt_tokens = 0;
  std::int64_t pass1_generated_tokens = 0;
  double pass1_tokens_per_second = 0.0;  // generated tokens / pass1 seconds
  double pass2_tokens_per_second = 0.0;  // pass 2 generated tokens / pass 2 generation seconds
  std::int64_t run_id = 0;               // 0 when not stored
};

struct DispatchParams {
  // Prompt: pass 1 with the base weights; Classifier: with the library's classifier expert;
  // ClassifierSoft: as Classifier, then pass 2 with one mix per question (per-row scales).
  StrategyKind strategy = StrategyKind::Prompt;
  EvalParams eval;               // pass 2: split, limit, batch size, max new tokens (as t2 eval)
  int pass1_max_new_tokens = 0;  // 0 = the classification task's generation.max_new_tokens
  std::string run_name;          // "" = "adapt <strategy> <task> <split>"
  int max_rows = 0;              // classifier-soft pass 2: rows per batch; 0 = auto (few-shot's)
};

// Evaluates `task` with two-pass dispatch over `library` (experts of the model in model_dir; the
// library is checked against the model's fingerprint; the classifier strategies need its
// classifier expert). `classifier`: a task of kind classification (its prompt and stop strings
// drive pass 1). `store` (null = not stored): one run of kind "eval" with strategy prompt,
// classifier or classifier-soft, the pass-2 items, and metrics routing_accuracy, pass1_seconds,
// pass2_seconds, pass1_over_pass2 besides the evaluation's. Progress stages "pass 1",
// "pass 2". Throws InvalidArgument (a classifier that is not a classification task, a library
// that does not fit the model or has no classifier expert, another strategy), the evaluation's
// errors, or Cancelled (the run is then stored as cancelled).
DispatchReport evaluate_prompt_dispatch(std::shared_ptr<const Model> model,
                                        const std::string& model_dir, const Tokenizer& tokenizer,
                                        const ChatTemplate* chat_template,
                                        const ExpertLibrary& library, const Task& classifier,
                                        const Task& task, const DispatchParams& params,
                                        RunStore* store = nullptr, const JobContext& job = {});

// ---- few-shot: CEM over the mixing coefficients of the library's experts ----------------------
//
// The search: each CEM member alpha (per expert, or per expert and layer) mixes the library's
// experts with mix_experts (t2/experts.h: an all-zero alpha column is the identity, never NaN).
// A whole generation runs as ONE batch: every member's sigma' is applied factored as a per-row
// scale (no recomposition), and the rows are members x shots, greedy, as the task generates.
// Fitness = accuracy on the shots + exp(mean per-token log-likelihood of the shots' reference
// answers) / (2k): the likelihood term is below one shot's worth (1/k), so it only breaks ties
// of accuracy. The found mix is written as one expert file.
struct FewShotParams {
  CemParams cem;                             // paper defaults: 32, 0.2, 0.5, 50 generations
  AlphaShape shape = AlphaShape::PerExpert;  // PerExpert or PerLayer
  int shots = 10;                            // k, >= 1
  // Split the shots are drawn from: "" = validation when the task has it, else train. Must not
  // be the evaluation split unless sakana_compat.
  std::string shot_split;
  std::uint64_t shot_seed = 0;  // which k items (a seeded shuffle of the split)
  // The reference's behaviour, for comparison: shots drawn from the evaluation split and the
  // result evaluated on every item of it, shots included. Results say "selected on the
  // evaluation items".
  bool sakana_compat = false;
  // Also mix the identity (the base weights, category "other") as one more expert, so that the
  // search can keep the base model where no mix of experts helps (the paper mixes experts only).
  bool include_base = false;
  // Most rows (members x shots) in one batch, >= shots; 0 = auto: rows whose largest
  // activation ([rows, prompt, intermediate] float32) stays under ~24 MiB, a multiple of shots.
  // Measured on the demo (2 cores): 160-row batches ran a generation 1.6x faster than 320 (big
  // activations are fresh mmaps: page faults and zeroing dominate).
  int max_rows = 0;
  EvalParams eval;              // the held-out evaluation of the found mix (split, limit, ...)
  bool evaluate_result = true;  // false: search only
  std::string mix_file;         // where to write the mixed expert; "" = not written
  std::string run_name;         // "" = "adapt few-shot <task> <split>"
};

struct FewShotReport {
  CemResult cem;
  MixAlpha alpha;                    // the best member as a MixAlpha
  std::vector<std::string> experts;  // categories, in alpha row order
  std::string shot_split;
  std::vector<std::int64_t> shot_indices;  // positions in shot_split
  std::vector<std::string> shot_ids;
  double best_accuracy = 0.0;        // on the shots
  double best_log_likelihood = 0.0;  // mean per-token, of the shots' reference answers
  double search_seconds = 0.0;
  std::int64_t members_evaluated = 0;
  std::string selection;  // "held-out" or "selected on the evaluation items (sakana-compat)"
  std::vector<std::string> warnings;  // e.g. mix_experts' warnings for the best member
  bool evaluated = false;             // report holds the evaluation
  EvalReport report;                  // evaluation of the mix (shots excluded unless compat)
  std::int64_t search_run_id = 0;     // the search's run (kind "cem"); 0 = not stored
  std::int64_t run_id = 0;            // the evaluation's run; 0 = not stored
};

// Fitness of each member on `shots` items of `task` (engine-internal detail exposed for tests
// and the GUI's live view): accuracy and mean per-token log-likelihood, per member.
struct MemberFitness {
  double accuracy = 0.0;
  double log_likelihood = 0.0;
  double fitness = 0.0;  // accuracy + exp(log_likelihood) / (2 k)
};

// Runs the search (and, with evaluate_result, the evaluation) for `task` over `library`.
// on_generation: after each generation (population fitness, elite alpha, best so far, seconds).
// store (null = not stored): a run of kind "cem" (params, per-generation metrics best_fitness,
// elite_fitness_mean, mean_fitness, seconds, alpha_<category>[_<layer>] of the best member;
// the mix file as an artifact) and an eval run of strategy few-shot whose params name the
// shots and the search run. Progress stages "cem", then the evaluation's. Throws
// InvalidArgument (a library with fewer than one expert, experts of different target sets,
// shots > the split, the evaluation split as shot split without sakana_compat, bad params),
// the evaluation's errors, or Cancelled (the search run is then stored as cancelled).
FewShotReport few_shot_search(std::shared_ptr<const Model> model, const std::string& model_dir,
                              const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                              const ExpertLibrary& library, const Task& task,
                              const FewShotParams& params, RunStore* store = nullptr,
                              const std::function<void(const CemGeneration&)>& on_generation = {},
                              const JobContext& job = {});

// The fitness of a population of mixes (alpha rows as few_shot_search samples them, flattened
// per member: K values for PerExpert, K x L for PerLayer) on the given items, in batches of at
// most max_rows rows (0 = auto, as FewShotParams). For tests: a one-hot member equals the single
// expert.
std::vector<MemberFitness> mix_fitness(std::shared_ptr<const Model> model,
                                       const std::string& model_dir, const Tokenizer& tokenizer,
                                       const ChatTemplate* chat_template,
                                       const ExpertLibrary& library, const Task& task,
                                       const std::vector<TaskItem>& shots, AlphaShape shape,
                                       const std::vector<std::vector<double>>& population,
                                       int max_rows = 0, const JobContext& job = {});

// ---- a two-pass chat ----------------------------------------------------------------------------

struct ChatTurn {
  std::string strategy;  // strategy_label
  std::string decision;  // pass-1 category ("other" = base weights); "" for one-pass strategies
  // The experts' weights pass 2 used: {category: 1} for a hard decision, the probabilities for
  // classifier-soft; empty for one-pass strategies.
  std::map<std::string, double> mix;
  std::string pass1_output;  // what pass 1 generated
  double pass1_seconds = 0.0;
  TextGeneration answer;            // pass 2: text, tokens, prefill and decode rates
  double pass2_seconds = 0.0;       // wall time of pass 2 (adaptation switch included)
  double first_token_seconds = -1;  // turn start -> first streamed piece of the answer; -1 none
};

struct ChatTurnParams {
  // base, expert, mix, few-shot: one fixed adaptation (apply_strategy); prompt, classifier,
  // classifier-soft: two passes per message over the chat's library (files are not used).
  Strategy strategy;
  std::string system;         // system message; "" = none
  GenerateParams generation;  // max_new_tokens, sampling, seed, stop_strings (eos, decode: set)
  // Two-pass strategies: called once pass 1 has decided (decision, mix, pass-1 output and time
  // filled in), before pass 2 starts; on the calling thread; must not throw.
  std::function<void(const ChatTurn& pass1)> on_decision;
};

// A conversation with a model, answered one message at a time by any strategy. Sessions (base,
// classifier, one per expert) are made once and kept; the history is rendered with the model's
// chat template each turn.
class TwoPassChat {
 public:
  // `library` and `classifier` (the classification task of pass 1) are needed only by the
  // two-pass strategies; the library is checked against the model.
  TwoPassChat(std::shared_ptr<const Model> model, std::string model_dir, const Tokenizer& tokenizer,
              const ChatTemplate* chat_template, ExpertLibrary library = {},
              const Task* classifier = nullptr);
  ~TwoPassChat();
  TwoPassChat(const TwoPassChat&) = delete;
  TwoPassChat& operator=(const TwoPassChat&) = delete;
  // Answers `message` after `history` (user/assistant turns, oldest first). callbacks.on_text
  // streams pass 2. Throws InvalidArgument (a two-pass strategy without a library or
  // classification task, a classifier strategy without a classifier expert, a chat without a
  // template), the generation's errors, Cancelled.
  ChatTurn reply(const std::vector<ChatMessage>& history, const std::string& message,
                 const ChatTurnParams& params, const TextCallbacks& callbacks = {},
                 const JobContext& job = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Stores one exchange: creates the chat (title = the first message, cut to 80 characters) when
// chat_id is 0, then the user message and the assistant's (pass1_decision, expert_mix_json = the
// mix, timings_json = strategy, pass1_ms, pass2_ms, first_token_ms, tokens_per_s,
// generated_tokens). Returns the chat id.
std::int64_t store_chat_turn(RunStore& store, std::int64_t chat_id, const std::string& message,
                             const ChatTurn& turn);

// ---- the adaptation table (the paper's Table 2): rows = ways to adapt, columns = tasks --------

struct AdaptTableParams {
  // Rows, in order: "base", "experts" (one row per library expert, "expert:<category>"),
  // "prompt", "classifier", "classifier-soft", "few-shot".
  std::vector<std::string> rows = {"base",       "experts",         "prompt",
                                   "classifier", "classifier-soft", "few-shot"};
  EvalParams eval;         // split, limit, batch size of every evaluation
  FewShotParams few_shot;  // the few-shot search (its eval is `eval`; no mix file written)
};

struct AdaptTableCell {
  std::string row, task;  // row label ("base", "expert:math", "prompt", ...) and task name
  std::int64_t n = 0, correct = 0;
  double accuracy = 0.0, ci_low = 0.0, ci_high = 0.0;  // Wilson 95 %
  double routing_accuracy = -1.0;                      // dispatch rows: pass-1 routing; -1 = none
  double pass1_over_pass2 = -1.0;  // dispatch rows: pass-1 / pass-2 seconds; -1 = none
  std::int64_t run_id = 0;         // the stored evaluation run; 0 = not stored
};

struct AdaptTable {
  std::vector<std::string> rows, tasks;  // in order
  std::vector<AdaptTableCell> cells;     // row-major
  const AdaptTableCell* find(const std::string& row, const std::string& task) const;
};

// Evaluates every row on every task (each cell one stored run, as t2 adapt eval / t2 eval would)
// and returns the table. `classifier`: the classification task of the dispatch rows (may be null
// when no dispatch row is asked for). on_cell: after each cell. Throws InvalidArgument for an
// unknown row name and what the evaluations throw (Cancelled included).
AdaptTable adaptation_table(std::shared_ptr<const Model> model, const std::string& model_dir,
                            const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                            const ExpertLibrary& library, const Task* classifier,
                            const std::vector<Task>& tasks, const AdaptTableParams& params,
                            RunStore* store = nullptr,
                            const std::function<void(const AdaptTableCell&)>& on_cell = {},
                            const JobContext& job = {});

// The table as Markdown (accuracy % with the 95 % interval per cell, the best row of each
// column in bold) and as CSV (one line per cell: row,task,n,correct,accuracy,ci_low,ci_high,
// routing_accuracy,pass1_over_pass2,run_id).
std::string adaptation_table_markdown(const AdaptTable& table);
std::string adaptation_table_csv(const AdaptTable& table);

}  // namespace t2

// Two-pass self-adaptation on an evaluation split (Transformer²'s inference): pass 1 decides
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
#include <t2/job.h>
#include <t2/model.h>
#include <t2/two_pass.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;
class RunStore;
class Task;
class Tokenizer;

struct Pass1Decision {
  std::int64_t index = 0;     // position in the split
  std::string output;         // pass 1's generated text
  std::string category;       // the library category it names, or "other"
  std::string true_category;  // the task's (or the item's "domain" field's) category; "" = unknown
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
  EvalParams eval;               // pass 2: split, limit, batch size, max new tokens (as t2 eval)
  int pass1_max_new_tokens = 0;  // 0 = the classification task's generation.max_new_tokens
  std::string run_name;          // "" = "adapt prompt <task> <split>"
};

// Evaluates `task` with prompt dispatch over `library` (experts of the model in model_dir; the
// library is checked against the model's fingerprint). `classifier`: a task of kind
// classification (its prompt and stop strings drive pass 1). `store` (null = not stored): one
// run of kind "eval", strategy "prompt", with the pass-2 items, and metrics routing_accuracy,
// pass1_seconds, pass2_seconds, pass1_over_pass2 besides the evaluation's. Progress stages
// "pass 1", "pass 2". Throws InvalidArgument (a classifier that is not a classification task,
// a library that does not fit the model), the evaluation's errors, or Cancelled (the run is
// then stored as cancelled).
DispatchReport evaluate_prompt_dispatch(std::shared_ptr<const Model> model,
                                        const std::string& model_dir, const Tokenizer& tokenizer,
                                        const ChatTemplate* chat_template,
                                        const ExpertLibrary& library, const Task& classifier,
                                        const Task& task, const DispatchParams& params,
                                        RunStore* store = nullptr, const JobContext& job = {});

}  // namespace t2

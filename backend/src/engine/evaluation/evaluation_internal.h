// Engine-internal pieces of evaluate() (t2/evaluation.h) shared with two-pass dispatch and the
// few-shot search: how a task's answers are generated, and how one answer is judged.
#pragma once

#include <t2/evaluation.h>
#include <t2/tasks.h>

namespace t2::engine {

// Greedy generation of `task`'s answers as evaluate() runs it: max_new_tokens (0 = the task's),
// the end-of-generation ids of `chat_template` (null = plain text), the task's stop strings,
// decoding by `tokenizer`.
GenerateParams task_generate_params(const ModelConfig& config, const Tokenizer& tokenizer,
                                    const ChatTemplate* chat_template, const Task& task,
                                    int max_new_tokens);

// `index`: the item's position in its split; `prompt_text` / `prompt_tokens`: what the model
// was given. Code tasks run the sandbox (Task::judge).
EvalItemResult judge_generated(const Task& task, const TaskItem& item, std::int64_t index,
                               const std::string& prompt_text, std::size_t prompt_tokens,
                               const GeneratedSequence& seq);

}  // namespace t2::engine

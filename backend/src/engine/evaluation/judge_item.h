// Engine-internal: one generated answer judged into an EvalItemResult (t2/evaluation.h), as
// evaluate() records it; shared with the per-row (classifier-soft) pass 2 of two-pass dispatch.
#pragma once

#include <t2/evaluation.h>
#include <t2/tasks.h>

namespace t2::engine {

// `index`: the item's position in its split; `prompt_text` / `prompt_tokens`: what the model
// was given. Code tasks run the sandbox (Task::judge).
EvalItemResult judge_generated(const Task& task, const TaskItem& item, std::int64_t index,
                               const std::string& prompt_text, std::size_t prompt_tokens,
                               const GeneratedSequence& seq);

}  // namespace t2::engine

// Engine-internal: pass 1 of two-pass dispatch, shared by evaluate_prompt_dispatch and the chat
// (prompt_dispatch.cpp).
#pragma once

#include <t2/adapt.h>

#include <vector>

namespace t2::detail::dispatch {

// Pass 1 for every question: the classification prompt around it, generated in one continuous
// batch with `session`'s weights. Sets the prompt and generated token counts and the wall time
// of `report`; `rendered_prompts` gets each rendered classification prompt. Decisions have no
// true category.
std::vector<Pass1Decision> pass1(Session& session, const Tokenizer& tokenizer,
                                 const ChatTemplate* chat_template, const Task& classifier,
                                 const std::vector<std::string>& questions,
                                 const std::vector<std::string>& categories,
                                 const DispatchParams& params, DispatchReport& report,
                                 std::vector<RenderedPrompt>& rendered_prompts,
                                 const JobContext& job);

// classifier-soft: each decision's category probabilities (see Pass1Decision::probabilities).
void soft_probabilities(Session& session, const Tokenizer& tokenizer,
                        const std::vector<RenderedPrompt>& rendered,
                        const std::vector<std::string>& categories,
                        std::vector<Pass1Decision>& decisions, const JobContext& job);

}  // namespace t2::detail::dispatch

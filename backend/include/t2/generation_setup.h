// What every caller of Session::generate derives the same way from a model folder's files: the
// end-of-generation ids and the ids -> text function. Torch-free (library t2_core); shared by
// `t2 generate`, the evaluation harness and (later) training rollouts, so that all of them stop
// generating at the same tokens.
#pragma once

#include <t2/model_config.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;
class Tokenizer;

// End-of-turn tokens of common chat templates (ChatML, Llama 3, Gemma).
extern const char* const kEndOfTurnTokens[3];  // "<|im_end|>", "<|eot_id|>", "<end_of_turn>"

// Sorted, unique ids that end generation: config.json's eos_token_id(s), the tokenizer's
// eos_token, and, when `chat_template` is given (the prompt was rendered with it), each of
// kEndOfTurnTokens that the vocabulary has and the template's source writes.
std::vector<std::int32_t> end_of_generation_ids(const ModelConfig& config,
                                                const Tokenizer& tokenizer,
                                                const ChatTemplate* chat_template);

// GenerateParams::decode for `tokenizer`: Tokenizer::decode (special tokens kept), ignoring ids
// outside the tokenizer's vocabulary (padded embedding rows a model may emit decode to nothing).
// The function holds a copy of the tokenizer (copies share its tables).
std::function<std::string(const std::vector<std::int32_t>&)> tokenizer_decoder(
    const Tokenizer& tokenizer);

}  // namespace t2

// Text generation as the front ends use it: one prompt (plain text, a chat turn rendered by the
// model's template, or token ids) -> ids and end-of-generation ids -> Session::generate ->
// streamed text. The one path of `t2 generate` and the GUI's Generate tab, so both stop at the
// same tokens and stream the same text. Plain C++ API, included from t2/engine.h.
#pragma once

#include <t2/chat_message.h>
#include <t2/job.h>
#include <t2/model.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;
class Tokenizer;

struct TextPrompt {
  // Plain: `text` encoded with add_special_tokens = true. Chat: {system (when not empty),
  // user: text} rendered by the chat template with a generation prompt, encoded without
  // special tokens. Ids: `ids` as they are (a folder without a tokenizer can still generate).
  enum class Kind { Plain, Chat, Ids };
  Kind kind = Kind::Plain;
  std::string text;
  std::string system;
  std::vector<std::int32_t> ids;
  // Chat only: earlier turns, between the system message and `text` (the new user message).
  std::vector<ChatMessage> history;
};

struct PromptIds {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> eos;  // end_of_generation_ids for this prompt (t2/generation_setup.h)
};

// The ids a prompt is fed as. tokenizer / chat_template may be null when the kind does not need
// them. Throws InvalidArgument (no tokenizer or template for the kind, a prompt that encodes to
// no tokens, ids outside [0, vocab_size)) saying what to give instead. Torch-free (t2_core).
PromptIds build_text_prompt(const ModelConfig& config, const Tokenizer* tokenizer,
                            const ChatTemplate* chat_template, const TextPrompt& prompt);

struct TextCallbacks {
  // Each new token (EOS and stop tokens included), on the generating thread; must not throw.
  std::function<void(std::int32_t token)> on_token;
  // Each new piece of stable text (TextStreamer, t2/text_stream.h: never half a character,
  // never a part of a stop string); the pieces concatenate to the final text. Needs a tokenizer.
  std::function<void(const std::string& piece)> on_text;
};

struct TextGeneration {
  std::vector<std::int32_t> prompt_ids;
  GeneratedSequence sequence;    // tokens, finish reason, text (without EOS, cut at a stop)
  double prefill_seconds = 0.0;  // as GenerateResult
  double decode_seconds = 0.0;
  double prefill_tokens_per_second = 0.0;  // prompt tokens / prefill seconds
  double decode_tokens_per_second = 0.0;   // tokens after the first / decode seconds
};

// Generates one answer to `prompt` with `session`'s current weights. params: max_new_tokens,
// sampling, seed, stop_strings are used; eos_ids empty = the prompt's end-of-generation ids;
// decode is set from the tokenizer (when there is one). Cancellation: Cancelled is thrown; what
// was streamed before stays with the caller. Other errors as build_text_prompt and
// Session::generate.
TextGeneration generate_text(Session& session, const Tokenizer* tokenizer,
                             const ChatTemplate* chat_template, const TextPrompt& prompt,
                             GenerateParams params, const TextCallbacks& callbacks = {},
                             const JobContext& job = {});

}  // namespace t2

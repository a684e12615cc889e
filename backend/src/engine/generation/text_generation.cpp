// generate_text (t2/text_generation.h): one prompt, streamed text.
#include <t2/error.h>
#include <t2/generation_setup.h>
#include <t2/text_generation.h>
#include <t2/text_stream.h>

#include <algorithm>

namespace t2 {

TextGeneration generate_text(Session& session, const Tokenizer* tokenizer,
                             const ChatTemplate* chat_template, const TextPrompt& prompt,
                             GenerateParams params, const TextCallbacks& callbacks,
                             const JobContext& job) {
  PromptIds built = build_text_prompt(session.model().config(), tokenizer, chat_template, prompt);
  if (params.eos_ids.empty()) params.eos_ids = built.eos;
  if (tokenizer) params.decode = tokenizer_decoder(*tokenizer);
  const bool stream = callbacks.on_text && params.decode;
  TextStreamer streamer(params.stop_strings);
  std::vector<std::int32_t> text_ids;  // generated ids without EOS tokens
  const TokenCallback on_token = [&](std::size_t, std::int32_t token) {
    if (callbacks.on_token) callbacks.on_token(token);
    if (!stream) return;
    if (std::find(params.eos_ids.begin(), params.eos_ids.end(), token) != params.eos_ids.end())
      return;  // an EOS token is not part of the text
    text_ids.push_back(token);
    const std::string piece = streamer.push(params.decode(text_ids));
    if (!piece.empty()) callbacks.on_text(piece);
  };
  const GenerateResult result = session.generate({built.ids}, params, on_token, job);
  TextGeneration out;
  out.prompt_ids = std::move(built.ids);
  out.sequence = result.sequences.front();
  if (stream) {
    const std::string rest = streamer.finish(out.sequence.text);
    if (!rest.empty()) callbacks.on_text(rest);
  }
  out.prefill_seconds = result.prefill_seconds;
  out.decode_seconds = result.decode_seconds;
  if (result.prefill_seconds > 0)
    out.prefill_tokens_per_second =
        static_cast<double>(result.prompt_tokens) / result.prefill_seconds;
  if (result.generated_tokens > 1 && result.decode_seconds > 0)
    out.decode_tokens_per_second =
        static_cast<double>(result.generated_tokens - 1) / result.decode_seconds;
  return out;
}

}  // namespace t2

// build_text_prompt (t2/text_generation.h): a prompt as ids, with its end-of-generation ids.
#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/generation_setup.h>
#include <t2/text_generation.h>
#include <t2/tokenizer.h>

namespace t2 {

PromptIds build_text_prompt(const ModelConfig& config, const Tokenizer* tokenizer,
                            const ChatTemplate* chat_template, const TextPrompt& prompt) {
  PromptIds out;
  switch (prompt.kind) {
    case TextPrompt::Kind::Ids:
      out.ids = prompt.ids;
      for (const std::int32_t id : out.ids)
        if (id < 0 || id >= config.vocab_size)
          throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(id) +
                                                      " is outside the vocabulary [0, " +
                                                      std::to_string(config.vocab_size) + ")");
      if (tokenizer) {
        out.eos = end_of_generation_ids(config, *tokenizer, nullptr);
      } else {
        for (const auto id : config.eos_token_ids) out.eos.push_back(id);
      }
      break;
    case TextPrompt::Kind::Chat: {
      if (!tokenizer || !chat_template)
        throw Error(ErrorKind::InvalidArgument,
                    std::string("a chat prompt needs the folder's ") +
                        (tokenizer ? "chat template (tokenizer_config.json)" : "tokenizer") +
                        "; turn chat off or give token ids");
      std::vector<ChatMessage> messages;
      if (!prompt.system.empty()) messages.push_back({"system", prompt.system});
      messages.insert(messages.end(), prompt.history.begin(), prompt.history.end());
      messages.push_back({"user", prompt.text});
      ChatTemplateOptions options;
      options.add_generation_prompt = true;
      out.ids = tokenizer->encode(chat_template->render(messages, options),
                                  /*add_special_tokens=*/false);
      out.eos = end_of_generation_ids(config, *tokenizer, chat_template);
      break;
    }
    case TextPrompt::Kind::Plain:
      if (!tokenizer)
        throw Error(ErrorKind::InvalidArgument,
                    "this folder has no tokenizer; give the prompt as token ids");
      out.ids = tokenizer->encode(prompt.text, /*add_special_tokens=*/true);
      out.eos = end_of_generation_ids(config, *tokenizer, nullptr);
      break;
  }
  if (out.ids.empty())
    throw Error(ErrorKind::InvalidArgument,
                "the prompt encodes to no tokens; give a non-empty prompt (or use chat)");
  return out;
}

}  // namespace t2

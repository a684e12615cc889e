#include <t2/chat_template.h>
#include <t2/generation_setup.h>
#include <t2/tokenizer.h>

#include <set>

namespace t2 {

const char* const kEndOfTurnTokens[3] = {"<|im_end|>", "<|eot_id|>", "<end_of_turn>"};

std::vector<std::int32_t> end_of_generation_ids(const ModelConfig& config,
                                                const Tokenizer& tokenizer,
                                                const ChatTemplate* chat_template) {
  std::set<std::int32_t> eos(config.eos_token_ids.begin(), config.eos_token_ids.end());
  if (auto id = tokenizer.eos_id()) eos.insert(*id);
  if (chat_template != nullptr) {
    for (const char* token : kEndOfTurnTokens) {
      const auto id = tokenizer.token_to_id(token);
      if (id && chat_template->source().find(token) != std::string::npos) eos.insert(*id);
    }
  }
  return {eos.begin(), eos.end()};
}

std::function<std::string(const std::vector<std::int32_t>&)> tokenizer_decoder(
    const Tokenizer& tokenizer) {
  const std::int32_t vocab = tokenizer.vocab_size();
  return [tokenizer, vocab](const std::vector<std::int32_t>& ids) {
    std::vector<std::int32_t> known;
    known.reserve(ids.size());
    for (auto id : ids)
      if (id >= 0 && id < vocab) known.push_back(id);
    return tokenizer.decode(known);
  };
}

}  // namespace t2

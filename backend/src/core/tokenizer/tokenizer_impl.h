// The immutable state behind t2::Tokenizer (shared by copies).
#pragma once

#include <t2/tokenizer.h>

#include "core/tokenizer/added_vocabulary.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/components.h"

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace t2::detail::tokenizer {

struct TokenizerImpl {
  std::string file;  // tokenizer.json path, for messages
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<AddedVocabulary> added;
  std::unordered_set<std::string> added_contents;  // for the ByteLevel decoder
  std::vector<std::string> id_to_token;            // "" with has_token false for holes
  std::vector<char> has_token;
  std::unordered_map<std::string, std::int32_t> token_to_id;  // added tokens override
  std::unordered_set<std::int32_t> special_ids;  // skipped by decode(skip_special_tokens)

  // From tokenizer_config.json.
  bool clean_up_tokenization_spaces = false;
  std::string bos_token, eos_token;

  std::vector<std::int32_t> encode(const std::string& text, bool add_special_tokens) const;
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const;
};

// transformers' clean_up_tokenization: " ." -> "." and similar for ? ! , ' n't 'm 's 've 're.
std::string clean_up_tokenization(std::string text);

}  // namespace t2::detail::tokenizer

// Added tokens (tokenizer.json "added_tokens"): found in the text before pre-tokenization by a
// leftmost-longest byte trie, with the flags single_word, lstrip, rstrip and normalized applied
// as Hugging Face's AddedVocabulary does. Immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace t2::detail::tokenizer {

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool single_word = false;  // match only when not inside a word
  bool lstrip = false;       // swallow white space on the left
  bool rstrip = false;       // swallow white space on the right
  bool normalized = false;   // matched in the normalized text (else in the raw text)
  bool special = false;      // dropped by decode(skip_special_tokens = true)
};

// A piece of text, or an added token (id >= 0).
struct Section {
  std::string text;
  std::int32_t id = -1;
  std::size_t offset = 0;  // byte offset of the piece in the string that was split
};

// Leftmost-longest matcher over a set of byte strings.
class TokenTrie {
 public:
  void add(const std::string& pattern, int value);
  // Longest pattern starting at text[pos]: its value and length, or value -1.
  std::pair<int, std::size_t> longest_at(std::string_view text, std::size_t pos) const;
  bool empty() const { return values_.size() <= 1; }

 private:
  std::unordered_map<std::uint64_t, int> children_;  // (node << 8 | byte) -> child node
  std::vector<int> values_{-1};                      // per node: value or -1; node 0 = root
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  // `normalize`: the tokenizer's normalizer, applied to the contents of normalized tokens.
  template <typename NormalizeFn>
  AddedVocabulary(std::vector<AddedToken> tokens, NormalizeFn normalize) : tokens_(tokens) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const auto& t = tokens_[i];
      if (t.content.empty()) continue;
      if (t.normalized) {
        normalized_.add(normalize(t.content), static_cast<int>(i));
      } else {
        raw_.add(t.content, static_cast<int>(i));
      }
    }
  }

  // Splits raw text on the non-normalized added tokens.
  std::vector<Section> split_raw(std::string_view text) const { return split(text, raw_); }
  // Splits normalized text on the normalized added tokens.
  std::vector<Section> split_normalized(std::string_view text) const {
    return split(text, normalized_);
  }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<Section> split(std::string_view text, const TokenTrie& trie) const;
  std::vector<AddedToken> tokens_;
  TokenTrie raw_;
  TokenTrie normalized_;
};

}  // namespace t2::detail::tokenizer

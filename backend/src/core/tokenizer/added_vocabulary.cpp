#include "core/tokenizer/added_vocabulary.h"

#include "core/tokenizer/unicode.h"

#include <utf8proc.h>

namespace t2::detail::tokenizer {

void TokenTrie::add(const std::string& pattern, int value) {
  int node = 0;
  for (unsigned char b : pattern) {
    const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | b;
    auto it = children_.find(key);
    if (it == children_.end()) {
      values_.push_back(-1);
      it = children_.emplace(key, static_cast<int>(values_.size() - 1)).first;
    }
    node = it->second;
  }
  if (values_[node] < 0) values_[node] = value;  // the first token with this content wins
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

std::pair<int, std::size_t> TokenTrie::longest_at(std::string_view text, std::size_t pos) const {
  std::pair<int, std::size_t> best{-1, 0};
  if (pos >= text.size() || !first_byte_[static_cast<unsigned char>(text[pos])]) return best;
  int node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    auto it = children_.find((static_cast<std::uint64_t>(node) << 8) |
                             static_cast<unsigned char>(text[i]));
    if (it == children_.end()) break;
    node = it->second;
    if (values_[node] >= 0) best = {values_[node], i + 1 - pos};
  }
  return best;
}

namespace {

// Rust regex's Unicode \w (what Hugging Face's single_word check uses): letters, letter
// numbers, marks, decimal digits, connector punctuation and the joiners ZWNJ / ZWJ.
bool is_word_char(char32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return is_word_char(next_code_point(s, i));
}

bool starts_with_word(std::string_view s) {
  std::size_t i = 0;
  return !s.empty() && is_word_char(next_code_point(s, i));
}

// Byte length of the white space at the start of s.
std::size_t leading_space(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    if (!is_white_space(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

// Byte offset where the white space at the end of s begins.
std::size_t trailing_space_start(std::string_view s) {
  std::size_t end = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (!is_white_space(next_code_point(s, i))) end = i;
  }
  return end;
}

}  // namespace

std::vector<Section> AddedVocabulary::split(std::string_view text, const TokenTrie& trie) const {
  std::vector<Section> out;
  if (trie.empty()) {
    if (!text.empty()) out.push_back({std::string(text), -1, 0});
    return out;
  }
  std::size_t start_offset = 0;  // end of the last emitted piece
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto [index, length] = trie.longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    std::size_t start = pos, stop = pos + length;
    pos = stop;
    if (token.single_word &&
        (ends_with_word(text.substr(0, start)) || starts_with_word(text.substr(stop)))) {
      continue;
    }
    if (token.lstrip) {
      start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    }
    if (token.rstrip) stop += leading_space(text.substr(stop));
    if (start_offset < start) {
      out.push_back(
          {std::string(text.substr(start_offset, start - start_offset)), -1, start_offset});
    }
    out.push_back({std::string(text.substr(start, stop - start)), token.id, start});
    start_offset = stop;
    pos = std::max(pos, stop);
  }
  if (start_offset < text.size()) {
    out.push_back({std::string(text.substr(start_offset)), -1, start_offset});
  }
  return out;
}

}  // namespace t2::detail::tokenizer

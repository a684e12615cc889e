// A compiled PCRE2 pattern (UTF + UCP: \p{L}, \s, \w are Unicode-aware), JIT-compiled when
// available. Immutable after construction; find_all may be called from several threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace t2::detail::tokenizer {

class Regex {
 public:
  // Throws t2::Error(Unsupported) naming `where` when PCRE2 rejects the pattern.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Byte ranges [begin, end) of the non-overlapping, non-empty matches in `text`, left to right.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Escapes `literal` so that PCRE2 matches it verbatim.
std::string regex_escape(std::string_view literal);

}  // namespace t2::detail::tokenizer

namespace t2::detail::tokenizer {

// The `pattern` of tokenizer.json's Split / Replace: {"String": literal} or {"Regex": pcre}.
class Pattern {
 public:
  Pattern(bool is_regex, const std::string& text, const std::string& where);
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;  // null for a literal pattern
};

}  // namespace t2::detail::tokenizer

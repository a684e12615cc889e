// choice-letter, boxed, exact, regex and code extraction (last-number is in numbers.cpp).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <t2/error.h>
#include <t2/tasks.h>

#include <cctype>
#include <memory>
#include <string>

namespace t2 {
namespace detail::tasks {

std::string trim(const std::string& s);  // numbers.cpp

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string lower_ascii(std::string s) {
  for (char& c : s) c = lower(c);
  return s;
}

// Position of the first case-insensitive occurrence of `needle` at or after `from`.
std::size_t find_ci(const std::string& hay, const std::string& needle, std::size_t from) {
  const std::string h = lower_ascii(hay);
  return h.find(lower_ascii(needle), from);
}

bool allowed_letter(char c, const std::string& allowed) {
  return c != 0 && allowed.find(c) != std::string::npos;
}

// After a cue ("answer is", "Answer:") at `i`: spaces, an optional '(' or '**', then a letter
// from `allowed` that is not the start of a longer word.
bool letter_after(const std::string& s, std::size_t i, const std::string& allowed, char& out) {
  while (i < s.size() && (s[i] == ' ' || s[i] == ':' || s[i] == '*')) ++i;
  const bool paren = i < s.size() && s[i] == '(';
  if (paren) ++i;
  if (i >= s.size() || !allowed_letter(s[i], allowed)) return false;
  if (i + 1 < s.size() && is_word_char(s[i + 1])) return false;
  if (paren && i + 1 < s.size() && s[i + 1] != ')') return false;
  out = s[i];
  return true;
}

// First cue occurrence followed by an allowed letter.
bool cued_letter(const std::string& s, const std::string& cue, const std::string& allowed,
                 bool case_sensitive_cue, char& out) {
  std::size_t at = 0;
  while (true) {
    at = case_sensitive_cue ? s.find(cue, at) : find_ci(s, cue, at);
    if (at == std::string::npos) return false;
    const bool word_start = at == 0 || !is_word_char(s[at - 1]);
    if (word_start && letter_after(s, at + cue.size(), allowed, out)) return true;
    ++at;
  }
}

}  // namespace detail::tasks

Extraction extract_choice_letter(const std::string& text, const std::string& allowed) {
  using namespace detail::tasks;
  Extraction e;
  char letter = 0;
  if (cued_letter(text, "answer is", allowed, false, letter)) {
    e.rule = "answer-is";
  } else if (cued_letter(text, "Answer:", allowed, false, letter)) {
    e.rule = "answer-colon";
  } else {
    for (std::size_t i = text.size(); i-- > 0;) {
      const bool alone = (i == 0 || !is_word_char(text[i - 1])) &&
                         (i + 1 >= text.size() || !is_word_char(text[i + 1]));
      if (alone && allowed_letter(text[i], allowed) &&
          std::isupper(static_cast<unsigned char>(text[i]))) {
        letter = text[i];
        e.rule = "last-letter";
        break;
      }
    }
  }
  if (letter == 0) return Extraction{};
  e.found = true;
  e.answer = std::string(1, letter);
  return e;
}

Extraction extract_boxed(const std::string& text, bool first) {
  static const std::string kCue = "\\boxed{";
  Extraction found;
  std::size_t at = 0;
  while ((at = text.find(kCue, at)) != std::string::npos) {
    std::size_t i = at + kCue.size();
    int depth = 1;
    while (i < text.size() && depth > 0) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}') --depth;
      ++i;
    }
    if (depth == 0) {
      found.found = true;
      found.answer = detail::tasks::trim(text.substr(at + kCue.size(), i - 1 - at - kCue.size()));
      found.rule = first ? "first-boxed" : "last-boxed";
      if (first) return found;
    }
    at += kCue.size();
  }
  return found;
}

Extraction extract_exact(const std::string& text, bool trim, bool case_sensitive) {
  Extraction e;
  e.answer = trim ? detail::tasks::trim(text) : text;
  if (!case_sensitive) e.answer = detail::tasks::lower_ascii(e.answer);
  e.found = !e.answer.empty();
  e.rule = "exact";
  return e;
}

Extraction extract_regex(const std::string& text, const std::string& pattern, int group,
                         bool last) {
  int code_error = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP, &code_error, &offset, nullptr),
      &pcre2_code_free);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code_error, message, sizeof message);
    throw Error(ErrorKind::InvalidArgument,
                "regex '" + pattern + "' does not compile at offset " + std::to_string(offset) +
                    ": " + reinterpret_cast<const char*>(message) + "; fix extractor.pattern");
  }
  std::uint32_t groups = 0;
  pcre2_pattern_info(code.get(), PCRE2_INFO_CAPTURECOUNT, &groups);
  if (group < 0 || static_cast<std::uint32_t>(group) > groups)
    throw Error(ErrorKind::InvalidArgument, "regex '" + pattern + "' has " +
                                                std::to_string(groups) +
                                                " capture group(s), "
                                                "extractor.group is " +
                                                std::to_string(group));
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(code.get(), nullptr), &pcre2_match_data_free);
  Extraction e;
  PCRE2_SIZE start = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (start <= text.size()) {
    const int rc = pcre2_match(code.get(), subject, text.size(), start, 0, match.get(), nullptr);
    if (rc < 0) break;  // no match (or a UTF error in the output: treated as no answer)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
    if (ov[2 * group] != PCRE2_UNSET) {
      e.found = true;
      e.answer = text.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
      e.rule = last ? "regex-last" : "regex-first";
      if (!last) break;
    }
    start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
  }
  return e;
}

Extraction extract_code(const std::string& text) {
  Extraction e;
  const std::size_t fence = text.find("```");
  if (fence == std::string::npos) {
    e.answer = text;
    e.rule = "whole-output";
  } else {
    std::size_t body = text.find('\n', fence);
    body = body == std::string::npos ? text.size() : body + 1;  // skip "```python"
    const std::size_t close = text.find("```", body);
    e.answer = text.substr(body, close == std::string::npos ? std::string::npos : close - body);
    e.rule = "fenced-block";
  }
  e.found = !detail::tasks::trim(e.answer).empty();
  return e;
}

}  // namespace t2

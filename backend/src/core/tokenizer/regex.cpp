#include "core/tokenizer/regex.h"

#include <t2/error.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace t2::detail::tokenizer {

struct Regex::Impl {
  pcre2_code* code = nullptr;
};

Regex::Regex(const std::string& pattern, const std::string& where) : impl_(new Impl) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error_code,
                              &error_offset, nullptr);
  if (impl_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    throw Error(ErrorKind::Unsupported, where + ": regex '" + pattern +
                                            "' is not supported by PCRE2 (" +
                                            reinterpret_cast<const char*>(message) + " at offset " +
                                            std::to_string(error_offset) + ")");
  }
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
}

Regex::~Regex() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

std::vector<std::pair<std::size_t, std::size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  thread_local std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(16, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t offset = 0;
  while (offset <= text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(ErrorKind::Internal,
                  std::string("PCRE2 match failed: ") + reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      offset = end;
    } else {
      // Empty match: step over one whole code point.
      offset = begin + 1;
      while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
        ++offset;
      }
    }
  }
  return matches;
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}/-").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace t2::detail::tokenizer

#include "core/tokenizer/unicode.h"

namespace t2::detail::tokenizer {

Pattern::Pattern(bool is_regex, const std::string& text, const std::string& where) {
  if (is_regex) {
    regex_ = std::make_shared<Regex>(text, where);
  } else {
    literal_ = text;
  }
}

std::vector<std::pair<std::size_t, std::size_t>> Pattern::find_all(std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  if (literal_.empty()) return matches;
  for (std::size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size())) {
    matches.emplace_back(pos, pos + literal_.size());
  }
  return matches;
}

std::string Pattern::replace_all(std::string_view text, std::string_view content) const {
  if (!regex_) {
    return literal_.empty() ? std::string(text) : tokenizer::replace_all(text, literal_, content);
  }
  std::string out;
  std::size_t pos = 0;
  for (const auto& [begin, end] : regex_->find_all(text)) {
    out.append(text.substr(pos, begin - pos));
    out.append(content);
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace t2::detail::tokenizer

#include "core/template/lexer.h"
#include "core/tokenizer/unicode.h"

#include <t2/error.h>

#include <algorithm>
#include <cctype>

namespace t2::detail::jinja {

std::string where(int line, int column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Normalises newlines as Jinja does and drops one trailing newline (keep_trailing_newline=False).
std::string normalise(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      out += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      out += source[k];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (std::size_t k = 0; k < src_.size(); ++k)
      if (src_[k] == '\n') line_starts_.push_back(k + 1);
  }

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const std::size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(std::move(text), pos_);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (modifier == '-') {
        text.erase(std::find_if_not(text.rbegin(), text.rend(), is_space).base(), text.end());
      } else if (modifier != '+' && kind != '{') {
        lstrip_block(text, line_starting);
      }
      emit_text(std::move(text), pos_);
      pos_ = tag + 2 + ((modifier == '-' || (modifier == '+' && kind != '{')) ? 1 : 0);
      if (kind == '#') {
        line_starting = skip_comment(tag);
      } else {
        line_starting = lex_tag(kind == '{', tag);
      }
    }
    tokens_.push_back(make(Tok::End, "", src_.size()));
    return std::move(tokens_);
  }

 private:
  Token make(Tok type, std::string text, std::size_t at) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), at) - 1;
    const int line = static_cast<int>(it - line_starts_.begin()) + 1;
    return Token{type, std::move(text), line, static_cast<int>(at - *it) + 1};
  }

  [[noreturn]] void fail(const std::string& what, std::size_t at) const {
    const Token t = make(Tok::End, "", at);
    throw Error(ErrorKind::Corrupt, "chat template syntax error at " + where(t.line, t.column) +
                                        ": " + what + "; fix the template");
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t k = from; k + 1 < src_.size(); ++k)
      if (src_[k] == '{' && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#'))
        return k;
    return src_.size();
  }

  void emit_text(std::string text, std::size_t at) {
    if (!text.empty()) tokens_.push_back(make(Tok::Text, std::move(text), at));
  }

  // lstrip_blocks: spaces/tabs between the line start and a block or comment tag go away.
  static void lstrip_block(std::string& text, bool line_starting) {
    const std::size_t nl = text.rfind('\n');
    const std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if (l_pos == 0 && !line_starting) return;
    if (l_pos == text.size()) return;
    if (std::all_of(text.begin() + static_cast<long>(l_pos), text.end(), is_space))
      text.erase(l_pos);
  }

  // After a tag end: `-` strips all following whitespace, trim_blocks one newline after %} / #}.
  // Returns whether the consumed end ended with a newline (Jinja's line_starting).
  bool after_end(bool strip, bool block) {
    if (strip) {
      const std::size_t start = pos_;
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      return pos_ > start && src_[pos_ - 1] == '\n';
    }
    if (block && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      return true;
    }
    return false;
  }

  bool skip_comment(std::size_t tag) {
    const std::size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail("unterminated comment '{#'", tag);
    const bool strip = end > pos_ && src_[end - 1] == '-';
    pos_ = end + 2;
    return after_end(strip, true);
  }

  bool lex_tag(bool is_var, std::size_t tag) {
    tokens_.push_back(make(is_var ? Tok::VarBegin : Tok::BlockBegin, "", tag));
    const char close = is_var ? '}' : '%';
    int depth = 0;
    for (;;) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size())
        fail(std::string("unterminated tag '") + (is_var ? "{{" : "{%") + "'", tag);
      if (depth == 0) {
        const bool strip = src_.compare(pos_, 3, std::string("-") + close + "}") == 0;
        if (strip || src_.compare(pos_, 2, std::string(1, close) + "}") == 0) {
          tokens_.push_back(make(is_var ? Tok::VarEnd : Tok::BlockEnd, "", pos_));
          pos_ += strip ? 3 : 2;
          return after_end(strip, !is_var);
        }
      }
      lex_one(depth);
    }
  }

  void lex_one(int& depth) {
    const std::size_t start = pos_;
    const char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos_ < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_'))
        ++pos_;
      tokens_.push_back(make(Tok::Name, src_.substr(start, pos_ - start), start));
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number();
    } else if (c == '\'' || c == '"') {
      tokens_.push_back(make(Tok::String, lex_string(), start));
    } else {
      static const char* const kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
      std::string op(1, c);
      for (const char* two : kTwo)
        if (src_.compare(pos_, 2, two) == 0) op = two;
      if (op.size() == 1 && std::string("+-*/%~<>=()[]{},.:|").find(c) == std::string::npos)
        fail(std::string("unexpected character '") + c + "'", start);
      if (op == "(" || op == "[" || op == "{") ++depth;
      if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
      pos_ += op.size();
      tokens_.push_back(make(Tok::Operator, op, start));
    }
  }

  void lex_number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_'))
        ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      std::size_t k = pos_ + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        pos_ = k;
        digits();
      }
    }
    std::string text = src_.substr(start, pos_ - start);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    tokens_.push_back(make(is_float ? Tok::Float : Tok::Integer, text, start));
  }

  std::string lex_string() {
    const std::size_t start = pos_;
    const char quote = src_[pos_++];
    std::string out;
    while (pos_ < src_.size() && src_[pos_] != quote) {
      if (src_[pos_] != '\\') {
        out += src_[pos_++];
        continue;
      }
      if (++pos_ >= src_.size()) break;
      unescape(out);
    }
    if (pos_ >= src_.size()) fail("unterminated string literal", start);
    ++pos_;
    return out;
  }

  // Python's unicode-escape rules for the character(s) after a backslash.
  void unescape(std::string& out) {
    const char e = src_[pos_++];
    switch (e) {
      case 'n':
        out += '\n';
        return;
      case 't':
        out += '\t';
        return;
      case 'r':
        out += '\r';
        return;
      case 'a':
        out += '\a';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'v':
        out += '\v';
        return;
      case '\\':
        out += '\\';
        return;
      case '\'':
        out += '\'';
        return;
      case '"':
        out += '"';
        return;
      case '\n':
        return;
      case 'x':
        out += hex_escape(2);
        return;
      case 'u':
        out += hex_escape(4);
        return;
      case 'U':
        out += hex_escape(8);
        return;
      default:
        if (e >= '0' && e <= '7') {
          std::uint32_t cp = static_cast<std::uint32_t>(e - '0');
          for (int n = 0; n < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
               ++n)
            cp = cp * 8 + static_cast<std::uint32_t>(src_[pos_++] - '0');
          std::string s;
          tokenizer::append_utf8(s, static_cast<char32_t>(cp));
          out += s;
          return;
        }
        out += '\\';
        out += e;
    }
  }

  std::string hex_escape(int n) {
    const std::size_t start = pos_ - 2;
    if (pos_ + static_cast<std::size_t>(n) > src_.size()) fail("truncated \\x/\\u escape", start);
    const std::string hex = src_.substr(pos_, static_cast<std::size_t>(n));
    if (!std::all_of(hex.begin(), hex.end(),
                     [](char h) { return std::isxdigit(static_cast<unsigned char>(h)); }))
      fail("malformed \\x/\\u escape", start);
    pos_ += static_cast<std::size_t>(n);
    const auto cp = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      fail("escape outside the Unicode scalar values", start);
    std::string s;
    tokenizer::append_utf8(s, static_cast<char32_t>(cp));
    return s;
  }

  std::string src_;
  std::size_t pos_ = 0;
  std::vector<std::size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(normalise(source)).run(); }

}  // namespace t2::detail::jinja

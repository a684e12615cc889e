// last-number extraction and exact decimal comparison. A hand-written scanner rather than a
// regex: sign, currency, thousands groups, decimals and a trailing percent are easier to get right
// (and to explain) one character at a time.
#include <t2/tasks.h>

#include <cctype>
#include <string>

namespace t2 {
namespace detail::tasks {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Currency prefixes: $ € £ ¥ (UTF-8). Returns the byte length at `i`, 0 if none.
std::size_t currency_at(const std::string& s, std::size_t i) {
  if (i >= s.size()) return 0;
  if (s[i] == '$') return 1;
  static const char* const kSymbols[] = {"\xE2\x82\xAC", "\xC2\xA3", "\xC2\xA5"};  // € £ ¥
  for (const char* sym : kSymbols) {
    const std::string symbol(sym);
    if (s.compare(i, symbol.size(), symbol) == 0) return symbol.size();
  }
  return 0;
}

// Minus sign at `i` ('-', or U+2212 "−"): returns its byte length, 0 if none.
std::size_t minus_at(const std::string& s, std::size_t i) {
  if (i < s.size() && s[i] == '-') return 1;
  if (s.compare(i, 3, "\xE2\x88\x92") == 0) return 3;
  return 0;
}

struct NumberToken {
  std::size_t begin = 0;  // first byte (sign or currency included)
  std::size_t end = 0;    // one past the last byte consumed
  bool negative = false;
  std::string integer;   // digits only
  std::string fraction;  // digits only
};

// Digits with optional thousands groups starting at `i` ("1,234,567"); a comma joins only when
// exactly three digits follow and the first group has 1-3 digits.
std::size_t scan_integer(const std::string& s, std::size_t i, std::string& digits) {
  const std::size_t start = i;
  while (i < s.size() && is_digit(s[i])) digits.push_back(s[i++]);
  if (i - start > 3 || i == start) return i;
  while (i + 3 < s.size() + 0 && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
         is_digit(s[i + 3]) && (i + 4 >= s.size() || !is_digit(s[i + 4]))) {
    digits.append(s, i + 1, 3);
    i += 4;
  }
  return i;
}

// Tries to read a number whose digits (or '.') start at `i`; `prefix_begin` is where its sign
// or currency started.
bool scan_number_at(const std::string& s, std::size_t i, NumberToken& tok) {
  tok.integer.clear();
  tok.fraction.clear();
  i = scan_integer(s, i, tok.integer);
  if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
    ++i;
    while (i < s.size() && is_digit(s[i])) tok.fraction.push_back(s[i++]);
  }
  if (tok.integer.empty() && tok.fraction.empty()) return false;
  if (i < s.size() && s[i] == '%') ++i;
  tok.end = i;
  return true;
}

std::string canonical(const NumberToken& tok) {
  std::size_t lead = 0;
  while (lead + 1 < tok.integer.size() && tok.integer[lead] == '0') ++lead;
  std::string integer = tok.integer.empty() ? "0" : tok.integer.substr(lead);
  std::string fraction = tok.fraction;
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  const bool zero = integer == "0" && fraction.empty();
  std::string out = (tok.negative && !zero) ? "-" : "";
  out += integer;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

// Scans the whole text left to right and returns every number token.
std::vector<NumberToken> scan_numbers(const std::string& s) {
  std::vector<NumberToken> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t begin = i;
    // A sign counts only at a word start: "3-2" is a subtraction, "x-5" a hyphen.
    const bool word_start = i == 0 || (!is_alnum(s[i - 1]) && s[i - 1] != ')' && s[i - 1] != '.');
    std::size_t j = i;
    bool negative = false;
    if (word_start) {
      if (std::size_t m = minus_at(s, j); m > 0) {
        negative = true;
        j += m;
      } else if (s[j] == '+') {
        ++j;
      }
    }
    j += currency_at(s, j);
    const bool starts_number =
        j < s.size() && (is_digit(s[j]) || (s[j] == '.' && j + 1 < s.size() && is_digit(s[j + 1])));
    // A bare '.' continues a previous number's context ("v1.2.3"): only at a word start.
    if (starts_number && (is_digit(s[j]) || word_start || j > i)) {
      NumberToken tok;
      tok.begin = begin;
      tok.negative = negative && (j > i);
      if (scan_number_at(s, j, tok)) {
        out.push_back(tok);
        i = tok.end;
        continue;
      }
    }
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;  // UTF-8 tail
  }
  return out;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace detail::tasks

Extraction extract_last_number(const std::string& text) {
  const auto tokens = detail::tasks::scan_numbers(text);
  Extraction e;
  if (tokens.empty()) return e;
  e.found = true;
  e.answer = detail::tasks::canonical(tokens.back());
  e.rule = "last-number";
  return e;
}

std::string canonical_number(const std::string& text) {
  std::string t = detail::tasks::trim(text);
  while (!t.empty() && t.back() == '.') t.pop_back();  // sentence period
  const auto tokens = detail::tasks::scan_numbers(t);
  if (tokens.size() != 1 || tokens[0].begin != 0 || tokens[0].end != t.size()) return {};
  return detail::tasks::canonical(tokens[0]);
}

bool numbers_equal(const std::string& a, const std::string& b) {
  const std::string ca = canonical_number(a);
  return !ca.empty() && ca == canonical_number(b);
}

}  // namespace t2

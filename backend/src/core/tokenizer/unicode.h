// UTF-8 helpers for the tokenizer: decoding, validation, lossy repair, Unicode White_Space,
// normalization forms (utf8proc) and GPT-2's byte <-> printable-character table.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace t2::detail::tokenizer {

// Decodes the code point at s[i]; advances i. Assumes valid UTF-8 (checked by is_valid_utf8).
char32_t next_code_point(std::string_view s, std::size_t& i);
void append_utf8(std::string& out, char32_t cp);
bool is_valid_utf8(std::string_view s);
// Replaces each maximal invalid subsequence with U+FFFD (as Rust's from_utf8_lossy and the
// WHATWG TextDecoder do).
std::string utf8_lossy(std::string_view bytes);
// Unicode White_Space property (what Rust's char::is_whitespace tests).
bool is_white_space(char32_t cp);
std::string trim_white_space_end(std::string_view s);
std::string trim_white_space_start(std::string_view s);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string normalize_unicode(std::string_view s, NormalForm form);

// GPT-2 byte-level alphabet: every byte maps to one printable code point (e.g. ' ' -> U+0120).
struct ByteLevelTables {
  std::array<std::string, 256> byte_to_utf8;  // UTF-8 of the printable code point of each byte
  std::array<int, 512> char_to_byte;          // code point (< 512) -> byte, or -1
};
const ByteLevelTables& byte_level_tables();

// Replaces every occurrence of `from` (non-empty) by `to`, left to right, non-overlapping.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

}  // namespace t2::detail::tokenizer

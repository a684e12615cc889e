// Incremental detokenization for streamed generation: feed token ids as they arrive, get the text
// they add. Decodes a short window (the tokens since the last emitted text plus the ones before
// it, as context for decoders that strip a leading space) and holds text back while it ends in an
// incomplete UTF-8 sequence or U+FFFD (a character split over several byte-level tokens), so the
// view never shows half a character. The concatenation of everything push() returned plus
// flush() equals tokenizer.decode(all ids) for byte-level and SentencePiece-style vocabularies.
#pragma once

#include <t2/tokenizer.h>

#include <cstdint>
#include <string>
#include <vector>

class TokenStreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit TokenStreamDecoder(const t2::Tokenizer& tokenizer) : m_tokenizer(&tokenizer) {}

  // Appends ids; returns the complete UTF-8 text they add (possibly empty).
  std::string push(const std::vector<std::int32_t>& ids);
  // The text held back at the end (an incomplete character decodes as U+FFFD here).
  std::string flush();
  const std::vector<std::int32_t>& ids() const { return m_ids; }

  // True when `text` ends inside a UTF-8 sequence or with U+FFFD.
  static bool endsIncomplete(const std::string& text);

 private:
  std::string decodeRange(std::size_t from, std::size_t to) const;

  const t2::Tokenizer* m_tokenizer;
  std::vector<std::int32_t> m_ids;
  std::size_t m_prefix = 0;  // start of the decode window
  std::size_t m_read = 0;    // tokens whose text has been returned
};

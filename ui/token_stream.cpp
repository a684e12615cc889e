#include "token_stream.h"

std::string TokenStreamDecoder::decodeRange(std::size_t from, std::size_t to) const {
  return m_tokenizer->decode(std::vector<std::int32_t>(m_ids.begin() + std::ptrdiff_t(from),
                                                       m_ids.begin() + std::ptrdiff_t(to)));
}

bool TokenStreamDecoder::endsIncomplete(const std::string& text) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, kReplacement) == 0) return true;
  // Walk back over continuation bytes to the last lead byte; check its sequence length.
  std::size_t i = text.size();
  int continuation = 0;
  while (i > 0 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80 && continuation < 4) {
    --i;
    ++continuation;
  }
  if (i == 0) return continuation > 0;
  const auto lead = static_cast<unsigned char>(text[i - 1]);
  int need = 0;
  if (lead >= 0xF0)
    need = 3;
  else if (lead >= 0xE0)
    need = 2;
  else if (lead >= 0xC0)
    need = 1;
  return continuation < need;
}

std::string TokenStreamDecoder::push(const std::vector<std::int32_t>& ids) {
  m_ids.insert(m_ids.end(), ids.begin(), ids.end());
  if (m_read == m_ids.size()) return {};
  const std::string before = decodeRange(m_prefix, m_read);
  const std::string now = decodeRange(m_prefix, m_ids.size());
  if (now.size() <= before.size() || now.compare(0, before.size(), before) != 0 ||
      endsIncomplete(now))
    return {};
  m_prefix = m_read;
  m_read = m_ids.size();
  return now.substr(before.size());
}

std::string TokenStreamDecoder::flush() {
  if (m_read == m_ids.size()) return {};
  const std::string before = decodeRange(m_prefix, m_read);
  const std::string now = decodeRange(m_prefix, m_ids.size());
  m_prefix = m_read = m_ids.size();
  return now.size() > before.size() && now.compare(0, before.size(), before) == 0
             ? now.substr(before.size())
             : std::string();
}

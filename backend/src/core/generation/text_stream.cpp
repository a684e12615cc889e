#include <t2/text_stream.h>

#include <algorithm>

namespace t2 {
namespace detail::text_stream {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
constexpr std::size_t kReplacementBytes = 3;

bool ends_with_replacement(const std::string& text, std::size_t end) {
  return end >= kReplacementBytes &&
         text.compare(end - kReplacementBytes, kReplacementBytes, kReplacement) == 0;
}

// Length of the longest suffix of text[0, end) that is a proper prefix of some stop string.
std::size_t partial_stop_suffix(const std::string& text, std::size_t end,
                                const std::vector<std::string>& stops) {
  std::size_t longest = 0;
  for (const auto& stop : stops) {
    for (std::size_t n = std::min(stop.size() - 1, end); n > longest; --n) {
      if (text.compare(end - n, n, stop, 0, n) == 0) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

// Start of the UTF-8 character that contains byte `i` (backs up over continuation bytes).
std::size_t char_boundary(const std::string& text, std::size_t i) {
  while (i > 0 && i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace detail::text_stream

namespace dts = detail::text_stream;

std::size_t find_stop_string(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t best = std::string::npos;
  for (const auto& stop : stops) {
    if (stop.empty()) continue;
    const auto at = text.find(stop);
    if (at < best) best = at;
  }
  return best;
}

TextStreamer::TextStreamer(std::vector<std::string> stop_strings) {
  for (auto& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

std::size_t TextStreamer::stable_length(const std::string& decoded) const {
  // Generation ends at the token that completes a stop string: the text before it is final.
  const std::size_t cut = find_stop_string(decoded, stops_);
  if (cut != std::string::npos) return cut;
  std::size_t end = decoded.size();
  for (;;) {
    const std::size_t before = end;
    while (dts::ends_with_replacement(decoded, end)) end -= dts::kReplacementBytes;
    while (end > 0 && decoded[end - 1] == ' ') --end;
    end -= dts::partial_stop_suffix(decoded, end, stops_);
    end = dts::char_boundary(decoded, end);
    if (end == before) return end;
  }
}

std::string TextStreamer::release(const std::string& text, std::size_t end) {
  // Only text that extends what was printed can be released.
  if (end <= printed_.size() || text.compare(0, printed_.size(), printed_) != 0) return {};
  std::string out = text.substr(printed_.size(), end - printed_.size());
  printed_ += out;
  return out;
}

std::string TextStreamer::push(const std::string& decoded) {
  return release(decoded, stable_length(decoded));
}

std::string TextStreamer::finish(const std::string& final_text) {
  if (final_text.compare(0, printed_.size(), printed_) == 0 && final_text.size() >= printed_.size())
    return release(final_text, final_text.size());
  std::size_t common = 0;
  while (common < final_text.size() && common < printed_.size() &&
         final_text[common] == printed_[common])
    ++common;
  std::string out = final_text.substr(common);
  printed_ = final_text;
  return out;
}

}  // namespace t2

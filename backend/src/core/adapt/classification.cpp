// Pass 1 of two-pass self-adaptation: the parser of the classification reply (the prompt is the
// classification task kind's, t2::classification_system_prompt in tasks.h).
#include <t2/two_pass.h>

#include <algorithm>

namespace t2 {

std::optional<std::string> first_boxed_content(const std::string& text) {
  static const std::string open = "\\boxed{";
  const auto at = text.find(open);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t begin = at + open.size();
  int depth = 1;
  for (std::size_t i = begin; i < text.size(); ++i) {
    if (text[i] == '{') {
      ++depth;
    } else if (text[i] == '}' && --depth == 0) {
      return text.substr(begin, i - begin);
    }
  }
  return std::nullopt;  // never closed
}

std::string parse_boxed_category(const std::string& text,
                                 const std::vector<std::string>& categories) {
  const auto content = first_boxed_content(text);
  if (!content) return kOtherCategory;
  static const char* const kSpace = " \t\n\r\f\v";
  const auto first = content->find_first_not_of(kSpace);
  if (first == std::string::npos) return kOtherCategory;
  const auto last = content->find_last_not_of(kSpace);
  const std::string label = content->substr(first, last - first + 1);
  if (std::find(categories.begin(), categories.end(), label) != categories.end()) return label;
  return kOtherCategory;
}

}  // namespace t2

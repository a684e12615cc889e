// Pass 1 of two-pass self-adaptation: the paper's classification prompt and its answer parser.
#include <t2/two_pass.h>

#include <algorithm>

namespace t2 {

const char* const kPaperClassificationPrompt =
    R"(Analyze the given question and classify it into one of four categories: 'code', 'math', 'reasoning' or 'other'. Follow these guidelines:

1. Code: Questions asking for programming solutions, functions, algorithms. Often includes specific programming terms, language syntax, or data structures.
2. Math: Questions involving mathematical calculations, formulas, statistics. Often includes numbers, equations, or mathematical operations.
3. Reasoning: Questions requiring logical thinking, application of scientific knowledge, or critical analysis of information. Often presents statements that need evaluation based on general understanding.
4. Other: Questions not clearly fit into above categories.

Instructions:
- Consider the primary focus, skills, and knowledge required to answer the question.
- If a question spans multiple categories, choose the most dominant one.
- Provide your final classification within \boxed{} notation. Example: \boxed{reasoning}

Format your response as follows:
Classification: \boxed{category})";

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

// Task: prompt building, extraction, verification and reward; names of the enums; JSON views.
#include "core/tasks/spec_internal.h"

#include <t2/error.h>

namespace t2 {

const char* to_string(TaskCategory category) noexcept {
  switch (category) {
    case TaskCategory::Math:
      return "math";
    case TaskCategory::Code:
      return "code";
    case TaskCategory::Reasoning:
      return "reasoning";
    case TaskCategory::Other:
      return "other";
  }
  return "other";
}

TaskCategory task_category_from_string(const std::string& name) {
  for (TaskCategory c :
       {TaskCategory::Math, TaskCategory::Code, TaskCategory::Reasoning, TaskCategory::Other})
    if (name == to_string(c)) return c;
  throw Error(ErrorKind::InvalidArgument,
              "unknown category '" + name + "'; use math, code, reasoning or other");
}

const char* to_string(TaskKind kind) noexcept {
  switch (kind) {
    case TaskKind::Gsm8k:
      return "gsm8k";
    case TaskKind::MultipleChoice:
      return "multiple-choice";
    case TaskKind::Code:
      return "code";
    case TaskKind::Classification:
      return "classification";
    case TaskKind::Generic:
      return "generic";
  }
  return "generic";
}

const char* to_string(ExtractorKind kind) noexcept {
  switch (kind) {
    case ExtractorKind::LastNumber:
      return "last-number";
    case ExtractorKind::ChoiceLetter:
      return "choice-letter";
    case ExtractorKind::Boxed:
      return "boxed";
    case ExtractorKind::Exact:
      return "exact";
    case ExtractorKind::Regex:
      return "regex";
    case ExtractorKind::CodeExec:
      return "code-exec";
  }
  return "exact";
}

std::string reference_answer(const TaskItem& item) {
  for (const char* role : {"answer", "canonical_solution", "label"}) {
    const auto it = item.fields.find(role);
    if (it != item.fields.end() && !it->second.empty()) return it->second;
  }
  return item.gold;
}

// The classification system prompt of the paper's reference code (§4a of the notes), with the
// reference's four-space indentation removed.
const std::string& classification_system_prompt() {
  static const std::string kPrompt =
      "# Analyze the given question and classify it into one of four categories: 'code', "
      "'math', 'reasoning' or 'other'. Follow these guidelines:\n\n"
      "1. Code: Questions asking for programming solutions, functions, algorithms. Often "
      "includes specific programming terms, language syntax, or data structures.\n"
      "2. Math: Questions involving mathematical calculations, formulas, statistics. Often "
      "includes numbers, equations, or mathematical operations.\n"
      "3. Reasoning: Questions requiring logical thinking, application of scientific knowledge, "
      "or critical analysis of information. Often presents statements that need evaluation "
      "based on general understanding.\n"
      "4. Other: Questions not clearly fit into above categories.\n\n"
      "Instructions:\n"
      "- Consider the primary focus, skills, and knowledge required to answer the question.\n"
      "- If a question spans multiple categories, choose the most dominant one.\n"
      "- Provide your final classification within \\boxed{} notation. Example: "
      "\\boxed{reasoning}\n\n"
      "Format your response as follows:\n"
      "Classification: \\boxed{category}";
  return kPrompt;
}

std::string BuiltPrompt::plain_text() const {
  std::string text;
  for (const auto& m : messages) text += (text.empty() ? "" : "\n\n") + m.content;
  return text + "\n" + assistant_prefill;
}

std::vector<std::string> Task::splits() const {
  std::vector<std::string> names;
  for (const auto& kv : spec_.data) names.push_back(kv.first);
  return names;
}

BuiltPrompt Task::build_prompt(const TaskItem& item) const {
  using detail::tasks::substitute;
  const std::string where = spec_.path + ": prompt (item " + item.id + ")";
  BuiltPrompt p;
  if (!spec_.prompt.system.empty()) p.messages.push_back({"system", spec_.prompt.system});
  p.messages.push_back({"user", substitute(spec_.prompt.user_template, item.fields, where)});
  p.assistant_prefill = substitute(spec_.prompt.assistant_prefill, item.fields, where);
  p.use_chat_template = spec_.prompt.use_chat_template;
  return p;
}

std::string Task::truncate_at_stop(const std::string& output) const {
  std::size_t cut = output.size();
  for (const auto& stop : spec_.generation.stop)
    if (!stop.empty()) cut = std::min(cut, output.find(stop));
  return output.substr(0, cut);
}

Extraction Task::extract(const std::string& output, const TaskItem& item) const {
  const std::string prefill = detail::tasks::substitute(spec_.prompt.assistant_prefill, item.fields,
                                                        spec_.path + ": prompt.assistant_prefill");
  const std::string text = prefill + output;
  const ExtractorSpec& e = spec_.extractor;
  switch (e.kind) {
    case ExtractorKind::LastNumber:
      return extract_last_number(text);
    case ExtractorKind::ChoiceLetter:
      return extract_choice_letter(text, item.choices.empty() ? e.choices : item.choices);
    case ExtractorKind::Boxed:
      return extract_boxed(text, e.first);
    case ExtractorKind::Exact:
      return extract_exact(text, e.trim, e.case_sensitive);
    case ExtractorKind::Regex:
      return extract_regex(text, e.pattern, e.group, !e.first);
    case ExtractorKind::CodeExec:
      return extract_code(text);
  }
  return {};
}

namespace detail::tasks {

// boxed / regex answers: numerically when both sides are numbers, else as normalised text.
bool answers_match(const std::string& answer, const std::string& gold, bool case_sensitive) {
  const std::string a = canonical_number(answer), g = canonical_number(gold);
  if (!a.empty() && !g.empty()) return a == g;
  if (case_sensitive) return trim(answer) == trim(gold);
  return lower_ascii(trim(answer)) == lower_ascii(trim(gold));
}

void run_code(const TaskSpec& spec, const TaskItem& item, Verdict& v) {
  auto values = item.fields;
  values["completion"] = v.extraction.answer;
  const std::string program =
      substitute(spec.extractor.program, values, spec.path + ": extractor.program");
  v.sandbox = run_sandboxed(program, spec.extractor.sandbox);
  v.executed = true;
  v.correct = v.sandbox.status == SandboxStatus::Passed;
  v.detail =
      std::string("sandbox: ") + to_string(v.sandbox.status) + " (" + v.sandbox.message + ")";
}

}  // namespace detail::tasks

Verdict Task::judge(const std::string& output, const TaskItem& item) const {
  using namespace detail::tasks;
  Verdict v;
  v.gold = item.gold;
  v.extraction = extract(output, item);
  if (!v.extraction.found) {
    v.correct = false;
    v.reward = spec_.reward.unextractable;
    v.detail = std::string("no answer found (") + to_string(spec_.extractor.kind) + ")";
    return v;
  }
  const ExtractorSpec& e = spec_.extractor;
  switch (e.kind) {
    case ExtractorKind::LastNumber:
      v.correct = v.extraction.answer == item.gold;
      break;
    case ExtractorKind::ChoiceLetter:
      v.correct = v.extraction.answer == item.gold;
      break;
    case ExtractorKind::Exact:
      v.correct = v.extraction.answer == extract_exact(item.gold, e.trim, e.case_sensitive).answer;
      break;
    case ExtractorKind::Boxed:
    case ExtractorKind::Regex:
      v.correct = answers_match(v.extraction.answer, item.gold, e.case_sensitive);
      break;
    case ExtractorKind::CodeExec:
      run_code(spec_, item, v);
      break;
  }
  if (spec_.kind == TaskKind::Classification) {
    const std::string label = lower_ascii(trim(v.extraction.answer));
    bool known = false;
    for (const auto& l : spec_.labels) known = known || l == label;
    if (!known) v.detail = "\"" + label + "\" is not one of the labels (routes to base weights)";
  }
  if (v.detail.empty()) v.detail = v.correct ? "correct" : "wrong";
  v.reward = v.correct ? spec_.reward.correct : spec_.reward.wrong;
  return v;
}

}  // namespace t2

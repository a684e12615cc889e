// Tasks: a dataset (JSONL splits) + a prompt builder + generation settings + an answer
// extractor + a verifier giving a reward + a metric, declared in a small JSON spec file so that
// a researcher adds a task without C++ (format: backend/README.md, "Tasks").
//
// Contract:
//  - Task::load() validates the whole spec up front; every error is a t2::Error naming the spec
//    file and the key (e.g. "task.json: extractor.kind: unknown extractor 'lastnum'; ...").
//  - Dataset errors name the JSONL file and the 1-based line number.
//  - Extraction never throws on model output: an output with no answer gives found = false,
//    which the verifier scores as wrong (reward `unextractable`). No random fallback.
//  - A Task is immutable after load() and may be shared between threads; judge() of a code task
//    spawns one sandboxed interpreter per call (see t2/sandbox.h), so it is thread-safe too.
#pragma once

#include <t2/chat_message.h>

#include <t2/job.h>
#include <t2/sandbox.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2 {

class ChatTemplate;

// The pass-1 classifier's categories (paper §4a): an expert per category, "other" = base.
enum class TaskCategory { Math, Code, Reasoning, Other };
const char* to_string(TaskCategory category) noexcept;  // "math", "code", "reasoning", "other"
// Throws InvalidArgument for anything but the four names above (exact lowercase).
TaskCategory task_category_from_string(const std::string& name);

enum class TaskKind {
  Gsm8k,           // question / answer ending "#### N"; gold = N
  MultipleChoice,  // question + choices ({text:[..], label:[..]} or [..]) + answer key
  Code,            // HumanEval/MBPP: prompt + tests (+ entry point); run in the sandbox
  Classification,  // text + label from a fixed set (the pass-1 classifier task)
  Generic,         // question + answer fields; any extractor
};
const char* to_string(TaskKind kind) noexcept;  // "gsm8k", "multiple-choice", "code", ...

enum class ExtractorKind { LastNumber, ChoiceLetter, Boxed, Exact, Regex, CodeExec };
const char* to_string(ExtractorKind kind) noexcept;  // "last-number", "choice-letter", ...

// ---- extractors (pure functions; the Task picks one from its spec) --------------------------

struct Extraction {
  bool found = false;  // false = no answer in the output (scored as wrong, reported as such)
  std::string answer;  // normalised answer: canonical number "1234.5", letter "B", text, code
  std::string rule;    // what matched, e.g. "answer-is", "answer-colon", "last-letter"
};

// Last number in `text`: optional sign (-, +, U+2212), currency ($ € £ ¥), thousands separators
// (groups of exactly three digits), decimals (".5" too), a trailing "%" or sentence period.
// answer = canonical decimal: no "+", no leading zeros, no trailing fractional zeros ("18.00" ->
// "18", "-0.50" -> "-0.5", "1,234" -> "1234", "$18." -> "18", "-0" -> "0").
Extraction extract_last_number(const std::string& text);
// Canonical form of one number written as above ("18.0" -> "18"); empty if `text` (trimmed) is
// not exactly one number.
std::string canonical_number(const std::string& text);
// True when both are numbers with the same value (exact decimal comparison: 18 == 18.0 == 18.00).
bool numbers_equal(const std::string& a, const std::string& b);

// The reference's chain for multiple choice, letters restricted to `allowed` (e.g. "ABCD"):
// 1. "the answer is (X)" / "answer is X" (first occurrence, case-insensitive words),
// 2. "Answer: X", 3. the last standalone capital letter in `allowed`. Nothing else.
Extraction extract_choice_letter(const std::string& text, const std::string& allowed);

// Content of the last (or first) \boxed{...}, nested braces balanced; trimmed.
Extraction extract_boxed(const std::string& text, bool first = false);

// The whole output, optionally trimmed (ASCII whitespace) and lower-cased (ASCII).
Extraction extract_exact(const std::string& text, bool trim = true, bool case_sensitive = false);

// PCRE2 `pattern` (UTF-8); answer = capture `group` (0 = whole match) of the first or last
// match. Throws InvalidArgument for a pattern that does not compile or a group it lacks.
Extraction extract_regex(const std::string& text, const std::string& pattern, int group = 1,
                         bool last = false);

// Code from a model output: the first ```python (or ```) fenced block if there is one (an
// unclosed fence runs to the end), else the whole output. found = false only for blank output.
Extraction extract_code(const std::string& text);

// ---- task specs -----------------------------------------------------------------------------

struct PromptSpec {
  std::string system;             // system message; empty = none
  std::string user_template;      // "{field}" placeholders from the item; "{{" / "}}" = braces
  std::string assistant_prefill;  // text the assistant turn starts with (also a template)
  bool use_chat_template = true;  // false: the model sees plain_text() (no chat markup)
};

struct GenerationSpec {
  int max_new_tokens = 256;       // tokens, >= 1
  std::vector<std::string> stop;  // stop strings (the generator cuts the output at the first)
};

struct ExtractorSpec {
  ExtractorKind kind = ExtractorKind::LastNumber;
  std::string choices = "ABCD";  // choice-letter: allowed letters (multiple-choice: per item)
  bool first = false;            // boxed / regex: use the first match instead of the last
  bool trim = true;              // exact: trim whitespace before comparing
  bool case_sensitive = false;   // exact / boxed / regex text comparison
  std::string pattern;           // regex: PCRE2 pattern
  int group = 1;                 // regex: capture group (0 = whole match)
  std::string program;           // code-exec: program template ({completion} + item fields)
  SandboxParams sandbox;         // code-exec: interpreter and limits
};

struct RewardSpec {
  double correct = 1.0;         // reward for a correct answer
  double wrong = -1.0;          // reward for a wrong answer
  double unextractable = -1.0;  // reward when no answer could be extracted (counted wrong)
};

struct TaskSpec {
  std::string path;         // the spec file (absolute)
  std::string name;         // short id, e.g. "demo-math"
  std::string description;  // one line for humans
  TaskKind kind = TaskKind::Generic;
  TaskCategory category = TaskCategory::Other;
  std::map<std::string, std::string> data;    // split name -> JSONL path (absolute, resolved)
  std::map<std::string, std::string> fields;  // role -> JSON key (defaults per kind)
  std::vector<std::string> labels;            // classification: allowed labels (lowercase)
  PromptSpec prompt;
  GenerationSpec generation;
  ExtractorSpec extractor;
  RewardSpec reward;
  std::string metric = "accuracy";  // only "accuracy" for now
};

// One dataset item, already turned into template fields and a gold answer.
struct TaskItem {
  std::string id;                             // id field if the spec names one, else "split:line"
  std::int64_t line = 0;                      // 1-based line in the JSONL file
  std::map<std::string, std::string> fields;  // placeholder values (strings; arrays joined by \n)
  std::string gold;                           // normalised gold answer (number, letter, label..)
  std::string choices;                        // multiple-choice: allowed letters for this item
};

struct BuiltPrompt {
  std::vector<ChatMessage> messages;  // system (if any) + user
  std::string assistant_prefill;      // starts the assistant turn; the output continues it
  bool use_chat_template = true;
  // system + "\n\n" + user + "\n" + prefill: what a model without a chat template sees.
  std::string plain_text() const;
};

struct Verdict {
  Extraction extraction;
  bool correct = false;
  double reward = 0.0;
  std::string gold;
  std::string detail;     // why: "no number found", "sandbox: timeout (...)", ...
  bool executed = false;  // code-exec: the sandbox ran (then `sandbox` is filled)
  SandboxResult sandbox;
};

// What a model sees for `prompt`, as one string to encode. With a chat template (and
// prompt.use_chat_template): the rendered conversation with the generation prompt, then the
// assistant prefill; encode with add_special_tokens = false (the template writes BOS). Without:
// plain_text(); encode with add_special_tokens = true. Shared by evaluation, training and the
// pretraining corpus so that every consumer prompts a model identically.
struct RenderedPrompt {
  std::string text;
  bool add_special_tokens = false;
};
RenderedPrompt render_task_prompt(const BuiltPrompt& prompt, const ChatTemplate* chat_template);

class Task {
 public:
  // Reads and validates a spec file. Throws InvalidArgument/Io/Corrupt naming file and key.
  static Task load(const std::string& spec_path);
  // Builds a task from a spec already in memory (the JSON text); `path` names it in errors and
  // anchors relative data paths.
  static Task from_json(const std::string& json_text, const std::string& path);

  const TaskSpec& spec() const { return spec_; }
  std::vector<std::string> splits() const;  // names of the declared splits, sorted

  // Streams the split's JSONL file (".gz" files are decompressed on the fly); stops after
  // `limit` items when limit > 0. Errors name the file and line. Progress stage "load".
  std::vector<TaskItem> load_split(const std::string& split, std::size_t limit = 0,
                                   const JobContext& job = {}) const;
  // Turns one parsed JSON line (text) into an item; `where` names it in errors.
  TaskItem make_item(const std::string& json_line, const std::string& id,
                     const std::string& where) const;

  BuiltPrompt build_prompt(const TaskItem& item) const;
  // Extracts the answer from prefill + output with the spec's extractor (code-exec: the code).
  Extraction extract(const std::string& output, const TaskItem& item) const;
  // Extraction + verification + reward. Code tasks run the program in the sandbox.
  Verdict judge(const std::string& output, const TaskItem& item) const;
  // `output` cut at the first stop string (what a generator honouring the spec returns).
  std::string truncate_at_stop(const std::string& output) const;

 private:
  TaskSpec spec_;
};

// The reference answer text of an item (what next-token training learns and the few-shot
// search scores the likelihood of): its "answer", "canonical_solution" or "label" field, the
// first that is present and not empty, else its gold.
std::string reference_answer(const TaskItem& item);

// The paper's pass-1 classification system prompt (§4a), dedented.
const std::string& classification_system_prompt();

// Spec and items as JSON (for `t2 task show --json`).
std::string to_json(const TaskSpec& spec, int indent = 2);
std::string to_json(const TaskItem& item, const BuiltPrompt& prompt, int indent = 2);
std::string to_json(const Verdict& verdict, int indent = 2);

}  // namespace t2

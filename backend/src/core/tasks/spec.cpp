// Task spec files: JSON -> TaskSpec, with per-kind defaults and errors naming file and key.
#include "core/tasks/spec_internal.h"

#include <t2/error.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace t2 {
namespace detail::tasks {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void spec_error(const std::string& path, const std::string& key,
                             const std::string& what) {
  throw Error(ErrorKind::InvalidArgument,
              path + ": " + key + ": " + what + " (task spec format: backend/README.md, Tasks)");
}

// Typed reads of optional keys; `key` is the dotted path used in messages.
class Reader {
 public:
  Reader(const std::string& path, const json& object, std::string prefix)
      : path_(path), object_(object), prefix_(std::move(prefix)) {}

  void allow_only(const std::set<std::string>& keys) const {
    for (const auto& item : object_.items())
      if (keys.count(item.key()) == 0) {
        std::string list;
        for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
        spec_error(path_, name(item.key()), "unknown key; allowed here: " + list);
      }
  }
  bool has(const std::string& k) const { return object_.contains(k); }
  std::string name(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }
  const json& at(const std::string& k) const { return object_.at(k); }

  void read(const std::string& k, std::string& out) const {
    if (!has(k)) return;
    if (!at(k).is_string()) spec_error(path_, name(k), "expected a string");
    out = at(k).get<std::string>();
  }
  void read(const std::string& k, bool& out) const {
    if (!has(k)) return;
    if (!at(k).is_boolean()) spec_error(path_, name(k), "expected true or false");
    out = at(k).get<bool>();
  }
  void read(const std::string& k, double& out) const {
    if (!has(k)) return;
    if (!at(k).is_number()) spec_error(path_, name(k), "expected a number");
    out = at(k).get<double>();
  }
  void read(const std::string& k, int& out, int min, int max) const {
    if (!has(k)) return;
    if (!at(k).is_number_integer() || at(k).get<long long>() < min || at(k).get<long long>() > max)
      spec_error(
          path_, name(k),
          "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    out = at(k).get<int>();
  }
  void read(const std::string& k, std::vector<std::string>& out) const {
    if (!has(k)) return;
    if (!at(k).is_array()) spec_error(path_, name(k), "expected an array of strings");
    out.clear();
    for (const auto& v : at(k)) {
      if (!v.is_string()) spec_error(path_, name(k), "expected an array of strings");
      out.push_back(v.get<std::string>());
    }
  }
  Reader object(const std::string& k) const {
    static const json kEmpty = json::object();
    if (!has(k)) return Reader(path_, kEmpty, name(k));
    if (!at(k).is_object()) spec_error(path_, name(k), "expected an object");
    return Reader(path_, at(k), name(k));
  }
  const std::string& path() const { return path_; }

 private:
  const std::string& path_;
  const json& object_;
  std::string prefix_;
};

TaskKind parse_kind(const Reader& r) {
  std::string kind;
  r.read("kind", kind);
  for (TaskKind k : {TaskKind::Gsm8k, TaskKind::MultipleChoice, TaskKind::Code,
                     TaskKind::Classification, TaskKind::Generic})
    if (kind == to_string(k)) return k;
  spec_error(r.path(), "kind",
             "'" + kind +
                 "' is not a task kind; use gsm8k, multiple-choice, code, "
                 "classification or generic");
}

ExtractorKind parse_extractor_kind(const Reader& r, ExtractorKind fallback) {
  if (!r.has("kind")) return fallback;
  std::string kind;
  r.read("kind", kind);
  for (ExtractorKind k :
       {ExtractorKind::LastNumber, ExtractorKind::ChoiceLetter, ExtractorKind::Boxed,
        ExtractorKind::Exact, ExtractorKind::Regex, ExtractorKind::CodeExec})
    if (kind == to_string(k)) return k;
  spec_error(r.path(), r.name("kind"),
             "unknown extractor '" + kind +
                 "'; use last-number, choice-letter, boxed, exact, regex or code-exec");
}

// Defaults that a kind brings; the spec overrides any of them.
void apply_kind_defaults(TaskSpec& s) {
  switch (s.kind) {
    case TaskKind::Gsm8k:
      s.category = TaskCategory::Math;
      s.fields = {{"question", "question"}, {"answer", "answer"}};
      s.prompt.user_template = "{question}";
      s.generation.max_new_tokens = 512;
      s.extractor.kind = ExtractorKind::LastNumber;
      break;
    case TaskKind::MultipleChoice:
      s.category = TaskCategory::Reasoning;
      s.fields = {{"question", "question"}, {"choices", "choices"}, {"answer", "answerKey"}};
      s.prompt.user_template = "{question}\n{choices}";
      s.generation.max_new_tokens = 256;
      s.extractor.kind = ExtractorKind::ChoiceLetter;
      break;
    case TaskKind::Code:
      s.category = TaskCategory::Code;
      s.fields = {{"prompt", "prompt"},
                  {"test", "test"},
                  {"entry_point", "entry_point"},
                  {"solution", "canonical_solution"}};
      s.prompt.user_template = "{prompt}";
      s.generation.max_new_tokens = 512;
      s.extractor.kind = ExtractorKind::CodeExec;
      s.extractor.program = "{prompt}{completion}\n\n{test}\n\ncheck({entry_point})\n";
      break;
    case TaskKind::Classification:
      s.category = TaskCategory::Other;
      s.fields = {{"text", "question"}, {"label", "label"}};
      s.labels = {"code", "math", "reasoning", "other"};
      s.prompt.system = classification_system_prompt();
      s.prompt.user_template = "{text}";
      s.generation.max_new_tokens = 64;
      s.extractor.kind = ExtractorKind::Boxed;
      s.extractor.first = true;  // paper: the first \boxed{...}
      break;
    case TaskKind::Generic:
      s.fields = {{"question", "question"}, {"answer", "answer"}};
      s.prompt.user_template = "{question}";
      s.extractor.kind = ExtractorKind::Exact;
      break;
  }
}

void read_sandbox(const Reader& r, SandboxParams& p) {
  r.allow_only({"interpreter", "args", "wall_seconds", "cpu_seconds", "memory_mb", "file_mb",
                "max_processes", "max_open_files", "require_isolation", "namespaces"});
  r.read("interpreter", p.interpreter);
  r.read("args", p.interpreter_args);
  r.read("wall_seconds", p.limits.wall_seconds);
  r.read("cpu_seconds", p.limits.cpu_seconds, 1, 3600);
  int memory_mb = static_cast<int>(p.limits.memory_bytes >> 20);
  int file_mb = static_cast<int>(p.limits.file_bytes >> 20);
  r.read("memory_mb", memory_mb, 32, 1 << 20);
  r.read("file_mb", file_mb, 0, 1 << 20);
  p.limits.memory_bytes = static_cast<std::int64_t>(memory_mb) << 20;
  p.limits.file_bytes = static_cast<std::int64_t>(file_mb) << 20;
  r.read("max_processes", p.limits.max_processes, 1, 4096);
  r.read("max_open_files", p.limits.max_open_files, 16, 65536);
  r.read("require_isolation", p.require_isolation);
  r.read("namespaces", p.use_namespaces);
  if (!(p.limits.wall_seconds > 0 && p.limits.wall_seconds <= 3600))
    spec_error(r.path(), r.name("wall_seconds"), "expected a number in (0, 3600]");
}

void read_extractor(const Reader& r, TaskSpec& s) {
  r.allow_only({"kind", "choices", "first", "trim", "case_sensitive", "pattern", "group", "program",
                "sandbox"});
  ExtractorSpec& e = s.extractor;
  e.kind = parse_extractor_kind(r, e.kind);
  r.read("choices", e.choices);
  r.read("first", e.first);
  r.read("trim", e.trim);
  r.read("case_sensitive", e.case_sensitive);
  r.read("pattern", e.pattern);
  r.read("group", e.group, 0, 99);
  r.read("program", e.program);
  read_sandbox(r.object("sandbox"), e.sandbox);
  if (e.kind == ExtractorKind::Regex) {
    if (e.pattern.empty())
      spec_error(r.path(), r.name("pattern"), "required for a regex extractor");
    try {
      extract_regex("", e.pattern, e.group);  // compiles the pattern, checks the group
    } catch (const Error& error) {
      spec_error(r.path(), r.name("pattern"), error.what());
    }
  }
  if (e.kind == ExtractorKind::CodeExec && e.program.find("{completion}") == std::string::npos)
    spec_error(r.path(), r.name("program"), "must contain {completion} (the model's code)");
  if (e.kind == ExtractorKind::ChoiceLetter && e.choices.empty())
    spec_error(r.path(), r.name("choices"), "must list at least one letter");
}

void read_data(const Reader& r, const fs::path& dir, TaskSpec& s) {
  if (!r.has("data") || !r.at("data").is_object() || r.at("data").empty())
    spec_error(r.path(), "data",
               "required: an object mapping split names to JSONL files, e.g. "
               "{\"train\": \"train.jsonl\", \"test\": \"test.jsonl\"}");
  for (const auto& item : r.at("data").items()) {
    if (!item.value().is_string() || item.value().get<std::string>().empty())
      spec_error(r.path(), "data." + item.key(), "expected a file path (relative to the spec)");
    fs::path p = item.value().get<std::string>();
    if (p.is_relative()) p = dir / p;
    s.data[item.key()] = p.lexically_normal().string();
  }
}

void read_fields(const Reader& r, TaskSpec& s) {
  const Reader f = r.object("fields");  // checks that it is an object
  if (r.has("fields"))
    for (const auto& item : r.at("fields").items()) {
      if (!item.value().is_string())
        spec_error(r.path(), f.name(item.key()), "expected the name of a key in the items");
      s.fields[item.key()] = item.value().get<std::string>();
    }
  std::string id_field;
  r.read("id_field", id_field);
  if (!id_field.empty()) s.fields["id"] = id_field;
}

TaskSpec parse_spec(const json& root, const std::string& path) {
  if (!root.is_object()) spec_error(path, "(top level)", "expected a JSON object");
  const Reader r(path, root, "");
  r.allow_only({"name", "description", "kind", "category", "data", "fields", "id_field", "labels",
                "prompt", "generation", "extractor", "reward", "metric", "comment"});
  TaskSpec s;
  s.path = path;
  r.read("name", s.name);
  if (s.name.empty()) spec_error(path, "name", "required: a short id such as \"gsm8k\"");
  if (!r.has("kind")) spec_error(path, "kind", "required");
  s.kind = parse_kind(r);
  apply_kind_defaults(s);
  r.read("description", s.description);
  if (r.has("category")) {
    std::string category;
    r.read("category", category);
    try {
      s.category = task_category_from_string(category);
    } catch (const Error& e) {
      spec_error(path, "category", e.what());
    }
  }
  read_data(r, fs::path(path).parent_path(), s);
  read_fields(r, s);
  r.read("labels", s.labels);
  for (auto& label : s.labels) label = lower_ascii(label);

  const Reader prompt = r.object("prompt");
  prompt.allow_only({"system", "user", "assistant_prefill", "chat_template"});
  prompt.read("system", s.prompt.system);
  prompt.read("user", s.prompt.user_template);
  prompt.read("assistant_prefill", s.prompt.assistant_prefill);
  prompt.read("chat_template", s.prompt.use_chat_template);
  if (s.prompt.user_template.empty()) spec_error(path, "prompt.user", "must not be empty");

  const Reader gen = r.object("generation");
  gen.allow_only({"max_new_tokens", "stop"});
  gen.read("max_new_tokens", s.generation.max_new_tokens, 1, 1 << 20);
  gen.read("stop", s.generation.stop);

  read_extractor(r.object("extractor"), s);
  const Reader reward = r.object("reward");
  reward.allow_only({"correct", "wrong", "unextractable"});
  reward.read("correct", s.reward.correct);
  reward.read("wrong", s.reward.wrong);
  s.reward.unextractable = s.reward.wrong;
  reward.read("unextractable", s.reward.unextractable);
  r.read("metric", s.metric);
  if (s.metric != "accuracy") spec_error(path, "metric", "only \"accuracy\" is supported");
  if (s.kind == TaskKind::Classification && s.labels.empty())
    spec_error(path, "labels", "a classification task needs at least one label");
  return s;
}

}  // namespace detail::tasks

Task Task::from_json(const std::string& json_text, const std::string& path) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Corrupt, path + ": not valid JSON: " + e.what());
  }
  Task task;
  task.spec_ = detail::tasks::parse_spec(root, path);
  return task;
}

Task Task::load(const std::string& spec_path) {
  std::ifstream in(spec_path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io, "cannot read task spec " + spec_path + "; check the path (" +
                                   "'t2 demo info' lists the shipped specs)");
  std::stringstream text;
  text << in.rdbuf();
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(spec_path, ec);
  return from_json(text.str(), ec ? spec_path : absolute.lexically_normal().string());
}

}  // namespace t2

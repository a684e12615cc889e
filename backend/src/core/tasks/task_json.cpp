// JSON views of specs and items (what `t2 task show --json` prints).
#include "core/tasks/spec_internal.h"

namespace t2 {

std::string to_json(const TaskSpec& s, int indent) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["description"] = s.description;
  j["path"] = s.path;
  j["kind"] = to_string(s.kind);
  j["category"] = to_string(s.category);
  j["data"] = s.data;
  j["fields"] = s.fields;
  if (!s.labels.empty()) j["labels"] = s.labels;
  j["prompt"] = {{"system", s.prompt.system},
                 {"user", s.prompt.user_template},
                 {"assistant_prefill", s.prompt.assistant_prefill},
                 {"chat_template", s.prompt.use_chat_template}};
  j["generation"] = {{"max_new_tokens", s.generation.max_new_tokens}, {"stop", s.generation.stop}};
  nlohmann::ordered_json e = {{"kind", to_string(s.extractor.kind)}};
  switch (s.extractor.kind) {
    case ExtractorKind::ChoiceLetter:
      e["choices"] = s.extractor.choices;
      break;
    case ExtractorKind::Boxed:
      e["first"] = s.extractor.first;
      break;
    case ExtractorKind::Exact:
      e["trim"] = s.extractor.trim;
      e["case_sensitive"] = s.extractor.case_sensitive;
      break;
    case ExtractorKind::Regex:
      e["pattern"] = s.extractor.pattern;
      e["group"] = s.extractor.group;
      e["first"] = s.extractor.first;
      break;
    case ExtractorKind::CodeExec: {
      const auto& sb = s.extractor.sandbox;
      e["program"] = s.extractor.program;
      e["sandbox"] = {{"interpreter", sb.interpreter},
                      {"args", sb.interpreter_args},
                      {"wall_seconds", sb.limits.wall_seconds},
                      {"cpu_seconds", sb.limits.cpu_seconds},
                      {"memory_mb", sb.limits.memory_bytes >> 20},
                      {"file_mb", sb.limits.file_bytes >> 20},
                      {"max_processes", sb.limits.max_processes},
                      {"max_open_files", sb.limits.max_open_files},
                      {"require_isolation", sb.require_isolation},
                      {"namespaces", sb.use_namespaces}};
      break;
    }
    case ExtractorKind::LastNumber:
      break;
  }
  j["extractor"] = e;
  j["reward"] = {{"correct", s.reward.correct},
                 {"wrong", s.reward.wrong},
                 {"unextractable", s.reward.unextractable}};
  j["metric"] = s.metric;
  return j.dump(indent);
}

std::string to_json(const TaskItem& item, const BuiltPrompt& prompt, int indent) {
  nlohmann::ordered_json j;
  j["id"] = item.id;
  j["line"] = item.line;
  j["gold"] = item.gold;
  if (!item.choices.empty()) j["choices"] = item.choices;
  auto messages = nlohmann::ordered_json::array();
  for (const auto& m : prompt.messages)
    messages.push_back({{"role", m.role}, {"content", m.content}});
  j["messages"] = messages;
  j["assistant_prefill"] = prompt.assistant_prefill;
  j["chat_template"] = prompt.use_chat_template;
  return j.dump(indent);
}

namespace detail::tasks {

nlohmann::ordered_json sandbox_json(const SandboxResult& r) {
  return {{"status", to_string(r.status)},
          {"message", r.message},
          {"exit_code", r.exit_code},
          {"signal", r.signal},
          {"wall_seconds", r.wall_seconds},
          {"cpu_seconds", r.cpu_seconds},
          {"stdout", r.stdout_text},
          {"stderr", r.stderr_text},
          {"stdout_truncated", r.stdout_truncated},
          {"stderr_truncated", r.stderr_truncated},
          {"protections", r.protections},
          {"missing", r.missing}};
}

}  // namespace detail::tasks

std::string to_json(const SandboxResult& result, int indent) {
  return detail::tasks::sandbox_json(result).dump(indent);
}

std::string to_json(const SandboxSupport& s, int indent) {
  nlohmann::ordered_json j = {
      {"running_as_root", s.running_as_root}, {"user_namespace", s.user_namespace},
      {"net_namespace", s.net_namespace},     {"mount_namespace", s.mount_namespace},
      {"pid_namespace", s.pid_namespace},     {"notes", s.notes}};
  return j.dump(indent);
}

std::string to_json(const Verdict& v, int indent) {
  nlohmann::ordered_json j;
  j["found"] = v.extraction.found;
  j["answer"] = v.extraction.answer;
  j["rule"] = v.extraction.rule;
  j["gold"] = v.gold;
  j["correct"] = v.correct;
  j["reward"] = v.reward;
  j["detail"] = v.detail;
  if (v.executed) j["sandbox"] = detail::tasks::sandbox_json(v.sandbox);
  return j.dump(indent);
}

}  // namespace t2

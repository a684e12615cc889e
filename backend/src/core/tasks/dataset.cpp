// Datasets: streaming JSONL (plain or gzip) into TaskItems: template fields and a gold answer,
// with errors naming the file and line.
#include "core/tasks/spec_internal.h"

#include <t2/error.h>

#include <zlib.h>

#include <cctype>
#include <memory>

namespace t2 {
namespace detail::tasks {

using nlohmann::json;

void read_lines(const std::string& path,
                const std::function<bool(const std::string&, std::int64_t)>& on_line) {
  // gzopen reads plain files as they are, so one reader serves .jsonl and .jsonl.gz.
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file)
    throw Error(ErrorKind::Io, "cannot open dataset " + path +
                                   "; check the spec's \"data\" paths (relative to the spec)");
  std::string line;
  std::int64_t number = 0;
  char buffer[1 << 16];
  for (;;) {
    const int n = gzread(file.get(), buffer, sizeof buffer);
    int code = Z_OK;
    const char* message = gzerror(file.get(), &code);
    if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {  // Z_BUF_ERROR: truncated
      throw Error(ErrorKind::Corrupt, path + ": read error after line " + std::to_string(number) +
                                          ": " + message + "; the file may be truncated");
    }
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      if (buffer[i] != '\n') {
        line.push_back(buffer[i]);
        continue;
      }
      if (!on_line(line, ++number)) return;
      line.clear();
    }
  }
  if (!line.empty()) on_line(line, ++number);
}

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

std::string substitute(const std::string& text, const std::map<std::string, std::string>& values,
                       const std::string& where) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '{') {
      std::size_t j = i + 1;
      while (j < text.size() && is_identifier_char(text[j])) ++j;
      if (j > i + 1 && j < text.size() && text[j] == '}') {
        const std::string name = text.substr(i + 1, j - i - 1);
        const auto it = values.find(name);
        if (it == values.end()) {
          std::string known;
          for (const auto& kv : values) known += (known.empty() ? "" : ", ") + kv.first;
          throw Error(ErrorKind::InvalidArgument, where + ": placeholder {" + name +
                                                      "} is not a field of the item (fields: " +
                                                      known + "); write {{ for a literal brace");
        }
        out += it->second;
        i = j;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

std::string render(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string out;
    bool scalars = true;
    for (const auto& e : v) scalars = scalars && !e.is_structured();
    if (!scalars) return v.dump();
    for (const auto& e : v) out += (out.empty() ? "" : "\n") + render(e);
    return out;
  }
  return v.dump();
}

[[noreturn]] void item_error(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::Corrupt, where + ": " + what);
}

const json& role_value(const TaskSpec& s, const json& obj, const std::string& role,
                       const std::string& where) {
  const auto f = s.fields.find(role);
  const std::string key = f == s.fields.end() ? role : f->second;
  if (!obj.contains(key))
    item_error(where, "missing key \"" + key + "\" (the task's fields." + role +
                          "); fix the data or map the field in the spec's \"fields\"");
  return obj.at(key);
}

std::string letter(std::size_t i) { return std::string(1, static_cast<char>('A' + i)); }

// Multiple choice: choices as {"text": [...], "label": [...]} (ARC) or ["...", ...];
// rendered "A. text" lines, always lettered by position. Gold: a label, a letter or a 0-based
// index, turned into the letter.
void multiple_choice(const TaskSpec& s, const json& obj, const std::string& where, TaskItem& item) {
  const json& choices = role_value(s, obj, "choices", where);
  std::vector<std::string> texts, labels;
  const json& list = choices.is_object() && choices.contains("text") ? choices.at("text") : choices;
  if (!list.is_array() || list.empty() || list.size() > 26)
    item_error(where, "choices must be a non-empty array (or {\"text\": [...], \"label\": [...]})");
  for (const auto& t : list) texts.push_back(render(t));
  if (choices.is_object() && choices.contains("label"))
    for (const auto& l : choices.at("label")) labels.push_back(render(l));
  std::string rendered, letters;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    rendered += (i ? "\n" : "") + letter(i) + ". " + texts[i];
    letters += letter(i);
  }
  item.fields["choices"] = rendered;
  item.fields["letters"] = letters;
  item.choices = letters;
  const json& answer = role_value(s, obj, "answer", where);
  if (answer.is_number_integer()) {
    const auto index = answer.get<long long>();
    if (index < 0 || index >= static_cast<long long>(texts.size()))
      item_error(where, "answer index " + std::to_string(index) + " is out of range");
    item.gold = letter(static_cast<std::size_t>(index));
    return;
  }
  const std::string key = trim(render(answer));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == key) {
      item.gold = letter(i);
      return;
    }
  if (key.size() == 1 && letters.find(key[0]) != std::string::npos) {
    item.gold = key;
    return;
  }
  item_error(where, "answer \"" + key + "\" is neither a choice label nor a letter A-" +
                        letter(texts.size() - 1));
}

void gold_for_kind(const TaskSpec& s, const json& obj, const std::string& where, TaskItem& item) {
  switch (s.kind) {
    case TaskKind::Gsm8k: {
      const std::string answer = render(role_value(s, obj, "answer", where));
      const auto mark = answer.rfind("####");
      if (mark == std::string::npos) item_error(where, "the answer has no final \"#### N\" line");
      item.gold = canonical_number(answer.substr(mark + 4));
      if (item.gold.empty())
        item_error(where, "the text after \"####\" is not a number: " + answer.substr(mark + 4));
      role_value(s, obj, "question", where);
      return;
    }
    case TaskKind::MultipleChoice:
      role_value(s, obj, "question", where);
      return multiple_choice(s, obj, where, item);
    case TaskKind::Code:
      for (const char* role : {"prompt", "test", "entry_point"}) role_value(s, obj, role, where);
      if (auto it = s.fields.find("solution"); it != s.fields.end() && obj.contains(it->second))
        item.gold = render(obj.at(it->second));
      return;
    case TaskKind::Classification: {
      item.gold = lower_ascii(trim(render(role_value(s, obj, "label", where))));
      for (const auto& l : s.labels)
        if (l == item.gold) return;
      item_error(where, "label \"" + item.gold + "\" is not one of the spec's labels");
    }
    case TaskKind::Generic: {
      item.gold = trim(render(role_value(s, obj, "answer", where)));
      if (s.extractor.kind == ExtractorKind::LastNumber) {
        const std::string number = canonical_number(item.gold);
        if (number.empty()) item_error(where, "answer \"" + item.gold + "\" is not a number");
        item.gold = number;
      }
      return;
    }
  }
}

}  // namespace detail::tasks

TaskItem Task::make_item(const std::string& json_line, const std::string& id,
                         const std::string& where) const {
  using namespace detail::tasks;
  json obj;
  try {
    obj = json::parse(json_line);
  } catch (const json::parse_error& e) {
    item_error(where, std::string("invalid JSON: ") + e.what());
  }
  if (!obj.is_object()) item_error(where, "expected a JSON object per line");
  TaskItem item;
  item.id = id;
  for (const auto& kv : obj.items()) item.fields[kv.key()] = render(kv.value());
  for (const auto& [role, key] : spec_.fields)  // roles usable as placeholders too
    if (obj.contains(key) && item.fields.count(role) == 0) item.fields[role] = render(obj.at(key));
  if (auto it = spec_.fields.find("id"); it != spec_.fields.end() && obj.contains(it->second))
    item.id = render(obj.at(it->second));
  gold_for_kind(spec_, obj, where, item);
  return item;
}

std::vector<TaskItem> Task::load_split(const std::string& split, std::size_t limit,
                                       const JobContext& job) const {
  const auto it = spec_.data.find(split);
  if (it == spec_.data.end()) {
    std::string known;
    for (const auto& kv : spec_.data) known += (known.empty() ? "" : ", ") + kv.first;
    throw Error(ErrorKind::InvalidArgument,
                spec_.path + ": no split \"" + split + "\" in \"data\" (splits: " + known + ")");
  }
  std::vector<TaskItem> items;
  detail::tasks::read_lines(it->second, [&](const std::string& line, std::int64_t number) {
    if (detail::tasks::trim(line).empty()) return true;
    const std::string where = it->second + ":" + std::to_string(number);
    items.push_back(make_item(line, split + ":" + std::to_string(number), where));
    items.back().line = number;
    if (items.size() % 1024 == 0) {
      job.throw_if_cancelled();
      job.report("load", 0.0, std::to_string(items.size()) + " items from " + it->second);
    }
    return limit == 0 || items.size() < limit;
  });
  job.report("load", 1.0, std::to_string(items.size()) + " items from " + it->second);
  return items;
}

}  // namespace t2

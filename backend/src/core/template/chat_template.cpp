// t2::ChatTemplate: loads a model's chat template and renders it with the variables and global
// functions Hugging Face transformers passes (apply_chat_template).
#include <t2/chat_template.h>
#include <t2/error.h>

#include "core/template/builtins.h"
#include "core/template/interpreter.h"
#include "core/template/lexer.h"
#include "core/template/parser.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace t2 {

using namespace t2::detail::jinja;

struct ChatTemplate::Impl {
  std::string source;
  std::optional<std::string> bos;
  std::optional<std::string> eos;
  std::vector<StmtPtr> program;
};

namespace detail::jinja {
namespace {

constexpr std::int64_t kMaxRange = 100'000;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A special token in tokenizer_config.json: a string, an AddedToken dict, or null/absent.
std::optional<std::string> special_token(const nlohmann::json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

std::string pick_template(const nlohmann::json& value, const std::string& file) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string names;
    for (const auto& entry : value) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template")) continue;
      if (entry["name"] == "default" && entry["template"].is_string())
        return entry["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + entry["name"].dump();
    }
    throw Error(ErrorKind::Unsupported, file + ": chat_template lists named templates (" + names +
                                            ") but none named \"default\"");
  }
  throw Error(ErrorKind::Corrupt, file +
                                      ": chat_template must be a string or a list of "
                                      "{name, template}");
}

// The template source of a model folder: tokenizer_config.json's chat_template, else the
// newer separate files chat_template.jinja / chat_template.json.
std::string find_template(const std::filesystem::path& dir, const nlohmann::json& config,
                          const std::string& config_file) {
  if (config.contains("chat_template") && !config["chat_template"].is_null())
    return pick_template(config["chat_template"], config_file);
  if (std::filesystem::exists(dir / "chat_template.jinja"))
    return read_file(dir / "chat_template.jinja");
  const auto json_file = dir / "chat_template.json";
  if (std::filesystem::exists(json_file)) {
    const auto j = nlohmann::json::parse(read_file(json_file), nullptr, false);
    if (j.is_object() && j.contains("chat_template"))
      return pick_template(j["chat_template"], json_file.string());
  }
  throw Error(ErrorKind::Unsupported,
              config_file +
                  " has no chat_template (and there is no chat_template.jinja); this "
                  "model is not a chat model, or its template ships separately");
}

std::int64_t int_arg(const CallArgs& a, std::size_t i) {
  const Value& v = a.positional[i];
  if (v.kind != Kind::Int) render_fail("range() arguments must be integers, not " + type_name(v));
  return v.i;
}

Value range_fn(const CallArgs& a) {
  if (a.positional.empty() || a.positional.size() > 3)
    render_fail("range() takes 1 to 3 arguments");
  std::int64_t start = 0, stop = 0, step = 1;
  if (a.positional.size() == 1) {
    stop = int_arg(a, 0);
  } else {
    start = int_arg(a, 0);
    stop = int_arg(a, 1);
    if (a.positional.size() == 3) step = int_arg(a, 2);
  }
  if (step == 0) render_fail("range() step must not be zero");
  List items;
  for (std::int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
    if (static_cast<std::int64_t>(items.size()) >= kMaxRange)
      render_fail("range() longer than " + std::to_string(kMaxRange) + " items");
    items.push_back(Value::integer(k));
  }
  return Value::make_list(items);
}

Value dict_fn(const CallArgs& a, bool is_namespace) {
  Value d = Value::make_dict();
  d.dict->is_namespace = is_namespace;
  for (const auto& p : a.positional) {
    if (p.kind != Kind::Dict) render_fail("namespace()/dict() positional arguments must be dicts");
    for (const auto& [k, v] : p.dict->entries) d.dict->set(k, v);
  }
  for (const auto& [k, v] : a.keyword) d.dict->set(k, v);
  return d;
}

Value strftime_fn(const CallArgs& a, const ChatTemplateOptions& options) {
  if (a.positional.empty() || !a.positional[0].is_string())
    render_fail("strftime_now() needs a format string");
  const auto now = options.now ? options.now() : std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[512];
  const std::size_t n = std::strftime(buf, sizeof buf, a.positional[0].s.c_str(), &tm);
  if (n == 0 && !a.positional[0].s.empty())
    render_fail("strftime_now(): format too long or empty result");
  return Value::string(std::string(buf, n));
}

ScopePtr make_globals(const Value& messages, const Value& extra, const ChatTemplateOptions& options,
                      const std::optional<std::string>& bos,
                      const std::optional<std::string>& eos) {
  auto g = std::make_shared<Scope>();
  auto& v = g->vars;
  v["range"] = Value::callable(range_fn);
  v["namespace"] = Value::callable([](const CallArgs& a) { return dict_fn(a, true); });
  v["dict"] = Value::callable([](const CallArgs& a) { return dict_fn(a, false); });
  v["raise_exception"] = Value::callable([](const CallArgs& a) -> Value {
    throw RenderError{ErrorKind::InvalidArgument,
                      a.positional.empty() ? "" : to_str(a.positional[0]), true};
  });
  v["strftime_now"] =
      Value::callable([options](const CallArgs& a) { return strftime_fn(a, options); });
  v["messages"] = messages;
  v["tools"] = Value::none();  // transformers passes tools=None and documents=None by default
  v["documents"] = Value::none();
  v["add_generation_prompt"] = Value::boolean(options.add_generation_prompt);
  if (bos) v["bos_token"] = Value::string(*bos);
  if (eos) v["eos_token"] = Value::string(*eos);
  for (const auto& [k, x] : extra.dict->entries) v[k] = x;
  return g;
}

}  // namespace
}  // namespace detail::jinja

ChatTemplate::ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::from_string(std::string source, std::optional<std::string> bos_token,
                                       std::optional<std::string> eos_token) {
  auto impl = std::make_shared<Impl>();
  impl->program = parse(tokenize(source));
  impl->source = std::move(source);
  impl->bos = std::move(bos_token);
  impl->eos = std::move(eos_token);
  return ChatTemplate(impl);
}

ChatTemplate ChatTemplate::from_model_dir(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "tokenizer_config.json";
  if (!std::filesystem::exists(path))
    throw Error(ErrorKind::Io, path.string() +
                                   " not found; the model folder needs the tokenizer "
                                   "files of its Hugging Face repository");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(detail::jinja::read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Corrupt, path.string() + " is not valid JSON (at byte " +
                                        std::to_string(e.byte) + "): " + e.what());
  }
  if (!config.is_object()) throw Error(ErrorKind::Corrupt, path.string() + " is not a JSON object");
  std::string source = detail::jinja::find_template(dir, config, path.string());
  try {
    return from_string(std::move(source), detail::jinja::special_token(config, "bos_token"),
                       detail::jinja::special_token(config, "eos_token"));
  } catch (const Error& e) {
    throw Error(e.kind(), path.string() + ": " + e.what());
  }
}

std::string ChatTemplate::render(const std::string& messages_json,
                                 const ChatTemplateOptions& options) const {
  const Value messages = from_json_text(messages_json, "the messages");
  if (messages.kind != Kind::List)
    throw Error(ErrorKind::InvalidArgument,
                "the messages must be a JSON list of {\"role\", \"content\"} objects");
  const Value extra = from_json_text(options.extra_variables_json, "the extra template variables");
  if (extra.kind != Kind::Dict)
    throw Error(ErrorKind::InvalidArgument, "the extra template variables must be a JSON object");
  auto globals = make_globals(messages, extra, options, impl_->bos, impl_->eos);
  try {
    std::string out = Interpreter().render(impl_->program, globals);
    globals->vars.clear();  // break reference cycles through macro closures
    return out;
  } catch (const RenderError& r) {  // not expected: statements add their location
    globals->vars.clear();
    throw Error(r.kind, "chat template error: " + r.message);
  } catch (...) {
    globals->vars.clear();
    throw error_from_current_exception();  // bad_alloc -> OutOfMemory, others -> Internal
  }
}

ChatRequest parse_chat_request(const std::string& json_text, const std::string& what) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Corrupt,
                what + " is not valid JSON (at byte " + std::to_string(e.byte) + "): " + e.what());
  }
  const std::string shape =
      "; expected a list of {\"role\", \"content\"} messages or an object "
      "{\"messages\": [...], other keys = template variables}";
  ChatRequest request;
  if (j.is_array()) {
    request.messages_json = j.dump();
    return request;
  }
  if (!j.is_object() || !j.contains("messages"))
    throw Error(ErrorKind::InvalidArgument, what + " has no messages" + shape);
  if (!j["messages"].is_array())
    throw Error(ErrorKind::InvalidArgument, what + ": \"messages\" is not a list" + shape);
  request.messages_json = j["messages"].dump();
  j.erase("messages");
  request.extra_variables_json = j.dump();
  return request;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 const ChatTemplateOptions& options) const {
  return render(to_messages_json(messages), options);
}

std::string to_messages_json(const std::vector<ChatMessage>& messages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::string& ChatTemplate::source() const { return impl_->source; }
const std::optional<std::string>& ChatTemplate::bos_token() const { return impl_->bos; }
const std::optional<std::string>& ChatTemplate::eos_token() const { return impl_->eos; }

}  // namespace t2

// Chat templates: renders a model's tokenizer_config.json `chat_template` (a Jinja template) the
// way Hugging Face transformers' apply_chat_template does (trim_blocks, lstrip_blocks, no
// trailing newline kept, the loopcontrols extension, raise_exception and strftime_now globals,
// transformers' tojson). A torch-free interpreter of the Jinja subset that real chat templates
// use; see backend/README.md ("Chat templates") for the supported subset.
//
// Errors (all t2::Error): syntax the interpreter does not implement -> Unsupported, naming the
// construct and its line:column; a malformed template -> Corrupt; an error while rendering
// (undefined attribute access, type error, the template's raise_exception) -> InvalidArgument,
// with the template's own message and its line.
//
// Thread-safety: a ChatTemplate is immutable after construction; render() may be called from
// several threads at once.
#pragma once

#include <t2/chat_message.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2 {

// One message of a plain conversation (no tool calls or other fields; use JSON for those).
// [{"role": …, "content": …}, …] as JSON text, for ChatTemplate::render.
std::string to_messages_json(const std::vector<ChatMessage>& messages);

struct ChatTemplateOptions {
  bool add_generation_prompt = true;        // the `add_generation_prompt` variable
  std::string extra_variables_json = "{}";  // JSON object: more variables (enable_thinking, tools…)
  // Clock used by strftime_now(); empty = the system clock. Tests inject a fixed time.
  std::function<std::chrono::system_clock::time_point()> now;
};

// A chat request as the `t2 template` command and the GUI read it: either a JSON list of
// messages, or an object {"messages": [...], other keys = extra template variables such as
// enable_thinking or tools}. Splits it into the two JSON texts ChatTemplate::render takes.
// Throws Corrupt for malformed JSON (naming `what` and the line/column) and InvalidArgument for
// any other shape.
struct ChatRequest {
  std::string messages_json = "[]";
  std::string extra_variables_json = "{}";
};
ChatRequest parse_chat_request(const std::string& json_text, const std::string& what);

class ChatTemplate {
 public:
  // Reads DIR/tokenizer_config.json: `chat_template` (a string, or a list of {name, template}
  // from which "default" is taken) and bos_token / eos_token (a string or an AddedToken dict
  // {"content": ...}; null or absent leaves the variable undefined). Io if the file is missing,
  // Corrupt if it is not JSON, Unsupported if it has no chat template.
  static ChatTemplate from_model_dir(const std::string& dir);

  // Parses `source` now (syntax errors surface here, not at render time).
  static ChatTemplate from_string(std::string source,
                                  std::optional<std::string> bos_token = std::nullopt,
                                  std::optional<std::string> eos_token = std::nullopt);

  // messages_json: a JSON list of message objects ({"role", "content", and any other field the
  // template reads: tool_calls, reasoning_content…}). Returns the prompt text exactly (UTF-8).
  std::string render(const std::string& messages_json,
                     const ChatTemplateOptions& options = {}) const;
  std::string render(const std::vector<ChatMessage>& messages,
                     const ChatTemplateOptions& options = {}) const;

  const std::string& source() const;
  const std::optional<std::string>& bos_token() const;
  const std::optional<std::string>& eos_token() const;

  ChatTemplate(const ChatTemplate&);
  ChatTemplate& operator=(const ChatTemplate&);
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

 private:
  struct Impl;
  explicit ChatTemplate(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace t2

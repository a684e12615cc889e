// One message of a chat conversation (shared by task prompts and chat templates).
#pragma once

#include <string>

namespace t2 {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool"…
  std::string content;  // UTF-8 text
};

}  // namespace t2

// render_task_prompt: one place that turns a task prompt into model input text.
#include <t2/chat_template.h>
#include <t2/tasks.h>

namespace t2 {

RenderedPrompt render_task_prompt(const BuiltPrompt& prompt, const ChatTemplate* chat_template) {
  RenderedPrompt out;
  if (chat_template == nullptr || !prompt.use_chat_template) {
    out.text = prompt.plain_text();
    out.add_special_tokens = true;
    return out;
  }
  ChatTemplateOptions options;
  options.add_generation_prompt = true;
  out.text = chat_template->render(prompt.messages, options) + prompt.assistant_prefill;
  out.add_special_tokens = false;
  return out;
}

}  // namespace t2

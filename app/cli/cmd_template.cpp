// `t2 template`: renders a model's chat template for a conversation, exactly as Hugging Face
// transformers' apply_chat_template(tokenize=False) would.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace t2::cli {
namespace {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorKind::Io, "cannot read the messages file '" + path + "'; check the path");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ids_json(const std::string& rendered, const std::vector<std::int32_t>& ids) {
  nlohmann::ordered_json out;
  out["rendered"] = rendered;
  out["ids"] = ids;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void add_template_command(CLI::App& app, const GlobalOptions&, const Runner*& chosen) {
  struct Options {
    std::string model_dir;
    std::string messages_file;
    bool no_generation_prompt = false;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "template",
      "Render the model's chat template (tokenizer_config.json) for a conversation, "
      "as transformers' apply_chat_template does; prints the prompt exactly");
  sub->add_option("MODEL_DIR", opts->model_dir, "Model folder with tokenizer_config.json")
      ->required();
  sub->add_option("--messages", opts->messages_file,
                  "JSON file: a list of {role, content} messages, or {\"messages\": [...], other "
                  "keys = template variables such as enable_thinking or tools}")
      ->required();
  sub->add_flag("--no-generation-prompt", opts->no_generation_prompt,
                "Set add_generation_prompt=false (default: true)");
  sub->add_flag("--json", opts->json,
                "Print {\"rendered\": ..., \"ids\": [...]} with the tokenizer's ids "
                "(encode without special tokens)");

  auto runner = std::make_shared<Runner>([opts]() {
    const ChatRequest request = parse_chat_request(
        read_text_file(opts->messages_file), "the messages file '" + opts->messages_file + "'");
    const ChatTemplate tmpl = ChatTemplate::from_model_dir(opts->model_dir);
    ChatTemplateOptions options;
    options.add_generation_prompt = !opts->no_generation_prompt;
    options.extra_variables_json = request.extra_variables_json;
    const std::string rendered = tmpl.render(request.messages_json, options);
    if (opts->json) {
      std::cout << ids_json(rendered, Tokenizer::from_model_dir(opts->model_dir)
                                          .encode(rendered, /*add_special_tokens=*/false))
                << "\n";
    } else {
      std::cout << rendered;
    }
    std::cout.flush();
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

// `t2 tokenize`: encode text with a model directory's tokenizer.json and decode it back, as
// Hugging Face's encode(text, add_special_tokens=False) and decode(ids) do.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>

namespace t2::cli {
namespace {

using json = nlohmann::json;

std::string quoted(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

void print_result(const Tokenizer& tokenizer, const std::string& text, bool as_json) {
  const std::vector<std::int32_t> ids = tokenizer.encode(text, false);
  const std::string decoded = tokenizer.decode(ids);
  if (as_json) {
    nlohmann::ordered_json line = {{"ids", ids}, {"decoded", decoded}};
    std::cout << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
    return;
  }
  std::cout << "text:    " << quoted(text) << "\n";
  std::cout << "ids (" << ids.size() << "):";
  for (auto id : ids) std::cout << ' ' << id;
  std::cout << "\npieces: ";
  for (auto id : ids) std::cout << ' ' << quoted(tokenizer.token_to_piece(id));
  std::cout << "\ndecoded: " << quoted(decoded) << "\n\n";
}

// Each non-empty line of `path` must be a JSON object with a string "text".
void run_jsonl(const Tokenizer& tokenizer, const std::string& path, bool as_json) {
  std::ifstream in(path);
  if (!in) {
    throw Error(ErrorKind::Io, "cannot read JSONL file '" + path + "'; check the path");
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json item;
    try {
      item = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Corrupt, path + ":" + std::to_string(number) + ": not valid JSON (" +
                                          e.what() + "); each line must be {\"text\": \"...\"}");
    }
    if (!item.is_object() || !item.contains("text") || !item["text"].is_string()) {
      throw Error(ErrorKind::Corrupt, path + ":" + std::to_string(number) +
                                          ": expected an object with a string \"text\"");
    }
    print_result(tokenizer, item["text"].get<std::string>(), as_json);
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app, const GlobalOptions& /*global*/, const Runner*& chosen) {
  struct Options {
    std::string model_dir;
    std::string text;
    std::string jsonl;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "tokenize",
      "Encode text with MODEL_DIR/tokenizer.json and decode it back (ids as Hugging "
      "Face encode(text, add_special_tokens=False), text as decode(ids))");
  sub->add_option("MODEL_DIR", opts->model_dir, "Model directory with tokenizer.json")->required();
  auto* text = sub->add_option("--text", opts->text, "Text to tokenize");
  auto* jsonl = sub->add_option("--jsonl", opts->jsonl,
                                "JSONL file, one {\"text\": ...} per line; one result per line");
  text->excludes(jsonl);
  sub->add_flag("--json", opts->json,
                "Print one JSON line {\"ids\": [...], \"decoded\": ...} "
                "per input");

  auto runner = std::make_shared<Runner>([opts, text, jsonl]() {
    if (text->count() == 0 && jsonl->count() == 0) {
      throw Error(ErrorKind::InvalidArgument, "give --text TEXT or --jsonl FILE");
    }
    const Tokenizer tokenizer = Tokenizer::from_model_dir(opts->model_dir);
    if (text->count() != 0) {
      print_result(tokenizer, opts->text, opts->json);
    } else {
      run_jsonl(tokenizer, opts->jsonl, opts->json);
    }
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

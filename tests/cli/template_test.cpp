// End-to-end tests of `t2 template`: renders must equal the committed goldens of the reference
// implementation (tests/fixtures/template/goldens, see make_goldens.mjs), byte for byte, with no
// extra newline; errors go to stderr with exit code 1.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

ProcessResult t2(const std::string& args) { return run_process(shell_quote(T2_CLI) + " " + args); }

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

Json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

fs::path work_dir() {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "cli_template";
  fs::create_directories(dir);
  return dir;
}

// A model folder holding only a tokenizer_config.json with the golden's template and tokens.
fs::path model_dir_for(const Json& golden) {
  const fs::path dir = work_dir() / golden["model"].get<std::string>();
  fs::create_directories(dir);
  Json config;
  config["bos_token"] = golden["bos_token"];
  config["eos_token"] = golden["eos_token"];
  config["chat_template"] = golden["template"];
  write(dir / "tokenizer_config.json", config.dump(1));
  return dir;
}

Json golden(const std::string& model) {
  return read_json(fs::path(T2_FIXTURES_DIR) / "template" / "goldens" / (model + ".json"));
}

const Json& find_case(const Json& g, const std::string& name) {
  for (const auto& c : g["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

std::string expected_render(const Json& c) {
  return c.contains("rendered_transformers") ? c["rendered_transformers"].get<std::string>()
                                             : c["rendered"].get<std::string>();
}

// Writes the case's messages file (object form when it has extra variables) and returns the
// arguments for `t2 template`.
std::string args_for(const Json& g, const Json& c, const std::string& file_name) {
  const fs::path file = work_dir() / file_name;
  if (c["extra"].empty()) {
    write(file, c["messages"].dump(2));
  } else {
    Json request = c["extra"];
    request["messages"] = c["messages"];
    write(file, request.dump(2));
  }
  std::string args = "template " + shell_quote(model_dir_for(g).string()) + " --messages " +
                     shell_quote(file.string());
  if (!c["add_generation_prompt"].get<bool>()) args += " --no-generation-prompt";
  return args;
}

}  // namespace

TEST(CliTemplate, RendersGoldensExactly) {
  const std::pair<const char*, const char*> cases[] = {
      {"qwen3", "tool_calls_roundtrip/gen"},    // tools as an extra variable (object form)
      {"qwen3", "enable_thinking_false/gen"},   // enable_thinking as an extra variable
      {"llama3_1", "system_multi_turn/nogen"},  // --no-generation-prompt
      {"llama3", "unicode/gen"},
      {"gemma3", "content_parts/gen"},
  };
  int k = 0;
  for (const auto& [model, name] : cases) {
    const Json g = golden(model);
    const Json& c = find_case(g, name);
    const auto r = t2(args_for(g, c, "case" + std::to_string(k++) + ".json"));
    EXPECT_EQ(r.exit_code, 0) << model << " " << name << ": " << r.err;
    EXPECT_EQ(r.out, expected_render(c)) << model << " " << name;
    EXPECT_EQ(r.err, "") << model << " " << name;
  }
}

// --json needs the model's tokenizer.json too: use the real Llama 3.1 Instruct files from npm.
TEST(CliTemplate, JsonPrintsRenderedAndTheTokenizersIds) {
  const fs::path dir = fs::path(T2_NPM_REFS_DIR) / "tokenizer-llama3_1" / "package" / "models";
  if (!fs::exists(dir / "tokenizer.json"))
    GTEST_SKIP() << "needs the npm reference files: tests/fixtures/fetch_npm_refs.sh "
                 << T2_NPM_REFS_DIR;
  const fs::path file = work_dir() / "json_case.json";
  write(file, R"([{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "What is 2+2?"}])");
  const auto r = t2("template " + shell_quote(dir.string()) + " --messages " +
                    shell_quote(file.string()) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json out = Json::parse(r.out);
  const std::string rendered = out["rendered"].get<std::string>();
  EXPECT_EQ(rendered.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>", 0), 0u)
      << rendered;
  // Llama 3's special tokens are single ids in its vocabulary.
  const std::vector<int> ids = out["ids"].get<std::vector<int>>();
  ASSERT_GE(ids.size(), 10u);
  EXPECT_EQ(ids[0], 128000);                                 // <|begin_of_text|>
  EXPECT_EQ(ids[1], 128006);                                 // <|start_header_id|>
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128009), 2);  // <|eot_id|> after each message
  // The same ids as `t2 tokenize` gives for the rendered text.
  const fs::path text = work_dir() / "rendered.jsonl";
  write(text, Json{{"text", rendered}}.dump() + "\n");
  const auto tok = t2("tokenize " + shell_quote(dir.string()) + " --jsonl " +
                      shell_quote(text.string()) + " --json");
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  EXPECT_EQ(Json::parse(tok.out)["ids"].get<std::vector<int>>(), ids);
}

TEST(CliTemplate, MissingMessagesFile) {
  const Json g = golden("llama3");
  const auto r = t2("template " + shell_quote(model_dir_for(g).string()) + " --messages " +
                    shell_quote((work_dir() / "does-not-exist.json").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "does-not-exist.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot read")) << r.err;
}

TEST(CliTemplate, MalformedJsonNamesThePosition) {
  const Json g = golden("llama3");
  const fs::path file = work_dir() / "malformed.json";
  write(file, "[\n  {\"role\": \"user\", \"content\": \"hi\",}\n]");
  const auto r = t2("template " + shell_quote(model_dir_for(g).string()) + " --messages " +
                    shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "malformed.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "line 2, column 36")) << r.err;
}

TEST(CliTemplate, TemplateErrorsAndBadModelFolders) {
  const Json g = golden("gemma3");
  const fs::path file = work_dir() / "not_alternating.json";
  write(file, R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])");
  auto r = t2("template " + shell_quote(model_dir_for(g).string()) + " --messages " +
              shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "Conversation roles must alternate")) << r.err;
  EXPECT_TRUE(contains(r.err, "line 19")) << r.err;

  r = t2("template " + shell_quote((work_dir() / "no-model").string()) + " --messages " +
         shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "tokenizer_config.json")) << r.err;

  const fs::path broken = work_dir() / "broken-template";
  fs::create_directories(broken);
  write(broken / "tokenizer_config.json", R"({"chat_template": "{% if x %}\n{% include 'y' %}"})");
  r = t2("template " + shell_quote(broken.string()) + " --messages " + shell_quote(file.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "unsupported")) << r.err;
  EXPECT_TRUE(contains(r.err, "include")) << r.err;
  EXPECT_TRUE(contains(r.err, "line 2")) << r.err;

  const fs::path object = work_dir() / "no_messages_key.json";
  write(object, R"({"msgs": []})");
  r = t2("template " + shell_quote(model_dir_for(g).string()) + " --messages " +
         shell_quote(object.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "has no messages")) << r.err;
}

TEST(CliTemplate, UsageErrors) {
  const auto r = t2("template");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "MODEL_DIR")) << r.err;
}

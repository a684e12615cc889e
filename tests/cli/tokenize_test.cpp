// End-to-end tests of `t2 tokenize`: JSON lines, the readable form, agreement with the
// reference goldens on a real tokenizer, and clear errors with non-zero exit codes.
#include "process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;

ProcessResult t2(const std::string& args) { return run_process(shell_quote(T2_CLI) + " " + args); }

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string scratch(const std::string& name) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/cli_tokenize_" + name;
  std::system(("mkdir -p " + shell_quote(dir)).c_str());
  return dir;
}

// A byte-level BPE with a, b, ab, "Ġ" (space) and "Ġa"; merges (a b), (Ġ a).
std::string tiny_model_dir() {
  const std::string dir = scratch("tiny");
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const json tokenizer = {
      {"added_tokens", json::array({{{"id", 5}, {"content", "<eos>"}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"model",
       {{"type", "BPE"},
        {"vocab",
         {{"a", 0},
          {"b", 1},
          {"ab", 2},
          {"\xC4\xA0", 3},
          {"\xC4\xA0"
           "a",
           4}}},
        {"merges", {"a b", "\xC4\xA0 a"}}}},
      {"post_processor", nullptr},
      {"decoder", byte_level}};
  std::ofstream(dir + "/tokenizer.json") << tokenizer.dump();
  return dir;
}

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  return lines;
}

TEST(CliTokenize, TextToJsonLine) {
  auto r = t2("tokenize " + shell_quote(tiny_model_dir()) + " --text 'ab a<eos>' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["ids"], json({2, 4, 5}));
  EXPECT_EQ(lines[0]["decoded"], "ab a<eos>");
  EXPECT_EQ(r.out.rfind("{\"ids\":", 0), 0u) << "ids come first: " << r.out;
}

TEST(CliTokenize, ReadableFormShowsIdsAndPieces) {
  auto r = t2("tokenize " + shell_quote(tiny_model_dir()) + " --text 'ab a'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ids (2): 2 4")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "\"ab\" \"\xC4\xA0"
                       "a\""))
      << r.out;
  EXPECT_TRUE(contains(r.out, "decoded: \"ab a\"")) << r.out;
}

TEST(CliTokenize, JsonlMatchesReferenceGoldensOnRealTokenizer) {
  const std::string model_dir = std::string(T2_NPM_REFS_DIR) + "/tokenizer-llama3_1/package/models";
  struct stat st {};
  if (::stat((model_dir + "/tokenizer.json").c_str(), &st) != 0) {
    GTEST_SKIP() << "run tests/fixtures/fetch_npm_refs.sh " << T2_NPM_REFS_DIR;
  }
  std::ifstream goldens(std::string(T2_FIXTURES_DIR) + "/tokenizer/goldens/llama3_1.jsonl");
  std::string line;
  std::getline(goldens, line);  // header
  std::vector<json> expected;
  const std::string input = scratch("jsonl") + "/input.jsonl";
  {
    std::ofstream out(input);
    while (std::getline(goldens, line) && expected.size() < 60) {
      expected.push_back(json::parse(line));
      out << json({{"text", expected.back()["text"]}}).dump() << "\n";
      if (expected.size() == 3) out << "\n";  // blank lines are skipped
    }
  }
  auto r = t2("tokenize " + shell_quote(model_dir) + " --jsonl " + shell_quote(input) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), expected.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["ids"], expected[i]["ids"]) << expected[i]["text"];
    EXPECT_EQ(lines[i]["decoded"], expected[i].value("decoded", expected[i]["text"]))
        << expected[i]["text"];
  }
}

TEST(CliTokenize, BadInputIsAClearError) {
  const std::string missing = std::string(T2_TEST_OUTPUT_DIR) + "/cli_tokenize_missing_dir";
  auto r = t2("tokenize " + shell_quote(missing) + " --text hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, missing)) << r.err;
  EXPECT_EQ(r.out, "");

  const std::string broken = scratch("broken");
  std::ofstream(broken + "/tokenizer.json") << "{\"model\": {\"type\": \"BPE\", ";
  r = t2("tokenize " + shell_quote(broken) + " --text hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "tokenizer.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "not valid JSON")) << r.err;

  const std::string jsonl = scratch("badline") + "/input.jsonl";
  std::ofstream(jsonl) << "{\"text\": \"ab\"}\n{\"text\": oops}\n";
  r = t2("tokenize " + shell_quote(tiny_model_dir()) + " --jsonl " + shell_quote(jsonl) +
         " --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, jsonl + ":2:")) << r.err;
  EXPECT_EQ(json_lines(r.out).size(), 1u) << "the good first line is printed: " << r.out;

  std::ofstream(jsonl) << "{\"prompt\": \"ab\"}\n";
  r = t2("tokenize " + shell_quote(tiny_model_dir()) + " --jsonl " + shell_quote(jsonl));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, ":1:")) << r.err;
  EXPECT_TRUE(contains(r.err, "\"text\"")) << r.err;

  r = t2("tokenize " + shell_quote(tiny_model_dir()));
  EXPECT_EQ(r.exit_code, 1);  // the command's own check (an InvalidArgument error), not CLI11's
  EXPECT_TRUE(contains(r.err, "--text")) << r.err;
  r = t2("tokenize " + shell_quote(tiny_model_dir()) + " --text a --jsonl " + shell_quote(jsonl));
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace

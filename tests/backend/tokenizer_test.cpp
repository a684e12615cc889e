// Tokenizer behaviour on tiny hand-written tokenizer.json files, with hand-computed results:
// merge ranks and ties, ignore_merges, byte-level and byte-fallback paths, added-token flags,
// Split behaviors, Metaspace, post-processing, decoders, configuration, errors, threads.
#include "tokenizer_test_support.h"

#include <t2/error.h>
#include <t2/tokenizer.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using Ids = std::vector<std::int32_t>;

// Writes tokenizer.json (and tokenizer_config.json unless null) into a fresh directory.
std::string write_model_dir(const std::string& name, const json& tokenizer,
                            const json& config = nullptr) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/tokenizer_" + name;
  std::remove((dir + "/tokenizer_config.json").c_str());
  std::system(("mkdir -p '" + dir + "'").c_str());
  std::ofstream(dir + "/tokenizer.json") << tokenizer.dump();
  if (!config.is_null()) std::ofstream(dir + "/tokenizer_config.json") << config.dump();
  return dir;
}

json bpe(json vocab, json merges) {
  return {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)}};
}

json tokenizer_json(json model, json normalizer = nullptr, json pre_tokenizer = nullptr,
                    json decoder = nullptr, json added = json::array(),
                    json post_processor = nullptr) {
  return {{"version", "1.0"},         {"added_tokens", std::move(added)},
          {"normalizer", normalizer}, {"pre_tokenizer", pre_tokenizer},
          {"model", model},           {"post_processor", post_processor},
          {"decoder", decoder}};
}

t2::Tokenizer load(const std::string& name, const json& tokenizer, const json& config = nullptr) {
  return t2::Tokenizer::from_model_dir(write_model_dir(name, tokenizer, config));
}

json byte_level(bool use_regex = true) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", use_regex}};
}

// "Ġ" is GPT-2's byte-level character for a space.
const json kByteVocab = {{"a", 0},
                         {"b", 1},
                         {"c", 2},
                         {"ab", 3},
                         {"abc", 4},
                         {"\xC4\xA0", 5},
                         {"\xC4\xA0"
                          "a",
                          6},
                         {".", 7}};

TEST(Tokenizer, MergesApplyLowestRankFirst) {
  auto t = load("ranks", tokenizer_json(bpe(kByteVocab, {"a b", "ab c", "\xC4\xA0 a"}), nullptr,
                                        byte_level(), byte_level()));
  EXPECT_EQ(t.encode("abc"), (Ids{4}));
  // " ab": "Ġ a b"; (a,b) has rank 0 and wins over (Ġ,a) with rank 2.
  EXPECT_EQ(t.encode("ab ab"), (Ids{3, 5, 3}));
  EXPECT_EQ(t.encode(" a"), (Ids{6}));
  EXPECT_EQ(t.decode({3, 5, 3}), "ab ab");
  EXPECT_EQ(t.token_to_piece(5), "\xC4\xA0");
  EXPECT_EQ(t.vocab_size(), 8);
}

TEST(Tokenizer, MergeOrderDecidesTheSplit) {
  const json vocab = {{"x", 0}, {"y", 1}, {"z", 2}, {"xy", 3}, {"yz", 4}};
  EXPECT_EQ(load("order1", tokenizer_json(bpe(vocab, {"y z", "x y"}))).encode("xyz"), (Ids{0, 4}));
  EXPECT_EQ(load("order2", tokenizer_json(bpe(vocab, {"x y", "y z"}))).encode("xyz"), (Ids{3, 2}));
  // Merges given as [a, b] pairs (the newer tokenizer.json format) mean the same.
  EXPECT_EQ(load("order3", tokenizer_json(bpe(vocab, json::array({json::array({"y", "z"}),
                                                                  json::array({"x", "y"})}))))
                .encode("xyz"),
            (Ids{0, 4}));
  // Equal ranks: the leftmost pair merges first ("xxx" -> "xx" "x").
  const json vocab2 = {{"x", 0}, {"xx", 1}};
  EXPECT_EQ(load("order4", tokenizer_json(bpe(vocab2, {"x x"}))).encode("xxx"), (Ids{1, 0}));
}

TEST(Tokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"abc", 3}};
  json model = bpe(vocab, json::array());
  EXPECT_EQ(load("merges_on", tokenizer_json(model)).encode("abc"), (Ids{0, 1, 2}));
  model["ignore_merges"] = true;
  EXPECT_EQ(load("merges_off", tokenizer_json(model)).encode("abc"), (Ids{3}));
}

TEST(Tokenizer, ByteLevelHandlesEveryByte) {
  json vocab = json::object();
  // The 256 byte-level characters in GPT-2 order: printable bytes map to themselves.
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const char32_t cp = printable ? b : 256 + next++;
    std::string utf8;
    if (cp < 0x80) {
      utf8 += static_cast<char>(cp);
    } else {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab[utf8] = b;  // id == byte value
  }
  auto t = load(
      "bytes", tokenizer_json(bpe(vocab, json::array()), nullptr, byte_level(false), byte_level()));
  const std::string text = "\xC3\xA9 \xE4\xB8\xAD\n\t\x7F";  // é 中 newline tab DEL
  Ids expected;
  for (unsigned char c : text) expected.push_back(c);
  EXPECT_EQ(t.encode(text), expected);
  EXPECT_EQ(t.decode(expected), text);
  // A lone UTF-8 continuation byte decodes to U+FFFD, as Hugging Face's lossy decode does.
  EXPECT_EQ(t.decode({0xA9}), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode({0xE4, 0xB8}), "\xEF\xBF\xBD");  // one truncated sequence, one U+FFFD
}

json sentencepiece_like(bool with_metaspace = false) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  const std::string m = "\xE2\x96\x81";  // ▁
  vocab[m] = 259;
  vocab["a"] = 260;
  vocab["b"] = 261;
  vocab[m + "a"] = 262;
  vocab[m + "ab"] = 263;
  json model = bpe(vocab, {m + " a", m + "a b"});
  model["byte_fallback"] = true;
  model["fuse_unk"] = true;
  model["unk_token"] = "<unk>";
  const json normalizer = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", m}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", m}}}}};
  const json decoder = {{"type", "Sequence"},
                        {"decoders",
                         {{{"type", "Replace"}, {"pattern", {{"String", m}}}, {"content", " "}},
                          {{"type", "ByteFallback"}},
                          {{"type", "Fuse"}},
                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  const json added = {{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                      {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}};
  const json post = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  const json metaspace = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", true}};
  return tokenizer_json(model, with_metaspace ? json(nullptr) : normalizer,
                        with_metaspace ? metaspace : json(nullptr), decoder, added, post);
}

TEST(Tokenizer, SentencePieceStyleWithByteFallback) {
  auto t = load("spm", sentencepiece_like());
  EXPECT_EQ(t.encode("ab"), (Ids{263}));
  EXPECT_EQ(t.encode("ab a"), (Ids{263, 262}));
  // "é" is not in the vocabulary: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>.
  EXPECT_EQ(t.encode("\xC3\xA9"), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t.decode({259, 3 + 0xC3, 3 + 0xA9}), "\xC3\xA9");
  EXPECT_EQ(t.decode({263, 262}), "ab a");  // Strip removes the one leading space
  EXPECT_EQ(t.encode("ab", /*add_special_tokens=*/true), (Ids{1, 263}));
  // The normalizer's Prepend runs on each piece between added tokens (legacy behaviour).
  EXPECT_EQ(t.encode("a</s>b"), (Ids{262, 2, 259, 261}));
  EXPECT_EQ(t.decode({1, 263}), "<s> ab");
  EXPECT_EQ(t.decode({1, 263}, /*skip_special_tokens=*/true), "ab");
  // An invalid byte run decodes to one U+FFFD per byte.
  EXPECT_EQ(t.decode({3 + 0xC3, 3 + 0xC3}), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Tokenizer, MetaspacePreTokenizerSplitsAndPrependsFirstOnly) {
  auto t = load("metaspace", sentencepiece_like(/*with_metaspace=*/true));
  // "a b" -> "▁a▁b" -> split before each ▁ -> "▁a" "▁b" (b alone: ▁ then b).
  EXPECT_EQ(t.encode("ab a"), (Ids{263, 262}));
  EXPECT_EQ(t.encode("a b"), (Ids{262, 259, 261}));
  // prepend_scheme "first": the piece after an added token gets no ▁.
  EXPECT_EQ(t.encode("a</s>b"), (Ids{262, 2, 261}));
}

TEST(Tokenizer, AddedTokenFlags) {
  const json vocab = {{"a", 0}, {"b", 1}, {" ", 2}, {"c", 3}};
  const json added = {{{"id", 10}, {"content", "<l>"}, {"lstrip", true}, {"normalized", false}},
                      {{"id", 11}, {"content", "<r>"}, {"rstrip", true}, {"normalized", false}},
                      {{"id", 12}, {"content", "ab"}, {"single_word", true}, {"normalized", false}},
                      {{"id", 13}, {"content", "<sp>"}, {"special", true}, {"normalized", false}},
                      {{"id", 14}, {"content", "<sp>x"}, {"special", false}, {"normalized", false}},
                      {{"id", 15}, {"content", "\xC3\xA9"}, {"normalized", true}}};
  auto t = load("added", tokenizer_json(bpe(vocab, json::array()), json{{"type", "NFC"}}, nullptr,
                                        nullptr, added));
  EXPECT_EQ(t.encode("a  <l>b"), (Ids{0, 10, 1}));
  EXPECT_EQ(t.encode("a<r>  b"), (Ids{0, 11, 1}));
  // single_word: "ab" matches only outside words.
  EXPECT_EQ(t.encode("ab cab ab"), (Ids{12, 2, 3, 0, 1, 2, 12}));
  // Leftmost-longest: "<sp>x" wins over "<sp>".
  EXPECT_EQ(t.encode("<sp>x<sp>"), (Ids{14, 13}));
  // A normalized added token matches after NFC: "e" + U+0301 composes to "é".
  EXPECT_EQ(t.encode("e\xCC\x81"), (Ids{15}));
  EXPECT_EQ(t.vocab_size(), 16);
  EXPECT_EQ(t.token_to_id("<sp>"), 13);
  EXPECT_EQ(t.token_to_id("nope"), std::nullopt);
  EXPECT_EQ(t.decode({0, 13, 14}), "a <sp> <sp>x");  // no decoder: pieces joined by spaces
  EXPECT_EQ(t.decode({0, 13, 14}, true), "a <sp>x");
}

TEST(Tokenizer, SplitBehaviors) {
  const json vocab = {{"a", 0}, {"-", 1}, {"a-", 2}, {"-a", 3}, {"--", 4}};
  const json merges = {"a -", "- a", "- -"};
  auto with = [&](const std::string& behavior) {
    const json split = {{"type", "Split"},
                        {"pattern", {{"String", "-"}}},
                        {"behavior", behavior},
                        {"invert", false}};
    return load("split_" + behavior, tokenizer_json(bpe(vocab, merges), nullptr, split));
  };
  EXPECT_EQ(load("split_none", tokenizer_json(bpe(vocab, merges))).encode("a-a"), (Ids{2, 0}));
  EXPECT_EQ(with("Isolated").encode("a-a"), (Ids{0, 1, 0}));
  EXPECT_EQ(with("MergedWithPrevious").encode("a-a"), (Ids{2, 0}));
  EXPECT_EQ(with("MergedWithNext").encode("a-a"), (Ids{0, 3}));
  EXPECT_EQ(with("Removed").encode("a-a"), (Ids{0, 0}));
  EXPECT_EQ(with("Isolated").encode("a--a"), (Ids{0, 1, 1, 0}));
  EXPECT_EQ(with("Contiguous").encode("a--a"), (Ids{0, 4, 0}));
}

TEST(Tokenizer, RegexSplitIsUnicodeAware) {
  // \p{L}+ runs isolated: letters of any script form one piece, others stand alone.
  const json vocab = {{"x", 0}, {"\xC3\xA9", 1}, {"x\xC3\xA9", 2}, {" ", 3}, {"\xC3\xA9x", 4}};
  const json split = {{"type", "Split"},
                      {"pattern", {{"Regex", "\\p{L}+|\\s+"}}},
                      {"behavior", "Isolated"},
                      {"invert", false}};
  auto t = load("regex", tokenizer_json(bpe(vocab, {"x \xC3\xA9"}), nullptr, split));
  EXPECT_EQ(t.encode("x\xC3\xA9 x"), (Ids{2, 3, 0}));
}

TEST(Tokenizer, ConfigTokensAndCleanUp) {
  const json vocab = {{"Hello", 0}, {"\xC4\xA0.", 1}, {"<b>", 2}, {"<e>", 3}};
  const json added = {{{"id", 2}, {"content", "<b>"}, {"special", true}},
                      {{"id", 3}, {"content", "<e>"}, {"special", true}}};
  const json model_json =
      tokenizer_json(bpe(vocab, json::array()), nullptr, byte_level(), byte_level(), added);
  const json config = {{"bos_token", "<b>"},
                       {"eos_token", {{"content", "<e>"}, {"special", true}}},
                       {"clean_up_tokenization_spaces", true}};
  auto t = load("config", model_json, config);
  EXPECT_EQ(t.bos_token(), "<b>");
  EXPECT_EQ(t.eos_token(), "<e>");
  EXPECT_EQ(t.bos_id(), 2);
  EXPECT_EQ(t.eos_id(), 3);
  EXPECT_EQ(t.decode({0, 1}), "Hello.");  // " ." -> "." with clean_up_tokenization_spaces
  auto plain = load("config_none", model_json);
  EXPECT_EQ(plain.decode({0, 1}), "Hello .");  // absent: false, as transformers >= 4.45
  EXPECT_EQ(plain.bos_id(), std::nullopt);
  EXPECT_EQ(plain.bos_token(), "");
  auto null_bos = load("config_null", model_json, json{{"bos_token", nullptr}});
  EXPECT_EQ(null_bos.bos_id(), std::nullopt);
}

void expect_error(const std::function<void()>& f, t2::ErrorKind kind,
                  const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected a t2::Error";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles) {
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what() << " lacks " << n;
    }
  }
}

TEST(Tokenizer, ErrorsNameTheProblem) {
  using t2::ErrorKind;
  const std::string missing = std::string(T2_TEST_OUTPUT_DIR) + "/no_such_model_dir";
  expect_error([&] { t2::Tokenizer::from_model_dir(missing); }, ErrorKind::Io, {missing});
  const std::string empty_dir = write_model_dir("empty", json::object());
  std::remove((empty_dir + "/tokenizer.json").c_str());
  expect_error([&] { t2::Tokenizer::from_model_dir(empty_dir); }, ErrorKind::Io,
               {"tokenizer.json"});
  const std::string bad = write_model_dir("badjson", json::object());
  std::ofstream(bad + "/tokenizer.json") << "{\"model\": [1, 2";
  expect_error([&] { t2::Tokenizer::from_model_dir(bad); }, ErrorKind::Corrupt,
               {"tokenizer.json", "not valid JSON"});
  const json unigram = {{"type", "Unigram"}, {"vocab", json::array()}};
  expect_error([&] { load("unigram", tokenizer_json(unigram)); }, ErrorKind::Unsupported,
               {"Unigram", "tokenizer_unigram/tokenizer.json", "BPE"});
  const json vocab = {{"a", 0}};
  expect_error(
      [&] {
        load("lower", tokenizer_json(bpe(vocab, json::array()), {{"type", "Lowercase"}}));
      },
      ErrorKind::Unsupported, {"normalizer", "Lowercase", "tokenizer.json"});
  expect_error([&] { load("bad_merge", tokenizer_json(bpe(vocab, {"a b"}))); }, ErrorKind::Corrupt,
               {"a b"});
  auto t = load("errors", tokenizer_json(bpe(vocab, json::array())));
  expect_error([&] { t.encode("a\xFF"); }, ErrorKind::InvalidArgument, {"UTF-8"});
  expect_error([&] { t.decode({0, 7}); }, ErrorKind::InvalidArgument, {"7"});
  expect_error([&] { t.token_to_piece(-1); }, ErrorKind::InvalidArgument, {"-1"});
  EXPECT_EQ(t.decode({}), "");
  EXPECT_EQ(t.encode(""), Ids{});
}

TEST(Tokenizer, MalformedFilesAreErrorsNotCrashes) {
  const json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
  const json good = tokenizer_json(bpe(vocab, {"a b"}));
  std::vector<std::pair<std::string, json>> variants;
  auto variant = [&](const std::string& name, const std::function<void(json&)>& edit) {
    json j = good;
    edit(j);
    variants.emplace_back(name, j);
  };
  variant("vocab_array", [](json& j) { j["model"]["vocab"] = json::array({"a", "b"}); });
  variant("vocab_string_id", [](json& j) { j["model"]["vocab"]["a"] = "zero"; });
  variant("vocab_negative_id", [](json& j) { j["model"]["vocab"]["a"] = -3; });
  variant("vocab_huge_id", [](json& j) { j["model"]["vocab"]["a"] = 4000000000LL; });
  variant("no_vocab", [](json& j) { j["model"].erase("vocab"); });
  variant("merges_object", [](json& j) { j["model"]["merges"] = json{{"a", "b"}}; });
  variant("merge_three_parts", [](json& j) { j["model"]["merges"] = {"a b c"}; });
  variant("added_not_objects", [](json& j) { j["added_tokens"] = {1, 2}; });
  variant("added_huge_id", [](json& j) {
    j["added_tokens"] = {{{"id", 1LL << 40}, {"content", "<x>"}}};
  });
  variant("normalizer_no_type", [](json& j) { j["normalizer"] = {{"prepend", "x"}}; });
  variant("replace_bad_pattern", [](json& j) {
    j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Glob", "*"}}}, {"content", ""}};
  });
  variant("split_bad_behavior", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Up"}};
  });
  variant("split_bad_regex", [](json& j) {
    j["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  });
  variant("template_unknown_special", [](json& j) {
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", {{{"SpecialToken", {{"id", "<q>"}, {"type_id", 0}}}}}},
                           {"special_tokens", json::object()}};
  });
  variant("decoder_strip_no_content", [](json& j) { j["decoder"] = {{"type", "Strip"}}; });
  variant("model_not_object", [](json& j) { j["model"] = "BPE"; });
  for (const auto& [name, j] : variants) {
    try {
      load("malformed_" + name, j);
      ADD_FAILURE() << name << ": loaded without an error";
    } catch (const t2::Error& e) {
      EXPECT_TRUE(e.kind() == t2::ErrorKind::Corrupt || e.kind() == t2::ErrorKind::Unsupported)
          << name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    }
  }
  // A malformed tokenizer_config.json names that file.
  try {
    load("malformed_config", good, json{{"additional_special_tokens", {{{"content", 5}}}}});
    ADD_FAILURE() << "malformed config loaded";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, ConcurrentEncodesAgreeWithSerial) {
  const t2::Tokenizer* t = t2::tokenizer_test::load_npm_tokenizer("qwen3");
  if (t == nullptr) GTEST_SKIP() << "run tests/fixtures/fetch_npm_refs.sh " << T2_NPM_REFS_DIR;
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    texts.push_back("Sample " + std::to_string(i * 7919) + " with words w" + std::to_string(i) +
                    " \xE4\xB8\xAD\xE6\x96\x87 and more" + std::string(i % 5, ' '));
  }
  std::vector<Ids> serial;
  for (const auto& s : texts) serial.push_back(t->encode(s));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      const t2::Tokenizer copy = *t;  // copies share the tables and the cache
      for (int rep = 0; rep < 3; ++rep) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          if (copy.encode(texts[(i + k * 37) % texts.size()]) !=
              serial[(i + k * 37) % texts.size()]) {
            ++mismatches[k];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(mismatches[k], 0) << "thread " << k;
}

TEST(Tokenizer, RealFilesSpecialTokensAndRoundTrip) {
  const t2::Tokenizer* llama = t2::tokenizer_test::load_npm_tokenizer("llama3_1");
  const t2::Tokenizer* gemma = t2::tokenizer_test::load_npm_tokenizer("gemma3");
  if (llama == nullptr || gemma == nullptr) {
    GTEST_SKIP() << "run tests/fixtures/fetch_npm_refs.sh " << T2_NPM_REFS_DIR;
  }
  EXPECT_EQ(llama->bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(llama->bos_id(), 128000);
  EXPECT_EQ(llama->eos_token(), "<|eot_id|>");
  EXPECT_EQ(llama->eos_id(), 128009);
  EXPECT_EQ(llama->vocab_size(), 128256);
  EXPECT_EQ(gemma->bos_id(), 2);
  EXPECT_EQ(gemma->eos_token(), "<end_of_turn>");
  // Round trip without clean-up (Gemma keeps spaces as they are).
  const std::string text = "  Mixed \xE4\xB8\xAD\xE6\x96\x87 text, emoji \xF0\x9F\x98\x80 ok?\n";
  EXPECT_EQ(gemma->decode(gemma->encode(text)), text);
  const Ids with_bos = llama->encode("Hi", true);
  ASSERT_EQ(with_bos.size(), 2u);
  EXPECT_EQ(with_bos[0], 128000);
  EXPECT_EQ(llama->decode(with_bos, /*skip_special_tokens=*/true), "Hi");
}

}  // namespace

// Session::generate with stop strings (GenerateParams::stop_strings + decode) and
// GeneratedSequence::text, on the llama_f32 fixture. The decode callback here maps each id to
// two letters, so a stop string can lie inside one token or span two; expectations come from
// the unconstrained greedy run and this test's own decode.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using Ids = std::vector<std::int32_t>;

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

// id -> two letters: 'a' + id / 26 % 26, 'A' + id % 26.
std::string letters(const Ids& ids) {
  std::string out;
  for (auto id : ids) {
    out += static_cast<char>('a' + id / 26 % 26);
    out += static_cast<char>('A' + id % 26);
  }
  return out;
}

const Ids kPromptA = {1, 17, 42, 99, 5, 64};
const Ids kPromptB = {1, 3, 77};

struct Fixture {
  t2::Session session{t2::Model::load(fixture("llama_f32"))};
  t2::GenerateParams params() const {
    t2::GenerateParams p;
    p.max_new_tokens = 24;
    p.ignore_eos = true;
    p.decode = letters;
    return p;
  }
  t2::GeneratedSequence run(const Ids& prompt, const std::vector<std::string>& stops) {
    auto p = params();
    p.stop_strings = stops;
    return session.generate({prompt}, p).sequences.at(0);
  }
};

// The number of leading tokens whose decode first contains `stop` (0 if none does).
std::size_t tokens_until(const Ids& tokens, const std::string& stop) {
  for (std::size_t n = 1; n <= tokens.size(); ++n)
    if (letters(Ids(tokens.begin(), tokens.begin() + n)).find(stop) != std::string::npos) return n;
  return 0;
}

TEST(GenerateStopStrings, StopInsideOneTokenAndAcrossTwo) {
  Fixture f;
  const auto full = f.run(kPromptA, {});
  ASSERT_EQ(full.tokens.size(), 24u);
  EXPECT_EQ(full.finish_reason, "length");
  EXPECT_EQ(full.text, letters(full.tokens));  // text without stop strings: the whole decode
  const std::string full_text = letters(full.tokens);
  // Inside token 5 (its second letter alone), and spanning tokens 7 and 8.
  for (const std::string stop : {full_text.substr(11, 1), full_text.substr(15, 2)}) {
    SCOPED_TRACE(stop);
    const std::size_t n = tokens_until(full.tokens, stop);
    ASSERT_GT(n, 0u);
    const auto seq = f.run(kPromptA, {"zzzzzz", stop});
    EXPECT_EQ(seq.finish_reason, "stop");
    EXPECT_EQ(seq.tokens, Ids(full.tokens.begin(), full.tokens.begin() + n));
    EXPECT_EQ(seq.text, full_text.substr(0, full_text.find(stop)));
  }
  // The earliest match of several wins, whichever string it is.
  const auto seq = f.run(kPromptA, {full_text.substr(20, 4), full_text.substr(6, 3)});
  EXPECT_EQ(seq.text, full_text.substr(0, std::min(full_text.find(full_text.substr(20, 4)),
                                                   full_text.find(full_text.substr(6, 3)))));
  // A stop string that never appears changes nothing; an empty one is ignored.
  const auto none = f.run(kPromptA, {"", "0123"});
  EXPECT_EQ(none.tokens, full.tokens);
  EXPECT_EQ(none.finish_reason, "length");
}

TEST(GenerateStopStrings, BatchedRowsStopIndependently) {
  Fixture f;
  const auto a = f.run(kPromptA, {});
  const auto b = f.run(kPromptB, {});
  // A stop string from row A's output that row B's output does not contain early.
  const std::string text_a = letters(a.tokens);
  std::string stop;
  for (std::size_t at = 4; at + 3 <= text_a.size(); at += 2) {
    const std::string s = text_a.substr(at, 3);
    if (letters(b.tokens).find(s) == std::string::npos && tokens_until(a.tokens, s) < 20) {
      stop = s;
      break;
    }
  }
  ASSERT_FALSE(stop.empty()) << "no distinguishing stop string in the fixture's outputs";
  auto p = f.params();
  p.stop_strings = {stop};
  std::vector<std::size_t> streamed(2, 0);
  const auto r = f.session.generate({kPromptA, kPromptB}, p,
                                    [&](std::size_t row, std::int32_t) { ++streamed[row]; });
  ASSERT_EQ(r.sequences.size(), 2u);
  const auto single_a = f.run(kPromptA, {stop});
  const auto single_b = f.run(kPromptB, {stop});
  EXPECT_EQ(r.sequences[0].tokens, single_a.tokens);
  EXPECT_EQ(r.sequences[0].finish_reason, "stop");
  EXPECT_EQ(r.sequences[0].text, text_a.substr(0, text_a.find(stop)));
  EXPECT_EQ(r.sequences[1].tokens, b.tokens);  // row B runs to the length limit
  EXPECT_EQ(r.sequences[1].tokens, single_b.tokens);
  EXPECT_EQ(r.sequences[1].finish_reason, "length");
  EXPECT_EQ(r.sequences[1].text, letters(b.tokens));
  EXPECT_EQ(streamed[0], r.sequences[0].tokens.size());
  EXPECT_EQ(streamed[1], r.sequences[1].tokens.size());
}

TEST(GenerateStopStrings, EosIsNotInTheTextAndDecodeIsRequired) {
  Fixture f;
  const auto full = f.run(kPromptA, {});
  auto p = f.params();
  p.ignore_eos = false;
  p.eos_ids = {full.tokens[3]};
  const auto seq = f.session.generate({kPromptA}, p).sequences.at(0);
  EXPECT_EQ(seq.finish_reason, "eos");
  const std::size_t n = static_cast<std::size_t>(
      std::find(full.tokens.begin(), full.tokens.end(), full.tokens[3]) - full.tokens.begin());
  EXPECT_EQ(seq.tokens, Ids(full.tokens.begin(), full.tokens.begin() + n + 1));
  EXPECT_EQ(seq.text, letters(Ids(full.tokens.begin(), full.tokens.begin() + n)));

  p.decode = nullptr;
  EXPECT_TRUE(f.session.generate({kPromptA}, p).sequences.at(0).text.empty());
  p.stop_strings = {"aA"};
  try {
    f.session.generate({kPromptA}, p);
    ADD_FAILURE() << "stop_strings without decode were accepted";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("decode"), std::string::npos) << e.what();
  }
}

}  // namespace

// Answer extractors on hand-written edge cases; expected values worked out by hand.
#include <t2/error.h>
#include <t2/tasks.h>

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace {

std::string last_number(const std::string& text) {
  const auto e = t2::extract_last_number(text);
  return e.found ? e.answer : "<none>";
}

TEST(TasksLastNumber, PlainIntegersAndSentences) {
  EXPECT_EQ(last_number("The answer is 18."), "18");
  EXPECT_EQ(last_number("18"), "18");
  EXPECT_EQ(last_number("She has 3 apples and buys 4 more, so 7 in total"), "7");
  EXPECT_EQ(last_number("007"), "7");
  EXPECT_EQ(last_number("0"), "0");
}

TEST(TasksLastNumber, SignsAndSubtraction) {
  EXPECT_EQ(last_number("The temperature fell to -3 degrees"), "-3");
  EXPECT_EQ(last_number("x = -12.5"), "-12.5");
  EXPECT_EQ(last_number("answer: \xE2\x88\x92"
                        "4"),
            "-4");  // U+2212 minus sign
  EXPECT_EQ(last_number("10-3=7"), "7");
  EXPECT_EQ(last_number("16-3-4"), "4");  // subtraction, not "-4"
  EXPECT_EQ(last_number("10 - 3"), "3");  // spaced minus is an operator
  EXPECT_EQ(last_number("+5"), "5");
  EXPECT_EQ(last_number("-0"), "0");
  EXPECT_EQ(last_number("-0.0"), "0");
  EXPECT_EQ(last_number("a net change of -$5"), "-5");
}

TEST(TasksLastNumber, ThousandsSeparatorsAndCurrency) {
  EXPECT_EQ(last_number("It costs $1,234."), "1234");
  EXPECT_EQ(last_number("1,450,000 people"), "1450000");
  EXPECT_EQ(last_number("\xE2\x82\xAC"
                        "12.50"),
            "12.5");  // €12.50
  EXPECT_EQ(last_number("\xC2\xA3"
                        "7"),
            "7");                                // £7
  EXPECT_EQ(last_number("numbers 1,2,3"), "3");  // a list, not a thousands group
  EXPECT_EQ(last_number("1,23"), "23");
  EXPECT_EQ(last_number("1,2345"), "2345");
}

TEST(TasksLastNumber, DecimalsPercentAndTrailingPeriod) {
  EXPECT_EQ(last_number("18.00"), "18");
  EXPECT_EQ(last_number("18.0."), "18");
  EXPECT_EQ(last_number("It is .5 of the total"), "0.5");
  EXPECT_EQ(last_number("a 25% discount"), "25");
  EXPECT_EQ(last_number("3.14159"), "3.14159");
  EXPECT_EQ(last_number("version 1.2.3"), "3");
  EXPECT_EQ(last_number("<<16-3-4=9>>9 eggs"), "9");
}

TEST(TasksLastNumber, NoNumber) {
  EXPECT_EQ(last_number(""), "<none>");
  EXPECT_EQ(last_number("no digits here."), "<none>");
  EXPECT_EQ(last_number("- $ . %"), "<none>");
}

TEST(TasksLastNumber, BetterThanReferenceRegex) {
  // The reference takes the last match of \d*\.?\d+ : it loses the sign and splits "1,234".
  const std::regex reference(R"(\d*\.?\d+)");
  auto ref = [&](const std::string& s) {
    std::string last;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), reference);
         it != std::sregex_iterator(); ++it)
      last = it->str();
    return last;
  };
  EXPECT_EQ(ref("It costs $1,234"), "234");
  EXPECT_EQ(last_number("It costs $1,234"), "1234");
  EXPECT_EQ(ref("The result is -7"), "7");
  EXPECT_EQ(last_number("The result is -7"), "-7");
}

TEST(TasksNumbers, CanonicalAndEquality) {
  EXPECT_TRUE(t2::numbers_equal("18", "18.0"));
  EXPECT_TRUE(t2::numbers_equal("18", "18.00"));
  EXPECT_TRUE(t2::numbers_equal("$18", "18"));
  EXPECT_TRUE(t2::numbers_equal("1,000", "1000"));
  EXPECT_TRUE(t2::numbers_equal(" 5. ", "5"));
  EXPECT_FALSE(t2::numbers_equal("18", "18.5"));
  EXPECT_FALSE(t2::numbers_equal("18", "-18"));
  EXPECT_FALSE(t2::numbers_equal("18 apples", "18"));  // not exactly one number
  EXPECT_FALSE(t2::numbers_equal("", ""));
  EXPECT_EQ(t2::canonical_number("-0.50"), "-0.5");
  EXPECT_EQ(t2::canonical_number("1,234.50"), "1234.5");
  EXPECT_EQ(t2::canonical_number("abc"), "");
}

std::string letter(const std::string& text, const std::string& allowed = "ABCD") {
  const auto e = t2::extract_choice_letter(text, allowed);
  return e.found ? e.answer + "/" + e.rule : "<none>";
}

TEST(TasksChoiceLetter, AnswerIsCue) {
  EXPECT_EQ(letter("Thinking... the answer is (B)."), "B/answer-is");
  EXPECT_EQ(letter("The answer is C"), "C/answer-is");
  EXPECT_EQ(letter("THE ANSWER IS (D)"), "D/answer-is");
  EXPECT_EQ(letter("So the answer is: A"), "A/answer-is");
  EXPECT_EQ(letter("the answer is **B**"), "B/answer-is");
  // First occurrence wins, as in the reference; a later standalone letter does not override.
  EXPECT_EQ(letter("The answer is (A). Not D."), "A/answer-is");
}

TEST(TasksChoiceLetter, AnswerColonCue) {
  EXPECT_EQ(letter("Answer: C"), "C/answer-colon");
  EXPECT_EQ(letter("Reasoning first.\nAnswer: (B)"), "B/answer-colon");
  EXPECT_EQ(letter("answer:D"), "D/answer-colon");
}

TEST(TasksChoiceLetter, LastStandaloneLetter) {
  EXPECT_EQ(letter("I pick B"), "B/last-letter");
  EXPECT_EQ(letter("B or C? C."), "C/last-letter");
  EXPECT_EQ(letter("(D)"), "D/last-letter");
  EXPECT_EQ(letter("Both A and E are tempting, but B", "ABCD"), "B/last-letter");
  EXPECT_EQ(letter("The choice E", "ABCD"), "<none>");  // E is not allowed
  EXPECT_EQ(letter("The choice E", "ABCDE"), "E/last-letter");
}

TEST(TasksChoiceLetter, WordsAreNotLetters) {
  EXPECT_EQ(letter("Because"), "<none>");            // B inside a word
  EXPECT_EQ(letter("the answer is Bob"), "<none>");  // cue followed by a word, not a letter
  EXPECT_EQ(letter("the answer is b"), "<none>");    // lower case is not a choice
  EXPECT_EQ(letter(""), "<none>");
  EXPECT_EQ(letter("no idea"), "<none>");  // no random fallback
  EXPECT_EQ(letter("A_B"), "<none>");
}

TEST(TasksBoxed, LastFirstAndNested) {
  EXPECT_EQ(t2::extract_boxed("\\boxed{42}").answer, "42");
  EXPECT_EQ(t2::extract_boxed("\\boxed{1} then \\boxed{2}").answer, "2");
  EXPECT_EQ(t2::extract_boxed("\\boxed{1} then \\boxed{2}", true).answer, "1");
  EXPECT_EQ(t2::extract_boxed("\\boxed{\\frac{1}{2}}").answer, "\\frac{1}{2}");
  EXPECT_EQ(t2::extract_boxed("Classification: \\boxed{ math }").answer, "math");
  EXPECT_FALSE(t2::extract_boxed("\\boxed{unclosed").found);
  EXPECT_FALSE(t2::extract_boxed("no box").found);
  EXPECT_EQ(t2::extract_boxed("\\boxed{a} \\boxed{b{c}").answer, "a");  // unclosed last ignored
  const auto empty = t2::extract_boxed("\\boxed{}");
  EXPECT_TRUE(empty.found);
  EXPECT_EQ(empty.answer, "");
}

TEST(TasksExact, TrimAndCase) {
  EXPECT_EQ(t2::extract_exact("  Paris \n").answer, "paris");
  EXPECT_EQ(t2::extract_exact("  Paris \n", true, true).answer, "Paris");
  EXPECT_EQ(t2::extract_exact(" x ", false, true).answer, " x ");
  EXPECT_FALSE(t2::extract_exact("   ").found);
}

TEST(TasksRegex, GroupsAndOccurrence) {
  EXPECT_EQ(t2::extract_regex("x=1, x=2", "x=(\\d+)").answer, "1");
  EXPECT_EQ(t2::extract_regex("x=1, x=2", "x=(\\d+)", 1, true).answer, "2");
  EXPECT_EQ(t2::extract_regex("x=1", "x=\\d", 0).answer, "x=1");
  EXPECT_EQ(t2::extract_regex("caf\xC3\xA9 ok", "(\\w+) ok").answer, "caf\xC3\xA9");
  EXPECT_FALSE(t2::extract_regex("nothing", "x=(\\d+)").found);
  EXPECT_THROW(t2::extract_regex("x", "(unclosed"), t2::Error);
  EXPECT_THROW(t2::extract_regex("x", "x", 2), t2::Error);
}

TEST(TasksCode, FencedBlocks) {
  EXPECT_EQ(t2::extract_code("Here:\n```python\nprint(1)\n```\nDone").answer, "print(1)\n");
  EXPECT_EQ(t2::extract_code("```\nx = 1\n").answer, "x = 1\n");  // unclosed fence
  EXPECT_EQ(t2::extract_code("    return x\n").answer, "    return x\n");
  EXPECT_FALSE(t2::extract_code("  \n").found);
}

}  // namespace

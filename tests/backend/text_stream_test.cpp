// TextStreamer and find_stop_string: what a streaming UI may print while tokens arrive.
#include <t2/text_stream.h>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(TextStream, FindStopStringTakesTheEarliest) {
  EXPECT_EQ(t2::find_stop_string("abcdef", {"de", "bc"}), 1u);
  EXPECT_EQ(t2::find_stop_string("abcdef", {"", "x"}), std::string::npos);
  EXPECT_EQ(t2::find_stop_string("abcdef", {}), std::string::npos);
  EXPECT_EQ(t2::find_stop_string("a\nb", {"\n"}), 1u);
}

TEST(TextStream, HoldsBackIncompleteCharactersAndSpaces) {
  t2::TextStreamer s;
  EXPECT_EQ(s.push("caf"), "caf");
  EXPECT_EQ(s.push("caf" + kFffd), "");           // first byte of é only
  EXPECT_EQ(s.push("caf\xC3\xA9 "), "\xC3\xA9");  // trailing space waits
  EXPECT_EQ(s.push("caf\xC3\xA9."), ".");         // clean-up removed it: never printed
  EXPECT_EQ(s.push("caf\xC3\xA9. x"), " x");
  EXPECT_EQ(s.finish("caf\xC3\xA9. x"), "");
  EXPECT_EQ(s.printed(), "caf\xC3\xA9. x");
}

TEST(TextStream, NeverShowsAStopStringOrItsStart) {
  t2::TextStreamer s({"END", "\n\n"});
  EXPECT_EQ(s.push("abcE"), "abc");
  EXPECT_EQ(s.push("abcEN"), "");
  EXPECT_EQ(s.push("abcENX"), "ENX");  // not a stop after all
  EXPECT_EQ(s.push("abcENX\n"), "");
  EXPECT_EQ(s.push("abcENX\nEND tail"), "\n");  // before a complete stop: final
  EXPECT_EQ(s.finish("abcENX\n"), "");
  EXPECT_EQ(s.printed(), "abcENX\n");
}

TEST(TextStream, FinishReleasesHeldText) {
  t2::TextStreamer s({"STOP"});
  EXPECT_EQ(s.push("hello  "), "hello");
  EXPECT_EQ(s.push("hello  ST"), "");
  EXPECT_EQ(s.finish("hello  ST"), "  ST");  // ended by length: everything is final
  // A final text that disagrees with what was printed: only the part after the common prefix.
  t2::TextStreamer t;
  EXPECT_EQ(t.push("abc"), "abc");
  EXPECT_EQ(t.finish("abX"), "X");
}

// Random token streams: the concatenation of everything released equals the final text (the
// decode cut before the first stop string), and no prefix ever shows a complete stop string.
TEST(TextStream, RandomStreamsConcatenateToTheFinalText) {
  const std::vector<std::string> pieces = {"a",    "b", " ", "  ", "\xC3", "\xA9", "\xE2\x82",
                                           "\xAC", "S", "T", "OP", "\n",   "x y"};
  const std::vector<std::string> stops = {"STOP", "\n\n", "b a"};
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    t2::TextStreamer s(stops);
    std::string bytes, shown, final_text;
    for (int k = 0; k < 40; ++k) {
      bytes += pieces[rng() % pieces.size()];
      // Lossy decode: a trailing incomplete sequence shows as U+FFFD (enough for this check).
      std::string decoded = bytes;
      std::size_t i = decoded.size();
      while (i > 0 && (static_cast<unsigned char>(decoded[i - 1]) & 0xC0) == 0x80) --i;
      if (i > 0 && static_cast<unsigned char>(decoded[i - 1]) >= 0xC0) {
        const auto lead = static_cast<unsigned char>(decoded[i - 1]);
        const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (decoded.size() - (i - 1) < need) decoded = decoded.substr(0, i - 1) + kFffd;
      }
      shown += s.push(decoded);
      final_text = decoded;
      const auto cut = t2::find_stop_string(decoded, stops);
      if (cut != std::string::npos) {
        final_text = decoded.substr(0, cut);
        break;
      }
    }
    EXPECT_EQ(final_text.compare(0, shown.size(), shown), 0) << "printed beyond the final text";
    EXPECT_EQ(t2::find_stop_string(shown, stops), std::string::npos);
    shown += s.finish(final_text);
    EXPECT_EQ(shown, final_text);
  }
}

}  // namespace

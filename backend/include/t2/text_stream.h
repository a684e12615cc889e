// Streaming generated text: stop strings and incremental detokenization, torch-free (library
// t2_core). Used by Session::generate (stop strings), `t2 generate` and the GUI (streaming).
//
// A tokenizer's decode of a growing id list is not always an extension of the previous decode:
// a token can end in the middle of a UTF-8 character (decoded as U+FFFD until the next token
// completes it), clean_up_tokenization_spaces can remove a space once the next token is "." or
// "'s", and the engine cuts the text before a stop string once it is complete. TextStreamer
// therefore releases only the stable part of each new decode: it holds back trailing U+FFFD
// characters, trailing spaces, everything from a complete stop string on, and a tail that could
// still become a stop string.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace t2 {

// Byte offset of the earliest occurrence of any (non-empty) stop string in `text`, or
// std::string::npos. Ties at the same offset: the position is what matters, not which string.
std::size_t find_stop_string(const std::string& text, const std::vector<std::string>& stops);

class TextStreamer {
 public:
  explicit TextStreamer(std::vector<std::string> stop_strings = {});

  // `decoded`: the decode of all generated ids so far. Returns the text to print now (possibly
  // empty); what was returned before is never repeated.
  std::string push(const std::string& decoded);
  // `final_text`: the finished text (e.g. GeneratedSequence::text). Returns what remains to
  // print so that everything printed equals final_text (when the printed part is a prefix of
  // it; otherwise only the part after the longest common prefix).
  std::string finish(const std::string& final_text);
  // Everything returned so far.
  const std::string& printed() const noexcept { return printed_; }

 private:
  std::size_t stable_length(const std::string& decoded) const;
  std::string release(const std::string& text, std::size_t end);

  std::vector<std::string> stops_;
  std::string printed_;
};

}  // namespace t2

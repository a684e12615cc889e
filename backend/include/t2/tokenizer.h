// Hugging Face tokenizer.json tokenizers, torch-free (library t2_core).
//
// Supported: model BPE, either byte-level (GPT-2 style: Llama 3, Qwen2.5, Qwen3) or
// SentencePiece-style with byte fallback (Llama 2, Mistral, Gemma 3); normalizers NFC, Prepend,
// Replace, Sequence; pre-tokenizers Split (regex run by PCRE2 in UTF + UCP mode), ByteLevel,
// Metaspace, Sequence; added tokens (special or not, with single_word / lstrip / rstrip /
// normalized); post-processor TemplateProcessing (and ByteLevel); decoders ByteLevel, Replace,
// ByteFallback, Fuse, Strip, Metaspace, Sequence; clean_up_tokenization_spaces from
// tokenizer_config.json (false when absent, as transformers >= 4.45). Results match Hugging
// Face's `tokenizers` (checked against @huggingface/tokenizers on real files; see
// backend/README.md for the few corners where the two references differ and which one we follow).
//
// Errors: every failure is a t2::Error: Io (file unreadable), Corrupt (malformed JSON or a
// missing key), Unsupported (a component type this build does not implement; the message names
// the component and the file), InvalidArgument (an id outside the vocabulary).
//
// Thread-safety: all const member functions may be called concurrently from several threads
// (the internal BPE word cache is guarded by a mutex). Copies share the immutable tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2 {

namespace detail::tokenizer {
struct TokenizerImpl;
}

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, if present, DIR/tokenizer_config.json. Throws t2::Error.
  static Tokenizer from_model_dir(const std::string& dir);
  // Paths of the two files; an empty config path means "no tokenizer_config.json".
  static Tokenizer from_files(const std::string& tokenizer_json,
                              const std::string& tokenizer_config_json = "");

  // Token ids of UTF-8 `text` (invalid UTF-8 is an InvalidArgument error). With
  // add_special_tokens, the post-processor's template adds e.g. Llama 3's BOS.
  std::vector<std::int32_t> encode(const std::string& text, bool add_special_tokens = false) const;
  // UTF-8 text of `ids` as HF's decode(): special tokens kept unless skip_special_tokens,
  // clean_up_tokenization_spaces as configured. An id outside [0, vocab_size) is InvalidArgument.
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens = false) const;
  // The vocabulary string of `id` (e.g. "Ġthe", "▁the", "<0x0A>"); InvalidArgument if unknown.
  std::string token_to_piece(std::int32_t id) const;
  std::optional<std::int32_t> token_to_id(const std::string& token) const;
  // Model vocabulary plus added tokens: 1 + the largest id.
  std::int32_t vocab_size() const;

  // BOS/EOS as named by tokenizer_config.json (bos_token / eos_token, a string or an AddedToken
  // dict); nullopt / "" when absent or null.
  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;
  std::string bos_token() const;
  std::string eos_token() const;

 private:
  explicit Tokenizer(std::shared_ptr<const detail::tokenizer::TokenizerImpl> impl);
  std::shared_ptr<const detail::tokenizer::TokenizerImpl> impl_;
};

}  // namespace t2

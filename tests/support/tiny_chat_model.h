// A tiny chat model folder for evaluation tests: the llama_f32 fixture checkpoint (vocab 128)
// plus a hand-made byte-level BPE tokenizer.json (ids 0-4 special tokens, then one id per
// printable ASCII byte, newline and space, then " a" ... " z" merges: 127 ids, so id 127 of the
// model decodes to nothing) and a ChatML-style chat template. Header-only; used by engine and CLI
// tests (include "support/tiny_chat_model.h").
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace t2_test {

// GPT-2's byte-level alphabet: the character (UTF-8) that stands for byte b.
inline std::string byte_level_char(int b) {
  int next = 0;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
    const int cp = printable ? x : 256 + next++;
    if (x != b) continue;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  }
  return {};
}

inline const char* tiny_chat_template() {
  return "{{ bos_token }}{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
         "{{ message['content'] }}<|im_end|>\n{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
}

// Writes tokenizer.json and tokenizer_config.json into `dir` (created; files overwritten).
inline void write_tiny_tokenizer(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  using json = nlohmann::json;
  fs::create_directories(dir);
  const std::vector<std::string> specials = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"};
  json vocab = json::object();
  json added = json::array();
  int id = 0;
  for (const auto& s : specials) {
    added.push_back({{"id", id},
                     {"content", s},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab[s] = id++;
  }
  std::vector<int> bytes = {'\n', ' '};
  for (int b = '!'; b <= '~'; ++b) bytes.push_back(b);
  for (int b : bytes) vocab[byte_level_char(b)] = id++;
  json merges = json::array();
  for (char c = 'a'; c <= 'z'; ++c) {
    vocab[byte_level_char(' ') + c] = id++;
    merges.push_back(byte_level_char(' ') + " " + std::string(1, c));
  }
  const json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  const json post = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  const json tokenizer = {{"version", "1.0"},
                          {"added_tokens", added},
                          {"normalizer", nullptr},
                          {"pre_tokenizer", byte_level},
                          {"post_processor", post},
                          {"decoder", byte_level},
                          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  const json config = {{"bos_token", "<s>"},
                       {"eos_token", "</s>"},
                       {"clean_up_tokenization_spaces", false},
                       {"chat_template", tiny_chat_template()}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
}

#ifdef T2_FIXTURES_DIR
// Writes the model folder into `dir` (created; files overwritten) and returns `dir`.
inline std::string write_tiny_chat_model(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path src = fs::path(T2_FIXTURES_DIR) / "models" / "llama_f32";
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
  write_tiny_tokenizer(dir);
  return dir.string();
}
#endif

}  // namespace t2_test

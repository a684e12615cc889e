// Test helper shared by the engine and CLI training tests: a tiny trainable set-up made of the
// llama_f32 fixture checkpoint (vocab 128), a character-level tokenizer.json written here, and a
// small addition task ("3+4=" -> 7) in the task framework's JSONL + spec format.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace t2::test {

struct TinyTraining {
  std::string model_dir;  // config.json, model.safetensors, tokenizer.json, tokenizer_config.json
  std::string task;       // task.json
};

inline std::string json_escape_char(char c) {
  if (c == '"') return "\\\"";
  if (c == '\\') return "\\\\";
  return std::string(1, c);
}

// Writes the set-up under `root` (replacing it). `train_items` / `validation_items` lines each.
inline TinyTraining make_tiny_training(const std::string& root, int train_items = 16,
                                       int validation_items = 8, int max_new_tokens = 6) {
  namespace fs = std::filesystem;
  fs::remove_all(root);
  const fs::path model = fs::path(root) / "model", task = fs::path(root) / "task";
  fs::create_directories(model);
  fs::create_directories(task);
  const fs::path fixture = fs::path(T2_FIXTURES_DIR) / "models" / "llama_f32";
  fs::copy_file(fixture / "config.json", model / "config.json");
  fs::copy_file(fixture / "model.safetensors", model / "model.safetensors");
  // Character-level BPE without merges: <unk> 0, <s> 1, </s> 2 (the config's bos/eos), then
  // printable ASCII 32..126 as ids 3..97, "\n" as 98, then Latin letters up to the model's 128.
  std::string vocab = "\"<unk>\":0,\"<s>\":1,\"</s>\":2";
  for (int c = 32; c < 127; ++c)
    vocab += ",\"" + json_escape_char(static_cast<char>(c)) + "\":" + std::to_string(c - 29);
  vocab += ",\"\\n\":98";
  for (int id = 99; id < 128; ++id) {  // the rest of the model's vocabulary: U+00C0..U+00DC
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04X", 0xC0 + id - 99);
    vocab += ",\"\\u" + std::string(hex) + "\":" + std::to_string(id);
  }
  std::string added;
  const char* specials[] = {"<unk>", "<s>", "</s>"};
  for (int i = 0; i < 3; ++i)
    added += std::string(i ? "," : "") + "{\"id\":" + std::to_string(i) + ",\"content\":\"" +
             specials[i] +
             "\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,"
             "\"special\":true}";
  std::ofstream(model / "tokenizer.json")
      << "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[" << added
      << "],\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,"
         "\"decoder\":{\"type\":\"Fuse\"},\"model\":{\"type\":\"BPE\",\"dropout\":null,"
         "\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,"
         "\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{"
      << vocab << "},\"merges\":[]}}";
  std::ofstream(model / "tokenizer_config.json")
      << "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\"}";
  std::mt19937 rng(7);
  auto write_split = [&](const std::string& name, int n) {
    std::ofstream out(task / (name + ".jsonl"));
    for (int i = 0; i < n; ++i) {
      const int a = static_cast<int>(rng() % 5), b = static_cast<int>(rng() % 5);
      out << "{\"question\":\"" << a << "+" << b << "=\",\"answer\":\"" << a + b << "\"}\n";
    }
  };
  write_split("train", train_items);
  write_split("validation", validation_items);
  std::ofstream(task / "task.json")
      << "{\"name\":\"tiny-add\",\"kind\":\"generic\",\"data\":{\"train\":\"train.jsonl\","
         "\"validation\":\"validation.jsonl\"},\"prompt\":{\"user\":\"{question}\","
         "\"chat_template\":false},\"generation\":{\"max_new_tokens\":"
      << max_new_tokens << "},\"extractor\":{\"kind\":\"last-number\"}}";
  return {model.string(), (task / "task.json").string()};
}

}  // namespace t2::test

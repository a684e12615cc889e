// End-to-end `t2 generate` on a tiny model folder built here: the llama_f32 fixture checkpoint
// (vocab 128) plus a hand-made byte-level BPE tokenizer.json whose 128 ids cover the vocabulary,
// and a ChatML-style chat template. Expected prompt ids and decoded text come from the test's
// own table of that vocabulary (independent of the engine's tokenizer); generated tokens are
// checked against `t2 logits --greedy`, chat prompts against `t2 template`.
#include "process.h"
#include "support/tiny_chat_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using json = nlohmann::json;
using Ids = std::vector<std::int32_t>;

namespace {

ProcessResult t2(const std::string& args) {
  return run_process("env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " + args);
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

json parse_json(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.out.substr(0, 500);
    return {};
  }
}

// GPT-2's byte-level alphabet: the character (UTF-8) that stands for byte b.
std::string byte_char(int b) { return t2_test::byte_level_char(b); }

const std::vector<std::string> kSpecials = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"};

// The toy vocabulary: id -> raw bytes it decodes to (specials as their text).
struct Vocab {
  std::vector<std::string> bytes;     // by id
  std::vector<std::string> pieces;    // byte-level strings, by id
  std::map<std::string, int> single;  // raw byte (1 char) -> id
  std::map<char, int> space_letter;   // " x" merges: letter -> id
};

const Vocab& vocab() {
  static const Vocab v = [] {
    Vocab v;
    for (const auto& s : kSpecials) {
      v.bytes.push_back(s);
      v.pieces.push_back(s);
    }
    std::vector<int> raw = {' ', '\n'};
    for (int b = '!'; b <= '~'; ++b) raw.push_back(b);
    for (int b : {0xC3, 0xA9, 0xE2, 0x82, 0xAC}) raw.push_back(b);  // é = C3 A9, € = E2 82 AC
    for (int b : raw) {
      v.single[std::string(1, static_cast<char>(b))] = static_cast<int>(v.bytes.size());
      v.bytes.push_back(std::string(1, static_cast<char>(b)));
      v.pieces.push_back(byte_char(b));
    }
    v.bytes.push_back("\xC3\xA9");  // merge Ã ©
    v.pieces.push_back(byte_char(0xC3) + byte_char(0xA9));
    for (char c = 'a'; v.bytes.size() < 128; ++c) {
      v.space_letter[c] = static_cast<int>(v.bytes.size());
      v.bytes.push_back(std::string(" ") + c);
      v.pieces.push_back(byte_char(' ') + c);
    }
    return v;
  }();
  return v;
}

// Ids of ASCII `text` under the toy vocabulary (only " x" merges apply to ASCII).
Ids encode_ascii(const std::string& text) {
  const Vocab& v = vocab();
  Ids ids;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && i + 1 < text.size() && v.space_letter.count(text[i + 1])) {
      ids.push_back(v.space_letter.at(text[++i]));
    } else {
      ids.push_back(v.single.at(std::string(1, text[i])));
    }
  }
  return ids;
}

// Lossy UTF-8 of `bytes` (each maximal invalid piece -> one U+FFFD, as Rust's from_utf8_lossy;
// the overlong/surrogate rules do not matter for this vocabulary's bytes).
std::string lossy_utf8(const std::string& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    const std::size_t n = c < 0x80                ? 1
                          : c >= 0xC2 && c < 0xE0 ? 2
                          : c >= 0xE0 && c < 0xF0 ? 3
                          : c >= 0xF0 && c < 0xF5 ? 4
                                                  : 0;
    std::size_t k = 1;
    while (n > 1 && k < n && i + k < bytes.size() &&
           (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80)
      ++k;
    if (n != 0 && k == n) {
      out += bytes.substr(i, n);
    } else {
      out += "\xEF\xBF\xBD";
    }
    i += k;
  }
  return out;
}

// Text of `ids` under the toy vocabulary (HF decode: special tokens kept, lossy UTF-8).
std::string decode_ids(const Ids& ids) {
  std::string bytes;
  for (auto id : ids) bytes += vocab().bytes.at(static_cast<std::size_t>(id));
  return lossy_utf8(bytes);
}

const char kChatTemplate[] =
    "{{ bos_token }}{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

// Builds the model folder once per test process.
std::string model_dir() {
  static const std::string dir = [] {
    const fs::path d = fs::path(T2_TEST_OUTPUT_DIR) / "generate-model";
    fs::create_directories(d);
    const fs::path src = fs::path(T2_FIXTURES_DIR) / "models" / "llama_f32";
    for (const char* f : {"config.json", "model.safetensors"})
      fs::copy_file(src / f, d / f, fs::copy_options::overwrite_existing);
    const Vocab& v = vocab();
    json model_vocab = json::object();
    for (std::size_t id = 0; id < v.pieces.size(); ++id) model_vocab[v.pieces[id]] = id;
    json merges = json::array();
    for (std::size_t id = kSpecials.size(); id < v.pieces.size(); ++id) {
      if (id == 106) merges.push_back(byte_char(0xC3) + " " + byte_char(0xA9));
      if (id > 106) merges.push_back(byte_char(' ') + " " + v.pieces[id].substr(2));
    }
    json added = json::array();
    for (std::size_t id = 0; id < kSpecials.size(); ++id)
      added.push_back({{"id", id},
                       {"content", kSpecials[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
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
    const json tokenizer = {
        {"version", "1.0"},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", byte_level},
        {"post_processor", post},
        {"decoder", byte_level},
        {"model", {{"type", "BPE"}, {"vocab", model_vocab}, {"merges", merges}}}};
    std::ofstream(d / "tokenizer.json") << tokenizer.dump();
    const json config = {{"bos_token", "<s>"},
                         {"eos_token", "</s>"},
                         {"clean_up_tokenization_spaces", false},
                         {"chat_template", kChatTemplate}};
    std::ofstream(d / "tokenizer_config.json") << config.dump();
    return d.string();
  }();
  return dir;
}

std::string generate(const std::string& args) {
  return "generate " + shell_quote(model_dir()) + " " + args;
}

std::string ids_arg(const Ids& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

const char kPrompt[] = "Hello, tiny world!";

TEST(CliGenerate, VocabularyTableMatchesTheTokenizer) {
  // The test's own table and the engine's tokenizer agree on the prompt.
  const auto j = parse_json(
      t2("tokenize " + shell_quote(model_dir()) + " --text " + shell_quote(kPrompt) + " --json"));
  EXPECT_EQ(j["ids"].get<Ids>(), encode_ascii(kPrompt));
  EXPECT_EQ(j["decoded"], kPrompt);
}

TEST(CliGenerate, StreamEqualsJsonAndGreedyEqualsLogits) {
  const std::string args = "--prompt " + shell_quote(kPrompt) + " --max-new-tokens 40 --greedy";
  const auto streamed = t2(generate(args));
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_TRUE(contains(streamed.err, "prefill:")) << streamed.err;
  EXPECT_TRUE(contains(streamed.err, "tokens/s")) << streamed.err;
  const auto j = parse_json(t2(generate(args + " --json")));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(streamed.out, j["text"].get<std::string>());

  // Prompt: BOS + the table's ids (add_special_tokens=true without --chat).
  Ids prompt = {1};
  for (auto id : encode_ascii(kPrompt)) prompt.push_back(id);
  EXPECT_EQ(j["prompt_tokens"], prompt.size());
  const auto tokens = j["tokens"].get<Ids>();
  ASSERT_FALSE(tokens.empty());
  const auto logits = parse_json(t2("logits " + shell_quote(model_dir()) + " --ids " +
                                    ids_arg(prompt) + " --greedy 40 --json"));
  const auto greedy = logits["greedy_tokens"].get<Ids>();
  ASSERT_LE(tokens.size(), greedy.size());
  EXPECT_EQ(tokens, Ids(greedy.begin(), greedy.begin() + static_cast<long>(tokens.size())));
  // EOS (config and tokenizer: id 2) ends the run and is not part of the text.
  Ids text_ids = tokens;
  if (j["finish_reason"] == "eos") {
    EXPECT_EQ(tokens.back(), 2);
    text_ids.pop_back();
  } else {
    EXPECT_EQ(j["finish_reason"], "length");
    EXPECT_EQ(tokens.size(), 40u);
  }
  EXPECT_EQ(j["text"], decode_ids(text_ids));
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GE(j["decode_tokens_per_s"].get<double>(), 0);
}

TEST(CliGenerate, StopStringCutsTheText) {
  const std::string base = "--prompt " + shell_quote(kPrompt) + " --max-new-tokens 40 --greedy";
  const auto full = parse_json(t2(generate(base + " --json")));
  const auto full_text = full["text"].get<std::string>();
  const auto full_tokens = full["tokens"].get<Ids>();
  ASSERT_GE(full_text.size(), 6u) << "the fixture's greedy output is too short for this test";
  // A two-character ASCII stop string from the middle of the output (it may end inside a token).
  std::size_t from = full_text.size() / 2;
  while (from + 2 < full_text.size() && (static_cast<unsigned char>(full_text[from]) >= 0x80 ||
                                         static_cast<unsigned char>(full_text[from + 1]) >= 0x80))
    ++from;
  const std::string stop = full_text.substr(from, 2);
  const auto at = full_text.find(stop);
  const std::string args = base + " --stop " + shell_quote(stop) + " --stop NEVER-THERE";
  const auto j = parse_json(t2(generate(args + " --json")));
  EXPECT_EQ(j["finish_reason"], "stop");
  EXPECT_EQ(j["text"], full_text.substr(0, at));
  const auto tokens = j["tokens"].get<Ids>();
  ASSERT_LT(tokens.size(), full_tokens.size());
  EXPECT_EQ(tokens,
            Ids(full_tokens.begin(), full_tokens.begin() + static_cast<long>(tokens.size())));
  // It stopped at the first token whose text completes the stop string.
  EXPECT_NE(decode_ids(tokens).find(stop), std::string::npos);
  EXPECT_EQ(decode_ids(Ids(tokens.begin(), tokens.end() - 1)).find(stop), std::string::npos);
  // The stream never shows the stop string or anything after it.
  const auto streamed = t2(generate(args));
  EXPECT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(streamed.out, full_text.substr(0, at));
}

TEST(CliGenerate, ChatUsesTheTemplate) {
  const fs::path messages = fs::path(T2_TEST_OUTPUT_DIR) / "generate-messages.json";
  std::ofstream(messages) << json::array({{{"role", "system"}, {"content", "Be brief."}},
                                          {{"role", "user"}, {"content", kPrompt}}})
                                 .dump();
  const auto rendered = parse_json(t2("template " + shell_quote(model_dir()) + " --messages " +
                                      shell_quote(messages.string()) + " --json"));
  EXPECT_EQ(rendered["rendered"], std::string("<s><|im_start|>system\nBe brief.<|im_end|>\n"
                                              "<|im_start|>user\n") +
                                      kPrompt + "<|im_end|>\n<|im_start|>assistant\n");
  const auto ids = rendered["ids"].get<Ids>();
  EXPECT_EQ(ids.front(), 1);  // the template's BOS, not a second one from add_special_tokens
  const auto j = parse_json(t2(generate("--chat --system 'Be brief.' --prompt " +
                                        shell_quote(kPrompt) + " --max-new-tokens 12 --json")));
  EXPECT_EQ(j["prompt_tokens"], ids.size());
  const auto tokens = j["tokens"].get<Ids>();
  const auto logits = parse_json(
      t2("logits " + shell_quote(model_dir()) + " --ids " + ids_arg(ids) + " --greedy 12 --json"));
  const auto greedy = logits["greedy_tokens"].get<Ids>();
  ASSERT_LE(tokens.size(), greedy.size());
  EXPECT_EQ(tokens, Ids(greedy.begin(), greedy.begin() + static_cast<long>(tokens.size())));
  // With --chat, <|im_end|> (id 4, written by the template) ends the turn like EOS.
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    EXPECT_NE(tokens[i], 2);
    EXPECT_NE(tokens[i], 4);
  }
}

TEST(CliGenerate, EndOfTurnTokenIsEosOnlyWithChat) {
  // Hot sampling (T=5) makes ids 2 (</s>) and 4 (<|im_end|>) come up within a few hundred tokens.
  // With --chat both end the run; without it only 2 does and 4 is ordinary text.
  int ended_on_im_end = 0, im_end_inside = 0;
  for (int seed = 1; seed <= 4; ++seed) {
    const std::string args =
        "--prompt Hello --temperature 5 --max-new-tokens 400 --json --seed " + std::to_string(seed);
    const auto chat = parse_json(t2(generate("--chat " + args)));
    const auto tokens = chat["tokens"].get<Ids>();
    ASSERT_FALSE(tokens.empty());
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      EXPECT_NE(tokens[i], 2);
      EXPECT_NE(tokens[i], 4);
    }
    if (chat["finish_reason"] == "eos") {
      EXPECT_TRUE(tokens.back() == 2 || tokens.back() == 4) << tokens.back();
      ended_on_im_end += tokens.back() == 4;
    }
    const auto plain = parse_json(t2(generate(args)))["tokens"].get<Ids>();
    for (std::size_t i = 0; i + 1 < plain.size(); ++i) {
      EXPECT_NE(plain[i], 2);
      im_end_inside += plain[i] == 4;
    }
  }
  EXPECT_GT(ended_on_im_end, 0) << "no chat run ended on <|im_end|>";
  EXPECT_GT(im_end_inside, 0) << "no plain run sampled <|im_end|> as text";
}

TEST(CliGenerate, SeedsReproduceSampling) {
  const std::string base = "--prompt " + shell_quote(kPrompt) +
                           " --max-new-tokens 24 --temperature 1.5 --top-k 50 --top-p 0.95 --json";
  const auto a = parse_json(t2(generate(base + " --seed 7")));
  const auto b = parse_json(t2(generate(base + " --seed 7")));
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_EQ(a["text"], b["text"]);
  bool any_differs = false;
  for (int seed : {8, 9, 10}) {
    any_differs =
        any_differs ||
        parse_json(t2(generate(base + " --seed " + std::to_string(seed))))["tokens"] != a["tokens"];
  }
  EXPECT_TRUE(any_differs) << "sampling at T=1.5 gave the same tokens for 4 seeds";
}

TEST(CliGenerate, BadOptions) {
  const std::string prompt = " --prompt hi";
  const auto both = t2(generate("--greedy --temperature 0.7" + prompt));
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_TRUE(contains(both.err, "excludes")) << both.err;
  for (const char* p : {"0", "1.5", "-0.1", "abc"}) {
    const auto r = t2(generate(std::string("--top-p ") + p + prompt));
    EXPECT_EQ(r.exit_code, 2) << p;
    EXPECT_TRUE(contains(r.err, "top-p")) << r.err;
  }
  const auto no_prompt = t2(generate("--max-new-tokens 3"));
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_TRUE(contains(no_prompt.err, "--prompt")) << no_prompt.err;
  const auto system_only = t2(generate("--system x" + prompt));
  EXPECT_EQ(system_only.exit_code, 2);
  EXPECT_TRUE(contains(system_only.err, "--chat")) << system_only.err;
  const auto missing = t2("generate /nonexistent-model-dir --prompt hi");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "/nonexistent-model-dir")) << missing.err;
  EXPECT_EQ(t2("generate --prompt hi").exit_code, 2);
  // A checkpoint without a tokenizer: the error names tokenizer.json.
  const auto no_tokenizer =
      t2("generate " + shell_quote(std::string(T2_FIXTURES_DIR) + "/models/llama_f32") +
         " --prompt hi");
  EXPECT_EQ(no_tokenizer.exit_code, 1);
  EXPECT_TRUE(contains(no_tokenizer.err, "tokenizer.json")) << no_tokenizer.err;
}

TEST(CliGenerate, InterruptPrintsWhatWasGenerated) {
  // SIGINT while generating a long output (greedy chat here loops on one token without an
  // EOS): exit 130, and the JSON holds the partial result.
  const std::string cmd =
      "env -u T2_NUM_THREADS " + shell_quote(T2_CLI) + " " +
      generate("--prompt " + shell_quote(kPrompt) + " --chat --max-new-tokens 200000 --json") +
      " & pid=$!; sleep 2; kill -INT $pid; wait $pid";
  const auto r = run_process(cmd);
  ASSERT_EQ(r.exit_code, 130) << r.err << r.out.substr(0, 300);
  EXPECT_TRUE(contains(r.err, "cancelled")) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["finish_reason"], "cancelled");
  EXPECT_FALSE(j["tokens"].empty());
}

}  // namespace

// The demo model's character-level tokenizer (an HF tokenizer.json with model "BPE", one token per
// character and no merges) and its LlamaForCausalLM config.json.
#include <t2/error.h>
#include <t2/pretrain.h>
#include <t2/run_store.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

namespace t2 {
namespace detail::char_tokenizer {

using nlohmann::ordered_json;

// Splits UTF-8 text into code points (as UTF-8 strings); invalid bytes are InvalidArgument.
std::vector<std::string> utf8_chars(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (!ok)
      throw Error(ErrorKind::InvalidArgument, "corpus text is not valid UTF-8 at byte " +
                                                  std::to_string(i) + " (fix the task data)");
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

// Code point of one UTF-8 character (valid by construction).
std::uint32_t code_point(const std::string& ch) {
  const auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(ch[k]));
  };
  if (ch.size() == 1) return b(0);
  if (ch.size() == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (ch.size() == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

ordered_json added_token(int id, const std::string& content, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

std::vector<std::string> special_list(const CharTokenizerSpecials& s) {
  return {s.pad, s.bos, s.eos, s.unk, s.system, s.user, s.assistant};
}

}  // namespace detail::char_tokenizer

const std::string& char_chat_template() {
  static const std::string kTemplate =
      "{{ bos_token }}{% for message in messages %}"
      "{{ '<|' + message['role'] + '|>' + message['content'] + eos_token }}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";
  return kTemplate;
}

int write_char_tokenizer(const std::string& dir, const std::vector<std::string>& texts,
                         const std::vector<std::string>& extra_tokens, int model_max_length) {
  using namespace detail::char_tokenizer;
  const CharTokenizerSpecials specials;
  std::map<std::uint32_t, std::string> chars;  // code point -> UTF-8
  auto add_char = [&](const std::string& ch) { chars.emplace(code_point(ch), ch); };
  for (int c = 0x20; c < 0x7F; ++c) add_char(std::string(1, static_cast<char>(c)));
  add_char("\n");
  add_char("\t");
  for (const auto& t : texts)
    for (const auto& ch : utf8_chars(t)) add_char(ch);

  ordered_json added = ordered_json::array();
  ordered_json vocab = ordered_json::object();
  int id = 0;
  for (const auto& s : special_list(specials)) {
    added.push_back(added_token(id, s, true));
    vocab[s] = id++;
  }
  for (const auto& t : extra_tokens) {
    if (vocab.contains(t)) continue;
    added.push_back(added_token(id, t, false));
    vocab[t] = id++;
  }
  for (const auto& [cp, ch] : chars)
    if (!vocab.contains(ch)) vocab[ch] = id++;

  ordered_json tok;
  tok["version"] = "1.0";
  tok["truncation"] = nullptr;
  tok["padding"] = nullptr;
  tok["added_tokens"] = added;
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"] = nullptr;
  tok["post_processor"] = nullptr;
  tok["decoder"] = {{"type", "Fuse"}};
  tok["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", specials.unk},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", false},
                  {"vocab", vocab},
                  {"merges", ordered_json::array()}};

  ordered_json config;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  config["bos_token"] = specials.bos;
  config["eos_token"] = specials.eos;
  config["pad_token"] = specials.pad;
  config["unk_token"] = specials.unk;
  config["additional_special_tokens"] = {specials.system, specials.user, specials.assistant};
  config["clean_up_tokenization_spaces"] = false;
  config["model_max_length"] = model_max_length;
  config["chat_template"] = char_chat_template();

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw Error(ErrorKind::Io,
                "cannot create '" + dir + "': " + ec.message() + " (choose a writable folder)");
  write_file_atomically(dir + "/tokenizer.json", tok.dump(1) + "\n");
  write_file_atomically(dir + "/tokenizer_config.json", config.dump(2) + "\n");
  return id;
}

std::string llama_config_json(const PretrainModelShape& s, int vocab_size) {
  nlohmann::ordered_json c;
  c["architectures"] = {"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["vocab_size"] = vocab_size;
  c["hidden_size"] = s.hidden_size;
  c["intermediate_size"] = s.intermediate_size;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.heads;
  c["head_dim"] = s.hidden_size / s.heads;
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = s.max_position_embeddings;
  c["rms_norm_eps"] = s.rms_norm_eps;
  c["rope_theta"] = s.rope_theta;
  c["rope_scaling"] = nullptr;
  c["attention_bias"] = false;
  c["attention_dropout"] = 0.0;
  c["mlp_bias"] = false;
  c["tie_word_embeddings"] = s.tie_word_embeddings;
  c["initializer_range"] = s.init_std;
  c["bos_token_id"] = 1;  // CharTokenizerSpecials: pad 0, bos 1, eos 2
  c["eos_token_id"] = 2;
  c["pad_token_id"] = 0;
  c["torch_dtype"] = "float32";
  c["use_cache"] = true;
  return c.dump(2) + "\n";
}

}  // namespace t2

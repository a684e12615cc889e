// t2::Tokenizer: loading tokenizer.json / tokenizer_config.json, encode and decode.
#include <t2/error.h>
#include <t2/tokenizer.h>

#include "core/tokenizer/tokenizer_impl.h"
#include "core/tokenizer/unicode.h"

#include <sys/stat.h>
#include <fstream>
#include <sstream>

namespace t2::detail::tokenizer {

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    if (text.find(from) != std::string::npos) text = replace_all(text, from, to);
  }
  return text;
}

std::vector<std::int32_t> TokenizerImpl::encode(const std::string& text,
                                                bool add_special_tokens) const {
  if (!is_valid_utf8(text)) {
    throw Error(ErrorKind::InvalidArgument,
                "cannot tokenize text that is not valid UTF-8; "
                "convert the input to UTF-8 first");
  }
  std::vector<std::int32_t> ids;
  std::vector<std::string> pieces;
  for (const Section& section : added->split_raw(text)) {
    if (section.id >= 0) {
      ids.push_back(section.id);
      continue;
    }
    const std::string normalized = normalizer ? normalizer->normalize(section.text) : section.text;
    bool first = section.offset == 0;
    for (const Section& sub : added->split_normalized(normalized)) {
      if (sub.id >= 0) {
        ids.push_back(sub.id);
      } else {
        pieces.assign(1, sub.text);
        if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces, first);
        for (const auto& piece : pieces) model->tokenize(piece, ids);
      }
      first = false;
    }
  }
  if (post_processor) post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string TokenizerImpl::decode(const std::vector<std::int32_t>& ids,
                                  bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int32_t id : ids) {
    if (id < 0 || id >= static_cast<std::int32_t>(id_to_token.size()) || !has_token[id]) {
      throw Error(ErrorKind::InvalidArgument,
                  "token id " + std::to_string(id) + " is not in the vocabulary of " + file +
                      " (vocab_size " + std::to_string(id_to_token.size()) + ")");
    }
    if (skip_special_tokens && special_ids.count(id) != 0) continue;
    tokens.push_back(id_to_token[id]);
  }
  std::string text;
  if (decoder) {
    decoder->decode_chain(tokens);
    for (const auto& t : tokens) text += t;
  } else {
    for (std::size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  return clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
}

}  // namespace t2::detail::tokenizer

namespace t2 {
namespace {

using detail::tokenizer::TokenizerImpl;
using json = nlohmann::json;

json read_json(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::Io, "cannot read " + what + " '" + path +
                                   "'; check that the path exists and is a Hugging Face model "
                                   "directory");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return json::parse(buffer.str());
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Corrupt,
                path + " is not valid JSON (" + e.what() + "); re-download the tokenizer files");
  }
}

// A token in tokenizer_config.json: a string, an AddedToken dict {"content": ...}, or null.
std::string config_token(const json& config, const char* key) {
  if (!config.contains(key)) return {};
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return {};
}

std::vector<detail::tokenizer::AddedToken> parse_added_tokens(const json& root,
                                                              const std::string& file) {
  std::vector<detail::tokenizer::AddedToken> tokens;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return tokens;
  try {
    for (const auto& a : root["added_tokens"]) {
      detail::tokenizer::AddedToken t;
      t.content = a.at("content").get<std::string>();
      const auto id = a.at("id").get<std::int64_t>();
      if (id < 0 || id >= detail::tokenizer::kMaxTokenId) {
        throw Error(ErrorKind::Corrupt, file + ": added token '" + t.content + "' has id " +
                                            std::to_string(id) +
                                            " outside the valid range; "
                                            "re-download the tokenizer files");
      }
      t.id = static_cast<std::int32_t>(id);
      t.special = a.value("special", false);
      t.single_word = a.value("single_word", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.normalized = a.value("normalized", !t.special);
      tokens.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Corrupt, file + ": malformed added_tokens (" + std::string(e.what()) +
                                        "); re-download the tokenizer files");
  }
  return tokens;
}

void check_model_type(const json& model, const std::string& file) {
  const std::string type = model.contains("type") && model["type"].is_string()
                               ? model["type"].get<std::string>()
                           : model.contains("merges") ? "BPE"
                                                      : "(none)";
  if (type != "BPE") {
    throw Error(ErrorKind::Unsupported, "model type '" + type + "' in " + file +
                                            " is not supported by this build (supported: BPE)");
  }
}

void build_vocabulary(TokenizerImpl& impl,
                      const std::vector<detail::tokenizer::AddedToken>& added) {
  impl.token_to_id = impl.model->vocab();
  for (const auto& t : added) impl.token_to_id[t.content] = t.id;
  std::int32_t size = 0;
  for (const auto& [token, id] : impl.token_to_id) size = std::max(size, id + 1);
  for (const auto& [token, id] : impl.model->vocab()) size = std::max(size, id + 1);
  impl.id_to_token.assign(size, {});
  impl.has_token.assign(size, 0);
  for (const auto& [token, id] : impl.model->vocab()) {
    impl.id_to_token[id] = token;
    impl.has_token[id] = 1;
  }
  for (const auto& t : added) {
    impl.id_to_token[t.id] = t.content;
    impl.has_token[t.id] = 1;
    impl.added_contents.insert(t.content);
    if (t.special) impl.special_ids.insert(t.id);
  }
}

void apply_config(TokenizerImpl& impl, const json& config) {
  impl.bos_token = config_token(config, "bos_token");
  impl.eos_token = config_token(config, "eos_token");
  // transformers >= 4.45 defaults to false when the key is absent.
  const auto clean = config.find("clean_up_tokenization_spaces");
  impl.clean_up_tokenization_spaces =
      clean != config.end() && clean->is_boolean() && clean->get<bool>();
  // transformers registers the named special tokens as special in the backend tokenizer.
  std::vector<std::string> named;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    named.push_back(config_token(config, key));
  }
  if (config.contains("additional_special_tokens") &&
      config["additional_special_tokens"].is_array()) {
    for (const auto& t : config["additional_special_tokens"]) {
      if (t.is_string()) named.push_back(t.get<std::string>());
      if (t.is_object() && t.contains("content")) named.push_back(t["content"].get<std::string>());
    }
  }
  for (const auto& name : named) {
    auto it = impl.token_to_id.find(name);
    if (!name.empty() && it != impl.token_to_id.end()) impl.special_ids.insert(it->second);
  }
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_model_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Io, "model directory '" + dir +
                                   "' does not exist or is not a "
                                   "directory; pass a Hugging Face model "
                                   "directory containing tokenizer.json");
  }
  const std::string json_path = dir + "/tokenizer.json";
  if (::stat(json_path.c_str(), &st) != 0) {
    throw Error(ErrorKind::Io, "no tokenizer.json in '" + dir +
                                   "'; only fast (tokenizer.json) tokenizers are supported — "
                                   "copy the model's tokenizer.json there");
  }
  const std::string config_path = dir + "/tokenizer_config.json";
  return from_files(json_path, ::stat(config_path.c_str(), &st) == 0 ? config_path : "");
}

Tokenizer Tokenizer::from_files(const std::string& tokenizer_json,
                                const std::string& tokenizer_config_json) {
  using namespace detail::tokenizer;
  const json root = read_json(tokenizer_json, "tokenizer file");
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    throw Error(ErrorKind::Corrupt, tokenizer_json +
                                        " has no \"model\" object; it is not a "
                                        "Hugging Face tokenizer.json");
  }
  const json config = tokenizer_config_json.empty()
                          ? json::object()
                          : read_json(tokenizer_config_json, "tokenizer config");
  auto impl = std::make_shared<TokenizerImpl>();
  impl->file = tokenizer_json;
  auto component = [&](const char* key) { return root.contains(key) ? root[key] : json(); };
  impl->normalizer = make_normalizer(component("normalizer"), {tokenizer_json, "normalizer"});
  impl->pre_tokenizer =
      make_pre_tokenizer(component("pre_tokenizer"), {tokenizer_json, "pre_tokenizer"});
  check_model_type(root["model"], tokenizer_json);
  impl->model = std::make_unique<BpeModel>(root["model"], tokenizer_json);
  impl->post_processor =
      make_post_processor(component("post_processor"), {tokenizer_json, "post_processor"});
  const auto added = parse_added_tokens(root, tokenizer_json);
  build_vocabulary(*impl, added);
  impl->decoder =
      make_decoder(component("decoder"), {tokenizer_json, "decoder"}, &impl->added_contents);
  const Normalizer* normalizer = impl->normalizer.get();
  impl->added = std::make_unique<AddedVocabulary>(added, [normalizer](const std::string& s) {
    return normalizer ? normalizer->normalize(s) : s;
  });
  if (config.is_object()) {
    try {
      apply_config(*impl, config);
    } catch (const json::exception& e) {
      throw Error(ErrorKind::Corrupt, tokenizer_config_json + ": malformed (" +
                                          std::string(e.what()) + "); fix or remove the file");
    }
  }
  return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(const std::string& text,
                                            bool add_special_tokens) const {
  return impl_->encode(text, add_special_tokens);
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids,
                              bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

std::string Tokenizer::token_to_piece(std::int32_t id) const {
  if (id < 0 || id >= vocab_size() || !impl_->has_token[id]) {
    throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(id) +
                                                " is not in the vocabulary (vocab_size " +
                                                std::to_string(vocab_size()) + ")");
  }
  return impl_->id_to_token[id];
}

std::optional<std::int32_t> Tokenizer::token_to_id(const std::string& token) const {
  auto it = impl_->token_to_id.find(token);
  if (it == impl_->token_to_id.end()) return std::nullopt;
  return it->second;
}

std::int32_t Tokenizer::vocab_size() const {
  return static_cast<std::int32_t>(impl_->id_to_token.size());
}

std::optional<std::int32_t> Tokenizer::bos_id() const {
  return impl_->bos_token.empty() ? std::nullopt : token_to_id(impl_->bos_token);
}

std::optional<std::int32_t> Tokenizer::eos_id() const {
  return impl_->eos_token.empty() ? std::nullopt : token_to_id(impl_->eos_token);
}

std::string Tokenizer::bos_token() const { return impl_->bos_token; }
std::string Tokenizer::eos_token() const { return impl_->eos_token; }

}  // namespace t2

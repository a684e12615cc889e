// The pipeline stages of a tokenizer.json, built from their JSON by the factories below.
// Each is immutable after construction, so const calls are safe from several threads.
// Factories throw t2::Error(Unsupported) naming the component type and `file` for a type this
// build does not implement, and t2::Error(Corrupt) for a malformed component.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace t2::detail::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;
};

// Splits and rewrites pieces of one section of text (the text between added tokens).
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // `first_section`: the section starts at offset 0 of the input (Metaspace prepend "first").
  virtual void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const = 0;
};

// Rewrites the token strings of decode(); the results are concatenated at the end.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<std::int32_t>& ids, bool add_special_tokens) const = 0;
};

// Where a component's JSON came from, for error messages.
struct ComponentSource {
  std::string file;  // path of the tokenizer.json
  std::string kind;  // "normalizer", "pre_tokenizer", "decoder", "post_processor"
};

// Each returns nullptr for a JSON null.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const ComponentSource& src);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j,
                                                 const ComponentSource& src);
// `added_contents`: the added tokens' strings, which ByteLevel passes through verbatim; must
// outlive the decoder.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const ComponentSource& src,
                                      const std::unordered_set<std::string>* added_contents);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j,
                                                   const ComponentSource& src);

// Helpers shared by the factories.
[[noreturn]] void throw_unsupported(const ComponentSource& src, const std::string& type,
                                    const std::string& supported);
[[noreturn]] void throw_corrupt(const ComponentSource& src, const std::string& what);
std::string type_of(const nlohmann::json& j, const ComponentSource& src);
// Builds a Pattern from {"String": ...} or {"Regex": ...}.
class Pattern;
Pattern make_pattern(const nlohmann::json& j, const ComponentSource& src);

}  // namespace t2::detail::tokenizer

// Decoders (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence) and
// post-processors (TemplateProcessing, ByteLevel, Bert/RobertaProcessing, Sequence).
#include "core/tokenizer/components.h"
#include "core/tokenizer/regex.h"
#include "core/tokenizer/unicode.h"

#include <optional>

namespace t2::detail::tokenizer {
namespace {

class ByteLevelDecoder : public Decoder {
 public:
  explicit ByteLevelDecoder(const std::unordered_set<std::string>* added) : added_(added) {}
  // Runs of vocabulary tokens become bytes (GPT-2 alphabet) then UTF-8 (invalid sequences ->
  // U+FFFD); added tokens are passed through verbatim.
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    bool have_bytes = false;
    for (const auto& token : tokens) {
      if (added_ != nullptr && added_->count(token) != 0) {
        if (have_bytes) out.push_back(utf8_lossy(bytes));
        bytes.clear();
        have_bytes = false;
        out.push_back(token);
      } else {
        append_token_bytes(token, bytes);
        have_bytes = true;
      }
    }
    if (have_bytes) out.push_back(utf8_lossy(bytes));
    tokens = std::move(out);
  }

 private:
  static void append_token_bytes(const std::string& token, std::string& bytes) {
    const auto& table = byte_level_tables().char_to_byte;
    const std::size_t start = bytes.size();
    for (std::size_t i = 0; i < token.size();) {
      const char32_t cp = next_code_point(token, i);
      const int b = cp < table.size() ? table[cp] : -1;
      if (b < 0) {  // not a byte-level token: keep its UTF-8 as is
        bytes.resize(start);
        bytes += token;
        return;
      }
      bytes += static_cast<char>(b);
    }
  }
  const std::unordered_set<std::string>* added_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

std::optional<unsigned char> parse_byte_token(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return {};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(token[3]), lo = hex(token[4]);
  if (hi < 0 || lo < 0) return {};
  return static_cast<unsigned char>(hi * 16 + lo);
}

class ByteFallbackDecoder : public Decoder {
 public:
  // Runs of <0xNN> tokens become their bytes; an invalid UTF-8 run gives one U+FFFD per byte.
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      if (is_valid_utf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (std::size_t i = 0; i < bytes.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
    };
    for (auto& token : tokens) {
      if (auto b = parse_byte_token(token)) {
        bytes += static_cast<char>(*b);
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, all);
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, int start, int stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (content_.empty()) return;
    const std::size_t n = content_.size();
    for (auto& t : tokens) {
      std::size_t begin = 0, end = t.size();
      for (int i = 0; i < start_ && end - begin >= n && t.compare(begin, n, content_) == 0; ++i) {
        begin += n;
      }
      for (int i = 0; i < stop_ && end - begin >= n && t.compare(end - n, n, content_) == 0; ++i) {
        end -= n;
      }
      t = t.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  int start_, stop_;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = replace_all(tokens[i], replacement_, " ");
      if (i == 0 && strip_first_ && !tokens[i].empty() && tokens[i][0] == ' ') {
        tokens[i].erase(0, 1);
      }
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const ComponentSource& src,
                                      const std::unordered_set<std::string>* added_contents) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, src);
  try {
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>(added_contents);
    if (type == "Replace") {
      return std::make_unique<ReplaceDecoder>(make_pattern(j.at("pattern"), src),
                                              j.at("content").get<std::string>());
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Strip") {
      return std::make_unique<StripDecoder>(j.at("content").get<std::string>(), j.value("start", 0),
                                            j.value("stop", 0));
    }
    if (type == "Metaspace") {
      bool strip_first = j.value("add_prefix_space", true);
      if (j.contains("prepend_scheme")) strip_first = j["prepend_scheme"] != "never";
      return std::make_unique<MetaspaceDecoder>(j.value("replacement", "\xE2\x96\x81"),
                                                strip_first);
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<Decoder>> steps;
      for (const auto& step : j.at("decoders")) {
        if (auto d = make_decoder(step, src, added_contents)) steps.push_back(std::move(d));
      }
      return std::make_unique<SequenceDecoder>(std::move(steps));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt(src, type + ": " + e.what());
  }
  throw_unsupported(src, type,
                    "ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence");
}

namespace {

class TemplatePostProcessor : public PostProcessor {
 public:
  // `single`: the template for one sequence: ids to insert, with -1 standing for the sequence.
  explicit TemplatePostProcessor(std::vector<std::int32_t> single) : single_(std::move(single)) {}
  void process(std::vector<std::int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<std::int32_t> out;
    out.reserve(ids.size() + single_.size());
    for (std::int32_t item : single_) {
      if (item < 0) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.push_back(item);
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<std::int32_t> single_;
};

class NoOpPostProcessor : public PostProcessor {
 public:
  void process(std::vector<std::int32_t>&, bool) const override {}
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void process(std::vector<std::int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::vector<std::int32_t> parse_template(const nlohmann::json& j, const ComponentSource& src) {
  std::vector<std::int32_t> single;
  const auto& specials = j.at("special_tokens");
  for (const auto& item : j.at("single")) {
    if (item.contains("Sequence")) {
      if (item["Sequence"].at("id") == "A") single.push_back(-1);
    } else if (item.contains("SpecialToken")) {
      const auto name = item["SpecialToken"].at("id").get<std::string>();
      if (!specials.contains(name)) {
        throw_corrupt(src, "TemplateProcessing names special token '" + name +
                               "' missing from special_tokens");
      }
      for (const auto& id : specials[name].at("ids")) single.push_back(id.get<std::int32_t>());
    } else {
      throw_corrupt(src, "TemplateProcessing item must be Sequence or SpecialToken");
    }
  }
  return single;
}

std::int32_t pair_id(const nlohmann::json& pair, const ComponentSource& src) {
  if (!pair.is_array() || pair.size() != 2) throw_corrupt(src, "cls/sep must be [token, id]");
  return pair[1].get<std::int32_t>();
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j,
                                                   const ComponentSource& src) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, src);
  try {
    if (type == "TemplateProcessing") {
      return std::make_unique<TemplatePostProcessor>(parse_template(j, src));
    }
    if (type == "ByteLevel") return std::make_unique<NoOpPostProcessor>();
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      return std::make_unique<TemplatePostProcessor>(
          std::vector<std::int32_t>{pair_id(j.at("cls"), src), -1, pair_id(j.at("sep"), src)});
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<PostProcessor>> steps;
      for (const auto& step : j.at("processors")) {
        if (auto p = make_post_processor(step, src)) steps.push_back(std::move(p));
      }
      return std::make_unique<SequencePostProcessor>(std::move(steps));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt(src, type + ": " + e.what());
  }
  throw_unsupported(src, type,
                    "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, "
                    "Sequence");
}

}  // namespace t2::detail::tokenizer

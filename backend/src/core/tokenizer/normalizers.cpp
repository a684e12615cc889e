// Normalizers: NFC / NFD / NFKC / NFKD, Prepend, Replace, Strip, Sequence.
#include <t2/error.h>

#include "core/tokenizer/components.h"
#include "core/tokenizer/regex.h"
#include "core/tokenizer/unicode.h"

namespace t2::detail::tokenizer {

void throw_unsupported(const ComponentSource& src, const std::string& type,
                       const std::string& supported) {
  throw Error(ErrorKind::Unsupported, src.kind + " type '" + type + "' in " + src.file +
                                          " is not supported by this build (supported: " +
                                          supported + "); use a tokenizer.json without it");
}

void throw_corrupt(const ComponentSource& src, const std::string& what) {
  throw Error(ErrorKind::Corrupt, src.file + ": malformed " + src.kind + ": " + what +
                                      "; re-download the tokenizer files");
}

std::string type_of(const nlohmann::json& j, const ComponentSource& src) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw_corrupt(src, "expected an object with a string \"type\"");
  }
  return j["type"].get<std::string>();
}

Pattern make_pattern(const nlohmann::json& j, const ComponentSource& src) {
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    return Pattern(false, j["String"].get<std::string>(), src.file + " " + src.kind);
  }
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    return Pattern(true, j["Regex"].get<std::string>(), src.file + " " + src.kind);
  }
  throw_corrupt(src, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  std::string normalize(std::string_view text) const override {
    // ASCII text is invariant under every normalization form.
    for (char c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) return normalize_unicode(text, form_);
    }
    return std::string(text);
  }

 private:
  NormalForm form_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string_view text) const override {
    return text.empty() ? std::string() : prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string_view text) const override {
    return pattern_.replace_all(text, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text) const override {
    std::string out(text);
    if (right_) out = trim_white_space_end(out);
    if (left_) out = trim_white_space_start(out);
    return out;
  }

 private:
  bool left_, right_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  std::string normalize(std::string_view text) const override {
    std::string out(text);
    for (const auto& step : steps_) out = step->normalize(out);
    return out;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const ComponentSource& src) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, src);
  try {
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
    if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
    if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
    if (type == "Prepend") {
      return std::make_unique<PrependNormalizer>(j.at("prepend").get<std::string>());
    }
    if (type == "Replace") {
      return std::make_unique<ReplaceNormalizer>(make_pattern(j.at("pattern"), src),
                                                 j.at("content").get<std::string>());
    }
    if (type == "Strip") {
      return std::make_unique<StripNormalizer>(j.value("strip_left", false),
                                               j.value("strip_right", false));
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<Normalizer>> steps;
      for (const auto& step : j.at("normalizers")) {
        if (auto n = make_normalizer(step, src)) steps.push_back(std::move(n));
      }
      return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt(src, type + ": " + e.what());
  }
  throw_unsupported(src, type, "NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Sequence");
}

}  // namespace t2::detail::tokenizer

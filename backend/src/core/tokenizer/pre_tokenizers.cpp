// Pre-tokenizers: Split (regex or literal, every delimiter behavior, invert), ByteLevel,
// Metaspace, Sequence.
#include "core/tokenizer/components.h"
#include "core/tokenizer/regex.h"
#include "core/tokenizer/unicode.h"

#include <algorithm>

namespace t2::detail::tokenizer {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Segment {
  std::size_t begin, end;
  bool is_match;
};

// Splits [0, size) at the matches, as tokenizers' NormalizedString::split does.
std::vector<std::pair<std::size_t, std::size_t>> split_by_behavior(
    std::size_t size, const std::vector<std::pair<std::size_t, std::size_t>>& matches,
    Behavior behavior, bool invert) {
  std::vector<Segment> segments;
  std::size_t pos = 0;
  for (const auto& [b, e] : matches) {
    if (b > pos) segments.push_back({pos, b, invert});
    segments.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < size) segments.push_back({pos, size, invert});

  std::vector<std::pair<std::size_t, std::size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const auto& s : segments) {
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      }
      break;
    case Behavior::Isolated:
      for (const auto& s : segments) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::MergedWithPrevious:
      for (const auto& s : segments) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case Behavior::Contiguous:
      for (const auto& s : segments) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
  }
  return out;
}

void split_pieces(std::vector<std::string>& pieces, const Pattern& pattern, Behavior behavior,
                  bool invert) {
  std::vector<std::string> out;
  for (const auto& piece : pieces) {
    for (const auto& [b, e] :
         split_by_behavior(piece.size(), pattern.find_all(piece), behavior, invert)) {
      out.push_back(piece.substr(b, e - b));
    }
  }
  pieces = std::move(out);
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    split_pieces(pieces, pattern_, behavior_, invert_);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pre-tokenization regex, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Pattern>(true, kGpt2Regex, where);
  }
  void pre_tokenize(std::vector<std::string>& pieces, bool) const override {
    if (add_prefix_space_) {
      for (auto& p : pieces) {
        if (p.empty() || p[0] != ' ') p.insert(0, " ");
      }
    }
    if (regex_) split_pieces(pieces, *regex_, Behavior::Isolated, false);
    const auto& table = byte_level_tables().byte_to_utf8;
    for (auto& p : pieces) {
      std::string mapped;
      mapped.reserve(p.size() * 2);
      for (unsigned char b : p) mapped += table[b];
      p = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Pattern> regex_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)),
        scheme_(scheme),
        split_(split),
        pattern_(false, replacement_, "Metaspace") {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      auto& p = pieces[i];
      p = replace_all(p, " ", replacement_);
      const bool starts = p.compare(0, replacement_.size(), replacement_) == 0;
      const bool prepend = scheme_ == PrependScheme::Always ||
                           (scheme_ == PrependScheme::First && first_section && i == 0);
      if (prepend && !starts) p.insert(0, replacement_);
    }
    if (split_) split_pieces(pieces, pattern_, Behavior::MergedWithNext, false);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  Pattern pattern_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces, first_section);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

Behavior parse_behavior(const std::string& name, const ComponentSource& src) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw_corrupt(src, "unknown Split behavior '" + name + "'");
}

PrependScheme parse_scheme(const nlohmann::json& j, const ComponentSource& src) {
  if (j.contains("prepend_scheme")) {
    const auto s = j["prepend_scheme"].get<std::string>();
    if (s == "always") return PrependScheme::Always;
    if (s == "first") return PrependScheme::First;
    if (s == "never") return PrependScheme::Never;
    throw_corrupt(src, "unknown Metaspace prepend_scheme '" + s + "'");
  }
  return j.value("add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j,
                                                 const ComponentSource& src) {
  if (j.is_null()) return nullptr;
  const std::string type = type_of(j, src);
  try {
    if (type == "Split") {
      return std::make_unique<SplitPreTokenizer>(
          make_pattern(j.at("pattern"), src),
          parse_behavior(j.at("behavior").get<std::string>(), src), j.value("invert", false));
    }
    if (type == "ByteLevel") {
      return std::make_unique<ByteLevelPreTokenizer>(
          j.value("add_prefix_space", true), j.value("use_regex", true), src.file + " ByteLevel");
    }
    if (type == "Metaspace") {
      return std::make_unique<MetaspacePreTokenizer>(j.value("replacement", "\xE2\x96\x81"),
                                                     parse_scheme(j, src), j.value("split", true));
    }
    if (type == "Sequence") {
      std::vector<std::unique_ptr<PreTokenizer>> steps;
      for (const auto& step : j.at("pretokenizers")) {
        if (auto p = make_pre_tokenizer(step, src)) steps.push_back(std::move(p));
      }
      return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt(src, type + ": " + e.what());
  }
  throw_unsupported(src, type, "Split, ByteLevel, Metaspace, Sequence");
}

}  // namespace t2::detail::tokenizer

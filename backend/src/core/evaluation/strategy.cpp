// Strategy (t2/strategy.h): construction, validation and the stored label.
#include <t2/error.h>
#include <t2/strategy.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <utility>

namespace t2 {
namespace {

std::string last_name(std::string path) {
  std::filesystem::path p(std::move(path));
  if (!p.has_filename()) p = p.parent_path();  // "adapter/" -> "adapter"
  return p.filename().string();
}

}  // namespace

const char* to_string(StrategyKind kind) noexcept {
  switch (kind) {
    case StrategyKind::Base:
      return "base";
    case StrategyKind::Expert:
      return "expert";
    case StrategyKind::Mix:
      return "mix";
    case StrategyKind::Adapter:
      return "adapter";
    case StrategyKind::Prompt:
      return "prompt";
    case StrategyKind::Classifier:
      return "classifier";
    case StrategyKind::ClassifierSoft:
      return "classifier-soft";
    case StrategyKind::FewShot:
      return "few-shot";
  }
  return "base";
}

Strategy Strategy::base() { return {}; }

Strategy Strategy::expert(std::string file, bool allow_transfer) {
  Strategy s;
  s.kind = StrategyKind::Expert;
  s.files = {std::move(file)};
  s.allow_transfer = allow_transfer;
  return s;
}

Strategy Strategy::mix(std::vector<std::string> files, std::vector<double> weights) {
  Strategy s;
  s.kind = StrategyKind::Mix;
  s.files = std::move(files);
  s.weights = std::move(weights);
  return s;
}

Strategy Strategy::adapter(std::string folder) {
  Strategy s;
  s.kind = StrategyKind::Adapter;
  s.files = {std::move(folder)};
  return s;
}

Strategy Strategy::prompt(std::string library_file) {
  Strategy s;
  s.kind = StrategyKind::Prompt;
  s.files = {std::move(library_file)};
  return s;
}

Strategy Strategy::classifier(std::string library_file, bool soft) {
  Strategy s;
  s.kind = soft ? StrategyKind::ClassifierSoft : StrategyKind::Classifier;
  s.files = {std::move(library_file)};
  return s;
}

Strategy Strategy::few_shot(std::string mix_file) {
  Strategy s;
  s.kind = StrategyKind::FewShot;
  s.files = {std::move(mix_file)};
  return s;
}

Strategy Strategy::from_path(const std::string& expert_or_adapter) {
  if (expert_or_adapter.empty()) return base();
  std::error_code ec;
  if (std::filesystem::is_directory(expert_or_adapter, ec)) return adapter(expert_or_adapter);
  return expert(expert_or_adapter);
}

void validate_strategy(const Strategy& s) {
  const std::string kind = to_string(s.kind);
  switch (s.kind) {
    case StrategyKind::Base:
      if (!s.files.empty() || !s.weights.empty())
        throw Error(ErrorKind::InvalidArgument,
                    "the base strategy takes no files or weights; choose expert, mix or adapter");
      return;
    case StrategyKind::Expert:
    case StrategyKind::Adapter:
    case StrategyKind::Prompt:
    case StrategyKind::Classifier:
    case StrategyKind::ClassifierSoft:
    case StrategyKind::FewShot:
      if (s.files.size() != 1 || s.files.front().empty())
        throw Error(ErrorKind::InvalidArgument,
                    "the " + kind + " strategy takes exactly one " +
                        (s.kind == StrategyKind::Expert    ? "expert file"
                         : s.kind == StrategyKind::FewShot ? "mixed expert file"
                         : s.kind == StrategyKind::Adapter ? "adapter folder"
                                                           : "expert library file") +
                        " (got " + std::to_string(s.files.size()) + ")");
      if (!s.weights.empty())
        throw Error(ErrorKind::InvalidArgument,
                    "the " + kind + " strategy takes no weights; use mix to weight experts");
      return;
    case StrategyKind::Mix:
      if (s.files.size() < 2)
        throw Error(ErrorKind::InvalidArgument, "a mix needs two or more expert files (got " +
                                                    std::to_string(s.files.size()) +
                                                    "); use the expert strategy for one");
      if (s.weights.size() != s.files.size())
        throw Error(ErrorKind::InvalidArgument,
                    "a mix needs one weight per expert file: " + std::to_string(s.files.size()) +
                        " files, " + std::to_string(s.weights.size()) + " weights");
      for (std::size_t i = 0; i < s.weights.size(); ++i)
        if (!std::isfinite(s.weights[i]))
          throw Error(ErrorKind::InvalidArgument,
                      "mix weight " + std::to_string(i + 1) + " is not a finite number");
      return;
  }
}

std::string strategy_label(const Strategy& s) {
  switch (s.kind) {
    case StrategyKind::Base:
      return "base";
    case StrategyKind::Expert:
      return "expert:" + (s.files.empty() ? std::string() : last_name(s.files.front()));
    case StrategyKind::Adapter:
      return "adapter:" + (s.files.empty() ? std::string() : last_name(s.files.front()));
    case StrategyKind::Prompt:
    case StrategyKind::Classifier:
    case StrategyKind::ClassifierSoft:
      return to_string(s.kind);
    case StrategyKind::FewShot:
      return "few-shot:" + (s.files.empty() ? std::string() : last_name(s.files.front()));
    case StrategyKind::Mix: {
      std::string out = "mix:";
      for (std::size_t i = 0; i < s.files.size(); ++i) {
        char weight[32];
        std::snprintf(weight, sizeof weight, "%g", i < s.weights.size() ? s.weights[i] : 0.0);
        out += (i ? "+" : "") + std::string(weight) + "*" + last_name(s.files[i]);
      }
      return out;
    }
  }
  return "base";
}

}  // namespace t2

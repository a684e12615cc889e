#include <t2/error.h>
#include <t2/target_set.h>

#include "core/tokenizer/regex.h"

#include <algorithm>
#include <sstream>

namespace t2 {
namespace detail::target_set {

const std::vector<std::string> kMlp = {"gate_proj", "up_proj", "down_proj"};
const std::vector<std::string> kAttn = {"q_proj", "k_proj", "v_proj", "o_proj"};
const std::vector<std::string> kAttnQv = {"q_proj", "v_proj"};

// [out, in] of a layer's linear projection, from the config.
std::pair<std::int64_t, std::int64_t> shape_of(const ModelConfig& c, const std::string& part) {
  const std::int64_t q = c.num_attention_heads * c.head_dim;
  const std::int64_t kv = c.num_key_value_heads * c.head_dim;
  if (part == "q_proj") return {q, c.hidden_size};
  if (part == "k_proj" || part == "v_proj") return {kv, c.hidden_size};
  if (part == "o_proj") return {c.hidden_size, q};
  if (part == "gate_proj" || part == "up_proj") return {c.intermediate_size, c.hidden_size};
  return {c.hidden_size, c.intermediate_size};  // down_proj
}

std::vector<std::string> split_parts(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) parts.push_back(item);
  }
  return parts;
}

std::string presets_text() {
  std::string text;
  for (const auto& p : target_presets()) text += (text.empty() ? "" : ", ") + p;
  return text +
         ", a comma list of q_proj k_proj v_proj o_proj gate_proj up_proj down_proj, "
         "or regex:PATTERN";
}

std::vector<TargetMatrix> all_linear(const ModelConfig& config) {
  std::vector<TargetMatrix> all;
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer)
    for (const auto& part : linear_parts()) {
      const auto [out, in] = shape_of(config, part);
      all.push_back({TensorNames::layer(layer, part, "weight"), layer, part, out, in});
    }
  return all;
}

}  // namespace detail::target_set

const std::vector<std::string>& target_presets() {
  static const std::vector<std::string> presets = {"mlp", "attn", "attn-qv", "all-linear"};
  return presets;
}

std::int64_t total_rank(const std::vector<TargetMatrix>& targets) {
  std::int64_t total = 0;
  for (const auto& t : targets) total += t.rank();
  return total;
}

std::vector<TargetMatrix> resolve_targets(const ModelConfig& config, const std::string& spec) {
  using namespace detail::target_set;
  const auto all = all_linear(config);
  std::vector<TargetMatrix> chosen;
  if (spec.rfind("regex:", 0) == 0) {
    std::unique_ptr<detail::tokenizer::Regex> regex;
    try {
      regex =
          std::make_unique<detail::tokenizer::Regex>(spec.substr(6), "target set '" + spec + "'");
    } catch (const Error& e) {
      throw Error(ErrorKind::InvalidArgument, std::string(e.what()) + "; fix the pattern");
    }
    for (const auto& t : all)
      if (!regex->find_all(t.name).empty()) chosen.push_back(t);
  } else {
    std::vector<std::string> parts;
    if (spec == "mlp")
      parts = kMlp;
    else if (spec == "attn")
      parts = kAttn;
    else if (spec == "attn-qv")
      parts = kAttnQv;
    else if (spec == "all-linear")
      parts = linear_parts();
    else
      parts = split_parts(spec);
    if (parts.empty())
      throw Error(ErrorKind::InvalidArgument, "empty target set; use " + presets_text());
    for (const auto& p : parts)
      if (std::find(linear_parts().begin(), linear_parts().end(), p) == linear_parts().end())
        throw Error(ErrorKind::InvalidArgument,
                    "unknown target set or part '" + p + "'; use " + presets_text());
    for (const auto& t : all)
      if (std::find(parts.begin(), parts.end(), t.part) != parts.end()) chosen.push_back(t);
  }
  if (chosen.empty())
    throw Error(ErrorKind::InvalidArgument,
                "target set '" + spec + "' matches no linear weight of this " +
                    config.architecture + " model (names look like " + all.front().name + ")");
  return chosen;
}

}  // namespace t2

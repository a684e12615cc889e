// LoraAdapter basics (t2/lora.h): scaling, PEFT key names, initialisation, checks against a model.
#include <t2/error.h>
#include <t2/lora.h>
#include <t2/target_set.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace t2 {
namespace detail::lora_adapter {

// target_modules of `targets`: PEFT's list of module names when the targets are every layer's
// matrices of those parts, else a fullmatch regex naming each module (PEFT's string form).
void fill_target_modules(const ModelConfig& config, const std::vector<TargetMatrix>& targets,
                         LoraConfig& out) {
  std::set<std::string> parts;
  for (const auto& t : targets) parts.insert(t.part);
  out.target_modules.clear();
  out.target_regex.clear();
  const std::size_t full = parts.size() * static_cast<std::size_t>(config.num_hidden_layers);
  if (targets.size() == full) {
    out.target_modules.assign(parts.begin(), parts.end());  // sorted, as PEFT stores a set
    return;
  }
  std::string regex;
  for (const auto& t : targets) {
    std::string module = t.name.substr(0, t.name.size() - std::string(".weight").size());
    std::string escaped;
    for (char c : module) escaped += c == '.' ? std::string("\\.") : std::string(1, c);
    regex += (regex.empty() ? "" : "|") + escaped;
  }
  out.target_regex = "(" + regex + ")";
}

}  // namespace detail::lora_adapter

double LoraConfig::scaling() const {
  const double r = static_cast<double>(rank);
  return rslora ? alpha / std::sqrt(r) : alpha / r;
}

const LoraMatrix* LoraAdapter::find(const std::string& name) const {
  for (const auto& m : matrices)
    if (m.name == name) return &m;
  return nullptr;
}

std::int64_t LoraAdapter::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& m : matrices)
    n += static_cast<std::int64_t>(config.rank) * (m.in_features + m.out_features);
  return n;
}

std::string peft_lora_key(const std::string& weight_name, const std::string& which) {
  const std::string suffix = ".weight";
  if (weight_name.size() <= suffix.size() ||
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw Error(ErrorKind::InvalidArgument,
                "'" + weight_name + "' is not a weight name (ends in .weight)");
  if (which != "A" && which != "B")
    throw Error(ErrorKind::InvalidArgument, "LoRA matrix must be A or B, not '" + which + "'");
  return "base_model.model." + weight_name.substr(0, weight_name.size() - suffix.size()) +
         ".lora_" + which + ".weight";
}

LoraAdapter lora_init(const ModelConfig& model_config, const std::string& targets,
                      LoraConfig config, std::uint64_t seed) {
  if (config.rank < 1)
    throw Error(ErrorKind::InvalidArgument, "LoRA rank must be >= 1 (--lora-rank)");
  const auto resolved = resolve_targets(model_config, targets);
  detail::lora_adapter::fill_target_modules(model_config, resolved, config);
  LoraAdapter adapter;
  adapter.config = config;
  std::mt19937_64 rng(seed);
  for (const auto& t : resolved) {
    LoraMatrix m{t.name, t.layer, t.part, t.out_features, t.in_features, {}, {}};
    // kaiming_uniform_(a = sqrt(5)) on [r, in]: bound = sqrt(6 / ((1 + a^2) in)) = 1 / sqrt(in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(t.in_features));
    std::uniform_real_distribution<double> uniform(-bound, bound);
    m.a.resize(static_cast<std::size_t>(config.rank * t.in_features));
    for (auto& v : m.a) v = static_cast<float>(uniform(rng));
    m.b.assign(static_cast<std::size_t>(config.rank * t.out_features), 0.0f);
    adapter.matrices.push_back(std::move(m));
  }
  return adapter;
}

void check_lora_adapter(const LoraAdapter& adapter, const ModelConfig& model_config) {
  if (adapter.config.rank < 1)
    throw Error(ErrorKind::InvalidArgument, "the adapter's rank must be >= 1");
  const auto all = resolve_targets(model_config, "all-linear");
  const auto r = static_cast<std::int64_t>(adapter.config.rank);
  for (const auto& m : adapter.matrices) {
    if (static_cast<std::int64_t>(m.a.size()) != r * m.in_features ||
        static_cast<std::int64_t>(m.b.size()) != m.out_features * r)
      throw Error(ErrorKind::InvalidArgument,
                  "the adapter's matrix '" + m.name + "' holds " + std::to_string(m.a.size()) +
                      " / " + std::to_string(m.b.size()) + " values for A [r, in] / B [out, r]; " +
                      "expected " + std::to_string(r * m.in_features) + " / " +
                      std::to_string(m.out_features * r));
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const TargetMatrix& t) { return t.name == m.name; });
    if (it == all.end())
      throw Error(ErrorKind::InvalidArgument,
                  "the adapter's matrix '" + m.name + "' is not a linear weight of this model (" +
                      model_config.architecture + ", " +
                      std::to_string(model_config.num_hidden_layers) +
                      " layers); use an adapter trained for this model");
    if (it->out_features != m.out_features || it->in_features != m.in_features)
      throw Error(ErrorKind::InvalidArgument,
                  "the adapter's matrix '" + m.name + "' is [" + std::to_string(m.out_features) +
                      ", " + std::to_string(m.in_features) + "] but the model's is [" +
                      std::to_string(it->out_features) + ", " + std::to_string(it->in_features) +
                      "]; use an adapter trained for this model");
  }
}

}  // namespace t2

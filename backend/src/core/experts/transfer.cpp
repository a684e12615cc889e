// Checking an expert against a model, and cross-model transfer (paper Table 5).
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/experts.h>

#include <cmath>
#include <map>

namespace t2 {
namespace detail::experts_transfer {

std::string describe(const std::string& fingerprint, const std::string& architecture) {
  return architecture + " (" + fingerprint + ")";
}

// Source vector resized to `rank`; the padding leaves those directions at the vector's typical
// multiplier (identity for paper / sakana-mixed).
std::vector<float> resize_vector(const std::vector<float>& v, std::size_t rank, Parametrization p) {
  std::vector<float> out(v.begin(),
                         v.begin() + static_cast<std::ptrdiff_t>(std::min(rank, v.size())));
  if (rank <= v.size()) return out;
  float pad = identity_value(p);
  if (p == Parametrization::SakanaCompat && !v.empty()) {
    double mean = 0.0;
    for (float x : v) mean += 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    mean /= static_cast<double>(v.size());
    mean = std::min(std::max(mean, 1e-6), 1.0 - 1e-6);
    pad = static_cast<float>(std::log(mean / (1.0 - mean)));
  }
  out.resize(rank, pad);
  return out;
}

ExpertVectors transfer(const ExpertVectors& expert, const std::vector<TargetMatrix>& targets,
                       TransferReport* report) {
  std::map<std::pair<std::int64_t, std::string>, const ExpertMatrix*> by_key;
  for (const auto& m : expert.matrices) by_key[{m.layer, m.part}] = &m;
  ExpertVectors out;
  out.metadata = expert.metadata;
  std::map<std::pair<std::int64_t, std::string>, bool> used;
  for (const auto& t : targets) {
    ExpertMatrix m{t.name, t.layer, t.part, {}};
    const auto rank = static_cast<std::size_t>(t.rank());
    auto it = by_key.find({t.layer, t.part});
    if (it == by_key.end()) {
      m.values.assign(rank, identity_value(expert.metadata.parametrization));
      if (report) report->identity.push_back(t.name);
    } else {
      const auto& src = it->second->values;
      m.values = resize_vector(src, rank, expert.metadata.parametrization);
      used[it->first] = true;
      if (report) {
        std::string line = it->second->name + " -> " + t.name;
        if (src.size() > rank)
          line += " (truncated " + std::to_string(src.size()) + " -> " + std::to_string(rank) + ")";
        else if (src.size() < rank)
          line += " (padded " + std::to_string(src.size()) + " -> " + std::to_string(rank) + ")";
        report->mapped.push_back(line);
      }
    }
    out.matrices.push_back(std::move(m));
  }
  if (report)
    for (const auto& m : expert.matrices)
      if (!used.count({m.layer, m.part})) report->dropped.push_back(m.name);
  return out;
}

}  // namespace detail::experts_transfer

using namespace detail::experts_transfer;

ExpertVectors adapt_expert_to_model(const ExpertVectors& expert, const ModelConfig& config,
                                    const std::string& fingerprint,
                                    const ExpertLoadOptions& options, TransferReport* report) {
  if (report) *report = TransferReport{};
  const auto& md = expert.metadata;
  const bool same_model =
      md.base_fingerprint == fingerprint && md.architecture == config.architecture;
  std::vector<TargetMatrix> targets;
  try {
    targets = resolve_targets(config, md.target_set);
  } catch (const Error& e) {
    if (same_model) throw;
    throw Error(ErrorKind::InvalidArgument, std::string("the expert's target set '") +
                                                md.target_set + "' does not apply to " +
                                                config.architecture + ": " + e.what());
  }
  if (!same_model) {
    if (!options.allow_transfer)
      throw Error(ErrorKind::InvalidArgument,
                  "expert was made for " + describe(md.base_fingerprint, md.architecture) +
                      ", not for this model " + describe(fingerprint, config.architecture) +
                      ". Use the matching base model, or load with cross-model transfer "
                      "(ExpertLoadOptions::allow_transfer) to map vectors by layer and part");
    ExpertVectors out = transfer(expert, targets, report);
    out.metadata.base_fingerprint = fingerprint;
    out.metadata.architecture = config.architecture;
    out.metadata.note = (md.note.empty() ? "" : md.note + "; ") + "transferred from " +
                        describe(md.base_fingerprint, md.architecture);
    if (report) report->transferred = true;
    return out;
  }
  // Same model: every target present with the right length, nothing extra.
  std::map<std::string, const TargetMatrix*> wanted;
  for (const auto& t : targets) wanted[t.name] = &t;
  for (const auto& m : expert.matrices) {
    auto it = wanted.find(m.name);
    if (it == wanted.end())
      throw Error(ErrorKind::Corrupt, "expert vector " + m.name + " is not in the target set '" +
                                          md.target_set + "' of this model; re-create the expert");
    if (static_cast<std::int64_t>(m.values.size()) != it->second->rank())
      throw Error(ErrorKind::Corrupt,
                  "expert vector " + m.name + " has " + std::to_string(m.values.size()) +
                      " values, the matrix has rank " + std::to_string(it->second->rank()));
  }
  if (expert.matrices.size() != targets.size())
    for (const auto& t : targets)
      if (!expert.find(t.name))
        throw Error(ErrorKind::Corrupt, "expert lacks a vector for " + t.name + " (target set '" +
                                            md.target_set + "')");
  return transfer(expert, targets, report);  // reorders into target order
}

ExpertVectors load_expert_for_model(const std::string& path, const std::string& model_dir,
                                    const ExpertLoadOptions& options, TransferReport* report) {
  const auto expert = read_expert(path);
  return adapt_expert_to_model(expert, load_model_config(model_dir), model_fingerprint(model_dir),
                               options, report);
}

}  // namespace t2

// apply_expert / clear_expert / paper_expert_from_map (t2/adaptation.h).
#include "adaptation_impl.h"

#include <t2/error.h>

#include "../model/session_impl.h"
#include "../svd/decomposition_impl.h"
#include "../torch_guard.h"

#include <chrono>
#include <cmath>
#include <set>

namespace t2 {

namespace engine {

bool expert_sigma(const Decomposition& decomposition, const ExpertVectors& expert,
                  const std::string& name, std::vector<float>& sigma_new) {
  const ExpertMatrix* m = expert.find(name);
  if (!m) return false;
  const auto sigma = decomposition.singular_values(name);
  if (m->values.size() != sigma.size())
    throw Error(ErrorKind::InvalidArgument,
                "expert vector for '" + name + "' has " + std::to_string(m->values.size()) +
                    " values but the matrix has rank " + std::to_string(sigma.size()) +
                    "; load the expert for this model (or allow transfer)");
  sigma_new =
      adapted_sigma(expert.metadata.parametrization, m->values, sigma, expert.metadata.max_mult);
  return true;
}

at::Tensor adapted_weight(const at::Tensor& w, const Decomposition& decomposition,
                          const std::string& name, const std::vector<float>& sigma_new) {
  const SvdFactors& f = svd_factors(decomposition, name);
  const auto r = f.s.size(0);
  if (static_cast<std::int64_t>(sigma_new.size()) != r)
    throw Error(ErrorKind::InvalidArgument, "sigma' for '" + name + "' has the wrong length");
  const float* s = f.s.data_ptr<float>();
  bool same = true;
  for (std::int64_t i = 0; i < r && same; ++i)
    same = sigma_new[static_cast<std::size_t>(i)] == s[i];
  if (same) return {};
  if (w.size(0) != f.u.size(0) || w.size(1) != f.vh.size(1))
    throw Error(ErrorKind::InvalidArgument, "decomposition of '" + name +
                                                "' does not match the model's tensor shape; "
                                                "decompose this model (t2 decompose)");
  const auto device = w.device();
  const at::Tensor target = at::from_blob(const_cast<float*>(sigma_new.data()), {r}, at::kFloat);
  at::Tensor delta = target - f.s;
  at::Tensor u = f.u, vh = f.vh;
  // Only directions whose sigma changes contribute (2*out*in FLOPs each): skip the others.
  const at::Tensor changed = delta.ne(0).nonzero().squeeze(1);
  if (changed.size(0) < r) {
    delta = delta.index_select(0, changed);
    u = u.index_select(1, changed);
    vh = vh.index_select(0, changed);
  }
  // U * delta scales U's columns (a new tensor: the cached factors are read-only).
  const at::Tensor u_scaled = u.to(device) * delta.to(device).unsqueeze(0);
  return at::addmm(w.to(at::kFloat), u_scaled, vh.to(device));
}

}  // namespace engine

ApplyReport apply_expert(Session& session, const Decomposition& decomposition,
                         const ExpertVectors& expert, const ApplyParams& params) {
  return detail::guarded([&] {
    const auto start = std::chrono::steady_clock::now();
    if (!(params.expected_tokens >= 0.0))
      throw Error(ErrorKind::InvalidArgument, "expected_tokens must be >= 0");
    for (const auto& m : expert.matrices)
      if (!decomposition.find(m.name))
        throw Error(ErrorKind::InvalidArgument,
                    "expert matrix '" + m.name + "' is not a target of the decomposition (" +
                        decomposition.target_spec() + "); decompose the expert's target set");
    // Every sigma' first, so a bad vector throws before the session changes.
    std::vector<engine::SigmaUpdate> updates;
    for (const auto& t : decomposition.targets()) {
      std::vector<float> sigma_new;
      engine::SigmaUpdate u{t.name, at::Tensor()};
      if (engine::expert_sigma(decomposition, expert, t.name, sigma_new))
        u.sigma = at::from_blob(sigma_new.data(), {static_cast<std::int64_t>(sigma_new.size())},
                                at::kFloat)
                      .clone();
      updates.push_back(std::move(u));
    }
    at::NoGradGuard no_grad;
    const auto choice = engine::apply_sigmas(session.impl(), decomposition, updates, params.mode,
                                             params.expected_tokens);
    ApplyReport report;
    for (std::size_t i = 0; i < updates.size(); ++i) {
      const auto& name = updates[i].name;
      if (choice[i] == engine::Applied::Identity) {
        report.identity.push_back(name);
        continue;
      }
      report.changed.push_back(name);
      (choice[i] == engine::Applied::Factored ? report.factored : report.recomposed)
          .push_back(name);
    }
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  });
}

void clear_expert(Session& session, const Decomposition& decomposition) {
  detail::guarded([&] {
    for (const auto& t : decomposition.targets()) session.impl().clear_override(t.name);
  });
}

namespace detail::adaptation {
std::string escape_regex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}
}  // namespace detail::adaptation

ExpertVectors paper_expert_from_map(const ModelConfig& config,
                                    const std::map<std::string, std::vector<float>>& z) {
  if (z.empty())
    throw Error(ErrorKind::InvalidArgument,
                "the z map is empty; give {\"model.layers.0.mlp.up_proj.weight\": [z...]}");
  const auto linear = resolve_targets(config, "all-linear");
  ExpertVectors expert;
  expert.metadata.parametrization = Parametrization::Paper;
  expert.metadata.architecture = config.architecture;
  std::string pattern;
  for (const auto& t : linear) {  // target order
    const auto it = z.find(t.name);
    if (it == z.end()) continue;
    if (static_cast<std::int64_t>(it->second.size()) != t.rank())
      throw Error(ErrorKind::InvalidArgument,
                  "z for '" + t.name + "' has " + std::to_string(it->second.size()) +
                      " values; it needs " + std::to_string(t.rank()) + " (the matrix's rank)");
    for (float v : it->second)
      if (!std::isfinite(v))
        throw Error(ErrorKind::InvalidArgument, "z for '" + t.name + "' has a non-finite value");
    expert.matrices.push_back({t.name, t.layer, t.part, it->second});
    pattern += (pattern.empty() ? "" : "|") + detail::adaptation::escape_regex(t.name);
  }
  for (const auto& [name, values] : z) {
    if (!expert.find(name))
      throw Error(ErrorKind::InvalidArgument, "'" + name +
                                                  "' is not a linear weight of this model (e.g. '" +
                                                  linear.front().name + "'; see t2 inspect)");
  }
  expert.metadata.target_set = "regex:^(" + pattern + ")$";
  return expert;
}

}  // namespace t2

// Factored SVF projections: Session::Impl::set_factored from a Decomposition, the auto cost
// model, and apply_sigmas (the per-matrix recompose-or-factor core of apply_expert).
#include "adaptation_impl.h"

#include <t2/error.h>

#include "../model/session_impl.h"
#include "../svd/decomposition_impl.h"

#include <map>
#include <set>

namespace t2 {

void Session::Impl::set_factored(const std::string& name, const Decomposition& decomposition,
                                 const at::Tensor& scale) {
  const engine::SvdFactors& f = engine::svd_factors(decomposition, name);
  set_factored(name, f.u, scale, f.vh);
}

std::string apply_mode_name(ApplyMode mode) {
  switch (mode) {
    case ApplyMode::Recompose:
      return "recompose";
    case ApplyMode::Factored:
      return "factored";
    case ApplyMode::Auto:
      break;
  }
  return "auto";
}

ApplyMode parse_apply_mode(const std::string& name) {
  for (auto mode : {ApplyMode::Auto, ApplyMode::Recompose, ApplyMode::Factored})
    if (apply_mode_name(mode) == name) return mode;
  throw Error(ErrorKind::InvalidArgument,
              "unknown apply mode '" + name + "'; use auto, recompose or factored");
}

namespace engine {

bool factored_is_cheaper(std::int64_t out, std::int64_t in, std::int64_t r,
                         double expected_tokens) {
  const double o = static_cast<double>(out), i = static_cast<double>(in);
  const double k = static_cast<double>(r);
  const double recompose = 2.0 * o * i * k;
  const double extra_per_token = 2.0 * ((i + o) * k - i * o);  // may be negative (low rank)
  return expected_tokens * extra_per_token < recompose;
}

namespace detail_factored {

// "model.layers.3.mlp.up_proj.weight" -> "model.layers.3" (the unit rebuild() redoes).
std::string layer_key(const std::string& name) {
  const auto dot = name.find('.', name.find('.', name.find('.') + 1) + 1);
  return dot == std::string::npos ? name : name.substr(0, dot);
}

bool equals_sigma(const at::Tensor& sigma_new, const at::Tensor& sigma) {
  return !sigma_new.defined() ||
         at::equal(sigma_new.detach().to(at::kCPU, at::kFloat).contiguous(), sigma);
}

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace detail_factored

std::vector<Applied> apply_sigmas(Session::Impl& session, const Decomposition& decomposition,
                                  const std::vector<SigmaUpdate>& updates, ApplyMode mode,
                                  double expected_tokens) {
  namespace dfa = detail_factored;
  std::vector<Applied> choice;
  for (const auto& u : updates) {  // validate everything first: the session changes all or none
    const SvdFactors& f = svd_factors(decomposition, u.name);
    const auto r = f.s.size(0);
    if (u.sigma.defined() && (u.sigma.dim() != 1 || u.sigma.size(0) != r))
      throw Error(ErrorKind::InvalidArgument, "sigma' for '" + u.name + "' has shape " +
                                                  c10::str(u.sigma.sizes()) + "; it needs [" +
                                                  std::to_string(r) + "] (the matrix's rank)");
    const at::Tensor base = session.m().weight(u.name);
    if (!base.defined() || base.size(0) != f.u.size(0) || base.size(1) != f.vh.size(1))
      throw Error(ErrorKind::InvalidArgument,
                  "decomposition target '" + u.name +
                      "' does not match a tensor of the session's model; decompose this model");
    if (dfa::equals_sigma(u.sigma, f.s)) {
      choice.push_back(Applied::Identity);
    } else {
      const bool factor = mode == ApplyMode::Factored ||
                          (mode == ApplyMode::Auto &&
                           factored_is_cheaper(f.u.size(0), f.vh.size(1), r, expected_tokens));
      choice.push_back(factor ? Applied::Factored : Applied::Recomposed);
    }
  }
  std::set<std::string> rebuild, attach;              // layer keys ("model.layers.N")
  std::map<std::string, std::string> representative;  // layer key -> a target name in it
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const auto& name = updates[i].name;
    const std::string key = dfa::layer_key(name);
    representative.emplace(key, name);
    const bool had_dense = session.overrides.erase(name) > 0;
    if (choice[i] == Applied::Factored) {
      // Replaces the factored entry in place: set_factored reuses its device copies of U / Vh.
      session.set_factored(name, decomposition, updates[i].sigma);  // attaches (cheap)
      if (had_dense) rebuild.insert(key);
      continue;
    }
    const bool had_factored = session.factored.erase(name) > 0;
    if (choice[i] == Applied::Recomposed) {
      at::NoGradGuard no_grad;
      const at::Tensor w = session.m().weight(name);
      session.overrides[name] =
          adapted_weight(w, decomposition, name, dfa::to_vector(updates[i].sigma))
              .to(session.m().device, session.m().dtype);
      rebuild.insert(key);
    } else {
      if (had_dense) rebuild.insert(key);
      if (had_factored) attach.insert(key);
    }
  }
  for (const auto& key : rebuild) session.rebuild(representative.at(key));
  for (const auto& key : attach)
    if (!rebuild.count(key)) session.attach_factored(std::stoll(key.substr(key.rfind('.') + 1)));
  return choice;
}

}  // namespace engine
}  // namespace t2

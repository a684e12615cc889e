// SvfState: the trainable SVF expert, sigma'(values) and the dense (reference) weight build.
#include "train_internal.h"

#include <t2/error.h>

#include "../experts/adaptation_impl.h"
#include "../svd/decomposition_impl.h"

#include <optional>
#include <set>

namespace t2::engine::train {

SvfState::SvfState(const Decomposition& decomposition, const ExpertVectors& initial,
                   const Model::Impl& model)
    : metadata_(initial.metadata), model_(&model) {
  if (initial.metadata.parametrization == Parametrization::SakanaMixed)
    throw Error(ErrorKind::InvalidArgument,
                "cannot train a sakana-mixed expert; start from paper or sakana-compat");
  for (const auto& t : decomposition.targets()) {
    const ExpertMatrix* m = initial.find(t.name);
    if (!m) continue;
    const SvdFactors& f = svd_factors(decomposition, t.name);
    if (static_cast<std::int64_t>(m->values.size()) != f.s.size(0))
      throw Error(ErrorKind::InvalidArgument,
                  "expert vector for '" + t.name + "' has " + std::to_string(m->values.size()) +
                      " values but the matrix has rank " + std::to_string(f.s.size(0)));
    SvfMatrix sm;
    sm.target = t;
    sm.u = f.u.to(model.device, at::kFloat).contiguous();
    sm.s = f.s.to(model.device, at::kFloat).contiguous();
    sm.vh = f.vh.to(model.device, at::kFloat).contiguous();
    sm.values = at::from_blob(const_cast<float*>(m->values.data()),
                              {static_cast<std::int64_t>(m->values.size())}, at::kFloat)
                    .to(model.device)
                    .clone()
                    .set_requires_grad(true);
    matrices_.push_back(std::move(sm));
  }
  if (matrices_.empty())
    throw Error(ErrorKind::InvalidArgument, "the expert covers no target of the decomposition (" +
                                                decomposition.target_spec() + ")");
}

at::Tensor SvfState::sigma_prime(std::size_t i) const {
  const SvfMatrix& m = matrices_[i];
  if (metadata_.parametrization == Parametrization::Paper) return m.s * m.values;
  // sakana-compat: m = sigmoid(p) * max_mult; sigma' = sigma * m * sum(sigma) / sum(sigma * m).
  const at::Tensor mult = at::sigmoid(m.values) * metadata_.max_mult;
  const at::Tensor scaled = m.s * mult;
  return scaled * (m.s.sum() / scaled.sum());
}

std::vector<bool> SvfState::choose_factored(ApplyMode scoring, std::int64_t tokens) const {
  std::vector<bool> out;
  for (const auto& m : matrices_) {
    const double in = static_cast<double>(m.target.in_features);
    const double o = static_cast<double>(m.target.out_features);
    const double r = static_cast<double>(m.target.rank());
    const double t = static_cast<double>(std::max<std::int64_t>(1, tokens));
    const double dense = 6 * o * in * t + 2 * o * in * r;
    const double factored = 4 * (in + o) * r * t;
    out.push_back(scoring == ApplyMode::Factored ||
                  (scoring == ApplyMode::Auto && factored < dense));
  }
  return out;
}

std::vector<bool> SvfState::choose_rollout_factored(ApplyMode rollout_weights,
                                                    const std::vector<bool>& scored_factored,
                                                    std::int64_t rollout_tokens) const {
  std::vector<bool> out(matrices_.size(), false);
  for (std::size_t i = 0; i < matrices_.size(); ++i) {
    if (i >= scored_factored.size() || !scored_factored[i] ||
        rollout_weights == ApplyMode::Recompose)
      continue;
    const auto& t = matrices_[i].target;
    out[i] = rollout_weights == ApplyMode::Factored ||
             factored_is_cheaper(t.out_features, t.in_features, t.rank(),
                                 static_cast<double>(std::max<std::int64_t>(1, rollout_tokens)));
  }
  return out;
}

void SvfState::build(Session::Impl& session, const std::vector<bool>& factored,
                     const std::vector<bool>& rollout_factored) {
  graph_leaf_.clear();
  built_layers_.clear();
  factored_ = factored;
  rollout_factored_ = rollout_factored;
  rollout_factored_.resize(matrices_.size(), false);
  std::map<std::string, at::Tensor> w_prime;
  std::set<std::int64_t> layers;
  for (std::size_t i = 0; i < matrices_.size(); ++i) {
    const SvfMatrix& m = matrices_[i];
    if (rollout_factored_[i]) continue;  // set factored below, after the layers are built
    std::optional<at::NoGradGuard> no_grad;
    if (factored_[i]) no_grad.emplace();
    // U diag(sigma') Vh: scale U's columns, then one matmul (2 out r in FLOPs).
    w_prime[m.target.name] = at::mm(m.u * sigma_prime(i).unsqueeze(0), m.vh);
    layers.insert(m.target.layer);
  }
  const auto& base = session.m();
  const WeightLookup lookup = [&](const std::string& name) {
    auto it = w_prime.find(name);
    if (it != w_prime.end()) return it->second.to(base.dtype);
    return session.dense_weight(name);
  };
  for (auto layer : layers) {
    LayerWeights lw = build_layer(base.config, layer, lookup);
    for (at::Tensor* t : {&lw.qkv_wt, &lw.o_wt, &lw.gate_up_wt, &lw.down_wt}) {
      if (!t->defined() || !t->requires_grad()) continue;
      at::Tensor leaf = t->detach().set_requires_grad(true);
      graph_leaf_.emplace_back(*t, leaf);
      *t = leaf;
    }
    session.layers[static_cast<std::size_t>(layer)] = lw;
    built_layers_.push_back(layer);
  }
  for (std::size_t i = 0; i < matrices_.size(); ++i)
    if (rollout_factored_[i]) {
      at::NoGradGuard no_grad;
      session.set_factored(matrices_[i].target.name, matrices_[i].u, sigma_prime(i),
                           matrices_[i].vh);
    }
}

void SvfState::attach_factored(Session::Impl& session) {
  for (std::size_t i = 0; i < matrices_.size(); ++i)
    if (i < factored_.size() && factored_[i]) {
      // sigma' as a leaf too: micro-batches accumulate into it; finish_backward() carries the
      // sum through sigma'(values) once (that small graph is used once).
      const at::Tensor sigma = sigma_prime(i);
      const at::Tensor leaf = sigma.detach().set_requires_grad(sigma.requires_grad());
      if (sigma.requires_grad()) graph_leaf_.emplace_back(sigma, leaf);
      session.set_factored(matrices_[i].target.name, matrices_[i].u, leaf, matrices_[i].vh);
    }
}

void SvfState::finish_backward() {
  at::Tensor total;
  for (auto& [graph, leaf] : graph_leaf_) {
    if (!leaf.grad().defined()) continue;
    const at::Tensor term = (graph * leaf.grad()).sum();
    total = total.defined() ? total + term : term;
  }
  if (total.defined()) total.backward();
  graph_leaf_.clear();
}

void SvfState::release(Session::Impl& session) {
  graph_leaf_.clear();
  for (std::size_t i = 0; i < matrices_.size(); ++i)
    if (session.find_factored(matrices_[i].target.name))
      session.clear_override(matrices_[i].target.name);
  for (auto layer : built_layers_)
    session.layers[static_cast<std::size_t>(layer)] =
        session.m().layers[static_cast<std::size_t>(layer)];
  built_layers_.clear();
}

void SvfState::apply_constraint(const TrainParams& params) {
  if (metadata_.parametrization != Parametrization::Paper ||
      params.z_constraint != ZConstraint::Clamp)
    return;
  at::NoGradGuard no_grad;
  for (auto& m : matrices_) m.values.clamp_min_(params.z_min);
}

ExpertVectors SvfState::to_expert() const {
  ExpertVectors e;
  e.metadata = metadata_;
  for (const auto& m : matrices_) {
    const at::Tensor v = m.values.detach().to(at::kCPU).contiguous();
    e.matrices.push_back(
        {m.target.name, m.target.layer, m.target.part,
         std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel())});
  }
  return e;
}

std::vector<at::Tensor> SvfState::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& m : matrices_) out.push_back(m.values);
  return out;
}

std::int64_t SvfState::total_values() const {
  std::int64_t n = 0;
  for (const auto& m : matrices_) n += m.values.numel();
  return n;
}

}  // namespace t2::engine::train

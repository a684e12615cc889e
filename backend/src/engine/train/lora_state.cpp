// LoraState: a LoRA adapter under training (merged weights for rollouts, an additive low-rank
// branch with autograd for scoring).
#include "trainable.h"

#include <t2/error.h>

#include "../lora/lora_impl.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace t2::engine::train {

LoraState::LoraState(const LoraAdapter& initial, const Model::Impl& model)
    : config_(initial.config), model_(&model) {
  check_lora_adapter(initial, model.config);
  const auto& parts = linear_parts();
  for (const auto& m : initial.matrices) {
    LoraTensors t;
    t.target = {m.name, m.layer, m.part, m.out_features, m.in_features};
    t.projection =
        static_cast<std::size_t>(std::find(parts.begin(), parts.end(), m.part) - parts.begin());
    auto [a, b] = lora_tensors(m, config_.rank, model.device);
    t.a = a.set_requires_grad(true);
    t.b = b.set_requires_grad(true);
    matrices_.push_back(std::move(t));
  }
  if (matrices_.empty())
    throw Error(ErrorKind::InvalidArgument, "the LoRA adapter adapts no matrix; check --targets");
}

void LoraState::build_step(Session::Impl& session, const TrainParams& params, std::int64_t,
                           std::int64_t) {
  if (params.objective != Objective::Rl) return;  // next-token training has no rollouts
  at::NoGradGuard no_grad;
  merge_weights(session);
}

void LoraState::merge_weights(Session::Impl& session) {
  release(session);
  const auto& base = session.m();
  std::map<std::string, at::Tensor> merged;
  std::set<std::int64_t> layers;
  for (const auto& t : matrices_) {
    merged[t.target.name] = lora_merged_weight(base.weight(t.target.name), t.a.detach(),
                                               t.b.detach(), config_.scaling())
                                .to(base.dtype);
    layers.insert(t.target.layer);
  }
  const WeightLookup lookup = [&](const std::string& name) {
    auto it = merged.find(name);
    return it != merged.end() ? it->second : session.dense_weight(name);
  };
  for (auto layer : layers) {
    session.layers[static_cast<std::size_t>(layer)] = build_layer(base.config, layer, lookup);
    built_layers_.push_back(layer);
  }
}

void LoraState::attach_scoring(Session::Impl& session, std::uint64_t dropout_seed) {
  release(session);
  at::Generator generator;
  if (config_.dropout > 0) generator = at::detail::createCPUGenerator(dropout_seed);
  std::set<std::int64_t> layers;
  for (const auto& t : matrices_) {
    const auto l = static_cast<std::size_t>(t.target.layer);
    if (layers.insert(t.target.layer).second) {
      session.layers[l] = session.m().layers[l];
      built_layers_.push_back(t.target.layer);
    }
    session.layers[l].lora[t.projection] =
        LowRankBranch{t.a, t.b, config_.scaling(), config_.dropout, generator};
  }
}

void LoraState::release(Session::Impl& session) {
  for (auto layer : built_layers_)
    session.layers[static_cast<std::size_t>(layer)] =
        session.m().layers[static_cast<std::size_t>(layer)];
  built_layers_.clear();
}

std::vector<std::pair<std::string, at::Tensor>> LoraState::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& t : matrices_) {
    out.emplace_back(t.target.name + ".lora_A", t.a);
    out.emplace_back(t.target.name + ".lora_B", t.b);
  }
  return out;
}

LoraAdapter LoraState::to_adapter() const {
  LoraAdapter adapter;
  adapter.config = config_;
  auto values = [](const at::Tensor& t) {
    const at::Tensor c = t.detach().to(at::kCPU).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  for (const auto& t : matrices_)
    adapter.matrices.push_back({t.target.name, t.target.layer, t.target.part, t.target.out_features,
                                t.target.in_features, values(t.a), values(t.b)});
  return adapter;
}

TrainedWeights LoraState::snapshot() const {
  TrainedWeights w;
  w.adapter = to_adapter();
  return w;
}

void LoraState::write(const TrainedWeights& weights, const std::string& path,
                      const std::string& run_id, const std::string& note) const {
  write_lora_adapter(path, weights.adapter, {{"t2_run_id", run_id}, {"t2_note", note}});
}

TrainedWeights LoraState::read(const std::string& path) const {
  TrainedWeights w;
  w.adapter = read_lora_adapter(path);
  return w;
}

// Frobenius norms of all A and all B, and of the largest |B| entry (B starts at 0).
std::vector<std::pair<std::string, double>> LoraState::value_metrics() const {
  double a_sq = 0, b_sq = 0, b_max = 0;
  for (const auto& t : matrices_) {
    a_sq += t.a.detach().to(at::kDouble).pow(2).sum().item<double>();
    b_sq += t.b.detach().to(at::kDouble).pow(2).sum().item<double>();
    b_max = std::max(b_max, t.b.detach().abs().max().item<double>());
  }
  return {{"lora_a_norm", std::sqrt(a_sq)},
          {"lora_b_norm", std::sqrt(b_sq)},
          {"lora_b_max_abs", b_max}};
}

}  // namespace t2::engine::train

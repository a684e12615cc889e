// Trainable (the trainer's view of what it trains) and its SVF implementation over SvfState.
#include "trainable.h"

#include <t2/error.h>

#include <algorithm>

namespace t2::engine::train {

std::vector<at::Tensor> Trainable::parameters() const {
  std::vector<at::Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::int64_t Trainable::total_values() const {
  std::int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void SvfTrainable::build_step(Session::Impl& session, const TrainParams& params,
                              std::int64_t scored_tokens, std::int64_t rollout_tokens) {
  const auto factored = state_.choose_factored(params.scoring, scored_tokens);
  state_.build(session, factored,
               rollout_tokens <= 0 ? factored  // no rollouts: nothing needs merged weights
                                   : state_.choose_rollout_factored(params.rollout_weights,
                                                                    factored, rollout_tokens));
}

std::vector<std::pair<std::string, at::Tensor>> SvfTrainable::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (std::size_t i = 0; i < state_.size(); ++i)
    out.emplace_back(state_.matrix(i).target.name, state_.matrix(i).values);
  return out;
}

TrainedWeights SvfTrainable::snapshot() const {
  TrainedWeights w;
  w.expert = state_.to_expert();
  return w;
}

void SvfTrainable::write(const TrainedWeights& weights, const std::string& path,
                         const std::string& run_id, const std::string& note) const {
  ExpertVectors e = weights.expert;
  e.metadata.run_id = run_id;
  e.metadata.note = note;
  write_expert(path, e);
}

TrainedWeights SvfTrainable::read(const std::string& path) const {
  TrainedWeights w;
  w.expert = read_expert(path);
  return w;
}

// Per-layer statistics of the stored values (z, or p for sakana-compat).
std::vector<std::pair<std::string, double>> SvfTrainable::value_metrics() const {
  std::vector<std::pair<std::string, double>> out;
  const ExpertStats st = expert_stats(state_.to_expert());
  auto add = [&](const std::string& suffix, const ValueStats& v) {
    out.emplace_back("z_mean" + suffix, v.mean);
    out.emplace_back("z_std" + suffix, v.std);
    out.emplace_back("z_min" + suffix, v.min);
    out.emplace_back("z_max" + suffix, v.max);
  };
  add("", st.overall);
  for (const auto& l : st.per_layer) {
    std::string name = l.name;  // "layer N"
    std::replace(name.begin(), name.end(), ' ', '_');
    add("." + name, l);
  }
  return out;
}

}  // namespace t2::engine::train

// Per-row mixes and continuation scoring (mix_rows.h).
#include "mix_rows.h"

#include <t2/error.h>

#include "../experts/adaptation_impl.h"
#include "engine/torch_guard.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace t2::engine {

Mixer load_mixer(const std::string& model_dir, const ExpertLibrary& library, AlphaShape shape,
                 const JobContext& job, bool with_identity) {
  if (library.experts.empty())
    throw Error(ErrorKind::InvalidArgument,
                "the expert library has no experts to mix; list at least one");
  if (shape == AlphaShape::PerMatrix)
    throw Error(ErrorKind::InvalidArgument,
                "the few-shot search mixes per expert or per expert and layer, not per matrix");
  Mixer mx;
  mx.shape = shape;
  std::string first_spec;
  for (const auto& e : library.experts) {
    LoadedExpert loaded = load_expert_file(model_dir, library.resolve(e), false, job);
    if (mx.experts.empty()) {
      first_spec = loaded.decomposition.target_spec();
      mx.decomposition_.emplace(std::move(loaded.decomposition));
    } else if (loaded.decomposition.target_spec() != first_spec) {
      throw Error(ErrorKind::InvalidArgument,
                  "cannot mix the library's experts: '" + library.experts.front().category +
                      "' targets " + first_spec + " but '" + e.category + "' targets " +
                      loaded.decomposition.target_spec() +
                      "; mix experts trained on one target set");
    }
    mx.categories.push_back(e.category);
    mx.experts.push_back(std::move(loaded.expert));
  }
  if (with_identity) {
    ExpertVectors identity = mx.experts.front();
    const float one = identity_value(identity.metadata.parametrization);
    for (auto& m : identity.matrices) m.values.assign(m.values.size(), one);
    mx.categories.push_back(kOtherCategory);
    mx.experts.push_back(std::move(identity));
    mx.with_identity = true;
  }
  std::set<std::int64_t> layers;
  for (const auto& m : mx.experts.front().matrices) layers.insert(m.layer);
  mx.layers.assign(layers.begin(), layers.end());
  return mx;
}

std::vector<std::vector<float>> member_sigmas(const Mixer& mx, const std::vector<double>& member,
                                              std::vector<std::string>* warnings) {
  MixResult mixed = mix_experts(mx.experts, mx.alpha(member));
  if (warnings) *warnings = mixed.warnings;
  std::vector<std::vector<float>> out;
  for (const auto& t : mx.decomposition().targets()) {
    std::vector<float> s;
    if (!expert_sigma(mx.decomposition(), mixed.expert, t.name, s))
      s = mx.decomposition().singular_values(t.name);
    out.push_back(std::move(s));
  }
  return out;
}

std::size_t auto_rows(const ModelConfig& config, std::size_t longest_prompt, std::size_t group) {
  const double row_bytes =
      static_cast<double>(std::max<std::size_t>(1, longest_prompt)) * 4.0 *
      static_cast<double>(std::max(config.intermediate_size, config.hidden_size));
  const double groups = std::floor((24 << 20) / row_bytes / static_cast<double>(group));
  return static_cast<std::size_t>(std::max(1.0, groups)) * group;
}

void set_row_sigmas(Session::Impl& s, const Mixer& mx,
                    const std::vector<std::vector<std::vector<float>>>& sigmas,
                    std::size_t repeat) {
  InferenceGuard guard;
  const auto rows = static_cast<std::int64_t>(sigmas.size() * repeat);
  const auto& targets = mx.decomposition().targets();
  if (s.per_row_batch() != 0 && s.per_row_batch() != rows)
    for (const auto& t : targets) s.clear_override(t.name);
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto r = static_cast<std::int64_t>(sigmas.front()[t].size());
    at::Tensor scale = at::empty({rows, 1, r}, at::kFloat);
    float* data = scale.data_ptr<float>();
    for (std::size_t i = 0; i < sigmas.size(); ++i)
      for (std::size_t j = 0; j < repeat; ++j)
        std::copy(sigmas[i][t].begin(), sigmas[i][t].end(),
                  data + static_cast<std::int64_t>(i * repeat + j) * r);
    s.set_factored(targets[t].name, mx.decomposition(), scale);
  }
}

std::vector<double> continuation_log_probs(Session::Impl& s,
                                           const std::vector<const Continuation*>& rows) {
  InferenceGuard guard;
  const auto& m = s.m();
  std::size_t longest = 0;
  for (const Continuation* r : rows)
    longest = std::max(longest, r->prompt.size() + r->answer.size());
  const auto b = static_cast<std::int64_t>(rows.size()), len = static_cast<std::int64_t>(longest);
  at::Tensor ids = at::zeros({b, len}, at::kLong), mask = at::zeros({b, len}, at::kLong);
  auto ia = ids.accessor<std::int64_t, 2>();
  auto ma = mask.accessor<std::int64_t, 2>();
  std::vector<std::int64_t> at_pos, targets, owner;
  for (std::int64_t r = 0; r < b; ++r) {
    const Continuation& shot = *rows[static_cast<std::size_t>(r)];
    const auto p = static_cast<std::int64_t>(shot.prompt.size());
    const auto total = p + static_cast<std::int64_t>(shot.answer.size());
    const auto offset = len - total;
    for (std::int64_t t = 0; t < total; ++t) {
      ia[r][offset + t] = t < p ? shot.prompt[static_cast<std::size_t>(t)]
                                : shot.answer[static_cast<std::size_t>(t - p)];
      ma[r][offset + t] = 1;
      if (t >= p) {
        at_pos.push_back(r * len + offset + t - 1);
        targets.push_back(ia[r][offset + t]);
        owner.push_back(r);
      }
    }
  }
  const at::Tensor dev_ids = ids.to(m.device), dev_mask = mask.to(m.device);
  const auto w = s.weight_set();
  const at::Tensor hidden =
      forward_hidden(m, w, {dev_ids, positions_from_mask(dev_mask), dev_mask.eq(1)}, nullptr);
  const at::Tensor h = hidden.reshape({-1, hidden.size(-1)})
                           .index_select(0, at::tensor(at_pos, at::kLong).to(m.device));
  const at::Tensor logp = at::log_softmax(project_logits(w, h).to(at::kFloat), -1);
  const at::Tensor token =
      logp.gather(1, at::tensor(targets, at::kLong).to(m.device).unsqueeze(1)).squeeze(1);
  const at::Tensor sums =
      at::zeros({b}, at::kDouble)
          .index_add(0, at::tensor(owner, at::kLong), token.to(at::kCPU, at::kDouble));
  const double* data = sums.data_ptr<double>();
  return {data, data + b};
}

bool continuation_log_probs_on_cache(Session::Impl& s, const std::vector<const Continuation*>& rows,
                                     KvCache& cache, const std::vector<std::int64_t>& positions,
                                     const at::Tensor& last, std::vector<double>& out) {
  const auto& m = s.m();
  std::size_t longest = 0;
  for (const Continuation* r : rows) longest = std::max(longest, r->answer.size());
  const auto b = static_cast<std::int64_t>(rows.size()), len = static_cast<std::int64_t>(longest);
  if (cache.length + len > cache.capacity() || cache.shared_len > 0) return false;
  at::Tensor ids = at::zeros({b, len}, at::kLong), pos = at::zeros({b, len}, at::kLong);
  at::Tensor valid = at::zeros({b, len}, at::kBool);
  auto ia = ids.accessor<std::int64_t, 2>();
  auto pa = pos.accessor<std::int64_t, 2>();
  auto va = valid.accessor<bool, 2>();
  // Token t of row r's answer is predicted by its position t - 1 (t = 0: by the prompt's last).
  std::vector<std::int64_t> first_targets, at_pos, targets, owner;
  for (std::int64_t r = 0; r < b; ++r) {
    const auto& answer = rows[static_cast<std::size_t>(r)]->answer;
    for (std::int64_t t = 0; t < len; ++t) {
      pa[r][t] = positions[static_cast<std::size_t>(r)] + t;
      if (t >= static_cast<std::int64_t>(answer.size())) continue;
      ia[r][t] = answer[static_cast<std::size_t>(t)];
      va[r][t] = true;
      if (t > 0) {
        at_pos.push_back(r * len + t - 1);
        targets.push_back(ia[r][t]);
        owner.push_back(r);
      }
    }
    first_targets.push_back(answer.front());
  }
  const auto w = s.weight_set();
  auto lp_of = [](const at::Tensor& logits, const std::vector<std::int64_t>& tokens) {
    const at::Tensor logp = at::log_softmax(logits.to(at::kFloat), -1);
    return logp.gather(1, at::tensor(tokens, at::kLong).to(logp.device()).unsqueeze(1))
        .squeeze(1)
        .to(at::kCPU, at::kDouble);
  };
  at::Tensor sums = lp_of(last, first_targets);
  if (len > 1) {
    const at::Tensor hidden =
        forward_hidden(m, w, {ids.to(m.device), pos.to(m.device), valid.to(m.device)}, &cache);
    const at::Tensor h = hidden.reshape({-1, hidden.size(-1)})
                             .index_select(0, at::tensor(at_pos, at::kLong).to(m.device));
    if (!at_pos.empty())
      sums = sums.index_add(0, at::tensor(owner, at::kLong), lp_of(project_logits(w, h), targets));
  }
  const double* data = sums.contiguous().data_ptr<double>();
  out.assign(data, data + b);
  return true;
}

}  // namespace t2::engine

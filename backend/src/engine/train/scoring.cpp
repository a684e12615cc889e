// Teacher-forced scoring: log pi(completion | prompt) with autograd, the policy-gradient loss,
// the KL penalty to the base model, micro-batched backward.
#include "train_internal.h"

#include <t2/error.h>

#include <algorithm>
#include <optional>

namespace t2::engine::train {
namespace detail_scoring {

// One micro-batch, left-padded: ids/mask [B, S]; for every completion token: the flat index of
// the position that predicts it, the token, and its sequence.
struct Packed {
  at::Tensor ids, mask, predict_at, targets, owner, counts, advantages;
  std::int64_t tokens = 0;
};

Packed pack(const std::vector<ScoredSequence>& seqs, std::size_t begin, std::size_t end,
            std::int64_t vocab, at::Device device) {
  std::size_t longest = 0;
  for (std::size_t j = begin; j < end; ++j) {
    const auto& s = seqs[j];
    if (s.prompt.empty() || s.completion.empty())
      throw Error(ErrorKind::InvalidArgument,
                  "sequence " + std::to_string(j) + " needs a non-empty prompt and completion");
    longest = std::max(longest, s.prompt.size() + s.completion.size());
  }
  const auto b = static_cast<std::int64_t>(end - begin), len = static_cast<std::int64_t>(longest);
  at::Tensor ids = at::zeros({b, len}, at::kLong), mask = at::zeros({b, len}, at::kLong);
  std::vector<std::int64_t> predict_at, targets, owner;
  std::vector<float> counts, adv;
  auto ia = ids.accessor<std::int64_t, 2>();
  auto ma = mask.accessor<std::int64_t, 2>();
  Packed p;
  for (std::int64_t r = 0; r < b; ++r) {
    const auto& s = seqs[begin + static_cast<std::size_t>(r)];
    const auto total = static_cast<std::int64_t>(s.prompt.size() + s.completion.size());
    const auto offset = len - total;
    for (std::int64_t t = 0; t < total; ++t) {
      const auto id = t < static_cast<std::int64_t>(s.prompt.size())
                          ? s.prompt[static_cast<std::size_t>(t)]
                          : s.completion[static_cast<std::size_t>(t) - s.prompt.size()];
      if (id < 0 || id >= vocab)
        throw Error(ErrorKind::InvalidArgument,
                    "token id " + std::to_string(id) + " is outside the model's vocabulary");
      ia[r][offset + t] = id;
      ma[r][offset + t] = 1;
    }
    const auto first = offset + static_cast<std::int64_t>(s.prompt.size());
    for (std::int64_t t = first; t < len; ++t) {
      predict_at.push_back(r * len + t - 1);
      targets.push_back(ia[r][t]);
      owner.push_back(r);
    }
    counts.push_back(static_cast<float>(s.completion.size()));
    adv.push_back(static_cast<float>(s.advantage));
    p.tokens += total;
  }
  auto vec = [&](const std::vector<std::int64_t>& v) {
    return at::tensor(v, at::kLong).to(device);
  };
  p.ids = ids.to(device);
  p.mask = mask.to(device);
  p.predict_at = vec(predict_at);
  p.targets = vec(targets);
  p.owner = vec(owner);
  p.counts = at::tensor(counts, at::kFloat).to(device);
  p.advantages = at::tensor(adv, at::kFloat).to(device);
  return p;
}

// Log-softmax rows [N, V] at the completion positions of `hidden` [B, S, H].
at::Tensor completion_log_probs(const WeightSet& w, const at::Tensor& hidden, const Packed& p) {
  const at::Tensor h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, p.predict_at);
  return at::log_softmax(project_logits(w, h), -1);
}

at::Tensor per_sequence(const at::Tensor& per_token, const Packed& p, bool token_mean) {
  at::Tensor sums =
      at::zeros({p.counts.size(0)}, per_token.options()).index_add(0, p.owner, per_token);
  return token_mean ? sums / p.counts : sums;
}

}  // namespace detail_scoring

namespace dsc = detail_scoring;

ScoreBatchStats score_and_backward(const Session::Impl& session,
                                   const std::vector<ScoredSequence>& seqs,
                                   const TrainParams& params, bool backward) {
  ScoreBatchStats stats;
  if (seqs.empty()) return stats;
  const auto& m = session.m();
  const bool token_mean = params.log_prob == LogProb::TokenMean;
  const double n = static_cast<double>(seqs.size());
  const auto step = static_cast<std::size_t>(std::max(1, params.micro_batch));
  std::optional<at::NoGradGuard> no_grad;
  if (!backward) no_grad.emplace();
  const WeightSet w = session.weight_set();
  WeightSet base_w;
  base_w.layers = &m.layers;
  base_w.embed = m.embed;
  base_w.final_norm = m.final_norm;
  base_w.lm_head_t = m.lm_head_t;
  for (std::size_t begin = 0; begin < seqs.size(); begin += step) {
    const std::size_t end = std::min(seqs.size(), begin + step);
    const dsc::Packed p = dsc::pack(seqs, begin, end, m.config.vocab_size, m.device);
    const ForwardInput in{p.ids, positions_from_mask(p.mask), p.mask.eq(1)};
    const at::Tensor logp = dsc::completion_log_probs(w, forward_hidden(m, w, in, nullptr), p);
    const at::Tensor token_lp = logp.gather(1, p.targets.unsqueeze(1)).squeeze(1);
    const at::Tensor seq_lp = dsc::per_sequence(token_lp, p, token_mean);
    at::Tensor terms = -p.advantages * seq_lp;
    if (params.kl > 0) {
      at::Tensor ref_logp;
      {
        at::NoGradGuard ng;
        ref_logp = dsc::completion_log_probs(base_w, forward_hidden(m, base_w, in, nullptr), p);
      }
      at::Tensor token_kl;
      if (params.kl_estimator == KlEstimator::Full) {
        // KL(pi_base || pi) per position over the vocabulary, as the reference computes it.
        token_kl = (ref_logp.exp() * (ref_logp - logp)).sum(-1);
      } else {
        // k3 estimator of KL(pi || pi_base) on the taken tokens: e^d - d - 1, d = ref - cur.
        const at::Tensor d = ref_logp.gather(1, p.targets.unsqueeze(1)).squeeze(1) - token_lp;
        token_kl = d.exp() - d - 1;
      }
      const at::Tensor seq_kl = dsc::per_sequence(token_kl, p, token_mean);
      stats.kl += seq_kl.sum().item<double>() / n;
      terms = terms + params.kl * seq_kl;
    }
    const at::Tensor loss = terms.sum() / n;
    if (backward) loss.backward();
    stats.loss += loss.item<double>();
    stats.log_prob += seq_lp.sum().item<double>() / n;
    stats.tokens += p.tokens;
  }
  return stats;
}

}  // namespace t2::engine::train

// Engine-internal pieces of the SVF trainer (t2/training.h): the trainable expert state, the
// teacher-forced scoring, the optimizer, rollouts and evaluation.
//
// Shapes: for a target W [out, in] of rank r: u [out, r], s [r], vh [r, in], values [r] (float32
// leaf that requires grad; z for paper, p for sakana-compat).
#pragma once

#include <t2/decomposition.h>
#include <t2/tasks.h>
#include <t2/tokenizer.h>
#include <t2/training.h>

#include "../model/forward.h"
#include "../model/session_impl.h"

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2 {
class ChatTemplate;
}

namespace t2::engine::train {

struct SvfMatrix {
  TargetMatrix target;
  at::Tensor u, s, vh;  // factors on the model's device (float32)
  at::Tensor values;    // leaf [r] float32, requires grad
};

// The trainable SVF expert and the session weights built from it.
// Invariant: matrices are in the decomposition's target order; values stay finite.
class SvfState {
 public:
  SvfState(const Decomposition& decomposition, const ExpertVectors& initial,
           const Model::Impl& model);

  // sigma' of matrix i as a differentiable function of its values.
  at::Tensor sigma_prime(std::size_t i) const;
  // Which matrices to score factored (x Vh^T * sigma' U^T, gradient straight to sigma', no
  // weight-sized gradient) rather than dense (W' with autograd): params.scoring "recompose" = none,
  // "factored" = all, "auto" = where the estimated cost is lower for `tokens` scored tokens:
  // dense 6 out in T + 2 out in r (forward, input and weight gradients, recomposition backward)
  // against factored 4 (in + out) r T.
  std::vector<bool> choose_factored(ApplyMode scoring, std::int64_t tokens) const;
  // Puts W' = U diag(sigma') Vh of every target into `session`'s layers (merged weights for the
  // rollouts). Matrices scored dense are recomposed with autograd and the fused layer tensors
  // that depend on them become leaves that require grad (micro-batches accumulate dense weight
  // gradients there; finish_backward() sends them through the recomposition to the values, once
  // per step). Matrices scored factored are recomposed without grad here; attach_factored()
  // then adds their factored forms (scale = sigma'(values) with grad) for the scoring pass.
  // Under a NoGradGuard nothing requires grad (evaluation).
  //
  // Rollouts need no gradient, so a matrix scored factored need not be recomposed at all:
  // where rollout_factored[i] is true it is set factored with sigma' (no grad) for the rollouts
  // and no weight-sized work is done for it in the whole step (see choose_rollout_factored).
  void build(Session::Impl& session, const std::vector<bool>& factored,
             const std::vector<bool>& rollout_factored = {});
  // Which of the matrices scored factored (`scored_factored`) the rollouts run factored:
  // params.rollout_weights recompose = none; "factored" = all of them; "auto" = those where running
  // factored for `rollout_tokens` (prompt + generated, all rows) costs fewer flops than one
  // recomposition (the cost model of apply_expert's auto mode, t2/adaptation.h).
  std::vector<bool> choose_rollout_factored(ApplyMode rollout_weights,
                                            const std::vector<bool>& scored_factored,
                                            std::int64_t rollout_tokens) const;
  // For generation only (evaluation; call under a NoGradGuard): every matrix merged, or run
  // factored where params.rollout_weights says so for `tokens` tokens.
  void build_for_generation(Session::Impl& session, ApplyMode rollout_weights,
                            std::int64_t tokens) {
    const std::vector<bool> all(size(), true);
    build(session, all, choose_rollout_factored(rollout_weights, all, tokens));
  }
  // Which matrices the last build() runs factored during the rollouts (not recomposed).
  const std::vector<bool>& rollout_factored() const { return rollout_factored_; }
  void attach_factored(Session::Impl& session);
  void finish_backward();
  // Drops the built weights (the session's layers return to the base model's).
  void release(Session::Impl& session);
  // After an optimizer step: the paper clamp constraint (z >= z_min), if enabled.
  void apply_constraint(const TrainParams& params);

  ExpertVectors to_expert() const;             // current values, metadata of the initial expert
  std::vector<at::Tensor> parameters() const;  // the leaves, in matrix order
  std::size_t size() const { return matrices_.size(); }
  const SvfMatrix& matrix(std::size_t i) const { return matrices_[i]; }
  std::int64_t total_values() const;

 private:
  std::vector<SvfMatrix> matrices_;
  ExpertMetadata metadata_;
  const Model::Impl* model_ = nullptr;
  std::vector<std::pair<at::Tensor, at::Tensor>> graph_leaf_;  // (with graph, leaf) pairs
  std::vector<std::int64_t> built_layers_;
  std::vector<bool> factored_;          // of the last build(): scored factored
  std::vector<bool> rollout_factored_;  // of the last build(): factored already for the rollouts
};

// What score_and_backward measured (sums over micro-batches, each divided by the sequence count).
struct ScoreBatchStats {
  double loss = 0.0;        // sum over sequences of their loss terms / normaliser
  double kl = 0.0;          // sum over sequences of lambda-free KL terms / normaliser
  double log_prob = 0.0;    // sum of log pi(y) / normaliser (diagnostic)
  std::int64_t tokens = 0;  // prompt + completion tokens scored
};

// Teacher-forced loss over `sequences` (micro-batched), calling backward on each micro-batch:
// sum_j [-advantage_j * lp_j + kl * KL_j] / sequences.size(), lp_j = sum (or token mean) of the
// completion's log-probabilities. With kl > 0 the base model's log-probabilities come from a
// no-grad forward with the model's own weights.
ScoreBatchStats score_and_backward(const Session::Impl& session,
                                   const std::vector<ScoredSequence>& sequences,
                                   const TrainParams& params, bool backward);

// Adam / AdamW with a global grad-norm clip (torch.nn.utils.clip_grad_norm_ semantics:
// coefficient max_norm / (norm + 1e-6), applied only when < 1).
class Optimizer {
 public:
  Optimizer(std::vector<at::Tensor> parameters, const TrainParams& params);
  double grad_norm() const;      // global L2 norm of the current gradients
  double clip(double max_norm);  // returns the norm before clipping; 0 = off
  void step(double lr);          // one update; increments step_count()
  void zero_grad();
  std::int64_t step_count() const { return step_; }
  // State for checkpoints: exp_avg and exp_avg_sq per parameter, in order.
  std::vector<at::Tensor> state() const;
  void load_state(const std::vector<at::Tensor>& state, std::int64_t step);

 private:
  std::vector<at::Tensor> params_, exp_avg_, exp_avg_sq_;
  TrainParams p_;
  std::int64_t step_ = 0;
};

double learning_rate(const TrainParams& params, int iteration);  // iteration 1-based

// Task prompts, tokenizer and generation settings for rollouts and evaluation.
class Prompter {
 public:
  Prompter(const std::string& model_dir, const Task& task, const ModelConfig& config);
  std::vector<std::int32_t> encode_prompt(const TaskItem& item) const;
  std::string prompt_text(const TaskItem& item) const;
  // Reference answer of an item for next-token training (answer field, else the gold), or
  // `answer_template` filled from the item's fields when not empty; then the end token.
  std::vector<std::int32_t> encode_answer(const TaskItem& item,
                                          const std::string& answer_template = "") const;
  GenerateParams generate_params(int max_new_tokens, double temperature, std::int64_t seed) const;
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const ChatTemplate* chat_template() const { return chat_template_.get(); }

 private:
  const Task* task_;
  Tokenizer tokenizer_;
  std::shared_ptr<ChatTemplate> chat_template_;
  std::vector<std::int32_t> eos_;
};

struct Rollout {
  std::size_t item = 0;  // index into the items given
  std::vector<std::int32_t> prompt, completion;
  std::string text;
  Verdict verdict;
};

// Generates for every item `k` times (rows item-major), in chunks of `chunk` prompts, and judges.
std::vector<Rollout> rollouts(Session& session, const Prompter& prompter, const Task& task,
                              const std::vector<TaskItem>& items, int k, double temperature,
                              int max_new_tokens, std::int64_t seed, const JobContext& job);

}  // namespace t2::engine::train

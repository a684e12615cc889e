// Engine-internal: what the trainer trains, behind one interface — SVF expert values (SvfState)
// or a LoRA adapter (LoraState).
//
// One step, in order: build_step() (the session gets merged weights for the rollouts; SVF may
// keep an autograd graph for its dense-scored matrices) -> rollouts -> attach_scoring() (the
// session is set up for the teacher-forced scoring pass with autograd to the parameters) ->
// score_and_backward() -> finish_backward() (gradients reach the parameters) -> optimizer step ->
// apply_constraint() -> release() (the session's layers return to the base model's).
#pragma once

#include <t2/lora.h>

#include "train_internal.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace t2::engine::train {

// A copy of the trained values, as written to disk: `expert` for SVF, `adapter` for LoRA.
struct TrainedWeights {
  ExpertVectors expert;
  LoraAdapter adapter;
};

class Trainable {
 public:
  virtual ~Trainable() = default;
  // Weights of the step's rollouts (current values). `scored_tokens` feeds SVF's cost model
  // (factored or dense scoring per matrix); `rollout_tokens` (prompt + generated, all rows; 0 =
  // no rollouts this step) its choice of merging or factoring each factored-scored matrix for the
  // rollouts (TrainParams::rollout_weights). LoRA always merges.
  virtual void build_step(Session::Impl& session, const TrainParams& params,
                          std::int64_t scored_tokens, std::int64_t rollout_tokens) = 0;
  // After the rollouts: the scoring pass's form of the weights. `dropout_seed` seeds LoRA's
  // dropout masks (one seed per step, so a resumed run draws the same masks).
  virtual void attach_scoring(Session::Impl& session, std::uint64_t dropout_seed) = 0;
  virtual void finish_backward() = 0;
  // Weights for generation without autograd (evaluation); call under a NoGradGuard. Merged, or
  // (SVF, TrainParams::rollout_weights) factored where cheaper for `tokens` tokens.
  virtual void build_merged(Session::Impl& session, const TrainParams& params,
                            std::int64_t tokens) = 0;
  virtual void release(Session::Impl& session) = 0;
  virtual void apply_constraint(const TrainParams& params) = 0;

  // The optimizer's parameters with stable names (checkpoint keys), in a fixed order.
  virtual std::vector<std::pair<std::string, at::Tensor>> named_parameters() const = 0;
  std::vector<at::Tensor> parameters() const;
  std::int64_t total_values() const;

  virtual TrainedWeights snapshot() const = 0;
  // File (SVF) or folder (LoRA) name of `which` ("best" or "latest") in the run's folder.
  virtual std::string output_name(const std::string& which) const = 0;
  virtual void write(const TrainedWeights& weights, const std::string& path,
                     const std::string& run_id, const std::string& note) const = 0;
  virtual TrainedWeights read(const std::string& path) const = 0;
  // Run-store artifact kind of the best output ("expert" or "adapter"); "-latest" is appended
  // for the latest one.
  virtual std::string artifact_kind() const = 0;
  // Statistics of the values logged each iteration (SVF: z per layer; LoRA: norms of A and B).
  virtual std::vector<std::pair<std::string, double>> value_metrics() const = 0;
};

// SVF expert values as a Trainable (the state SvfState holds, unchanged).
class SvfTrainable : public Trainable {
 public:
  SvfTrainable(const Decomposition& decomposition, const ExpertVectors& initial,
               const Model::Impl& model)
      : state_(decomposition, initial, model) {}
  void build_step(Session::Impl& session, const TrainParams& params, std::int64_t scored_tokens,
                  std::int64_t rollout_tokens) override;
  void attach_scoring(Session::Impl& session, std::uint64_t) override {
    state_.attach_factored(session);
  }
  void finish_backward() override { state_.finish_backward(); }
  void build_merged(Session::Impl& session, const TrainParams& params,
                    std::int64_t tokens) override {
    state_.build_for_generation(session, params.rollout_weights, tokens);
  }
  void release(Session::Impl& session) override { state_.release(session); }
  void apply_constraint(const TrainParams& params) override { state_.apply_constraint(params); }
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const override;
  TrainedWeights snapshot() const override;
  std::string output_name(const std::string& which) const override {
    return "expert_" + which + ".safetensors";
  }
  void write(const TrainedWeights& weights, const std::string& path, const std::string& run_id,
             const std::string& note) const override;
  TrainedWeights read(const std::string& path) const override;
  std::string artifact_kind() const override { return "expert"; }
  std::vector<std::pair<std::string, double>> value_metrics() const override;

 private:
  SvfState state_;
};

// One adapted matrix of a LoraState.
struct LoraTensors {
  TargetMatrix target;
  std::size_t projection = 0;  // index in linear_parts() (LayerWeights::lora)
  at::Tensor a;                // leaf [r, in] float32 on the model device, requires grad
  at::Tensor b;                // leaf [out, r] float32 on the model device, requires grad
};

// A LoRA adapter being trained. Rollouts and evaluation run with merged weights W + s B A (one
// rebuild of the adapted layers per step, no grad). Scoring runs the base weights with an
// additive branch s ((drop(x) A^T) B^T) per adapted projection (LayerWeights::lora): gradients go
// straight to A and B (no weight-sized gradient, no recomposition), and dropout on the branch
// input is possible, which a merged W' cannot express.
// Invariant: matrices_ in the adapter's order; values stay finite.
class LoraState : public Trainable {
 public:
  LoraState(const LoraAdapter& initial, const Model::Impl& model);
  void build_step(Session::Impl& session, const TrainParams& params, std::int64_t scored_tokens,
                  std::int64_t rollout_tokens) override;
  void attach_scoring(Session::Impl& session, std::uint64_t dropout_seed) override;
  void finish_backward() override {}  // the branch's gradients land in A and B directly
  void build_merged(Session::Impl& session, const TrainParams&, std::int64_t) override {
    merge_weights(session);
  }
  void merge_weights(Session::Impl& session);  // W + s B A in the adapted layers, no grad
  void release(Session::Impl& session) override;
  void apply_constraint(const TrainParams&) override {}
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const override;
  TrainedWeights snapshot() const override;
  std::string output_name(const std::string& which) const override { return "adapter_" + which; }
  void write(const TrainedWeights& weights, const std::string& path, const std::string& run_id,
             const std::string& note) const override;
  TrainedWeights read(const std::string& path) const override;
  std::string artifact_kind() const override { return "adapter"; }
  std::vector<std::pair<std::string, double>> value_metrics() const override;

  LoraAdapter to_adapter() const;
  const std::vector<LoraTensors>& matrices() const { return matrices_; }

 private:
  LoraConfig config_;
  std::vector<LoraTensors> matrices_;
  const Model::Impl* model_ = nullptr;
  std::vector<std::int64_t> built_layers_;
};

}  // namespace t2::engine::train

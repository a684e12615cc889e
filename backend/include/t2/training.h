// Training SVF experts (Transformer²: Sun, Cetin, Tang, ICLR 2025): REINFORCE on a
// task's verifier rewards (objective "rl") or next-token loss on its reference answers ("sft").
// Plain C++ API, included from t2/engine.h.
//
// One RL iteration: (1) rollouts with the current expert merged into the session's weights
// (one recomposition per step, no grad; greedy or k samples per prompt); (2) rewards from
// Task::judge; (3) a teacher-forced scoring forward over prompt + completion with autograd on,
// the target matrices built from (U, sigma, values) so that gradients reach only the expert
// values; loss = -(r - b) * log pi(y) (summed or token-mean) + lambda * KL(pi || pi_base);
// (4) global grad-norm clip and an Adam/AdamW step. Every `eval_every` iterations the expert is
// evaluated greedily on the validation split; the best one (and the latest) is kept.
//
// Scoring paths ("scoring"): "recompose" is the reference's way (W' = U diag(sigma') Vh with
// autograd for every target, then the dense forward/backward); "factored" runs every target as
// x Vh^T * sigma' U^T with the gradient going straight to sigma' (no weight-sized gradient, no
// recomposition backward); "auto" chooses per matrix by estimated FLOPs (backend/README.md).
//
// LoRA (method "lora", t2/lora.h): the same loop, objectives, presets and checkpoints train a
// PEFT-format adapter instead: rollouts with W + s B A merged (one rebuild per step), scoring
// through an additive low-rank branch with autograd to A and B (and dropout on its input). The
// SVF-only fields (parametrization, z_constraint, z_min, init_*, max_mult, scoring) are ignored.
//
// Run store: a run of kind "train", params_json = to_json(params) + "model_dir", tags method,
// objective, preset; metrics per iteration, samples of evaluated steps. Files in the run's folder
// (TrainOptions::output_dir): expert_best.safetensors and expert_latest.safetensors (artifacts
// "expert", "expert-latest"; the best also as an ExpertRecord) or, for LoRA, the folders
// adapter_best/ and adapter_latest/ (artifacts "adapter", "adapter-latest"), and
// checkpoint.safetensors (artifact "checkpoint").
// Cancellation (JobContext) ends the run "cancelled" with the best expert saved and rethrows
// t2::Error{Cancelled}. A killed process resumes from its latest checkpoint (resume_training).
#pragma once

#include <t2/adaptation.h>
#include <t2/experts.h>
#include <t2/job.h>
#include <t2/model.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace t2 {

class Decomposition;

// The training choices. Their names (stored in run params, typed on the command line) come from
// train_choices<E>(); scoring and rollout weights use apply_expert's ApplyMode (auto /
// recompose / factored: one vocabulary for "use W' dense" vs "run U, sigma', Vh factored").
enum class TrainMethod { Svf, Lora };
enum class Objective { Rl, Sft };
enum class ZConstraint { None, Clamp };
enum class Baseline { None, Mean, Rloo };
enum class LogProb { Sum, TokenMean };
enum class KlEstimator { Sampled, Full };
enum class OptimizerKind { Adam, AdamW };
enum class LrSchedule { Constant, Cosine };

// (name, value) of every choice of E, in a fixed order: TrainMethod, Objective, ZConstraint,
// Baseline, LogProb, KlEstimator, OptimizerKind, LrSchedule, Parametrization (paper,
// sakana-compat: the two a run can train) and ApplyMode.
template <class E>
const std::vector<std::pair<std::string, E>>& train_choices();
template <class E>
std::string choice_name(E value) {
  for (const auto& [name, v] : train_choices<E>())
    if (v == value) return name;
  return "?";
}
// The value named `name` for TrainParams field `field` (e.g. ("baseline", "rloo")). For
// rollout_weights, "merged" (the name runs stored before recompose became the one word) is
// read as recompose. InvalidArgument listing the valid names otherwise.
template <class E>
E parse_choice(const std::string& field, const std::string& name);

struct TrainParams {
  std::string task;                       // task spec file (task.json)
  TrainMethod method = TrainMethod::Svf;  // svf | lora (t2/lora.h)
  int lora_rank = 4;                      // lora: rank r, >= 1
  double lora_alpha = 8.0;                // lora: alpha > 0; scaling s = alpha / r
  double lora_dropout = 0.0;              // lora: dropout on the branch input, [0, 1)
  bool lora_rslora = false;               // lora: s = alpha / sqrt(r) (rsLoRA)
  Objective objective = Objective::Rl;    // rl | sft
  std::string preset = "sakana-compat";   // the preset these values started from (recorded)
  std::string targets = "mlp";            // target-set spec (t2/target_set.h); svf and lora
  Parametrization parametrization = Parametrization::SakanaCompat;  // paper | sakana-compat
  ZConstraint z_constraint = ZConstraint::None;  // paper only: none | clamp (z >= z_min)
  double z_min = 0.0;                            // clamp floor for z, >= 0
  double init_mean = 0.1;                        // initial value (sakana p 0.1; paper z 1)
  double init_std = 0.01;                        // N(init_mean, init_std^2) per entry, >= 0
  double max_mult = 1.0;                         // sakana-compat: m = sigmoid(p) * max_mult, > 0
  // Warm start: an expert file (t2-expert) to start from instead of N(init_mean, init_std^2);
  // it must be for the same model (fingerprint), targets and parametrization (and max_mult).
  std::string init_expert;             // "" = off
  int iterations = 200;                // optimizer steps, >= 1
  int batch = 256;                     // prompts per step (capped at the train size), >= 1
  int samples_per_prompt = 1;          // k rollouts per prompt, >= 1
  double temperature = 0.0;            // rollout temperature; 0 = greedy
  Baseline baseline = Baseline::None;  // none | mean (batch mean) | rloo (leave-one-out)
  LogProb log_prob = LogProb::Sum;     // sum | token-mean: log pi(y) over completion tokens
  double kl = 0.0;                     // lambda >= 0 of lambda * KL(pi || pi_base)
  KlEstimator kl_estimator = KlEstimator::Sampled;  // sampled (k3, taken tokens) | full (vocab)
  OptimizerKind optimizer = OptimizerKind::Adam;    // adam | adamw (decoupled weight decay)
  double lr = 2e-3;                                 // peak learning rate, > 0
  LrSchedule schedule = LrSchedule::Constant;  // constant | cosine (to 0 at the last iteration)
  double weight_decay = 0.0;                   // adamw only, >= 0
  double beta1 = 0.9;                          // Adam beta1 in [0, 1)
  double beta2 = 0.999;                        // Adam beta2 in [0, 1)
  double adam_eps = 1e-8;                      // Adam epsilon, > 0
  double clip = 1e-3;                          // global grad-norm clip; 0 = off
  int eval_every = 10;                         // evaluate every N iterations (and at 0); 0 = never
  int eval_items = 0;                          // validation items per evaluation; 0 = all
  int max_train_items = 0;                     // use at most this many train items; 0 = all
  int max_new_tokens = 0;                      // rollout length; 0 = the task's generation setting
  int checkpoint_every = 10;                   // checkpoint every N iterations; 0 = only at the end
  int micro_batch = 16;                        // sequences per scoring forward/backward, >= 1
  ApplyMode scoring = ApplyMode::Auto;         // auto (per matrix by cost) | factored | recompose
  ApplyMode rollout_weights = ApplyMode::Auto;  // for matrices scored factored, see below
  std::string train_split = "train";            // task split to train on
  std::string eval_split = "validation";        // task split to select the best expert on
  std::uint64_t seed = 0;                       // init, batch order and sampling
  int samples_logged = 8;                       // rollouts stored as samples per evaluated step
  // sft only: the answer text trained on, a template over the item's JSON fields such as
  // "{answer_text} ({answerKey})" ({{ and }} for braces); "" = the task's reference answer
  std::string sft_answer;
};

// rollout_weights: the weights the rollouts generate with, for matrices scored factored:
// "auto" = recomposed, or factored where running factored for the step's rollout tokens costs
// fewer flops than one recomposition (apply_expert's cost model); "recompose" = always
// recomposed; "factored" = never recomposed. Matrices scored dense are always recomposed (they
// are for the scoring anyway). Next-token training has no rollouts and never recomposes factored
// ones.
//
// The preset's values (everything else default): "sakana-compat" (the reference code exactly:
// sigmoid p ~ N(0.1, 0.01^2), greedy, +-1, no baseline, summed log-prob, batch 256, Adam 2e-3
// constant, clip 1e-3, lambda 0, 200 iterations, eval every 10), "paper" (the paper's text:
// z = 1 + N(0, 1e-3) (variance), AdamW with cosine decay, KL lambda 0.1), "recommended" (our
// choice for small models, tuned on the demo model: z >= 0, k = 4 rollouts at T = 1 with a
// leave-one-out baseline, Adam 3e-2, clip 1, cosine, batch 32, 60 iterations; how it was tuned:
// docs/experiments.md). InvalidArgument for another name.
TrainParams train_preset(const std::string& name);
const std::vector<std::string>& train_preset_names();
// Throws InvalidArgument naming the field and its valid values.
void validate_train_params(const TrainParams& params);
// JSON object of every field (stored as the run's params); and back (unknown keys refused).
std::string to_json(const TrainParams& params);
TrainParams train_params_from_json(const std::string& json);

// One iteration's figures (also logged as metrics under the same names).
struct TrainIteration {
  int iteration = 0;   // 1-based
  int iterations = 0;  // total planned
  double reward_mean = 0.0;
  double reward_std = 0.0;
  double train_accuracy = 0.0;      // fraction of correct rollouts this step (rl)
  double validation_accuracy = -1;  // when evaluated this step, else -1
  double loss = 0.0;
  double kl = 0.0;
  double grad_norm = 0.0;  // before clipping
  double lr = 0.0;
  double tokens_per_second = 0.0;  // rollout + scoring tokens / iteration seconds
  double seconds = 0.0;            // this iteration
  double eta_seconds = 0.0;        // estimate for the rest
};

struct TrainOptions {
  std::string model_dir;   // Hugging Face checkpoint folder (tokenizer.json needed)
  std::string db_path;     // run store; "" = none (no resume; no files unless output_dir)
  std::string output_dir;  // run files; "" = <db folder>/<db file stem>-runs/<run id>
  std::string run_name;    // "" = "<task name> <method> <objective>"
  std::string out_file;    // also copy the best expert here ("" = no copy)
  std::string cache_dir;   // decomposition cache root ("" = default)
  LoadParams load;         // dtype/device of the model
  // The model of model_dir already loaded (e.g. the GUI workspace's, shared with other panels);
  // null = load it with `load`. Its decomposition is then computed from these weights (same
  // cache key: the folder's fingerprint).
  std::shared_ptr<const Model> model;
  std::function<void(const TrainIteration&)> on_iteration;  // after each iteration; no throw
  // Once the run exists (after the model, task and decomposition are loaded): its id (0 without
  // a run store) and the folder of its experts and checkpoints; must not throw.
  std::function<void(std::int64_t run_id, const std::string& output_dir)> on_start;
};

struct TrainReport {
  std::int64_t run_id = 0;  // 0 without a run store
  std::string status;       // "finished" (cancelled runs throw)
  int iterations_done = 0;
  int best_iteration = 0;                // iteration of the best validation accuracy
  double base_validation_accuracy = -1;  // iteration 0 (the initial expert); -1 = not evaluated
  double best_validation_accuracy = -1;
  std::int64_t trainable_parameters = 0;  // svf: expert values; lora: r (in + out) per matrix
  std::string best_expert_path;    // svf: expert file; lora: the adapter folder (PEFT format)
  std::string latest_expert_path;  // likewise, the latest values
  double seconds = 0.0;
  ExpertVectors best_expert;  // svf only (lora: empty; read best_expert_path)
};

// Trains an expert (or a LoRA adapter). Throws InvalidArgument (params), Io/Corrupt (model, task,
// store), Cancelled (run stored as cancelled, best expert/adapter kept).
TrainReport train_expert(const TrainParams& params, const TrainOptions& options,
                         const JobContext& job = {});
// Continues run `run_id` of the store at options.db_path from its latest checkpoint, with the
// params and model folder stored in the run (options.model_dir may override the folder).
TrainReport resume_training(std::int64_t run_id, const TrainOptions& options,
                            const JobContext& job = {});

// Advantages r - b of one step's rollouts, rows item-major with k rollouts per prompt: baseline
// "none" b = 0; "mean" b = the batch mean; "rloo" b = the mean of the other k - 1 rollouts of the
// same prompt (k = 1: of the other rollouts of the batch; a lone rollout gets 0).
std::vector<double> rl_advantages(const std::vector<double>& rewards, int k, Baseline baseline);

// ---- the objective on fixed sequences (tests, tools) -------------------------------------------

struct ScoredSequence {
  std::vector<std::int32_t> prompt;      // prompt ids (>= 1)
  std::vector<std::int32_t> completion;  // ids whose log-probability is scored (>= 1)
  double advantage = 1.0;                // (r - b); the sequence's weight in the loss
};

struct ObjectiveValue {
  double loss = 0.0;       // mean over sequences of -advantage * log pi(y) (+ lambda * KL)
  double kl = 0.0;         // mean KL term (0 when lambda = 0)
  ExpertVectors gradient;  // d loss / d expert values, same matrices and order as the expert
};

// The policy-gradient loss of `expert` on `sequences` and its gradient with respect to the
// expert's values, computed as one training step does (params: log_prob, kl, kl_estimator,
// micro_batch, scoring). The decomposition must cover the expert's matrices.
ObjectiveValue svf_objective(std::shared_ptr<const Model> model, const Decomposition& decomposition,
                             const ExpertVectors& expert,
                             const std::vector<ScoredSequence>& sequences,
                             const TrainParams& params);

}  // namespace t2

// Applying SVF experts (Transformer²: W' = U diag(sigma') Vh) to a Session, and
// exporting a merged checkpoint. Plain C++ API, included from t2/engine.h.
//
// For every target matrix of the decomposition: sigma' = adapted_sigma(expert parametrization,
// values, sigma) (t2/experts.h), then one of two ways to use W' = U diag(sigma') Vh, per matrix:
// - recompose: W' = W + U diag(sigma' - sigma) Vh, computed in float32 as one addmm per matrix
//   (U's columns scaled by sigma' - sigma), stored in the model's dtype and device as a session
//   weight override (Session::set_weight_override semantics). Costs ~2 out in r flops per switch
//   (plus rebuilding the layer's fused layout); the forward then runs at dense speed.
// - factored: the session keeps U and Vh of the decomposition (shared, not copied) and sigma', and
//   the forward computes x W'^T = ((x Vh^T) * sigma') U^T. A switch only replaces sigma'
//   (microseconds per matrix); each token then costs 2 (in + out) r flops instead of 2 in out,
//   i.e. with r = min(out, in) at most 2x a dense product (1.18x for a Qwen2.5-0.5B MLP matrix).
//   Equal to recompose up to float32 rounding (W'^T x is summed in another order).
// The shared Model and every other Session are unaffected. A matrix whose sigma' equals sigma
// exactly (e.g. paper z = 1) gets neither (any earlier override of it is removed), so the
// identity expert reproduces the base logits bit for bit.
#pragma once

#include <t2/decomposition.h>
#include <t2/experts.h>
#include <t2/job.h>
#include <t2/model.h>
#include <t2/strategy.h>

#include <map>
#include <string>
#include <vector>

namespace t2 {

// How apply_expert uses W' (see above).
enum class ApplyMode {
  Auto,       // per matrix, whichever costs fewer flops for ApplyParams::expected_tokens
  Recompose,  // every changed matrix recomposed into a dense W'
  Factored,   // every changed matrix run factored
};
std::string apply_mode_name(ApplyMode mode);          // "auto" / "recompose" / "factored"
ApplyMode parse_apply_mode(const std::string& name);  // InvalidArgument for anything else

struct ApplyParams {
  ApplyMode mode = ApplyMode::Auto;  // auto / recompose / factored
  // Auto only: how many tokens (summed over the batch rows, prompt and generated) the session is
  // expected to process before the next switch. A matrix [out, in] of rank r is factored when
  // expected_tokens * 2 ((in + out) r - in out) < 2 out in r (the extra forward flops stay below
  // the recomposition's), i.e. with r = min(out, in) when expected_tokens < max(out, in): 4864
  // for a Qwen2.5-0.5B MLP matrix, 1024 for the demo model's. The default suits interactive
  // switching (a prompt and a reply between switches); pass a large value (e.g. 1e9) before
  // long generation or evaluation runs with one expert, 0 for an experts-switching loop. >= 0.
  double expected_tokens = 1024;
};

struct ApplyReport {
  std::vector<std::string> changed;     // targets now adapted (sigma' != sigma): W' in effect
  std::vector<std::string> identity;    // targets left at the base weight (sigma' == sigma)
  std::vector<std::string> recomposed;  // the changed targets stored as a dense W'
  std::vector<std::string> factored;    // the changed targets run factored
  double seconds = 0.0;                 // wall time of the whole apply
};

// Applies `expert` to `session` (replacing any expert applied before on these targets). Every
// matrix of the expert must be a target of `decomposition` with the same length (rank);
// decomposition targets the expert does not cover are reset to the base weight. Throws
// InvalidArgument naming the matrix otherwise. The decomposition must be of the session's model
// (its shapes are checked against the model tensor by the override). Factored matrices keep
// a reference to the decomposition's factors (the Decomposition itself may go away).
ApplyReport apply_expert(Session& session, const Decomposition& decomposition,
                         const ExpertVectors& expert, const ApplyParams& params = {});

// Removes the overrides (dense or factored) of all targets of `decomposition` (other overrides
// stay).
void clear_expert(Session& session, const Decomposition& decomposition);

// A paper-parametrization expert from {parameter name: z}. Names must be linear weights of the
// model (a target of "all-linear"), lengths their rank; anything else -> InvalidArgument naming
// the matrix and the expected length. target_set is "regex:^(name|...)$", so that
// Decomposition::compute_or_load(dir, {target_set}) decomposes exactly the named matrices.
ExpertVectors paper_expert_from_map(const ModelConfig& config,
                                    const std::map<std::string, std::vector<float>>& z);

// An expert file as the CLI's and the GUI's --expert take it, with the decomposition it needs.
struct LoadedExpert {
  ExpertVectors expert;
  Decomposition decomposition;
};
// `file` is a t2 expert file (checked with load_expert_for_model; allow_transfer maps one made
// for another model by (layer, part)) or a .json file {parameter name: [z values]} (paper
// parametrization; unnamed matrices stay the identity). The decomposition of the expert's target
// set comes from the default cache (computed once). Throws InvalidArgument/Io/Corrupt naming the
// file and what to give instead.
LoadedExpert load_expert_file(const std::string& model_dir, const std::string& file,
                              bool allow_transfer = false, const JobContext& job = {});

// Applies a strategy (t2/strategy.h) to a session of the model in `model_dir` that has no
// adaptation yet: expert -> load_expert_file + apply_expert; mix -> every file loaded (their
// decompositions must be of one target set), mix_experts with one weight per expert, then
// apply_expert; adapter -> read_lora_adapter + apply_lora (t2/lora.h); base -> nothing.
// Decompositions come from the default cache (computed once). Throws InvalidArgument (a
// malformed strategy, experts that do not fit the model or each other), Io/Corrupt naming the
// file, or Cancelled.
struct AppliedStrategy {
  std::string label;                  // strategy_label(strategy)
  std::vector<std::string> changed;   // matrices whose weights differ from the base model
  std::vector<std::string> warnings;  // e.g. mix_experts' warnings
  double seconds = 0.0;               // loading and applying
};
AppliedStrategy apply_strategy(Session& session, const std::string& model_dir,
                               const Strategy& strategy, const ApplyParams& params = {},
                               const JobContext& job = {});

// What an expert does to one target matrix. Since W' - W = U diag(sigma' - sigma) Vh with
// orthonormal U and Vh, ||W' - W||_F / ||W||_F = ||sigma' - sigma||_2 / ||sigma||_2 exactly.
struct MatrixEffect {
  std::string name;
  double relative_change = 0.0;  // ||W' - W||_F / ||W||_F (0 for a zero matrix)
  double sigma_ratio_min = 1.0;  // min over i of sigma'_i / sigma_i (sigma_i = 0 counts as 1)
  double sigma_ratio_max = 1.0;
};
// One row per matrix of `expert`, in its order. Throws InvalidArgument when a matrix is not a
// target of `decomposition` or has another length.
std::vector<MatrixEffect> expert_effects(const Decomposition& decomposition,
                                         const ExpertVectors& expert);

struct ExportMergedParams {
  std::string out_dir;  // folder to write; created when missing
  bool force = false;   // true: write into a non-empty out_dir (replacing files of the same name)
};

struct ExportMergedReport {
  std::string safetensors_path;           // out_dir/model.safetensors
  std::vector<std::string> changed;       // tensors written as W'
  std::vector<std::string> copied_files;  // config.json and tokenizer files copied
  std::int64_t tensors_written = 0;       // all tensors in model.safetensors
};

// Writes a merged Hugging Face checkpoint of the model in `model_dir`: config.json (copied),
// model.safetensors (one file; every tensor of the checkpoint under its name and stored dtype,
// targets replaced by W' computed in float32 from the stored weight and rounded to that dtype),
// and tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json when
// present. Refuses (InvalidArgument) a non-empty out_dir unless params.force. Progress stage
// "merge" (one report per tensor); cancel is checked between tensors, before anything is written.
// model.safetensors is written atomically (temp + rename), then the other files are copied.
ExportMergedReport export_merged(const std::string& model_dir, const Decomposition& decomposition,
                                 const ExpertVectors& expert, const ExportMergedParams& params,
                                 const JobContext& job = {});

}  // namespace t2

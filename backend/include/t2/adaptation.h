// Applying SVF experts (Transformer², ../shared/notes/transformer-squared.md §2) to a Session, and
// exporting a merged checkpoint. Plain C++ API, included from t2/engine.h.
//
// For every target matrix of the decomposition: sigma' = adapted_sigma(expert parametrization,
// values, sigma) (t2/experts.h) and W' = W + U diag(sigma' - sigma) Vh, computed in float32 as one
// addmm per matrix (U's columns scaled by sigma' - sigma), then stored in the model's dtype and
// device as a session weight override (Session::set_weight_override semantics): the shared Model
// and every other Session are unaffected. A matrix whose sigma' equals sigma exactly (e.g. paper
// z = 1) gets no override, so the identity expert reproduces the base logits bit for bit.
#pragma once

#include <t2/decomposition.h>
#include <t2/experts.h>
#include <t2/job.h>
#include <t2/model.h>

#include <map>
#include <string>
#include <vector>

namespace t2 {

struct ApplyReport {
  std::vector<std::string> changed;   // targets now overridden with W'
  std::vector<std::string> identity;  // targets left at the base weight (sigma' == sigma)
  double seconds = 0.0;               // wall time of the whole apply
};

// Applies `expert` to `session` (replacing any expert applied before on these targets). Every
// matrix of the expert must be a target of `decomposition` with the same length (rank);
// decomposition targets the expert does not cover are reset to the base weight. Throws
// InvalidArgument naming the matrix otherwise. The decomposition must be of the session's model
// (its shapes are checked against the model tensor by the override).
ApplyReport apply_expert(Session& session, const Decomposition& decomposition,
                         const ExpertVectors& expert);

// Removes the overrides of all targets of `decomposition` (other overrides stay).
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

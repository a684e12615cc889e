// Engine-internal: W' for one target matrix (shared by apply_expert and export_merged).
#pragma once

#include <t2/adaptation.h>
#include <t2/safetensors.h>

#include <ATen/ATen.h>

#include <functional>
#include <string>

namespace t2::engine {

// sigma' for target `name` of `decomposition` under `expert` (InvalidArgument when the expert's
// vector has the wrong length). Returns false when the expert does not cover `name` (identity).
bool expert_sigma(const Decomposition& decomposition, const ExpertVectors& expert,
                  const std::string& name, std::vector<float>& sigma_new);

// W' = W + U diag(sigma_new - sigma) Vh as float32 on w's device (w: [out, in], any float dtype);
// undefined tensor when sigma_new == sigma exactly (nothing to change).
at::Tensor adapted_weight(const at::Tensor& w, const Decomposition& decomposition,
                          const std::string& name, const std::vector<float>& sigma_new);

// The cost model of ApplyMode::Auto (t2/adaptation.h): true when running W [out, in] of rank r
// factored for `expected_tokens` tokens costs fewer flops than recomposing it once.
bool factored_is_cheaper(std::int64_t out, std::int64_t in, std::int64_t r, double expected_tokens);

// One target's new sigma' for apply_sigmas().
struct SigmaUpdate {
  std::string name;  // a target of the decomposition
  at::Tensor sigma;  // [r] float sigma'; undefined or equal to sigma (exactly) = identity
};

// Which way apply_sigmas() applied a target.
enum class Applied { Identity, Recomposed, Factored };

// Applies sigma' to each named target of `decomposition` on `session` (the engine-internal core
// of apply_expert, for trainers): identity targets lose any override; the others are recomposed
// (dense override) or factored (Session::Impl::set_factored semantics, scale = sigma', which may
// require grad; recomposition runs without grad) as `mode` / the cost model for
// `expected_tokens` says. Each touched layer's fused layout is rebuilt at most once. Targets
// not listed are left as they are. Returns the choice per update, in order. InvalidArgument
// for an unknown target or a sigma' of the wrong length (before the session changes).
std::vector<Applied> apply_sigmas(Session::Impl& session, const Decomposition& decomposition,
                                  const std::vector<SigmaUpdate>& updates, ApplyMode mode,
                                  double expected_tokens);

// The merged-checkpoint writer behind export_merged and merge_lora: for each tensor of
// `model_dir`'s checkpoint (info, its stored bytes), `merged_tensor` returns the replacement
// (any float dtype; rounded to the stored dtype) or an undefined tensor to copy it unchanged.
// Writes out_dir/model.safetensors atomically, then copies config and tokenizer files.
using MergedTensorFn = std::function<at::Tensor(const TensorInfo& info, const void* data)>;
ExportMergedReport write_merged_checkpoint(const std::string& model_dir,
                                           const ExportMergedParams& params, const JobContext& job,
                                           const MergedTensorFn& merged_tensor);

}  // namespace t2::engine

// Engine-internal: W' for one target matrix (shared by apply_expert and export_merged).
#pragma once

#include <t2/adaptation.h>

#include <ATen/ATen.h>

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

}  // namespace t2::engine

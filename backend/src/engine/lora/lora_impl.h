// Engine-internal LoRA helpers shared by apply_lora, merge_lora, the trainer and lora_objective.
#pragma once

#include <t2/lora.h>

#include <ATen/ATen.h>

namespace t2::engine {

// W + s B A as float32 on w's device: w [out, in] (any float dtype), a [r, in], b [out, r] float32.
// One addmm (beta 1): with B = 0 the result is W exactly.
inline at::Tensor lora_merged_weight(const at::Tensor& w, const at::Tensor& a, const at::Tensor& b,
                                     double scaling) {
  return at::addmm(w.to(at::kFloat), b, a, /*beta=*/1.0, /*alpha=*/scaling);
}

// A and B of `m` as float32 tensors on `device` (copies).
inline std::pair<at::Tensor, at::Tensor> lora_tensors(const LoraMatrix& m, std::int64_t rank,
                                                      at::Device device) {
  const at::Tensor a =
      at::from_blob(const_cast<float*>(m.a.data()), {rank, m.in_features}, at::kFloat);
  const at::Tensor b =
      at::from_blob(const_cast<float*>(m.b.data()), {m.out_features, rank}, at::kFloat);
  return {a.to(device).clone(), b.to(device).clone()};
}

}  // namespace t2::engine

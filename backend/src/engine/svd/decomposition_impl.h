// Engine-internal view of a Decomposition: the factor tensors. The expert module includes this
// to build W' = W + U diag(sigma * (z - 1)) Vh (or U diag(sigma * z) Vh).
//
// Invariants: for every target, U [out, r], S [r], Vh [r, in], float32, contiguous, on the CPU.
// When loaded from the cache they are views of the read-only memory map (never write into them;
// clone first); each such tensor keeps the mapping alive, so it may outlive the Decomposition.
// Otherwise they own their memory.
#pragma once

#include <t2/decomposition.h>
#include <t2/safetensors.h>

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

namespace engine {
struct SvdFactors {
  at::Tensor u;   // [out, r]
  at::Tensor s;   // [r], descending
  at::Tensor vh;  // [r, in]
};
}  // namespace engine

struct Decomposition::Impl {
  std::vector<TargetMatrix> targets;
  std::map<std::string, engine::SvdFactors> factors;  // by HF parameter name
  std::shared_ptr<SafetensorsFile> cache_file;        // keeps the mapping alive (cache hits)
  std::string fingerprint;
  std::string target_spec;
  std::string cache_path;
  std::string cache_note;
  bool from_cache = false;
  std::vector<MatrixTiming> timings;
  double total_seconds = 0.0;
};

namespace engine {
// The factors of target `name`; InvalidArgument naming it when it is not in the decomposition.
const SvdFactors& svd_factors(const Decomposition& decomposition, const std::string& name);

// The cache folder for (fingerprint, spec) under `root`, and the factors file in it.
std::string decomposition_cache_file(const std::string& root, const std::string& fingerprint,
                                     const std::string& spec);
// Loads a cache file if it matches exactly; otherwise returns false and says why in `why`.
bool load_decomposition_cache(const std::string& path, const std::string& fingerprint,
                              const std::string& spec, const std::vector<TargetMatrix>& targets,
                              Decomposition::Impl& out, std::string& why);
// Writes the factors of `impl` atomically to `path` (creating its folder).
void write_decomposition_cache(const std::string& path, const Decomposition::Impl& impl);
}  // namespace engine

}  // namespace t2

// SVD decomposition of a model's target matrices (Transformer² §1), cached on disk.
//
// For each target matrix W [out, in] (HF layout) of a target set (t2/target_set.h), the reduced
// SVD in float32: W = U diag(S) Vh with U [out, r], S [r] descending and non-negative,
// Vh [r, in], r = min(out, in) (torch::linalg::svd, LAPACK gesdd on CPU). Only the requested
// matrices are decomposed.
//
// Cache: one folder per (model fingerprint, target set) under a cache root, holding
// `factors.safetensors` with keys "<param name>.U", ".S", ".Vh" (F32) and __metadata__
// {format, fingerprint, target_set, targets, torch_version, created}. It is written atomically
// (temp file + fsync + rename) and reloaded memory-mapped (no copy, no recomputation). A cache
// whose header, metadata, target list or shapes do not match, or whose S is not finite,
// non-negative and descending, is recomputed and rewritten, never trusted. (Tensor bytes are not
// checksummed: a bit flip inside U/Vh of an otherwise valid file is not detected.)
//
// Thread-safety: a Decomposition is immutable after construction; const methods may be called
// from any thread. Copies share the factors (and the memory map).
#pragma once

#include <t2/job.h>
#include <t2/model.h>
#include <t2/spectra.h>
#include <t2/target_set.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

// The model fingerprint, defined once here and recorded by caches and expert files:
// "sha256:" + hex SHA-256 over, in order, the bytes of MODEL_DIR/config.json, then for each
// safetensors file of the checkpoint (shard order of model.safetensors.index.json, else the one
// model.safetensors) its 8-byte header length, its JSON header, and a sample of its tensor data:
// all of it up to 1 MiB, else 1024 evenly spaced 256-byte windows (256 KiB, so it stays instant
// for any model size). The header alone pins names, dtypes, shapes and offsets but not values:
// two checkpoints of one architecture (a base and its fine-tune, two pretraining steps) must not
// share a fingerprint, or a decomposition cache would hand one the other's factors.
// Throws Io/Corrupt like Checkpoint::open.
std::string model_fingerprint(const std::string& model_dir);

// SHA-256 of bytes, as 64 lowercase hex digits (exposed for tests and expert files).
std::string sha256_hex(const std::string& bytes);

// Cache root used when DecomposeParams::cache_dir is empty: $T2_CACHE/decompositions if
// $T2_CACHE is set (non-empty), else
// $XDG_CACHE_HOME/t2-workbench/decompositions, else $HOME/.cache/t2-workbench/decompositions.
std::string default_decomposition_cache_root();

struct DecomposeParams {
  std::string targets = "mlp";  // target-set spec: preset, part list or "regex:..." (target_set.h)
  std::string cache_dir;        // cache root; "" = default_decomposition_cache_root()
  bool use_cache = true;        // false: neither read nor write the cache
};

struct MatrixTiming {
  std::string name;      // HF parameter name
  double seconds = 0.0;  // SVD time (read + convert + svd), 0 when loaded from the cache
};

class Decomposition {
 public:
  // Decomposes the targets of the checkpoint in MODEL_DIR, or reloads them from the cache.
  // Progress stages: "load" (cache lookup), "svd" (one report per matrix; up to 0.95 of the job
  // when the cache will be written, else 1.0),
  // "write". Cancel is checked between matrices (throws Error{Cancelled}; nothing is written).
  // Throws InvalidArgument (bad spec), Io/Corrupt (model files). A cache that cannot be written
  // is not an error: the factors are returned and cache_note() says why nothing was cached.
  static Decomposition compute_or_load(const std::string& model_dir,
                                       const DecomposeParams& params = {},
                                       const JobContext& job = {});
  // Same for a loaded model (weights converted to float32 first). `fingerprint` keys the cache;
  // pass "" (e.g. for Model::random) to compute without any cache.
  static Decomposition compute_or_load(const Model& model, const std::string& fingerprint,
                                       const DecomposeParams& params = {},
                                       const JobContext& job = {});

  const std::vector<TargetMatrix>& targets() const;         // in target-set order
  const TargetMatrix* find(const std::string& name) const;  // nullptr when not a target
  // sigma of a target, descending (length rank()). InvalidArgument for an unknown name.
  std::vector<float> singular_values(const std::string& name) const;
  // Row-major float32 copies of the factors (U [out, r], Vh [r, in]); for tests and tools.
  std::vector<float> u(const std::string& name) const;
  std::vector<float> vh(const std::string& name) const;

  bool from_cache() const;          // true when the factors came from the cache
  std::string fingerprint() const;  // model fingerprint ("" when uncached)
  std::string target_spec() const;  // the spec it was asked for
  std::string cache_path() const;   // the factors file ("" when not cached)
  std::string cache_note() const;   // why a cache was not used ("" when hit or off)
  const std::vector<MatrixTiming>& timings() const;  // per matrix, target order
  double total_seconds() const;                      // wall time of compute_or_load

  struct Impl;  // engine-internal (src/engine/svd/decomposition_impl.h)
  const Impl& impl() const noexcept { return *impl_; }
  explicit Decomposition(std::shared_ptr<const Impl> impl);

 private:
  std::shared_ptr<const Impl> impl_;
};

// Spectrum metrics (t2/spectra.h) of every target, in target order; aggregate them with
// aggregate_layers().
std::vector<MatrixSpectrum> matrix_spectra(const Decomposition& decomposition);

}  // namespace t2

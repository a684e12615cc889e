// SVF expert vectors (Transformer²: the expert vector, few-shot mixing, Sakana's reference expert
// files), torch-free.
//
// An expert holds one float32 vector per target matrix, keyed by the HF parameter name, of length
// rank = min(out, in), tied to the matrix's singular values in descending order. Parametrizations:
//   paper           z;  sigma' = sigma * z                       (identity at z = 1)
//   sakana-compat   p;  m = sigmoid(p) * max_mult;  sigma' = sigma * m * (sum sigma / sum(sigma*m))
//   sakana-mixed    m;  sigma' = sigma * m * (sum sigma / sum(sigma*m))   (what the reference's
//                   few-shot mixing produces: a mix of raw p used without sigmoid; identity at m =
//                   1)
// File: safetensors, F32 tensors named by parameter, plus __metadata__ (see backend/README.md).
#pragma once

#include <t2/model_config.h>
#include <t2/target_set.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2 {

enum class Parametrization { Paper, SakanaCompat, SakanaMixed };

const char* to_string(Parametrization p) noexcept;  // "paper" | "sakana-compat" | "sakana-mixed"
// Throws InvalidArgument listing the valid names.
Parametrization parse_parametrization(const std::string& name);

inline constexpr const char* kExpertFormat = "t2-expert";
inline constexpr int kExpertFormatVersion = 1;

struct ExpertMetadata {
  std::string base_fingerprint;  // model_fingerprint() (t2/decomposition.h) of the base model
  std::string architecture;      // HF architecture of the base model, e.g. "LlamaForCausalLM"
  Parametrization parametrization = Parametrization::Paper;
  double max_mult = 1.0;    // sakana-compat only: m = sigmoid(p) * max_mult (> 0)
  std::string target_set;   // the target-set spec the expert was made for, e.g. "mlp"
  std::string run_id;       // run that created it; empty when none
  std::string note;         // free text
  double created_at = 0.0;  // unix seconds
};

struct ExpertMatrix {
  std::string name;           // HF parameter name, e.g. "model.layers.0.mlp.up_proj.weight"
  std::int64_t layer = 0;     // decoder layer index
  std::string part;           // gate_proj, q_proj, ...
  std::vector<float> values;  // length = rank of the matrix
};

struct ExpertVectors {
  ExpertMetadata metadata;
  std::vector<ExpertMatrix> matrices;  // in target order (layer, then part)

  // The identity expert: paper z = 1; sakana-compat p ~ N(0.1, 0.01^2) drawn from `seed` (as the
  // reference initialises; identity up to that noise); sakana-mixed m = 1. Fills architecture,
  // parametrization and created_at; the caller sets fingerprint, target_set, run_id, note.
  static ExpertVectors identity(const ModelConfig& config, const std::vector<TargetMatrix>& targets,
                                Parametrization parametrization, std::uint64_t seed = 0);

  const ExpertMatrix* find(const std::string& name) const noexcept;
  std::int64_t total_values() const noexcept;
};

// The value of one entry that leaves sigma unchanged: 1 for paper and sakana-mixed; for
// sakana-compat any constant p does (the renormalisation cancels it): kSakanaIdentityP.
inline constexpr float kSakanaIdentityP = 0.1f;
float identity_value(Parametrization p) noexcept;

// Writes atomically (temp + fsync + rename). Throws InvalidArgument for an empty expert, a
// duplicate name or a non-finite value.
void write_expert(const std::string& path, const ExpertVectors& expert);
// Reads any t2 expert file. Throws Corrupt (naming the file and key) for a file that is not a t2
// expert (format key), a newer version, non-F32 or non-1-D tensors, or bad metadata.
ExpertVectors read_expert(const std::string& path);

// Loading an expert for a given model.
struct ExpertLoadOptions {
  bool allow_transfer = false;  // map by (layer, part) onto another model (paper Table 5)
};
struct TransferReport {
  bool transferred = false;           // false: the expert was made for this model
  std::vector<std::string> mapped;    // "SRC -> DST (truncated 64 -> 32)" lines
  std::vector<std::string> dropped;   // source matrices without a (layer, part) match
  std::vector<std::string> identity;  // target matrices the expert does not cover
};
// Checks the expert against the model (fingerprint and architecture, then every matrix's name and
// length against resolve_targets(config, expert.target_set)). Another model -> InvalidArgument
// naming both fingerprints and architectures, unless options.allow_transfer: then vectors are
// matched by (layer, part), truncated or padded (paper/sakana-mixed pad with 1; sakana-compat
// pads with logit(mean sigmoid(p)), the average multiplier of that vector), matrices absent from
// the expert are identity, and the result carries the target model's fingerprint/architecture.
ExpertVectors load_expert_for_model(const std::string& path, const std::string& model_dir,
                                    const ExpertLoadOptions& options = {},
                                    TransferReport* report = nullptr);
// The same on an expert in memory (model given by config + fingerprint).
ExpertVectors adapt_expert_to_model(const ExpertVectors& expert, const ModelConfig& config,
                                    const std::string& fingerprint,
                                    const ExpertLoadOptions& options = {},
                                    TransferReport* report = nullptr);

// Effective multiplier on sigma (sigma' = sigma * multiplier) for one matrix. `sigma` is the
// matrix's singular values (descending), same length as `values`. For the renormalised forms a
// zero or non-finite sum(sigma*m) gives the identity (all ones) instead of NaN.
std::vector<float> effective_multipliers(Parametrization parametrization,
                                         const std::vector<float>& values,
                                         const std::vector<float>& sigma, double max_mult = 1.0);
std::vector<float> adapted_sigma(Parametrization parametrization, const std::vector<float>& values,
                                 const std::vector<float>& sigma, double max_mult = 1.0);

// Summary statistics of the stored values.
struct ValueStats {
  std::string name;  // parameter name, or "layer N", or "all"
  std::int64_t count = 0;
  double mean = 0.0;
  double std = 0.0;  // population standard deviation
  double min = 0.0;
  double max = 0.0;
  double fraction_negative = 0.0;  // fraction of values < 0
};
struct ExpertStats {
  std::vector<ValueStats> per_matrix;
  std::vector<ValueStats> per_layer;
  ValueStats overall;
};
ExpertStats expert_stats(const ExpertVectors& expert);

// Mixing z' = sum_k alpha_k z_k over K experts with identical target sets and parametrizations.
enum class AlphaShape { PerExpert, PerLayer, PerMatrix };
struct MixAlpha {
  AlphaShape shape = AlphaShape::PerExpert;
  // PerExpert: K rows of 1; PerLayer: K rows of L (one per distinct layer, ascending);
  // PerMatrix: K rows of M (one per matrix, in the experts' matrix order).
  std::vector<std::vector<double>> rows;
};
struct MixResult {
  ExpertVectors expert;
  std::vector<std::string> warnings;  // e.g. all-zero alpha columns replaced by the identity
};
// paper: mixes z (a one-hot alpha reproduces that expert bit-exactly); result is paper.
// sakana-compat: as the reference's few-shot code: m = sum alpha_k p_k (raw p, no sigmoid), then
// the renormalisation; result parametrization sakana-mixed. A column of alpha that is all zero
// (0/0 in the reference) sets the matrices it covers to the identity (m = 1) and adds a warning.
// Throws InvalidArgument for no experts, a shape mismatch (naming the expected size), different
// target sets/parametrizations/matrix lists, or non-finite alpha.
MixResult mix_experts(const std::vector<ExpertVectors>& experts, const MixAlpha& alpha);

// Import of Sakana's reference expert files (torch.save zip archives): `policy_params.pt`
// (keys learnable_params_module_list.{j}, j = 3*layer + {gate 0, up 1, down 2}) or the older
// dict {HF parameter name: p}. Tensors BF16/F16/F32, 1-D, raw p. Result: sakana-compat expert for
// the model in model_dir (targets "mlp", max_mult 1), every length checked against the model's
// rank. Errors name the key. No LibTorch needed (own zip + pickle reader).
ExpertVectors import_reference_expert(const std::string& pt_path, const std::string& model_dir);

}  // namespace t2

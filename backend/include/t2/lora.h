// LoRA adapters (Hu et al. 2021), the baseline of Transformer²'s Table 4: for a target weight
// W [out, in], W' = W + s B A with A [r, in], B [out, r] and s = alpha / r (alpha / sqrt(r) with
// rsLoRA). Files use PEFT's layout, so an adapter trained here loads in PEFT and vice versa:
//   DIR/adapter_config.json        peft_type "LORA", r, lora_alpha, lora_dropout, use_rslora,
//                                  target_modules, bias "none", fan_in_fan_out false, ...
//   DIR/adapter_model.safetensors  base_model.model.<HF weight name without .weight>.lora_A.weight
//                                  [r, in] and ....lora_B.weight [out, r], float32 when written
//                                  (F32, BF16 and F16 are read).
// Training LoRA adapters: t2/training.h (TrainParams::method "lora"). Plain C++ API, included
// from t2/engine.h.
#pragma once

#include <t2/adaptation.h>
#include <t2/job.h>
#include <t2/model.h>
#include <t2/model_config.h>
#include <t2/training.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

struct LoraConfig {
  int rank = 4;                             // r >= 1
  double alpha = 8.0;                       // lora_alpha, > 0
  double dropout = 0.0;                     // lora_dropout on the branch input, [0, 1)
  bool rslora = false;                      // use_rslora: s = alpha / sqrt(r) instead of alpha / r
  std::vector<std::string> target_modules;  // module names, e.g. "gate_proj" (PEFT's list form)
  std::string target_regex;  // PEFT's string form (fullmatch on module names); "" = the list
  std::string base_model;    // base_model_name_or_path
  double scaling() const;    // s
};

// One adapted matrix. a: [r, in] row-major, b: [out, r] row-major (PEFT's lora_A / lora_B).
struct LoraMatrix {
  std::string name;  // HF weight name, e.g. "model.layers.0.mlp.gate_proj.weight"
  std::int64_t layer = 0;
  std::string part;  // q_proj | k_proj | v_proj | o_proj | gate_proj | up_proj | down_proj
  std::int64_t out_features = 0;
  std::int64_t in_features = 0;
  std::vector<float> a;  // r * in_features values
  std::vector<float> b;  // out_features * r values
};

struct LoraAdapter {
  LoraConfig config;
  std::vector<LoraMatrix> matrices;                       // by layer, then q k v o gate up down
  const LoraMatrix* find(const std::string& name) const;  // nullptr when absent
  // Trainable values: sum over matrices of r (in + out) (demo MLP, r = 4: 24,576).
  std::int64_t parameter_count() const;
};

// PEFT's tensor key of weight `name` ("model.layers.0.mlp.gate_proj.weight"), `which` "A" or "B":
// "base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight".
std::string peft_lora_key(const std::string& weight_name, const std::string& which);

// A fresh adapter over `targets` (t2/target_set.h spec) of `config`: A ~ U(-1/sqrt(in),
// 1/sqrt(in)) (PEFT's kaiming-uniform with a = sqrt(5)) from `seed`, B = 0 (so W' = W). The
// config's target_modules/target_regex are filled from the resolved targets.
LoraAdapter lora_init(const ModelConfig& model_config, const std::string& targets,
                      LoraConfig config, std::uint64_t seed);

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (float32), creating DIR; each
// file is written atomically. `metadata` goes into the safetensors header beside PEFT's
// {"format": "pt"} (e.g. the training run). InvalidArgument for inconsistent shapes, Io on write.
void write_lora_adapter(const std::string& dir, const LoraAdapter& adapter,
                        const std::map<std::string, std::string>& metadata = {});
// Reads and validates a PEFT LoRA folder: Io (missing folder/files; adapter_model.bin: convert to
// safetensors), Corrupt (malformed JSON, missing lora_A/lora_B keys, shapes disagreeing with r or
// with each other, keys of modules not in target_modules), Unsupported (peft_type other than
// LORA, bias other than "none", fan_in_fan_out, DoRA, rank/alpha patterns, non-float tensors) —
// each naming the file or key and what to do.
LoraAdapter read_lora_adapter(const std::string& dir);
// Checks the adapter against a model: every matrix a linear weight of the model with its
// [out, in]; InvalidArgument naming the first mismatch.
void check_lora_adapter(const LoraAdapter& adapter, const ModelConfig& model_config);

// Merges the adapter into `session`'s weights (W + s B A computed in float32, stored in the
// model's dtype as session overrides; t2/model.h); the shared Model is unchanged. Replaces any
// earlier override of those matrices. InvalidArgument when the adapter does not fit the model.
void apply_lora(Session& session, const LoraAdapter& adapter);

// A merged Hugging Face checkpoint of `model_dir` with the adapter folded in (W + s B A in
// float32, rounded to each tensor's stored dtype); otherwise as export_merged (t2/adaptation.h):
// config and tokenizer files copied, model.safetensors written atomically, non-empty out_dir
// refused unless params.force, progress stage "merge".
ExportMergedReport merge_lora(const std::string& model_dir, const LoraAdapter& adapter,
                              const ExportMergedParams& params, const JobContext& job = {});

// The training loss of `adapter` on fixed sequences and its gradient (tests, tools), computed as
// a LoRA training step does: an additive low-rank branch s ((drop(x) A^T) B^T) beside the base
// weights (dropout params.lora_dropout with masks from `dropout_seed`), loss as in
// svf_objective (params: log_prob, kl, kl_estimator, micro_batch). The adapter's config (rank,
// alpha, rslora) gives s; params.lora_* other than dropout are not used.
struct LoraObjectiveValue {
  double loss = 0.0;
  double kl = 0.0;
  LoraAdapter gradient;  // d loss / d A and d B in the adapter's layout
};
LoraObjectiveValue lora_objective(std::shared_ptr<const Model> model, const LoraAdapter& adapter,
                                  const std::vector<ScoredSequence>& sequences,
                                  const TrainParams& params, std::uint64_t dropout_seed = 0);

}  // namespace t2

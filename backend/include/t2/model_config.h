// config.json of a Hugging Face causal LM -> ModelConfig (torch-free).
//
// One parser per family (src/core/model_config/<family>.cpp), one registry mapping the HF
// `architectures` name to its parser, one table of HF tensor names (tensor_names()).
// Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM.
// Errors: unknown architecture -> Unsupported listing the supported ones; a missing or
// mistyped key -> Corrupt naming the key and the file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2 {

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  double factor = 1.0;                                   // linear / llama3: frequency divisor (> 0)
  double low_freq_factor = 1.0;                          // llama3 only
  double high_freq_factor = 4.0;                         // llama3 only
  std::int64_t original_max_position_embeddings = 8192;  // llama3 only
};

struct ModelConfig {
  std::string architecture;  // HF name, e.g. "Qwen2ForCausalLM"
  std::string family;        // "llama" | "mistral" | "qwen2" | "qwen3"
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // GQA groups; == heads for MHA
  std::int64_t head_dim = 0;             // hidden_size / heads unless config.json says otherwise
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  std::int64_t max_position_embeddings = 0;
  bool qkv_bias = false;             // q/k/v projections have biases (Qwen2; Llama attention_bias)
  bool o_bias = false;               // o_proj has a bias (Llama/Qwen3 attention_bias)
  bool mlp_bias = false;             // gate/up/down have biases (Llama mlp_bias)
  bool qk_norm = false;              // per-head RMSNorm on q and k before RoPE (Qwen3)
  bool tie_word_embeddings = false;  // lm_head shares embed_tokens' weight
  std::string hidden_act = "silu";   // only silu is supported
  // Per layer: attend to at most this many most recent positions (incl. itself); 0 = full.
  std::vector<std::int64_t> sliding_window;
  std::string torch_dtype;  // as declared in config.json ("bfloat16", ...), may be empty
  std::vector<std::int32_t> eos_token_ids;  // from config.json (int or list); may be empty
  std::int32_t bos_token_id = -1;           // -1 if absent
};

// Parses config.json text; `source` names the file in error messages.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);
// Reads MODEL_DIR/config.json.
ModelConfig load_model_config(const std::string& model_dir);
// HF architecture names the registry knows, sorted.
std::vector<std::string> supported_architectures();

// HF tensor names for one model (the one table of names).
struct TensorNames {
  std::string embed;       // model.embed_tokens.weight
  std::string final_norm;  // model.norm.weight
  std::string lm_head;     // lm_head.weight (absent when tied)
  // Layer tensors; `part` is one of: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj
  // (".weight" or ".bias" appended by `kind`), input_layernorm post_attention_layernorm q_norm
  // k_norm (".weight").
  static std::string layer(std::int64_t layer, const std::string& part, const std::string& kind);
};
TensorNames tensor_names(const ModelConfig& config);
// Every tensor name the model needs, given its config (what the loader checks for).
std::vector<std::string> required_tensor_names(const ModelConfig& config);
// The linear projections of a layer, in HF order: q k v o gate up down.
const std::vector<std::string>& linear_parts();

// What `t2 inspect` shows: read from config.json and the safetensors headers only (no weights
// are loaded, so it is instant even for large checkpoints).
struct TensorSummary {
  std::string name;
  std::string dtype;  // safetensors spelling, e.g. "BF16"
  std::vector<std::int64_t> shape;
};

struct ModelSummary {
  std::string path;  // the model folder
  ModelConfig config;
  std::int64_t parameter_count = 0;  // elements of all tensors in the checkpoint
  std::uint64_t bytes = 0;           // bytes of all tensors as stored
  std::map<std::string, std::int64_t> parameters_by_dtype;  // "BF16" -> elements
  std::vector<std::string> files;                           // safetensors files
  std::vector<TensorSummary> tensors;                       // sorted by name
  std::vector<std::string> missing_tensors;                 // required by the config but absent
  std::vector<std::string> unexpected_tensors;              // present but unused by the model
};

// Throws like load_model_config() and Checkpoint::open().
ModelSummary inspect_model(const std::string& model_dir);
std::string to_text(const ModelSummary& summary);
std::string to_json(const ModelSummary& summary, int indent = 2);

}  // namespace t2

// Causal language models: loading Hugging Face checkpoints, the forward pass with HF semantics,
// and generation with a KV cache. Plain C++ API (no torch types), included from t2/engine.h.
//
// Model (immutable, shared): config + weights, loaded once in one dtype on one device. Weights
// whose stored dtype matches are viewed straight from the read-only memory map; others are
// converted once. A Model is never modified after load(); any number of Sessions (on any
// threads, one thread per Session at a time) may share it.
//
// Session (mutable, one per conversation/job): KV cache buffers (reused between generate calls
// while they fit), the shared prefix (K/V of a prompt prefix that later calls start from, while
// the weights are unchanged), RNG, per-session weight overrides. An override replaces one model
// tensor (e.g. a W' = U diag(sigma*z) V^T from an SVF expert) for this session only; the Model
// and every other Session are unaffected.
//
// Numerics follow HF transformers' eager path: RMSNorm statistics in float32, rotate-half RoPE
// with HF's inv_freq (default, linear, llama3), GQA as repeat_kv, attention softmax in float32
// with causal + padding + sliding-window masks, logits returned as float32.
//
// Shapes: ids are token ids; Logits are [batch, positions, vocab] float32, row-major.
#pragma once

#include <t2/job.h>
#include <t2/model_config.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace t2 {

struct LoadParams {
  std::string dtype = "f32";   // f32 | bf16: compute and weight dtype
  std::string device = "cpu";  // cpu | cuda | cuda:N | auto (cuda if available)
};

struct Logits {
  std::vector<float> data;          // row-major values
  std::vector<std::int64_t> shape;  // [batch, positions, vocab] or [batch, vocab]
  // Row (vector of vocab values) at flat row index r, i.e. b * positions + t.
  std::vector<float> row(std::int64_t r) const;
};

class Model {
 public:
  // Reads MODEL_DIR/config.json and its safetensors (single or sharded). Throws Io/Corrupt
  // (naming the file/tensor), Unsupported (architecture, dtype), InvalidArgument (dtype/device
  // option), or Corrupt when a required tensor is missing or has the wrong shape.
  static std::shared_ptr<const Model> load(const std::string& model_dir,
                                           const LoadParams& params = {},
                                           const JobContext& job = {});
  // A model with random weights of the given config (benchmarks, tests): N(0, 0.02^2)-scaled
  // linear weights, unit norms. Deterministic for a seed.
  static std::shared_ptr<const Model> random(const ModelConfig& config, std::uint64_t seed,
                                             const LoadParams& params = {});

  ~Model();
  const ModelConfig& config() const noexcept;
  std::string dtype() const;             // "f32" | "bf16"
  std::string device() const;            // e.g. "cpu", "cuda:0"
  std::int64_t parameter_count() const;  // distinct stored parameters (tied counted once)
  std::uint64_t weight_bytes() const;    // bytes of all weights in the compute dtype
  // Names of the tensors the model holds (HF names), sorted.
  std::vector<std::string> tensor_names() const;

  struct Impl;  // engine-internal (src/engine/model/model_impl.h)
  const Impl& impl() const noexcept { return *impl_; }
  explicit Model(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

struct ForwardParams {
  bool reference = false;  // true: the plain, unfused HF-order path (slow; for cross-checks)
};

struct SamplingParams {
  double temperature = 0.0;         // 0 = greedy (argmax); > 0 samples softmax(logits / T)
  int top_k = 0;                    // keep the k most likely tokens; 0 = off
  double top_p = 1.0;               // nucleus: smallest set with cumulative prob >= top_p; (0,1]
  double repetition_penalty = 1.0;  // HF CTRL-style, over prompt + generated ids; 1 = off
};

struct GeneratedSequence {
  std::vector<std::int32_t> tokens;  // new tokens, including the eos/stop tokens that ended it
  std::string finish_reason;         // "length" | "eos" | "stop"
  // With GenerateParams::decode: the decode of `tokens` without a final EOS token, cut before
  // the stop string when a stop string ended the row ("" without decode).
  std::string text;
};

struct GenerateParams {
  int max_new_tokens = 64;  // >= 0 tokens per sequence
  SamplingParams sampling;
  std::int64_t seed = -1;             // >= 0 reseeds the session RNG; -1 continues its stream
  std::vector<std::int32_t> eos_ids;  // stop after emitting one of these; empty = config's eos
  bool ignore_eos = false;            // true: EOS ids do not stop (t2 logits, benchmarks)
  std::vector<std::vector<std::int32_t>> stop_sequences;  // stop when output ends with one
  // Stop as soon as a row's decoded output contains one of these strings (needs `decode`); the
  // row's `text` is then cut before the earliest match. Empty strings are ignored.
  std::vector<std::string> stop_strings;
  // ids -> UTF-8 text (e.g. Tokenizer::decode), set by the caller so that the engine needs no
  // tokenizer. Required for stop_strings; when set, every GeneratedSequence gets `text`. Called
  // on the generating thread, once per new token of each running row while stop_strings is
  // non-empty, and once per row at the end.
  std::function<std::string(const std::vector<std::int32_t>&)> decode;
  std::int32_t pad_id = 0;           // id used for left padding and finished rows (masked out)
  bool collect_step_logits = false;  // keep each step's last-position logits (t2 logits)
  // Rows decoded together. 0 (or >= the number of prompts): every prompt from the start, as a
  // fixed batch. Fewer: continuous batching — a row that finishes takes the next waiting prompt
  // at once, so no prompt waits for another's long answer. Each sequence's tokens are those it
  // would get alone (greedy; sampled rows draw from one RNG in row order). Not with
  // collect_step_logits (InvalidArgument).
  int max_batch = 0;
  // Shared-prefix reuse: the prompts' longest common prefix (a task's system prompt, pass 1's
  // classification prompt, a chat's history) is encoded once and kept on the Session; decode
  // steps read it once for all rows (float32 CPU) or from a copy in every row (elsewhere);
  // identical prompts (k sampled rollouts) are encoded once. The logits
  // equal full recomputation up to float rounding. false: every prompt is encoded in full.
  bool reuse_prefix = true;
  // Called once per sequence as soon as it finishes (text filled in), on the generating thread;
  // must not throw.
  std::function<void(std::size_t sequence, const GeneratedSequence&)> on_finished;
};

struct GenerateResult {
  std::vector<GeneratedSequence> sequences;  // one per prompt, in order
  std::vector<Logits> step_logits;           // if collected: per step, [batch, vocab] float32
  std::int64_t prompt_tokens = 0;            // sum of prompt lengths
  std::int64_t generated_tokens = 0;
  std::int64_t reused_prompt_tokens = 0;  // prompt tokens not encoded again (shared prefix, copies)
  double prefill_seconds = 0.0;           // until the first tokens of the first rows
  double decode_seconds = 0.0;            // all the rest (decode steps and later prefills)
};

// Called for every new token of every still-running sequence, in order; must not throw.
using TokenCallback = std::function<void(std::size_t sequence, std::int32_t token)>;

class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const Model& model() const noexcept;

  // Full forward without a cache. Prompts may differ in length: they are left-padded and
  // masked as in HF; rows at padding positions hold unspecified values. Logits: [B, S, V].
  Logits forward(const std::vector<std::vector<std::int32_t>>& prompts,
                 const ForwardParams& params = {}) const;

  // Generates for each prompt (batched, left-padded) with a KV cache. On cancel
  // (job.throw_if_cancelled between steps) throws t2::Error{Cancelled}.
  GenerateResult generate(const std::vector<std::vector<std::int32_t>>& prompts,
                          const GenerateParams& params, const TokenCallback& on_token = {},
                          const JobContext& job = {});

  // Encodes `ids` and keeps their K/V as the session's shared prefix: a later generate() whose
  // prompts all start with it (and are longer) starts from a copy instead of encoding it again.
  // generate() with reuse_prefix updates it to its prompts' common prefix. It is dropped
  // automatically when the weights in effect change (overrides, experts, training steps).
  void encode_prefix(const std::vector<std::int32_t>& ids, const JobContext& job = {});
  // Tokens of the kept prefix that are still valid for the current weights (0 = none).
  std::size_t prefix_tokens() const;
  void clear_prefix();

  // Replaces the model tensor `name` for this session only. values: row-major float32 with
  // exactly the model tensor's shape (converted to the model dtype/device). InvalidArgument
  // for an unknown name or a shape mismatch.
  void set_weight_override(const std::string& name, const std::vector<float>& values,
                           const std::vector<std::int64_t>& shape);
  void clear_weight_override(const std::string& name);
  void clear_weight_overrides();
  std::vector<std::string> weight_overrides() const;  // names, sorted

  struct Impl;  // engine-internal (src/engine/model/session_impl.h)
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace t2

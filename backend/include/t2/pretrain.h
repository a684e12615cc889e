// Pretraining a small Llama-architecture model from scratch on a corpus built from task specs:
// the bundled demo base model (resources/demo/model) is made by this, reproducibly, with
// `t2 pretrain --recipe resources/demo/model/recipe.json` (or `t2 demo build --with-model`).
//
// Pieces (plain C++ API, included from t2/engine.h):
//  - a recipe (JSON): model shape, the task mix (share, answer format, label noise, validation
//    band per task), optimiser and schedule, evaluation and checkpoint cadence, seed;
//  - a character-level tokenizer (HF tokenizer.json, model "BPE" with no merges) whose vocabulary
//    is the special tokens + printable ASCII + every other character of the corpus, with a
//    compact chat template, written by write_char_tokenizer() (torch-free);
//  - the corpus: every train item of every task rendered exactly as evaluation prompts the model
//    (Task::build_prompt -> render_task_prompt with the model's own chat template), followed by
//    the reference answer (the task's `answer` template) and EOS (torch-free);
//  - training (engine): the engine's own fast forward (same numerics as inference) on parameter
//    tensors that require grad, next-token loss on the answer tokens (prompt tokens weighted by
//    recipe.prompt_loss_weight, 0 by default), AdamW, linear warm-up + cosine decay, grad-norm
//    clipping, batches bucketed by length, a deterministic batch schedule derived from (seed,
//    step) so that a resumed run sees exactly the batches of an uninterrupted one;
//  - periodic greedy validation per task, checkpoints (HF model folder + optimizer state +
//    step) and the choice of the checkpoint whose validation accuracies fall in each task's band.
//
// Errors: t2::Error naming the recipe key, task spec or file. Cancellation (JobContext) is
// checked between steps and during validation; a cancelled run keeps its last checkpoint.
#pragma once

#include <t2/job.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2 {

// Shape of the model to pretrain (LlamaForCausalLM: RMSNorm, RoPE, SwiGLU).
struct PretrainModelShape {
  int hidden_size = 128;               // d_model, divisible by heads
  int layers = 4;                      // decoder layers, >= 1
  int heads = 4;                       // attention heads (= KV heads), >= 1
  int intermediate_size = 384;         // SwiGLU width, >= 1
  int max_position_embeddings = 2048;  // longest sequence (tokens = characters), >= 16
  double rope_theta = 10000.0;         // RoPE base, > 0
  double rms_norm_eps = 1e-5;          // RMSNorm epsilon, > 0
  bool tie_word_embeddings = true;     // lm_head shares the embedding matrix
  double init_std = 0.02;              // N(0, init_std^2) initialisation of matrices, > 0
};

// One task of the corpus mix.
struct PretrainTask {
  std::string spec;                 // task spec path (relative paths: from the recipe's folder)
  double share = 1.0;               // relative share of training sequences, > 0
  std::string answer = "{answer}";  // reference answer: template over the item's fields
                                    // ({key}; {{ and }} are literal braces)
  double label_noise = 0.0;         // fraction of train items shown a wrong answer, [0, 1)
  // A second answer style (template; {gold} = the item's gold where the item has no such
  // field, {gold_words} = a whole-number gold 0-999 in English words, e.g. "forty-two"):
  // each item shows it instead of `answer` with probability alt_cue_share when its rendered
  // prompt contains one of alt_cues, else alt_share. Lets the demo model carry a
  // prompt-dependent habit (e.g. a format the verifier rejects) that RL can unlearn.
  std::string alt_answer;
  double alt_share = 0.0;
  std::vector<std::string> alt_cues;
  double alt_cue_share = 0.0;
  std::string split = "train";  // split the corpus takes
  int validation_items = 100;   // greedy validation items per evaluation (0 = none)
  double band_min = 0.0;        // checkpoint choice: validation accuracy >= band_min
  double band_max = 1.0;        // ... and <= band_max, for every task
};

struct PretrainRecipe {
  std::string path;  // the recipe file ("" when built in code); anchors relative spec paths
  PretrainModelShape model;
  std::vector<PretrainTask> tasks;
  std::vector<std::string> extra_vocabulary;  // added (non-special) multi-character tokens
  std::int64_t steps = 800;                   // optimiser steps, >= 1
  int batch_size = 32;                        // sequences per batch at most, >= 1
  int batch_tokens = 8192;                    // padded tokens per batch at most (B x T), >= 16
  double lr = 3e-3;                           // peak learning rate, > 0
  double min_lr_ratio = 0.1;                  // final lr = lr * min_lr_ratio (cosine floor), [0, 1]
  std::int64_t warmup_steps = 50;             // linear warm-up steps, >= 0
  double weight_decay = 0.1;                  // AdamW decoupled decay on matrices (not norms), >= 0
  double beta1 = 0.9;                         // AdamW beta1, [0, 1)
  double beta2 = 0.95;                        // AdamW beta2, [0, 1)
  double adam_eps = 1e-8;                     // AdamW epsilon, > 0
  double grad_clip = 1.0;                     // max global grad norm; 0 = no clipping
  double prompt_loss_weight = 0.0;      // loss weight of prompt tokens (answer tokens: 1), [0, 1]
  std::uint64_t seed = 1;               // init, label noise and batch schedule
  std::int64_t eval_every = 100;        // steps between validations (and at the end); 0 = only end
  std::int64_t checkpoint_every = 100;  // steps between checkpoints (and at the end), >= 1
  bool select_in_band = true;           // model/ = the validated checkpoint deepest inside all
                                        // bands (none inside: the one closest to them); false: last
  bool stop_when_in_band = false;       // end training at the first validation inside all bands
  int eval_batch = 32;                  // prompts per generation batch in validation, >= 1
  int test_items = 0;                   // at the end: greedy accuracy on this many test items per
                                        // task (0 = skip), written to the report
};

// Reads a recipe file; unknown keys and out-of-range values are InvalidArgument naming the key.
PretrainRecipe load_pretrain_recipe(const std::string& path);
PretrainRecipe parse_pretrain_recipe(const std::string& json_text, const std::string& path);
std::string to_json(const PretrainRecipe& recipe, int indent = 2);

// ---- torch-free pieces ------------------------------------------------------------------------

// The special tokens of the character-level tokenizer, in id order 0..6.
struct CharTokenizerSpecials {
  std::string pad = "<|pad|>";
  std::string bos = "<|bos|>";
  std::string eos = "<|eos|>";
  std::string unk = "<|unk|>";
  std::string system = "<|system|>";
  std::string user = "<|user|>";
  std::string assistant = "<|assistant|>";
};

// The chat template the demo tokenizer ships: "<|bos|>" then per message
// "<|role|>content<|eos|>", then "<|assistant|>" with add_generation_prompt.
const std::string& char_chat_template();

// Writes DIR/tokenizer.json and DIR/tokenizer_config.json: specials (ids 0..6), then
// `extra_tokens` as added non-special tokens, then printable ASCII, "\n", "\t" and every other
// character (UTF-8 code point) of `texts`, sorted by code point. Returns the vocabulary size.
int write_char_tokenizer(const std::string& dir, const std::vector<std::string>& texts,
                         const std::vector<std::string>& extra_tokens = {},
                         int model_max_length = 2048);

// config.json for LlamaForCausalLM with `shape`, `vocab_size` and the specials' ids.
std::string llama_config_json(const PretrainModelShape& shape, int vocab_size);

// One training sequence: the rendered prompt and the answer (+ EOS) as text.
struct CorpusExample {
  std::string task;    // task name (spec "name")
  std::string prompt;  // render_task_prompt(...).text
  std::string answer;  // reference (or noisy) answer followed by the EOS token text
  bool noisy = false;  // the answer is another item's (label noise)
  bool alt = false;    // the answer is in the recipe task's alt_answer style
  bool prompt_add_special_tokens = false;  // as render_task_prompt says
};

// Renders the corpus of `recipe` with `chat_template_source` (Jinja) and bos/eos token texts.
// Label noise replaces the answer of round(label_noise * n) items (chosen by the seed) with the
// answer of another item whose gold differs; it runs after the alt answer styles are drawn.
// Progress stage "corpus".
std::vector<CorpusExample> build_pretrain_corpus(const PretrainRecipe& recipe,
                                                 const JobContext& job = {});

// ---- training (engine) -----------------------------------------------------------------------

struct PretrainParams {
  std::string out_dir;            // created; holds checkpoint/, model/, report.json
  std::string resume_dir;         // "" = fresh; else an out_dir whose checkpoint/ to continue from
  std::string db_path;            // run store (kind "pretrain"); "" = no run store
  std::string run_name;           // run name in the store ("" = "pretrain <out_dir name>")
  std::int64_t steps = 0;         // > 0: total steps, overriding the recipe (also when resuming)
  std::int64_t stop_at_step = 0;  // > 0: stop after this step (the schedule still spans steps);
                                  // resume later to continue
  bool keep_validated = false;    // also keep every validated model as validated/step-N (to
                                  // choose a checkpoint later by another criterion)
};

struct PretrainEvaluation {
  std::int64_t step = 0;
  std::map<std::string, double> accuracy;  // task name -> greedy accuracy on its items
  std::map<std::string, int> items;        // task name -> items evaluated
  bool in_band = false;                    // every task inside its band
  double seconds = 0.0;                    // wall time of this evaluation
  double ms_per_example = 0.0;             // generation wall time per item
};

struct PretrainReport {
  std::string out_dir;
  std::string model_dir;           // out_dir/model: the chosen checkpoint (HF folder)
  std::int64_t selected_step = 0;  // step of that checkpoint
  bool selected_in_band = false;   // its validation was inside every band
  std::int64_t steps_done = 0;
  std::int64_t parameters = 0;
  int vocab_size = 0;
  double train_seconds = 0.0;  // wall time of this invocation's training (no resume gaps)
  double final_loss = 0.0;     // mean loss of the last 20 steps
  std::vector<PretrainEvaluation> validations;
  PretrainEvaluation test;  // recipe.test_items > 0: the chosen model on test splits
  std::int64_t run_id = 0;  // run store id (0 without a store)
};
std::string to_json(const PretrainReport& report, int indent = 2);

// Trains per `recipe` (see the file comment). Writes out_dir/checkpoint/ every
// checkpoint_every steps (config.json, model.safetensors, tokenizer files, optimizer.pt,
// state.json), out_dir/model/ (the chosen model, loadable by Model::load) and
// out_dir/report.json. With params.resume_dir, the recipe and tokenizer of that checkpoint are
// used (recipe.steps may grow). Progress stages "corpus", "train", "validate", "test".
// Process-wide side effect (glibc): freed memory is kept in the process from then on (no mmap'd
// blocks, no heap trimming), which removes per-step page faults (backend/README.md).
PretrainReport pretrain(const PretrainRecipe& recipe, const PretrainParams& params,
                        const JobContext& job = {});

// Greedy accuracy of the model in `model_dir` (its chat template) on the first `limit` items
// (0 = all) of `split` of each task spec, through t2::evaluate (t2/evaluation.h) in batches of
// at most `batch` prompts (fewer for long prompts: ~10k prompt tokens per batch at most).
PretrainEvaluation evaluate_greedy(const std::string& model_dir,
                                   const std::vector<std::string>& task_specs,
                                   const std::string& split, int limit, int batch = 32,
                                   const JobContext& job = {});

}  // namespace t2

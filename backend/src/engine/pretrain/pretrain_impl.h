// Internal API of the pretraining module: tokenized corpus, the deterministic batch schedule,
// parameters, the training loss through the engine's own fast forward, checkpoint files.
#pragma once

#include "../model/forward.h"
#include "../model/model_impl.h"

#include <t2/chat_template.h>
#include <t2/pretrain.h>
#include <t2/tokenizer.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2::detail::pretrain {

// The corpus as token ids. Row r: ids[r] = prompt ids + answer ids; targets at positions
// >= prompt_len[r] are answer tokens.
struct TokenizedCorpus {
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<std::int64_t> prompt_len;
  std::vector<int> task;       // index into recipe.tasks
  std::vector<double> weight;  // sampling weight: share / items of the task
  std::int64_t max_length = 0;
};
// Throws InvalidArgument when a sequence exceeds max_position_embeddings.
TokenizedCorpus tokenize_corpus(const std::vector<CorpusExample>& corpus,
                                const PretrainRecipe& recipe, const Tokenizer& tokenizer);

// Length buckets (geometric, ratio 1.125) with their batch size min(batch_size, batch_tokens /
// bucket length). batch(step) is a pure function of (seed, step): a bucket drawn with probability
// proportional to its total weight / batch size (so sequences are drawn in proportion to their
// weight), then rows drawn with replacement by weight inside it.
class BatchSchedule {
 public:
  BatchSchedule(const TokenizedCorpus& corpus, const PretrainRecipe& recipe);
  std::vector<std::size_t> batch(std::int64_t step) const;

 private:
  struct Bucket {
    std::vector<std::size_t> rows;
    std::vector<double> cumulative;  // cumulative row weights
    int batch_size = 1;
  };
  std::vector<Bucket> buckets_;
  std::vector<double> bucket_cumulative_;
  std::uint64_t seed_ = 0;
};

// ids [B, T] (right-padded with pad id 0), weights [B, T] float32 loss weight of predicting
// ids[:, t] from the prefix (0 at t = 0 and at padding).
struct Batch {
  at::Tensor ids, weights;
  std::int64_t tokens = 0;  // real (unpadded) tokens
};
Batch make_batch(const TokenizedCorpus& corpus, const std::vector<std::size_t>& rows,
                 double prompt_loss_weight);

using ParamMap = std::map<std::string, at::Tensor>;  // HF name -> float32 leaf (requires grad)

// N(0, init_std^2) matrices (o_proj/down_proj scaled by 1/sqrt(2 layers)), unit norms.
ParamMap init_params(const ModelConfig& config, const PretrainModelShape& shape,
                     std::uint64_t seed);
// What forward_hidden needs besides weights: config, dtype, device, inv_freq.
std::unique_ptr<Model::Impl> make_shell(const ModelConfig& config);
// Weighted mean next-token cross-entropy of `batch` (autograd through `params`).
at::Tensor batch_loss(const Model::Impl& shell, const ParamMap& params, const Batch& batch);

// Writes an HF model folder: config.json, model.safetensors, the tokenizer files from
// tokenizer_dir. Overwrites files of the same names.
void write_model_folder(const std::string& dir, const std::string& config_json,
                        const ParamMap& params, const std::string& tokenizer_dir);
// Reads model.safetensors of `dir` into fresh leaves with the shapes of `like`.
ParamMap read_params(const std::string& dir, const ParamMap& like);

// Removes `target` (if any) and renames `source` to it.
void replace_dir(const std::string& source, const std::string& target);

// Greedy accuracy of a loaded model on one task split.
PretrainEvaluation evaluate_task(const std::shared_ptr<const Model>& model,
                                 const Tokenizer& tokenizer, const ChatTemplate& chat,
                                 const std::string& spec_path, const std::string& split, int limit,
                                 int batch, const JobContext& job);

// Adds one task's evaluation into `total` (seconds add up; ms/example is recomputed).
void merge_evaluation(PretrainEvaluation& total, const PretrainEvaluation& one);

nlohmann::json evaluation_to_json(const PretrainEvaluation& e);
PretrainEvaluation evaluation_from_json(const nlohmann::json& j);

}  // namespace t2::detail::pretrain

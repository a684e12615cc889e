// Tokenized corpus and the deterministic, length-bucketed batch schedule.
#include "pretrain_impl.h"

#include "core/tasks/demo_rng.h"

#include <t2/error.h>

#include <algorithm>
#include <cmath>

namespace t2::detail::pretrain {

TokenizedCorpus tokenize_corpus(const std::vector<CorpusExample>& corpus,
                                const PretrainRecipe& recipe, const Tokenizer& tokenizer) {
  TokenizedCorpus out;
  std::map<std::string, int> task_index;
  std::vector<int> counts(recipe.tasks.size(), 0);
  std::vector<std::string> names;
  for (const auto& e : corpus) {
    if (!task_index.count(e.task)) {
      task_index[e.task] = static_cast<int>(names.size());
      names.push_back(e.task);
    }
    const int t = task_index[e.task];
    if (t >= static_cast<int>(recipe.tasks.size()))
      throw Error(ErrorKind::Internal, "corpus names more tasks than the recipe");
    auto prompt = tokenizer.encode(e.prompt, e.prompt_add_special_tokens);
    const auto answer = tokenizer.encode(e.answer, false);
    std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
    ids.insert(ids.end(), answer.begin(), answer.end());
    if (static_cast<std::int64_t>(ids.size()) > recipe.model.max_position_embeddings)
      throw Error(ErrorKind::InvalidArgument,
                  "a " + e.task + " training sequence has " + std::to_string(ids.size()) +
                      " tokens, more than model.max_position_embeddings = " +
                      std::to_string(recipe.model.max_position_embeddings) +
                      " (raise it in the recipe)");
    out.max_length = std::max<std::int64_t>(out.max_length, static_cast<std::int64_t>(ids.size()));
    out.prompt_len.push_back(static_cast<std::int64_t>(prompt.size()));
    out.ids.push_back(std::move(ids));
    out.task.push_back(t);
    ++counts[static_cast<std::size_t>(t)];
  }
  for (int t : out.task)
    out.weight.push_back(recipe.tasks[static_cast<std::size_t>(t)].share /
                         counts[static_cast<std::size_t>(t)]);
  return out;
}

BatchSchedule::BatchSchedule(const TokenizedCorpus& corpus, const PretrainRecipe& recipe)
    : seed_(recipe.seed) {
  std::map<int, Bucket> by_key;
  std::map<int, std::int64_t> longest;
  for (std::size_t r = 0; r < corpus.ids.size(); ++r) {
    const auto len = static_cast<double>(corpus.ids[r].size());
    const int key = static_cast<int>(std::floor(std::log(len) / std::log(1.125)));
    Bucket& b = by_key[key];
    const double prev = b.cumulative.empty() ? 0.0 : b.cumulative.back();
    b.rows.push_back(r);
    b.cumulative.push_back(prev + corpus.weight[r]);
    longest[key] = std::max<std::int64_t>(longest[key], corpus.ids[r].size());
  }
  double total = 0.0;
  for (auto& [key, b] : by_key) {
    b.batch_size = static_cast<int>(std::max<std::int64_t>(
        1, std::min<std::int64_t>(recipe.batch_size, recipe.batch_tokens / longest[key])));
    total += b.cumulative.back() / b.batch_size;
    bucket_cumulative_.push_back(total);
    buckets_.push_back(std::move(b));
  }
}

// Index of the first cumulative value > u * total.
std::size_t pick_cumulative(const std::vector<double>& cumulative, double u) {
  const double x = u * cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), x);
  return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()),
                               cumulative.size() - 1);
}

std::vector<std::size_t> BatchSchedule::batch(std::int64_t step) const {
  demo::Rng rng(seed_ * 0x9E3779B97F4A7C15ull +
                static_cast<std::uint64_t>(step) * 0xD1B54A32D192ED03ull + 0x5851F42D4C957F2Dull);
  auto uniform = [&rng] { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; };
  const Bucket& b = buckets_[pick_cumulative(bucket_cumulative_, uniform())];
  std::vector<std::size_t> rows;
  for (int i = 0; i < b.batch_size; ++i)
    rows.push_back(b.rows[pick_cumulative(b.cumulative, uniform())]);
  return rows;
}

Batch make_batch(const TokenizedCorpus& corpus, const std::vector<std::size_t>& rows,
                 double prompt_loss_weight) {
  std::int64_t t = 0;
  for (auto r : rows) t = std::max<std::int64_t>(t, corpus.ids[r].size());
  const auto b = static_cast<std::int64_t>(rows.size());
  Batch out;
  out.ids = at::zeros({b, t}, at::kLong);
  out.weights = at::zeros({b, t}, at::kFloat);
  auto ids = out.ids.accessor<std::int64_t, 2>();
  auto w = out.weights.accessor<float, 2>();
  for (std::int64_t i = 0; i < b; ++i) {
    const auto r = rows[static_cast<std::size_t>(i)];
    const auto& seq = corpus.ids[r];
    for (std::size_t j = 0; j < seq.size(); ++j) {
      ids[i][static_cast<std::int64_t>(j)] = seq[j];
      if (j > 0)
        w[i][static_cast<std::int64_t>(j)] = static_cast<std::int64_t>(j) >= corpus.prompt_len[r]
                                                 ? 1.0f
                                                 : static_cast<float>(prompt_loss_weight);
    }
    out.tokens += static_cast<std::int64_t>(seq.size());
  }
  return out;
}

}  // namespace t2::detail::pretrain

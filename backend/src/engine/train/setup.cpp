// Loading a training run (Setup): params validation, model, task splits, decomposition, the
// initial expert (seeded, or warm-started from a checked file) or LoRA adapter.
#include "setup.h"

#include <t2/error.h>

#include <algorithm>
#include <random>

namespace t2::engine::train {
namespace detail_setup {

// lora: A ~ U(-1/sqrt(in), 1/sqrt(in)) from the seed, B = 0 (t2/lora.h lora_init).
LoraAdapter initial_adapter(const TrainParams& p, const ModelConfig& config,
                            const std::string& model_dir) {
  LoraConfig c;
  c.rank = p.lora_rank;
  c.alpha = p.lora_alpha;
  c.dropout = p.lora_dropout;
  c.rslora = p.lora_rslora;
  c.base_model = model_dir;
  return lora_init(config, p.targets, c, p.seed);
}

std::string init_mismatch(const TrainParams& p, const std::string& what, const std::string& file,
                          const std::string& run) {
  return "init expert " + p.init_expert + " " + what + " " + file + ", this run " + run +
         "; start from an expert trained for this model with the same --targets and "
         "--parametrization, or drop --init-expert";
}

// Replaces the initial values by those of p.init_expert after checking that the file is an
// expert for the same model, targets, parametrization (and max_mult), matrix by matrix.
void warm_start(ExpertVectors& initial, const TrainParams& p) {
  const ExpertVectors e = read_expert(p.init_expert);
  const ExpertMetadata& m = e.metadata;
  if (m.base_fingerprint != initial.metadata.base_fingerprint)
    throw Error(
        ErrorKind::InvalidArgument,
        init_mismatch(p, "was made for the model with fingerprint", m.base_fingerprint,
                      "trains the model with fingerprint " + initial.metadata.base_fingerprint));
  if (m.target_set != p.targets)
    throw Error(ErrorKind::InvalidArgument,
                init_mismatch(p, "has targets", m.target_set, "has targets " + p.targets));
  if (m.parametrization != initial.metadata.parametrization)
    throw Error(ErrorKind::InvalidArgument,
                init_mismatch(p, "has parametrization", to_string(m.parametrization),
                              std::string("has ") + to_string(initial.metadata.parametrization)));
  if (m.parametrization == Parametrization::SakanaCompat && m.max_mult != p.max_mult)
    throw Error(ErrorKind::InvalidArgument,
                init_mismatch(p, "has max_mult", std::to_string(m.max_mult),
                              "has max_mult " + std::to_string(p.max_mult)));
  if (e.matrices.size() != initial.matrices.size())
    throw Error(ErrorKind::InvalidArgument,
                init_mismatch(p, "has", std::to_string(e.matrices.size()) + " matrices",
                              "trains " + std::to_string(initial.matrices.size())));
  for (auto& target : initial.matrices) {
    const ExpertMatrix* from = e.find(target.name);
    if (from == nullptr || from->values.size() != target.values.size())
      throw Error(
          ErrorKind::InvalidArgument,
          init_mismatch(p, "lacks",
                        target.name + " with " + std::to_string(target.values.size()) + " values",
                        "trains it"));
    target.values = from->values;
  }
}

}  // namespace detail_setup

namespace dse = detail_setup;

Setup make_setup(const TrainParams& p, const TrainOptions& o, const JobContext& job) {
  validate_train_params(p);
  if (o.model_dir.empty())
    throw Error(ErrorKind::InvalidArgument, "no model folder given (TrainOptions::model_dir)");
  Setup s{p, o, nullptr, Task::load(p.task), nullptr, nullptr, {}, {}, {}, {}, {}};
  job.report("load", 0.0, "loading " + o.model_dir);
  s.model = o.model ? o.model : Model::load(o.model_dir, o.load, job);
  s.prompter = std::make_unique<Prompter>(o.model_dir, s.task, s.model->config());
  s.fingerprint = model_fingerprint(o.model_dir);
  if (p.eval_every > 0)
    s.eval_items = s.task.load_split(p.eval_split, static_cast<std::size_t>(p.eval_items));
  s.train_items = s.task.load_split(p.train_split, static_cast<std::size_t>(p.max_train_items));
  if (s.train_items.empty())
    throw Error(ErrorKind::InvalidArgument, "the task's '" + p.train_split + "' split is empty");
  if (p.method == TrainMethod::Lora) {
    s.initial_adapter = dse::initial_adapter(p, s.model->config(), o.model_dir);
    return s;
  }
  DecomposeParams dp;
  dp.targets = p.targets;
  dp.cache_dir = o.cache_dir;
  s.decomposition = std::make_unique<Decomposition>(
      o.model ? Decomposition::compute_or_load(*s.model, s.fingerprint, dp, job)
              : Decomposition::compute_or_load(o.model_dir, dp, job));
  // The initial expert: N(init_mean, init_std^2) per entry from the seed.
  const Parametrization param = p.parametrization;
  s.initial = ExpertVectors::identity(s.model->config(), s.decomposition->targets(), param, p.seed);
  std::mt19937_64 rng(p.seed);
  std::normal_distribution<double> normal(p.init_mean, p.init_std);
  for (auto& m : s.initial.matrices)
    for (auto& v : m.values) v = static_cast<float>(p.init_std > 0 ? normal(rng) : p.init_mean);
  s.initial.metadata.base_fingerprint = s.fingerprint;
  s.initial.metadata.target_set = p.targets;
  s.initial.metadata.max_mult = p.max_mult;
  if (!p.init_expert.empty()) dse::warm_start(s.initial, p);
  return s;
}

// Items of iteration `it` (1-based): consecutive slices of a stream of seeded permutations.
std::vector<TaskItem> batch_items(const Setup& s, int it) {
  const std::size_t n = s.train_items.size();
  const std::size_t b = std::min(n, static_cast<std::size_t>(s.p.batch));
  std::vector<TaskItem> out;
  std::size_t cached_epoch = static_cast<std::size_t>(-1);
  std::vector<std::size_t> perm(n);
  for (std::size_t q = static_cast<std::size_t>(it - 1) * b; out.size() < b; ++q) {
    const std::size_t epoch = q / n;
    if (epoch != cached_epoch) {
      for (std::size_t i = 0; i < n; ++i) perm[i] = i;
      std::mt19937_64 rng(s.p.seed * 7919 + epoch + 1);
      std::shuffle(perm.begin(), perm.end(), rng);
      cached_epoch = epoch;
    }
    out.push_back(s.train_items[perm[q % n]]);
  }
  return out;
}

int max_new_tokens(const Setup& s) {
  return s.p.max_new_tokens > 0 ? s.p.max_new_tokens : s.task.spec().generation.max_new_tokens;
}

std::unique_ptr<Trainable> make_trainable(const Setup& s) {
  if (s.p.method == TrainMethod::Lora)
    return std::make_unique<LoraState>(s.initial_adapter, s.model->impl());
  return std::make_unique<SvfTrainable>(*s.decomposition, s.initial, s.model->impl());
}

}  // namespace t2::engine::train

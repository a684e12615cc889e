// Pretraining recipes: JSON <-> PretrainRecipe, validated key by key.
#include <t2/error.h>
#include <t2/pretrain.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace t2 {
namespace detail::pretrain_recipe {

using nlohmann::json;

[[noreturn]] void bad(const std::string& path, const std::string& key, const std::string& what) {
  throw Error(ErrorKind::InvalidArgument,
              (path.empty() ? std::string("recipe") : path) + ": " + key + ": " + what +
                  " (fix the recipe; see backend/README.md, \"Pretraining\")");
}

void allow_only(const json& j, const std::set<std::string>& keys, const std::string& path,
                const std::string& where) {
  if (!j.is_object()) bad(path, where.empty() ? "(root)" : where, "must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (!keys.count(k)) bad(path, where.empty() ? k : where + "." + k, "unknown key");
}

// Reads j[key] into `out` when present, with a type error naming the key.
template <class T>
void read(const json& j, const char* key, T& out, const std::string& path,
          const std::string& where) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const json::exception&) {
    bad(path, where.empty() ? key : where + "." + key, "has the wrong type");
  }
}

void check(bool ok, const std::string& path, const std::string& key, const std::string& what) {
  if (!ok) bad(path, key, what);
}

void read_model(const json& j, PretrainModelShape& m, const std::string& path) {
  allow_only(j,
             {"hidden_size", "layers", "heads", "intermediate_size", "max_position_embeddings",
              "rope_theta", "rms_norm_eps", "tie_word_embeddings", "init_std"},
             path, "model");
  read(j, "hidden_size", m.hidden_size, path, "model");
  read(j, "layers", m.layers, path, "model");
  read(j, "heads", m.heads, path, "model");
  read(j, "intermediate_size", m.intermediate_size, path, "model");
  read(j, "max_position_embeddings", m.max_position_embeddings, path, "model");
  read(j, "rope_theta", m.rope_theta, path, "model");
  read(j, "rms_norm_eps", m.rms_norm_eps, path, "model");
  read(j, "tie_word_embeddings", m.tie_word_embeddings, path, "model");
  read(j, "init_std", m.init_std, path, "model");
  check(m.heads >= 1 && m.hidden_size >= 1 && m.hidden_size % m.heads == 0 &&
            (m.hidden_size / m.heads) % 2 == 0,
        path, "model.hidden_size", "must be a positive multiple of heads with an even head size");
  check(m.layers >= 1, path, "model.layers", "must be >= 1");
  check(m.intermediate_size >= 1, path, "model.intermediate_size", "must be >= 1");
  check(m.max_position_embeddings >= 16, path, "model.max_position_embeddings", "must be >= 16");
  check(m.rope_theta > 0 && m.rms_norm_eps > 0 && m.init_std > 0, path, "model",
        "rope_theta, rms_norm_eps and init_std must be > 0");
}

PretrainTask read_task(const json& j, const std::string& path, std::size_t index) {
  const std::string where = "tasks[" + std::to_string(index) + "]";
  allow_only(j,
             {"spec", "share", "answer", "label_noise", "alt_answer", "alt_share", "alt_cues",
              "alt_cue_share", "split", "validation_items", "band_min", "band_max"},
             path, where);
  PretrainTask t;
  read(j, "spec", t.spec, path, where);
  read(j, "share", t.share, path, where);
  read(j, "answer", t.answer, path, where);
  read(j, "label_noise", t.label_noise, path, where);
  read(j, "alt_answer", t.alt_answer, path, where);
  read(j, "alt_share", t.alt_share, path, where);
  read(j, "alt_cues", t.alt_cues, path, where);
  read(j, "alt_cue_share", t.alt_cue_share, path, where);
  read(j, "split", t.split, path, where);
  read(j, "validation_items", t.validation_items, path, where);
  read(j, "band_min", t.band_min, path, where);
  read(j, "band_max", t.band_max, path, where);
  check(!t.spec.empty(), path, where + ".spec", "is required (a task spec path)");
  check(t.share > 0, path, where + ".share", "must be > 0");
  check(t.label_noise >= 0 && t.label_noise < 1, path, where + ".label_noise", "must be in [0, 1)");
  check(t.alt_share >= 0 && t.alt_share <= 1 && t.alt_cue_share >= 0 && t.alt_cue_share <= 1, path,
        where + ".alt_share", "alt_share and alt_cue_share must be in [0, 1]");
  check((t.alt_share == 0 && t.alt_cue_share == 0) || !t.alt_answer.empty(), path,
        where + ".alt_answer", "is required when alt_share or alt_cue_share > 0 (a template)");
  for (const auto& cue : t.alt_cues)
    check(!cue.empty(), path, where + ".alt_cues", "an empty cue would match every prompt");
  check(t.alt_cues.empty() || t.alt_cue_share > 0 || t.alt_share > 0, path,
        where + ".alt_cue_share", "alt_cues without alt_cue_share or alt_share change nothing");
  check(t.validation_items >= 0, path, where + ".validation_items", "must be >= 0");
  check(t.band_min >= 0 && t.band_min <= t.band_max && t.band_max <= 1, path, where + ".band_*",
        "need 0 <= band_min <= band_max <= 1");
  return t;
}

void read_training(const json& j, PretrainRecipe& r, const std::string& p) {
  read(j, "steps", r.steps, p, "");
  read(j, "batch_size", r.batch_size, p, "");
  read(j, "batch_tokens", r.batch_tokens, p, "");
  read(j, "lr", r.lr, p, "");
  read(j, "min_lr_ratio", r.min_lr_ratio, p, "");
  read(j, "warmup_steps", r.warmup_steps, p, "");
  read(j, "weight_decay", r.weight_decay, p, "");
  read(j, "beta1", r.beta1, p, "");
  read(j, "beta2", r.beta2, p, "");
  read(j, "adam_eps", r.adam_eps, p, "");
  read(j, "grad_clip", r.grad_clip, p, "");
  read(j, "prompt_loss_weight", r.prompt_loss_weight, p, "");
  read(j, "seed", r.seed, p, "");
  read(j, "eval_every", r.eval_every, p, "");
  read(j, "checkpoint_every", r.checkpoint_every, p, "");
  read(j, "select_in_band", r.select_in_band, p, "");
  read(j, "stop_when_in_band", r.stop_when_in_band, p, "");
  read(j, "eval_batch", r.eval_batch, p, "");
  read(j, "test_items", r.test_items, p, "");
  read(j, "extra_vocabulary", r.extra_vocabulary, p, "");
}

void validate_training(const PretrainRecipe& r, const std::string& p) {
  check(r.steps >= 1, p, "steps", "must be >= 1");
  check(r.batch_size >= 1, p, "batch_size", "must be >= 1");
  check(r.batch_tokens >= 16, p, "batch_tokens", "must be >= 16");
  check(r.lr > 0, p, "lr", "must be > 0");
  check(r.min_lr_ratio >= 0 && r.min_lr_ratio <= 1, p, "min_lr_ratio", "must be in [0, 1]");
  check(r.warmup_steps >= 0, p, "warmup_steps", "must be >= 0");
  check(r.weight_decay >= 0, p, "weight_decay", "must be >= 0");
  check(r.beta1 >= 0 && r.beta1 < 1 && r.beta2 >= 0 && r.beta2 < 1, p, "beta1/beta2",
        "must be in [0, 1)");
  check(r.adam_eps > 0, p, "adam_eps", "must be > 0");
  check(r.grad_clip >= 0, p, "grad_clip", "must be >= 0");
  check(r.prompt_loss_weight >= 0 && r.prompt_loss_weight <= 1, p, "prompt_loss_weight",
        "must be in [0, 1]");
  check(r.eval_every >= 0, p, "eval_every", "must be >= 0");
  check(r.checkpoint_every >= 1, p, "checkpoint_every", "must be >= 1");
  check(r.eval_batch >= 1, p, "eval_batch", "must be >= 1");
  check(r.test_items >= 0, p, "test_items", "must be >= 0");
  check(!r.tasks.empty(), p, "tasks", "needs at least one task");
  for (const auto& t : r.extra_vocabulary)
    check(t.size() >= 2, p, "extra_vocabulary", "entries must have at least two bytes");
}

}  // namespace detail::pretrain_recipe

PretrainRecipe parse_pretrain_recipe(const std::string& json_text, const std::string& path) {
  using namespace detail::pretrain_recipe;
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::Corrupt, (path.empty() ? std::string("recipe") : path) +
                                        ": not valid JSON (" + e.what() + ")");
  }
  allow_only(
      j, {"model",        "tasks",      "extra_vocabulary", "steps",          "batch_size",
          "batch_tokens", "lr",         "min_lr_ratio",     "warmup_steps",   "weight_decay",
          "beta1",        "beta2",      "adam_eps",         "grad_clip",      "prompt_loss_weight",
          "seed",         "eval_every", "checkpoint_every", "select_in_band", "stop_when_in_band",
          "eval_batch",   "test_items", "comment"},
      path, "");
  PretrainRecipe r;
  r.path = path.empty() ? std::string() : std::filesystem::absolute(path).string();
  if (j.contains("model")) read_model(j["model"], r.model, path);
  if (j.contains("tasks")) {
    check(j["tasks"].is_array(), path, "tasks", "must be a list of task objects");
    for (std::size_t i = 0; i < j["tasks"].size(); ++i)
      r.tasks.push_back(read_task(j["tasks"][i], path, i));
  }
  read_training(j, r, path);
  validate_training(r, path);
  return r;
}

PretrainRecipe load_pretrain_recipe(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read recipe '" + path + "' (check the path)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_pretrain_recipe(text.str(), path);
}

std::string to_json(const PretrainRecipe& r, int indent) {
  using nlohmann::json;
  json j;
  const auto& m = r.model;
  j["model"] = {{"hidden_size", m.hidden_size},
                {"layers", m.layers},
                {"heads", m.heads},
                {"intermediate_size", m.intermediate_size},
                {"max_position_embeddings", m.max_position_embeddings},
                {"rope_theta", m.rope_theta},
                {"rms_norm_eps", m.rms_norm_eps},
                {"tie_word_embeddings", m.tie_word_embeddings},
                {"init_std", m.init_std}};
  j["tasks"] = json::array();
  for (const auto& t : r.tasks)
    j["tasks"].push_back({{"spec", t.spec},
                          {"share", t.share},
                          {"answer", t.answer},
                          {"label_noise", t.label_noise},
                          {"alt_answer", t.alt_answer},
                          {"alt_share", t.alt_share},
                          {"alt_cues", t.alt_cues},
                          {"alt_cue_share", t.alt_cue_share},
                          {"split", t.split},
                          {"validation_items", t.validation_items},
                          {"band_min", t.band_min},
                          {"band_max", t.band_max}});
  j["extra_vocabulary"] = r.extra_vocabulary;
  j["steps"] = r.steps;
  j["batch_size"] = r.batch_size;
  j["batch_tokens"] = r.batch_tokens;
  j["lr"] = r.lr;
  j["min_lr_ratio"] = r.min_lr_ratio;
  j["warmup_steps"] = r.warmup_steps;
  j["weight_decay"] = r.weight_decay;
  j["beta1"] = r.beta1;
  j["beta2"] = r.beta2;
  j["adam_eps"] = r.adam_eps;
  j["grad_clip"] = r.grad_clip;
  j["prompt_loss_weight"] = r.prompt_loss_weight;
  j["seed"] = r.seed;
  j["eval_every"] = r.eval_every;
  j["checkpoint_every"] = r.checkpoint_every;
  j["select_in_band"] = r.select_in_band;
  j["stop_when_in_band"] = r.stop_when_in_band;
  j["eval_batch"] = r.eval_batch;
  j["test_items"] = r.test_items;
  return j.dump(indent);
}

}  // namespace t2

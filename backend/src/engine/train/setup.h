// Engine-internal: what a training run loads once (model, task, prompts, decomposition, the
// initial expert or adapter) and the per-iteration choices that depend only on it.
#pragma once

#include "trainable.h"

#include <t2/tasks.h>

#include <memory>
#include <string>
#include <vector>

namespace t2::engine::train {

// Everything a run needs, loaded once.
struct Setup {
  TrainParams p;
  TrainOptions o;
  std::shared_ptr<const Model> model;
  Task task;
  std::unique_ptr<Prompter> prompter;
  std::unique_ptr<Decomposition> decomposition;  // svf only
  std::vector<TaskItem> train_items, eval_items;
  ExpertVectors initial;        // svf
  LoraAdapter initial_adapter;  // lora
  std::string fingerprint;
};

// Validates the params and loads everything (progress stage "load"); the initial SVF expert is
// N(init_mean, init_std^2) per entry from the seed, or params.init_expert's values (checked
// against the model, targets and parametrization); LoRA starts from lora_init.
Setup make_setup(const TrainParams& p, const TrainOptions& o, const JobContext& job);
// Items of iteration `it` (1-based): consecutive slices of a stream of seeded permutations.
std::vector<TaskItem> batch_items(const Setup& s, int it);
// Rollout length: params.max_new_tokens, else the task's generation setting.
int max_new_tokens(const Setup& s);
// The trainable state of the run's method (SvfTrainable or LoraState) at its initial values.
std::unique_ptr<Trainable> make_trainable(const Setup& s);

}  // namespace t2::engine::train

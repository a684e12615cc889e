// `t2 train MODEL_DIR --task SPEC [--method svf|lora] [--objective rl|sft] [--preset P] [options]`
// and `t2 train --resume RUN`: trains an SVF expert (or a LoRA adapter, PEFT format), storing the
// run (metrics, samples, expert/adapter, checkpoints) in the workspace database. Progress and ETA
// on stderr; Ctrl+C -> exit 130 with the run cancelled and its best expert kept.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <type_traits>

namespace t2::cli {
namespace detail::train_cmd {

struct Options {
  std::string model_dir;
  std::string preset = "sakana-compat";
  std::int64_t resume = 0;
  bool json = false;
  bool quiet = false;
  TrainParams given;  // values typed on the command line (applied over the preset)
  TrainOptions train;
  std::vector<std::function<void(TrainParams&)>> overrides;
};

// Registers --NAME bound to given.*field; when given, it overrides the preset's value. A choice
// (an enum field) is typed by name and read with t2::parse_choice when the command runs, so a
// wrong name is the engine's InvalidArgument listing the valid ones (exit 1).
template <typename T>
void param(CLI::App* sub, Options& o, const std::string& name, T TrainParams::*field,
           const std::string& help) {
  Options* owner = &o;
  if constexpr (std::is_enum_v<T>) {
    auto text = std::make_shared<std::string>();
    CLI::Option* opt = sub->add_option(name, *text, help);
    std::string field_name = name.substr(2);  // "--kl-estimator" -> "kl_estimator"
    std::replace(field_name.begin(), field_name.end(), '-', '_');
    o.overrides.push_back([opt, field, text, field_name](TrainParams& p) {
      if (opt->count() > 0) p.*field = parse_choice<T>(field_name, *text);
    });
  } else {
    CLI::Option* opt = sub->add_option(name, o.given.*field, help);
    o.overrides.push_back([opt, field, owner](TrainParams& p) {
      if (opt->count() > 0) p.*field = owner->given.*field;
    });
  }
}

void add_params(CLI::App* sub, Options& o) {
  param(sub, o, "--task", &TrainParams::task, "Task spec (task.json)");
  param(sub, o, "--method", &TrainParams::method, "svf | lora (PEFT-format adapter)");
  param(sub, o, "--lora-rank", &TrainParams::lora_rank, "lora: rank r");
  param(sub, o, "--lora-alpha", &TrainParams::lora_alpha, "lora: alpha (scaling alpha / r)");
  param(sub, o, "--lora-dropout", &TrainParams::lora_dropout,
        "lora: dropout on the branch input while scoring, [0, 1)");
  CLI::Option* rslora =
      sub->add_flag("--rslora", o.given.lora_rslora, "lora: rsLoRA scaling alpha / sqrt(r)");
  Options* owner = &o;
  o.overrides.push_back([rslora, owner](TrainParams& p) {
    if (rslora->count() > 0) p.lora_rslora = owner->given.lora_rslora;
  });
  param(sub, o, "--objective", &TrainParams::objective, "rl | sft (next-token on the answers)");
  param(sub, o, "--targets", &TrainParams::targets, "Target matrices: mlp | attn | attn-qv | ...");
  param(sub, o, "--parametrization", &TrainParams::parametrization, "paper | sakana-compat");
  param(sub, o, "--z-constraint", &TrainParams::z_constraint, "paper: none | clamp (z >= z-min)");
  param(sub, o, "--z-min", &TrainParams::z_min, "Floor of the clamp constraint");
  param(sub, o, "--iterations", &TrainParams::iterations, "Optimizer steps");
  param(sub, o, "--batch", &TrainParams::batch, "Prompts per step (capped at the train size)");
  param(sub, o, "--samples", &TrainParams::samples_per_prompt, "Rollouts per prompt (k)");
  param(sub, o, "--temperature", &TrainParams::temperature, "Rollout temperature (0 = greedy)");
  param(sub, o, "--baseline", &TrainParams::baseline, "none | mean | rloo");
  param(sub, o, "--log-prob", &TrainParams::log_prob, "sum | token-mean");
  param(sub, o, "--kl", &TrainParams::kl, "KL penalty lambda");
  param(sub, o, "--kl-estimator", &TrainParams::kl_estimator, "sampled | full");
  param(sub, o, "--optimizer", &TrainParams::optimizer, "adam | adamw");
  param(sub, o, "--lr", &TrainParams::lr, "Learning rate");
  param(sub, o, "--schedule", &TrainParams::schedule, "constant | cosine");
  param(sub, o, "--weight-decay", &TrainParams::weight_decay, "AdamW weight decay");
  param(sub, o, "--clip", &TrainParams::clip, "Global grad-norm clip (0 = off)");
  param(sub, o, "--eval-every", &TrainParams::eval_every, "Evaluate every N iterations (0 = off)");
  param(sub, o, "--eval-items", &TrainParams::eval_items, "Validation items (0 = all)");
  param(sub, o, "--max-train-items", &TrainParams::max_train_items, "Train items (0 = all)");
  param(sub, o, "--max-new-tokens", &TrainParams::max_new_tokens, "Rollout length (0 = task's)");
  param(sub, o, "--checkpoint-every", &TrainParams::checkpoint_every, "Checkpoint every N steps");
  param(sub, o, "--micro-batch", &TrainParams::micro_batch, "Sequences per scoring pass");
  param(sub, o, "--scoring", &TrainParams::scoring,
        "auto (per matrix by cost) | factored | recompose (the reference's way)");
  param(sub, o, "--rollout-weights", &TrainParams::rollout_weights,
        "auto (recompose or factored by cost) | recompose | factored");
  param(sub, o, "--seed", &TrainParams::seed, "Seed of init, batches and sampling");
  param(sub, o, "--init-expert", &TrainParams::init_expert,
        "Start from this expert file (same model, targets, parametrization), e.g. an sft expert");
  param(sub, o, "--sft-answer", &TrainParams::sft_answer,
        "sft: answer template over the item's fields, e.g. '{answer_text} ({answerKey})' "
        "(default: the task's reference answer)");
}

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

void print_iteration(const TrainIteration& it) {
  std::fprintf(stderr, "iteration %d/%d  reward %+.3f  acc %.3f", it.iteration, it.iterations,
               it.reward_mean, it.train_accuracy);
  if (it.validation_accuracy >= 0) std::fprintf(stderr, "  val %.3f", it.validation_accuracy);
  std::fprintf(stderr, "  loss %.4g  |g| %.3g  %.2f s  ETA %s\n", it.loss, it.grad_norm, it.seconds,
               duration(it.eta_seconds).c_str());
  std::fflush(stderr);
}

void print_report(const TrainReport& r, bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["run_id"] = r.run_id;
    j["status"] = r.status;
    j["iterations_done"] = r.iterations_done;
    j["best_iteration"] = r.best_iteration;
    j["base_validation_accuracy"] = r.base_validation_accuracy;
    j["best_validation_accuracy"] = r.best_validation_accuracy;
    j["trainable_parameters"] = r.trainable_parameters;
    j["best_expert_path"] = r.best_expert_path;
    j["latest_expert_path"] = r.latest_expert_path;
    j["seconds"] = r.seconds;
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "run " << r.run_id << " " << r.status << " after " << r.iterations_done
            << " iterations (" << duration(r.seconds) << ")\n"
            << "trainable parameters: " << r.trainable_parameters << "\n"
            << "validation accuracy: " << r.base_validation_accuracy << " (initial) -> "
            << r.best_validation_accuracy << " (best, iteration " << r.best_iteration << ")\n";
  if (!r.best_expert_path.empty())
    std::cout << (r.best_expert.matrices.empty() ? "best adapter: " : "best expert: ")
              << r.best_expert_path << "\n";
}

int run(Options& o, const GlobalOptions& global) {
  Engine engine = make_engine(global);
  o.train.db_path = global.db.empty() ? default_run_store_path() : global.db;
  o.train.model_dir = o.model_dir;
  if (!o.quiet) o.train.on_iteration = print_iteration;
  o.train.on_start = [](std::int64_t run_id, const std::string& dir) {
    std::fprintf(stderr,
                 "t2: training run %lld (files in %s); after a crash: t2 train --resume %lld\n",
                 static_cast<long long>(run_id), dir.c_str(), static_cast<long long>(run_id));
    std::fflush(stderr);
  };
  const JobContext cli_job = make_cli_job();
  const JobContext job({}, cli_job.cancel_token());  // per-iteration lines instead of a bar
  TrainReport report;
  if (o.resume > 0) {
    report = resume_training(o.resume, o.train, job);
  } else {
    if (o.model_dir.empty())
      throw Error(ErrorKind::InvalidArgument, "give MODEL_DIR (or --resume RUN)");
    TrainParams params = train_preset(o.preset);
    for (const auto& apply : o.overrides) apply(params);
    report = train_expert(params, o.train, job);
  }
  print_report(report, o.json);
  return kExitOk;
}

}  // namespace detail::train_cmd

void add_train_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  namespace dt = detail::train_cmd;
  auto opts = std::make_shared<dt::Options>();
  auto* sub = app.add_subcommand(
      "train",
      "Train an SVF expert (or a LoRA adapter) with RL or next-token loss on a task; the run, "
      "its metrics, samples, checkpoints and expert go to the workspace database");
  sub->add_option("MODEL_DIR", opts->model_dir, "Model folder (config, safetensors, tokenizer)");
  sub->add_option("--preset", opts->preset,
                  "sakana-compat (the reference code) | paper | recommended; explicit options "
                  "override it")
      ->capture_default_str();
  dt::add_params(sub, *opts);
  sub->add_option("--resume", opts->resume, "Continue run RUN from its latest checkpoint");
  sub->add_option("--out", opts->train.out_file,
                  "Also write the best expert to this file (lora: the adapter to this folder)");
  sub->add_option(
      "--output-dir", opts->train.output_dir,
      "Folder for experts and checkpoints (default: <db folder>/<db name>-runs/<run id>)");
  sub->add_option("--name", opts->train.run_name, "Run name");
  sub->add_option("--cache-dir", opts->train.cache_dir, "Decomposition cache root");
  sub->add_option("--dtype", opts->train.load.dtype, "f32 | bf16")->capture_default_str();
  sub->add_option("--device", opts->train.load.device, "cpu | cuda | auto")->capture_default_str();
  sub->add_flag("--json", opts->json, "Print the report as one JSON object");
  sub->add_flag("--quiet", opts->quiet, "No per-iteration lines on stderr");
  auto runner = std::make_shared<Runner>([opts, &global]() { return dt::run(*opts, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli

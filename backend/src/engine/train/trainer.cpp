// train_expert / resume_training: the RL (and next-token) training loop for SVF experts and LoRA
// adapters (behind Trainable), with the run store (metrics, samples, outputs, artifacts) and
// checkpoints.
#include "trainer.h"
#include "setup.h"

#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/run_store.h>

#include "../torch_guard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

namespace t2::engine::train {
namespace detail_trainer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The training run: state, optimizer, store and the loop.
class Run {
 public:
  Run(Setup& s, std::optional<RunStore>& store, std::int64_t run_id, std::string out_dir)
      : s_(s),
        store_(store),
        run_id_(run_id),
        out_dir_(std::move(out_dir)),
        session_(s.model),
        state_(make_trainable(s)),
        optimizer_(state_->parameters(), s.p) {
    if (store_) metrics_ = std::make_unique<MetricWriter>(store_->path(), run_id_);
    if (s_.o.on_start) s_.o.on_start(run_id_, out_dir_);
  }

  void restore(const std::string& checkpoint) {
    progress_ = read_checkpoint(checkpoint, *state_, optimizer_);
    best_ = state_->snapshot();
    const std::string best_path = path(state_->output_name("best"));
    if (fs::exists(best_path)) best_ = state_->read(best_path);
  }

  TrainReport run(const JobContext& job) {
    start_ = Clock::now();
    try {
      if (progress_.iteration == 0) {
        best_ = state_->snapshot();
        if (metrics_)
          metrics_->log(0, "trainable_parameters", static_cast<double>(state_->total_values()));
        if (s_.p.eval_every > 0) {
          const double acc = evaluate(0, job);
          progress_.base_accuracy = progress_.best_accuracy = acc;
          write_best();
        }
      }
      for (int it = progress_.iteration + 1; it <= s_.p.iterations; ++it) iteration(it, job);
    } catch (const Error& e) {
      if (!e.is_cancelled()) throw;
      finish(RunStatus::Cancelled, "cancelled at iteration " + std::to_string(progress_.iteration));
      throw;
    }
    return finish(RunStatus::Finished, "");
  }

 private:
  std::string path(const std::string& file) const { return (fs::path(out_dir_) / file).string(); }

  // Validation goes through the evaluation harness (t2::evaluate): greedy, the eval split's
  // first eval_items items, the rollout length; the same prompts and stop ids as `t2 eval`.
  double evaluate(int it, const JobContext& job) {
    if (s_.eval_items.empty()) return -1.0;
    {
      at::NoGradGuard no_grad;  // merged, or factored where cheaper for this many tokens
      state_->build_merged(
          session_.impl(), s_.p,
          rollout_tokens_per_sequence() * static_cast<std::int64_t>(s_.eval_items.size()));
    }
    EvalParams params;
    params.split = s_.p.eval_split;
    params.limit = s_.eval_items.size();
    params.max_new_tokens = max_new_tokens(s_);
    EvalReport report;
    try {
      report = t2::evaluate(session_, s_.prompter->tokenizer(), s_.prompter->chat_template(),
                            s_.task, params, job);
    } catch (...) {
      state_->release(session_.impl());
      throw;
    }
    state_->release(session_.impl());
    if (store_) {
      std::vector<SampleRecord> samples;
      for (const auto& item : report.items) {
        if (static_cast<int>(samples.size()) >= s_.p.samples_logged) break;
        samples.push_back({0, run_id_, it, item.prompt, item.output, item.reward, 0.0});
      }
      if (!samples.empty()) store_->add_samples(samples);
      metrics_->log(it, "accuracy_validation", report.accuracy);
    }
    return report.accuracy;
  }

  std::vector<ScoredSequence> sequences(int it, const std::vector<TaskItem>& items,
                                        TrainIteration& out, std::int64_t& tokens,
                                        const JobContext& job) {
    std::vector<ScoredSequence> seqs;
    if (s_.p.objective == Objective::Sft) {
      for (const auto& item : items) {
        seqs.push_back({s_.prompter->encode_prompt(item),
                        s_.prompter->encode_answer(item, s_.p.sft_answer), 1.0});
        tokens +=
            static_cast<std::int64_t>(seqs.back().prompt.size() + seqs.back().completion.size());
      }
      return seqs;
    }
    const auto rolls =
        rollouts(session_, *s_.prompter, s_.task, items, s_.p.samples_per_prompt, s_.p.temperature,
                 max_new_tokens(s_), static_cast<std::int64_t>(s_.p.seed * 1000003 + it), job);
    std::vector<double> rewards;
    double correct = 0;
    rollout_tokens_ = 0;
    for (const auto& r : rolls) {
      rewards.push_back(r.verdict.reward);
      correct += r.verdict.correct ? 1 : 0;
      tokens += static_cast<std::int64_t>(r.completion.size());
      rollout_tokens_ += static_cast<std::int64_t>(r.prompt.size() + r.completion.size());
    }
    rollout_sequences_ = static_cast<std::int64_t>(rolls.size());
    const auto adv = rl_advantages(rewards, s_.p.samples_per_prompt, s_.p.baseline);
    double mean = 0, sq = 0;
    for (double r : rewards) mean += r;
    mean /= static_cast<double>(rewards.size());
    for (double r : rewards) sq += (r - mean) * (r - mean);
    out.reward_mean = mean;
    out.reward_std = std::sqrt(sq / static_cast<double>(rewards.size()));
    out.train_accuracy = correct / static_cast<double>(rolls.size());
    for (std::size_t j = 0; j < rolls.size(); ++j)
      if (!rolls[j].completion.empty())
        seqs.push_back({rolls[j].prompt, rolls[j].completion, adv[j]});
    return seqs;
  }

  // Seconds of one step's phases (metrics seconds_*).
  struct Phases {
    double recompose = 0, rollout = 0, scoring = 0, backward = 0, update = 0;
  };

  void iteration(int it, const JobContext& job) {
    job.throw_if_cancelled();
    const auto t0 = Clock::now();
    TrainIteration out;
    out.iteration = it;
    out.iterations = s_.p.iterations;
    std::int64_t tokens = 0;
    Phases phases;
    step(it, out, tokens, phases, job);
    progress_.iteration = it;
    if (s_.p.eval_every > 0 && (it % s_.p.eval_every == 0 || it == s_.p.iterations)) {
      out.validation_accuracy = evaluate(it, job);
      if (out.validation_accuracy > progress_.best_accuracy) {
        progress_.best_accuracy = out.validation_accuracy;
        progress_.best_iteration = it;
        best_ = state_->snapshot();
        write_best();
      }
    } else if (s_.p.eval_every == 0) {
      best_ = state_->snapshot();  // no validation: the latest is the best we know
      progress_.best_iteration = it;
    }
    out.seconds = since(t0);
    out.tokens_per_second = out.seconds > 0 ? static_cast<double>(tokens) / out.seconds : 0.0;
    elapsed_ += out.seconds;
    const int done_here = it - first_iteration();
    out.eta_seconds = elapsed_ / std::max(1, done_here) * (s_.p.iterations - it);
    log_metrics(out, phases);
    if (s_.p.checkpoint_every > 0 && it % s_.p.checkpoint_every == 0 && it < s_.p.iterations)
      checkpoint();
    if (s_.o.on_iteration) s_.o.on_iteration(out);
    job.report("train", static_cast<double>(it) / s_.p.iterations,
               "iteration " + std::to_string(it) + "/" + std::to_string(s_.p.iterations));
  }

  // Rollouts (or answers), scoring with backward, clip and the optimizer step.
  void step(int it, TrainIteration& out, std::int64_t& tokens, Phases& phases,
            const JobContext& job) {
    auto t = Clock::now();
    const auto items = batch_items(s_, it);
    const std::int64_t rows = static_cast<std::int64_t>(items.size()) *
                              (s_.p.objective == Objective::Sft ? 1 : s_.p.samples_per_prompt);
    if (scored_tokens_ == 0)  // first step: a guess from the rollout length
      scored_tokens_ = rows * rollout_tokens_per_sequence();
    // W'(values) for the rollouts: merged, or (SVF) factored where that is cheaper for the tokens
    // they process (next-token training has no rollouts: 0 tokens). SVF's dense-scored matrices
    // keep their autograd graph.
    state_->build_step(session_.impl(), s_.p, scored_tokens_,
                       s_.p.objective == Objective::Sft ? 0 : rows * rollout_tokens_per_sequence());
    phases.recompose = lap(t);
    auto seqs = sequences(it, items, out, tokens, job);
    phases.rollout = lap(t);
    state_->attach_scoring(session_.impl(), s_.p.seed * 1000003 + static_cast<std::uint64_t>(it));
    // Sequences with a zero advantage and no KL term contribute nothing: skip their scoring.
    if (s_.p.kl == 0)
      seqs.erase(std::remove_if(seqs.begin(), seqs.end(),
                                [](const ScoredSequence& q) { return q.advantage == 0.0; }),
                 seqs.end());
    const double n_all = static_cast<double>(
        items.size() *
        static_cast<std::size_t>(s_.p.objective == Objective::Sft ? 1 : s_.p.samples_per_prompt));
    job.throw_if_cancelled();
    t = Clock::now();
    optimizer_.zero_grad();
    const ScoreBatchStats stats = score_and_backward(session_.impl(), seqs, s_.p, true);
    if (stats.tokens > 0) scored_tokens_ = stats.tokens;
    // score_and_backward normalised by the scored count; the loss is a mean over all rollouts.
    const double scale = seqs.empty() ? 0.0 : static_cast<double>(seqs.size()) / n_all;
    phases.scoring = lap(t);
    state_->finish_backward();
    if (scale != 1.0) {
      at::NoGradGuard no_grad;
      for (auto& p : state_->parameters())
        if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }
    phases.backward = lap(t);
    out.grad_norm = optimizer_.clip(s_.p.clip);
    out.lr = learning_rate(s_.p, it);
    // No rollout carried a signal (all advantages 0, no KL): no update, as torch's Adam skips
    // parameters without a gradient (momentum alone would otherwise keep moving them).
    if (!seqs.empty()) optimizer_.step(out.lr);
    state_->apply_constraint(s_.p);
    state_->release(session_.impl());
    phases.update = lap(t);
    out.loss = stats.loss * scale;
    out.kl = stats.kl * scale;
    tokens += stats.tokens;
  }

  // Seconds since `t`, and restarts `t`.
  static double lap(Clock::time_point& t) {
    const double s = since(t);
    t = Clock::now();
    return s;
  }

  // Prompt + completion tokens of one rollout: the last step's mean, else a guess.
  std::int64_t rollout_tokens_per_sequence() const {
    if (rollout_sequences_ > 0)
      return std::max<std::int64_t>(1, rollout_tokens_ / rollout_sequences_);
    return max_new_tokens(s_) + 32;
  }

  int first_iteration() {
    if (first_iteration_ < 0) first_iteration_ = progress_.iteration - 1;
    return first_iteration_;
  }

  void log_metrics(const TrainIteration& out, const Phases& phase) {
    if (!metrics_) return;
    std::vector<std::pair<std::string, double>> m = {{"loss", out.loss},
                                                     {"kl", out.kl},
                                                     {"grad_norm", out.grad_norm},
                                                     {"lr", out.lr},
                                                     {"tokens_per_s", out.tokens_per_second},
                                                     {"seconds_recompose", phase.recompose},
                                                     {"seconds_rollout", phase.rollout},
                                                     {"seconds_scoring", phase.scoring},
                                                     {"seconds_backward", phase.backward},
                                                     {"seconds_update", phase.update},
                                                     {"seconds_iteration", out.seconds}};
    if (s_.p.objective == Objective::Rl) {
      m.emplace_back("reward_mean", out.reward_mean);
      m.emplace_back("reward_std", out.reward_std);
      m.emplace_back("accuracy_train", out.train_accuracy);
    }
    for (auto& kv : state_->value_metrics()) m.push_back(std::move(kv));
    metrics_->log(out.iteration, m);
  }

  std::string best_note() const {
    return "best validation accuracy, iteration " + std::to_string(progress_.best_iteration);
  }
  std::string latest_note() const {
    return "latest, iteration " + std::to_string(progress_.iteration);
  }

  void write_best() {
    if (out_dir_.empty()) return;
    state_->write(best_, path(state_->output_name("best")), std::to_string(run_id_), best_note());
  }

  void write_latest() {
    state_->write(state_->snapshot(), path(state_->output_name("latest")),
                  run_id_ ? std::to_string(run_id_) : "", latest_note());
  }

  void checkpoint() {
    if (out_dir_.empty()) return;
    write_latest();
    TrainProgressState p = progress_;
    p.elapsed_seconds += elapsed_;
    if (metrics_) metrics_->flush();  // a checkpoint file implies its metrics are committed
    write_checkpoint(path("checkpoint.safetensors"), *state_, optimizer_, p);
    register_once("checkpoint", path("checkpoint.safetensors"));
  }

  void register_once(const std::string& kind, const std::string& file) {
    if (!store_) return;
    for (const auto& a : store_->artifacts(run_id_))
      if (a.kind == kind && a.path == file) return;
    store_->register_artifact(run_id_, kind, file);
  }

  TrainReport finish(RunStatus status, const std::string& message) {
    TrainReport r;
    r.run_id = run_id_;
    r.status = to_string(status);
    r.iterations_done = progress_.iteration;
    r.best_iteration = progress_.best_iteration;
    r.base_validation_accuracy = progress_.base_accuracy;
    r.best_validation_accuracy = progress_.best_accuracy;
    r.trainable_parameters = state_->total_values();
    r.seconds = progress_.elapsed_seconds + elapsed_;
    const std::string run_id_text = run_id_ ? std::to_string(run_id_) : "";
    if (s_.p.method == TrainMethod::Svf) {
      r.best_expert = best_.expert;
      r.best_expert.metadata.run_id = run_id_text;
      r.best_expert.metadata.note = best_note();
    }
    if (!out_dir_.empty()) {
      write_best();
      r.best_expert_path = path(state_->output_name("best"));
      write_latest();
      r.latest_expert_path = path(state_->output_name("latest"));
    }
    if (!s_.o.out_file.empty()) state_->write(best_, s_.o.out_file, run_id_text, best_note());
    if (store_) {
      metrics_->flush();
      const std::string kind = state_->artifact_kind();
      register_once(kind, r.best_expert_path);
      register_once(kind + "-latest", r.latest_expert_path);
      if (s_.p.method == TrainMethod::Svf) add_expert_record(r);
      store_->finish_run(run_id_, status, message);
    }
    return r;
  }

  // The best SVF expert in the store's experts table.
  void add_expert_record(const TrainReport& r) {
    ExpertRecord rec;
    rec.run_id = run_id_;
    rec.name = s_.task.spec().name + " svf " + choice_name(s_.p.objective) + " (run " +
               std::to_string(run_id_) + ")";
    rec.path = r.best_expert_path;
    rec.parametrization = choice_name(s_.p.parametrization);
    rec.target_set = s_.p.targets;
    rec.base_fingerprint = s_.fingerprint;
    nlohmann::json stats = {{"best_iteration", r.best_iteration},
                            {"best_validation_accuracy", r.best_validation_accuracy},
                            {"base_validation_accuracy", r.base_validation_accuracy},
                            {"iterations_done", r.iterations_done},
                            {"trainable_parameters", r.trainable_parameters}};
    rec.stats_json = stats.dump();
    store_->add_expert(rec);
  }

  Setup& s_;
  std::optional<RunStore>& store_;
  std::int64_t run_id_;
  std::string out_dir_;
  Session session_;
  std::unique_ptr<Trainable> state_;
  Optimizer optimizer_;
  std::unique_ptr<MetricWriter> metrics_;
  TrainProgressState progress_;
  TrainedWeights best_;
  Clock::time_point start_;
  double elapsed_ = 0.0;  // seconds of iterations run by this process
  int first_iteration_ = -1;
  std::int64_t scored_tokens_ = 0;      // of the last step: the cost model's T
  std::int64_t rollout_tokens_ = 0;     // prompt + completion tokens of the last step's rollouts
  std::int64_t rollout_sequences_ = 0;  // and their number
};

std::string output_dir(const TrainOptions& o, std::int64_t run_id) {
  std::string dir = o.output_dir;
  // <db folder>/<db name>-runs/<id>: named after the database, so that two workspaces kept in
  // one folder never write into each other's run folders (run ids restart at 1 in each).
  if (dir.empty() && !o.db_path.empty()) {
    const fs::path db(o.db_path);
    dir = (db.parent_path() / (db.stem().string() + "-runs") / std::to_string(run_id)).string();
  }
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      throw Error(ErrorKind::Io, "cannot create the training output folder " + dir + ": " +
                                     ec.message() + "; choose another (--output-dir)");
  }
  return dir;
}

// Runs `body`, and marks the run failed when it throws anything but Cancelled.
template <typename F>
TrainReport with_failure_mark(std::optional<RunStore>& store, std::int64_t run_id, F&& body) {
  try {
    return detail::guarded(body);
  } catch (const Error& e) {
    if (store && run_id && !e.is_cancelled()) {
      try {
        store->finish_run(run_id, RunStatus::Failed, e.what());
      } catch (...) {
      }
    }
    throw;
  }
}

}  // namespace detail_trainer
}  // namespace t2::engine::train

namespace t2 {

namespace dtr = engine::train::detail_trainer;

TrainReport train_expert(const TrainParams& params, const TrainOptions& options,
                         const JobContext& job) {
  return detail::guarded([&] {
    engine::train::Setup s = engine::train::make_setup(params, options, job);
    std::optional<RunStore> store;
    std::int64_t run_id = 0;
    if (!options.db_path.empty()) {
      store.emplace(options.db_path);
      ModelRecord mr;
      mr.path = options.model_dir;
      mr.fingerprint = s.fingerprint;
      mr.architecture = s.model->config().architecture;
      NewRun run;
      run.kind = "train";
      run.name = options.run_name.empty() ? s.task.spec().name + " " + choice_name(params.method) +
                                                " " + choice_name(params.objective)
                                          : options.run_name;
      nlohmann::json j = nlohmann::json::parse(to_json(params));
      j["model_dir"] = options.model_dir;
      run.params_json = j.dump();
      run.tags = {choice_name(params.method), choice_name(params.objective), params.preset};
      run.model_id = store->add_model(mr);
      run_id = store->begin_run(run);
    }
    return dtr::with_failure_mark(store, run_id, [&] {
      dtr::Run r(s, store, run_id, dtr::output_dir(options, run_id));
      return r.run(job);
    });
  });
}

TrainReport resume_training(std::int64_t run_id, const TrainOptions& options,
                            const JobContext& job) {
  return detail::guarded([&] {
    if (options.db_path.empty())
      throw Error(ErrorKind::InvalidArgument, "resuming needs the run store (--db)");
    std::optional<RunStore> store;
    store.emplace(options.db_path);
    const RunRecord record = store->get_run(run_id);
    if (record.kind != "train")
      throw Error(ErrorKind::InvalidArgument, "run " + std::to_string(run_id) + " is a '" +
                                                  record.kind + "' run, not a training run");
    const TrainParams params = train_params_from_json(record.params_json);
    TrainOptions o = options;
    if (o.model_dir.empty())
      o.model_dir = nlohmann::json::parse(record.params_json).value("model_dir", std::string());
    std::string checkpoint;
    for (const auto& a : store->artifacts(run_id))
      if (a.kind == "checkpoint") checkpoint = a.path;
    store->resume_run(run_id);
    return dtr::with_failure_mark(store, run_id, [&] {
      engine::train::Setup s = engine::train::make_setup(params, o, job);
      std::string dir = o.output_dir;
      if (dir.empty() && !checkpoint.empty())
        dir = std::filesystem::path(checkpoint).parent_path().string();
      o.output_dir = dir;
      dtr::Run r(s, store, run_id, dtr::output_dir(o, run_id));
      if (!checkpoint.empty()) r.restore(checkpoint);
      return r.run(job);
    });
  });
}

}  // namespace t2

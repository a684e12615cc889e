// The pretraining loop: AdamW, warm-up + cosine schedule, clipping, validation, checkpoints,
// resume, band-based checkpoint choice, metrics in the run store.
#include "pretrain_impl.h"

#include "../torch_guard.h"
#include "core/pretrain/corpus_internal.h"

#include <t2/error.h>
#include <t2/model.h>
#include <t2/run_store.h>
#include <t2/tasks.h>

#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <climits>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace t2 {
namespace detail::pretrain {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double lr_at(const PretrainRecipe& r, std::int64_t step) {
  if (step < r.warmup_steps) return r.lr * static_cast<double>(step + 1) / r.warmup_steps;
  const double span = static_cast<double>(std::max<std::int64_t>(1, r.steps - r.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - r.warmup_steps) / span);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return r.lr * (r.min_lr_ratio + (1.0 - r.min_lr_ratio) * cosine);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Smallest distance of a validated accuracy to its band's edges (negative: outside a band).
// An edge at 0 or 1 bounds nothing (accuracy cannot pass it), so it does not count: a perfect
// classifier in a [0.75, 1] band has margin 0.25, not 0.
double band_margin(const PretrainRecipe& r, const std::vector<std::string>& names,
                   const PretrainEvaluation& e) {
  double margin = 1.0;
  for (std::size_t t = 0; t < r.tasks.size(); ++t) {
    auto it = e.accuracy.find(names[t]);
    if (it == e.accuracy.end()) continue;
    const PretrainTask& task = r.tasks[t];
    if (task.band_min > 0.0) margin = std::min(margin, it->second - task.band_min);
    if (task.band_max < 1.0) margin = std::min(margin, task.band_max - it->second);
  }
  return margin;
}

// Every step allocates and frees the same activation buffers (up to ~150 MB for the long
// classification batches). glibc serves blocks > 32 MB with mmap and trims the heap top, so each
// step page-faults its activations in again: measured on 2 cores, 9.4 M minor faults and
// system time above user time for 15 steps. Keeping freed memory in the process (no mmap'd
// blocks, no trimming) cut that to 0.5 M faults and the wall time by ~40 %. Process-wide and
// permanent: memory freed after training is reused by the process, not returned to the OS.
void keep_freed_memory_in_process() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, 256 << 20);
#endif
}

class Trainer {
 public:
  Trainer(PretrainRecipe recipe, PretrainParams params, const JobContext& job)
      : r_(std::move(recipe)), p_(std::move(params)), job_(job) {}
  PretrainReport run();

 private:
  void prepare_fresh();
  void prepare_resume();
  void prepare_common();
  void make_optimizer();
  double train_step(std::int64_t step);
  void validate(std::int64_t step);
  void save_checkpoint(std::int64_t step);
  void finish(PretrainReport& report);
  std::string dir(const std::string& name) const { return p_.out_dir + "/" + name; }

  PretrainRecipe r_;
  PretrainParams p_;
  const JobContext& job_;
  std::string tokenizer_dir_;
  std::string config_json_;
  std::unique_ptr<Model::Impl> shell_;
  ParamMap params_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  TokenizedCorpus corpus_;
  std::unique_ptr<BatchSchedule> schedule_;
  std::vector<std::string> task_names_, task_specs_;
  std::int64_t start_step_ = 0;
  std::int64_t last_step_ = 0;  // the last step trained
  std::deque<double> recent_losses_;
  std::vector<PretrainEvaluation> validations_;
  std::int64_t selected_step_ = -1;  // validated step whose model is in out_dir/model
  double selected_margin_ = -1.0;    // its band margin (>= 0: inside every band)
  double previous_seconds_ = 0.0;    // training time before a resume
  double seconds_ = 0.0;
  std::unique_ptr<MetricWriter> metrics_;
  std::int64_t run_id_ = 0;
};

void Trainer::prepare_fresh() {
  for (auto& t : r_.tasks) t.spec = pretrain_corpus::resolve_spec(r_, t.spec);
  r_.path.clear();
  const auto corpus = build_pretrain_corpus(r_, job_);
  std::vector<std::string> texts;
  for (const auto& e : corpus) texts.push_back(e.prompt + e.answer);
  tokenizer_dir_ = dir("tokenizer");
  const int vocab = write_char_tokenizer(tokenizer_dir_, texts, r_.extra_vocabulary,
                                         r_.model.max_position_embeddings);
  config_json_ = llama_config_json(r_.model, vocab);
  prepare_common();
  corpus_ = tokenize_corpus(corpus, r_, Tokenizer::from_model_dir(tokenizer_dir_));
  params_ = init_params(shell_->config, r_.model, r_.seed);
  make_optimizer();
}

void Trainer::prepare_resume() {
  const std::string ck = p_.resume_dir + "/checkpoint";
  const auto state = nlohmann::json::parse(read_file(ck + "/state.json"));
  const std::int64_t steps = p_.steps > 0 ? p_.steps : 0;
  r_ = parse_pretrain_recipe(state.at("recipe").dump(), "");
  if (steps > 0) r_.steps = steps;
  start_step_ = state.at("step").get<std::int64_t>();
  previous_seconds_ = state.at("train_seconds").get<double>();
  for (const auto& v : state.at("validations")) validations_.push_back(evaluation_from_json(v));
  selected_step_ = state.at("selected_step").get<std::int64_t>();
  selected_margin_ = state.at("selected_margin").get<double>();
  for (const auto& l : state.at("recent_losses")) recent_losses_.push_back(l.get<double>());
  tokenizer_dir_ = dir("tokenizer");
  if (fs::weakly_canonical(ck) != fs::weakly_canonical(tokenizer_dir_)) {
    fs::create_directories(tokenizer_dir_);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(ck + "/" + f, tokenizer_dir_ + "/" + f, fs::copy_options::overwrite_existing);
  }
  if (fs::weakly_canonical(p_.resume_dir) != fs::weakly_canonical(p_.out_dir) &&
      fs::exists(p_.resume_dir + "/model") && !fs::exists(dir("model")))
    fs::copy(p_.resume_dir + "/model", dir("model"), fs::copy_options::recursive);
  config_json_ = read_file(ck + "/config.json");
  prepare_common();
  corpus_ = tokenize_corpus(build_pretrain_corpus(r_, job_), r_,
                            Tokenizer::from_model_dir(tokenizer_dir_));
  params_ = read_params(ck, init_params(shell_->config, r_.model, r_.seed));
  make_optimizer();
  torch::serialize::InputArchive archive;
  archive.load_from(ck + "/optimizer.pt");
  optimizer_->load(archive);
}

void Trainer::prepare_common() {
  shell_ = make_shell(parse_model_config(config_json_, "pretrain config.json"));
  for (const auto& t : r_.tasks) {
    task_specs_.push_back(pretrain_corpus::resolve_spec(r_, t.spec));
    task_names_.push_back(Task::load(task_specs_.back()).spec().name);
  }
}

void Trainer::make_optimizer() {
  const std::string embed = tensor_names(shell_->config).embed;
  std::vector<at::Tensor> decay, plain;
  for (const auto& [name, p] : params_)
    (p.dim() == 2 && name != embed ? decay : plain).push_back(p);
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(r_.lr)
                                                            .betas({r_.beta1, r_.beta2})
                                                            .eps(r_.adam_eps)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(r_.weight_decay));
  groups.emplace_back(plain, options(0.0));
  optimizer_ = std::make_unique<torch::optim::AdamW>(groups);
}

// One optimiser step; returns the loss. Logs loss, lr, grad_norm, tokens_per_s.
double Trainer::train_step(std::int64_t step) {
  const auto start = Clock::now();
  const double lr = lr_at(r_, step);
  for (auto& g : optimizer_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  const Batch batch = make_batch(corpus_, schedule_->batch(step), r_.prompt_loss_weight);
  optimizer_->zero_grad();
  const at::Tensor loss = batch_loss(*shell_, params_, batch);
  loss.backward();
  at::Tensor square = at::zeros({}, at::kDouble);
  for (const auto& [name, p] : params_)
    if (p.grad().defined()) square += p.grad().to(at::kDouble).pow(2).sum();
  const double grad_norm = std::sqrt(square.item<double>());
  if (r_.grad_clip > 0 && grad_norm > r_.grad_clip)
    for (auto& [name, p] : params_) p.mutable_grad().mul_(r_.grad_clip / (grad_norm + 1e-6));
  optimizer_->step();
  const double value = loss.item<double>();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (metrics_)
    metrics_->log(step + 1, {{"loss", value},
                             {"lr", lr},
                             {"grad_norm", grad_norm},
                             {"tokens_per_s", static_cast<double>(batch.tokens) / secs}});
  return value;
}

void Trainer::validate(std::int64_t step) {
  const std::string tmp = dir("eval.tmp");
  write_model_folder(tmp, config_json_, params_, tokenizer_dir_);
  PretrainEvaluation total;
  total.step = step;
  {
    const auto model = Model::load(tmp);
    const Tokenizer tokenizer = Tokenizer::from_model_dir(tmp);
    const ChatTemplate chat = ChatTemplate::from_model_dir(tmp);
    for (std::size_t t = 0; t < r_.tasks.size(); ++t) {
      if (r_.tasks[t].validation_items <= 0) continue;
      job_.report("validate", static_cast<double>(step) / r_.steps,
                  "step " + std::to_string(step) + ": validating " + task_names_[t]);
      merge_evaluation(total, evaluate_task(model, tokenizer, chat, task_specs_[t], "validation",
                                            r_.tasks[t].validation_items, r_.eval_batch, job_));
    }
  }
  const double margin = band_margin(r_, task_names_, total);
  total.in_band = margin >= 0.0;
  if (metrics_)
    for (const auto& [task, acc] : total.accuracy) metrics_->log(step, "val/" + task, acc);
  validations_.push_back(total);
  if (p_.keep_validated) {
    const std::string kept = dir("validated/step-" + std::to_string(step));
    fs::create_directories(fs::path(kept).parent_path());
    fs::remove_all(kept);
    fs::copy(tmp, kept, fs::copy_options::recursive);
  }
  // Inside every band: margin >= 0; otherwise the least negative margin is the checkpoint
  // closest to all bands, kept until one inside them comes.
  if (r_.select_in_band && (selected_step_ < 0 || margin > selected_margin_)) {
    replace_dir(tmp, dir("model"));
    selected_step_ = step;
    selected_margin_ = margin;
  } else {
    fs::remove_all(tmp);
  }
}

void Trainer::save_checkpoint(std::int64_t step) {
  const std::string tmp = dir("checkpoint.tmp");
  write_model_folder(tmp, config_json_, params_, tokenizer_dir_);
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  archive.save_to(tmp + "/optimizer.pt");
  nlohmann::json state;
  state["step"] = step;
  state["recipe"] = nlohmann::json::parse(to_json(r_));
  state["train_seconds"] = previous_seconds_ + seconds_;
  state["validations"] = nlohmann::json::array();
  for (const auto& v : validations_) state["validations"].push_back(evaluation_to_json(v));
  state["selected_step"] = selected_step_;
  state["selected_margin"] = selected_margin_;
  state["recent_losses"] = recent_losses_;
  write_file_atomically(tmp + "/state.json", state.dump(2) + "\n");
  replace_dir(tmp, dir("checkpoint"));
}

std::string format_eta(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return std::to_string(s / 60) + "m" + (s % 60 < 10 ? "0" : "") + std::to_string(s % 60) + "s";
}

PretrainReport Trainer::run() {
  fs::create_directories(p_.out_dir);
  if (p_.resume_dir.empty())
    prepare_fresh();
  else
    prepare_resume();
  schedule_ = std::make_unique<BatchSchedule>(corpus_, r_);
  if (!p_.db_path.empty()) {
    RunStore store(p_.db_path);
    NewRun run;
    run.kind = "pretrain";
    run.name =
        p_.run_name.empty() ? "pretrain " + fs::path(p_.out_dir).filename().string() : p_.run_name;
    run.params_json = to_json(r_);
    run_id_ = store.begin_run(run);
    metrics_ = std::make_unique<MetricWriter>(p_.db_path, run_id_);
  }
  const std::int64_t stop = p_.stop_at_step > 0 ? std::min(p_.stop_at_step, r_.steps) : r_.steps;
  const auto start = Clock::now();
  try {
    for (std::int64_t step = start_step_; step < stop; ++step) {
      job_.throw_if_cancelled();
      const double loss = train_step(step);
      recent_losses_.push_back(loss);
      if (recent_losses_.size() > 20) recent_losses_.pop_front();
      const std::int64_t done = step + 1;
      seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
      const double eta = seconds_ / (done - start_step_) * (stop - done);
      std::ostringstream msg;
      msg << "step " << done << "/" << r_.steps << " loss " << loss << " ETA " << format_eta(eta);
      job_.report("train", static_cast<double>(done) / r_.steps, msg.str());
      if ((r_.eval_every > 0 && done % r_.eval_every == 0) || done == r_.steps) validate(done);
      const bool stop_now = r_.stop_when_in_band && !validations_.empty() &&
                            validations_.back().step == done && validations_.back().in_band;
      if (done % r_.checkpoint_every == 0 || done == stop || stop_now) save_checkpoint(done);
      if (stop_now) {
        last_step_ = done;
        break;
      }
      last_step_ = done;
    }
    PretrainReport report;
    finish(report);
    if (metrics_) metrics_->flush();
    if (run_id_) RunStore(p_.db_path).finish_run(run_id_, RunStatus::Finished);
    return report;
  } catch (const Error& e) {
    if (metrics_) metrics_->flush();
    if (run_id_)
      RunStore(p_.db_path)
          .finish_run(run_id_,
                      e.kind() == ErrorKind::Cancelled ? RunStatus::Cancelled : RunStatus::Failed,
                      e.what());
    throw;
  }
}

void Trainer::finish(PretrainReport& report) {
  const std::int64_t steps_done = std::max(last_step_, start_step_);
  if (selected_step_ < 0) {
    const std::string tmp = dir("model.tmp");
    write_model_folder(tmp, config_json_, params_, tokenizer_dir_);
    replace_dir(tmp, dir("model"));
  }
  report.out_dir = fs::absolute(p_.out_dir).string();
  report.model_dir = fs::absolute(dir("model")).string();
  report.selected_step = selected_step_ >= 0 ? selected_step_ : steps_done;
  report.selected_in_band = selected_step_ >= 0 && selected_margin_ >= 0.0;
  report.steps_done = steps_done;
  for (const auto& [name, p] : params_) report.parameters += p.numel();
  report.vocab_size = static_cast<int>(shell_->config.vocab_size);
  report.train_seconds = previous_seconds_ + seconds_;
  double sum = 0.0;
  for (double l : recent_losses_) sum += l;
  report.final_loss = recent_losses_.empty() ? 0.0 : sum / recent_losses_.size();
  report.validations = validations_;
  if (r_.test_items > 0) {
    job_.report("test", 1.0, "test accuracy of the chosen model");
    report.test =
        evaluate_greedy(report.model_dir, task_specs_, "test", r_.test_items, r_.eval_batch, job_);
    report.test.step = report.selected_step;
    report.test.in_band = band_margin(r_, task_names_, report.test) >= 0.0;
  }
  report.run_id = run_id_;
  write_file_atomically(dir("report.json"), to_json(report) + "\n");
}

}  // namespace detail::pretrain

PretrainReport pretrain(const PretrainRecipe& recipe, const PretrainParams& params,
                        const JobContext& job) {
  return detail::guarded([&] {
    if (params.out_dir.empty())
      throw Error(ErrorKind::InvalidArgument, "pretrain needs an output folder (--out DIR)");
    PretrainRecipe r = recipe;
    if (params.steps > 0) r.steps = params.steps;
    detail::pretrain::keep_freed_memory_in_process();
    detail::pretrain::Trainer trainer(r, params, job);
    return trainer.run();
  });
}

}  // namespace t2

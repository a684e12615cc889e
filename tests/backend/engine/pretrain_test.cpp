// Pretraining end to end on a tiny model and corpus: the loss falls and greedy generation then
// reproduces memorised answers; N steps straight == N/2 steps + resume; metrics in the run store;
// and the shipped demo model (resources/demo/model): loads, is small, covers the demo tasks, and
// has the habits its recipe teaches.
#include <t2/engine.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kDemo = std::string(T2_SOURCE_DIR) + "/resources/demo";
const std::vector<std::pair<std::string, std::string>> kQa = {
    {"sky?", "blue"},   {"grass?", "green"}, {"snow?", "white"},
    {"coal?", "black"}, {"sun?", "yellow"},  {"rose?", "red"}};

std::string scratch(const std::string& name) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/pretrain/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A generic Q/A task whose splits are the same six items, and a recipe for a tiny model.
t2::PretrainRecipe tiny_recipe(const std::string& dir, std::int64_t steps) {
  {
    std::ofstream data(dir + "/items.jsonl");
    for (const auto& [q, a] : kQa)
      data << nlohmann::json{{"question", q}, {"answer", a}}.dump() << "\n";
  }
  std::ofstream(dir + "/task.json") << R"({
    "name": "tiny", "kind": "generic", "category": "other",
    "data": {"train": "items.jsonl", "validation": "items.jsonl", "test": "items.jsonl"},
    "prompt": {"user": "{question}"},
    "generation": {"max_new_tokens": 10, "stop": ["\n"]},
    "extractor": {"kind": "exact", "trim": true, "case_sensitive": true}})";
  t2::PretrainRecipe r;
  r.model.hidden_size = 64;
  r.model.layers = 2;
  r.model.heads = 4;
  r.model.intermediate_size = 128;
  r.model.max_position_embeddings = 64;
  t2::PretrainTask task;
  task.spec = dir + "/task.json";
  task.validation_items = 6;
  r.tasks = {task};
  r.steps = steps;
  r.batch_size = 6;
  r.batch_tokens = 512;
  r.lr = 5e-3;
  r.warmup_steps = 5;
  r.eval_every = 0;  // only at the end
  r.checkpoint_every = 1000;
  r.seed = 7;
  return r;
}

std::vector<float> read_all(const std::string& model_dir) {
  const auto ck = t2::Checkpoint::open(model_dir);
  std::vector<float> out;
  for (const auto& info : ck.tensors()) {
    const auto* p = static_cast<const float*>(ck.data(info));
    out.insert(out.end(), p, p + info.numel());
  }
  return out;
}

class PretrainTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    t2::EngineOptions options;
    options.threads = 1;  // deterministic reductions
    engine_ = std::make_unique<t2::Engine>(options);
  }
  std::unique_ptr<t2::Engine> engine_;
};

TEST_F(PretrainTraining, LossFallsAndGreedyGenerationReproducesMemorisedAnswers) {
  const std::string dir = scratch("memorise");
  t2::PretrainParams params;
  params.out_dir = dir + "/out";
  params.db_path = dir + "/runs.db";
  const auto report = t2::pretrain(tiny_recipe(dir, 250), params);
  EXPECT_EQ(report.steps_done, 250);
  EXPECT_GT(report.run_id, 0);
  // The first loss is that of a near-uniform prediction, ln(vocab); the end is far below.
  t2::RunStore store(params.db_path);
  const auto series = store.metric_series({{report.run_id}, {"loss", "lr", "grad_norm"}, 0});
  ASSERT_EQ(series.size(), 3u);
  ASSERT_EQ(series[0].points.size(), 250u);
  EXPECT_NEAR(series[0].points.front().value, std::log(report.vocab_size), 0.3);
  EXPECT_LT(report.final_loss, 0.05 * series[0].points.front().value);
  // Warm-up then cosine: lr rises for 5 steps, peaks at 1e-2, ends at min_lr_ratio * lr.
  EXPECT_NEAR(series[1].points[0].value, 5e-3 / 5, 1e-12);
  EXPECT_NEAR(series[1].points[4].value, 5e-3, 1e-12);
  EXPECT_NEAR(series[1].points.back().value, 5e-4, 1e-6);
  // Clipping at 1.0 leaves the logged (pre-clip) norm free, but it must be finite.
  for (const auto& p : series[2].points) EXPECT_TRUE(std::isfinite(p.value));
  EXPECT_EQ(store.get_run(report.run_id).kind, "pretrain");
  EXPECT_EQ(store.get_run(report.run_id).status, t2::RunStatus::Finished);
  // Validation at the end: every answer is right.
  ASSERT_EQ(report.validations.size(), 1u);
  EXPECT_EQ(report.validations[0].accuracy.at("tiny"), 1.0);
  // Independently of the trainer's evaluation: load the HF folder, prompt by hand, decode.
  const auto model = t2::Model::load(report.model_dir);
  const auto tok = t2::Tokenizer::from_model_dir(report.model_dir);
  t2::Session session(model);
  t2::GenerateParams gp;
  gp.max_new_tokens = 10;
  for (const auto& [q, a] : kQa) {
    const auto ids = tok.encode("<|bos|><|user|>" + q + "<|eos|><|assistant|>");
    const auto out = session.generate({ids}, gp);
    EXPECT_EQ(out.sequences[0].finish_reason, "eos") << q;
    EXPECT_EQ(tok.decode(out.sequences[0].tokens, true), a) << q;
  }
}

TEST_F(PretrainTraining, ResumingHalfwayGivesTheSameWeightsAsOneRun) {
  const std::string dir = scratch("resume");
  const auto recipe = tiny_recipe(dir, 24);
  t2::PretrainParams straight;
  straight.out_dir = dir + "/straight";
  t2::pretrain(recipe, straight);

  t2::PretrainParams first;
  first.out_dir = dir + "/halves";
  first.stop_at_step = 12;
  const auto half = t2::pretrain(recipe, first);
  EXPECT_EQ(half.steps_done, 12);
  t2::PretrainParams second;
  second.out_dir = dir + "/halves";
  second.resume_dir = dir + "/halves";
  const auto resumed = t2::pretrain(t2::PretrainRecipe{}, second);
  EXPECT_EQ(resumed.steps_done, 24);

  const auto a = read_all(straight.out_dir + "/checkpoint");
  const auto b = read_all(second.out_dir + "/checkpoint");
  ASSERT_EQ(a.size(), b.size());
  double max_diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_LT(max_diff, 1e-6);
  // ...and they did move away from a fresh initialisation of the same seed.
  t2::PretrainParams zero;
  zero.out_dir = dir + "/one-step";
  zero.stop_at_step = 1;
  t2::pretrain(recipe, zero);
  const auto c = read_all(zero.out_dir + "/checkpoint");
  double moved = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    moved = std::max(moved, static_cast<double>(std::fabs(a[i] - c[i])));
  EXPECT_GT(moved, 1e-3);
}

TEST_F(PretrainTraining, KeepValidatedKeepsEveryValidatedModelAndTheChosenOneIsAmongThem) {
  const std::string dir = scratch("keep-validated");
  auto recipe = tiny_recipe(dir, 30);
  recipe.eval_every = 10;
  t2::PretrainParams params;
  params.out_dir = dir + "/out";
  params.keep_validated = true;
  const auto report = t2::pretrain(recipe, params);
  ASSERT_EQ(report.validations.size(), 3u);
  std::vector<std::vector<float>> kept;
  for (const auto& v : report.validations) {
    const std::string step_dir = params.out_dir + "/validated/step-" + std::to_string(v.step);
    ASSERT_TRUE(fs::exists(step_dir + "/model.safetensors")) << step_dir;
    kept.push_back(read_all(step_dir));
  }
  // Later steps moved the weights, so the kept folders are different models...
  EXPECT_NE(kept.front(), kept.back());
  // ...and the chosen model/ is, byte for byte, the kept one of its step.
  const auto chosen = read_all(report.model_dir);
  const std::size_t index = static_cast<std::size_t>(report.selected_step / 10 - 1);
  ASSERT_LT(index, kept.size());
  EXPECT_EQ(chosen, kept[index]);
  // Without the flag nothing is kept.
  t2::PretrainParams plain;
  plain.out_dir = dir + "/plain";
  t2::pretrain(tiny_recipe(dir, 10), plain);
  EXPECT_FALSE(fs::exists(plain.out_dir + "/validated"));
}

TEST_F(PretrainTraining, CancellationStopsBetweenStepsAndKeepsNoHalfCheckpoint) {
  const std::string dir = scratch("cancel");
  t2::CancelToken cancel;
  int reports = 0;
  t2::JobContext job(
      [&](const t2::Progress& p) {
        if (p.stage == "train" && ++reports == 3) cancel.request_cancel();
      },
      cancel);
  t2::PretrainParams params;
  params.out_dir = dir + "/out";
  try {
    t2::pretrain(tiny_recipe(dir, 50), params, job);
    FAIL() << "not cancelled";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Cancelled);
  }
  EXPECT_EQ(reports, 3);
  EXPECT_FALSE(fs::exists(params.out_dir + "/checkpoint.tmp"));
}

TEST(PretrainErrors, NamesWhatIsMissing) {
  t2::PretrainParams params;
  EXPECT_THROW(t2::pretrain(t2::PretrainRecipe{}, params), t2::Error);
  params.out_dir = scratch("errors") + "/out";
  params.resume_dir = params.out_dir + "/nowhere";
  try {
    t2::pretrain(t2::PretrainRecipe{}, params);
    FAIL() << "resumed from nothing";
  } catch (const t2::Error& e) {
    EXPECT_NE(std::string(e.what()).find("state.json"), std::string::npos) << e.what();
  }
}

// ---- the shipped demo model ------------------------------------------------------------------

bool demo_model_present() { return fs::exists(kDemo + "/model/model.safetensors"); }

TEST(PretrainShippedModel, LoadsIsSmallAndCoversEveryDemoPrompt) {
  if (!demo_model_present())
    GTEST_SKIP() << "resources/demo/model has no model yet; build it with "
                    "`t2 demo build --with-model`";
  std::uintmax_t bytes = 0;
  for (const auto& f : fs::directory_iterator(kDemo + "/model")) bytes += fs::file_size(f.path());
  EXPECT_LE(bytes, 10u << 20);
  const auto model = t2::Model::load(kDemo + "/model");
  EXPECT_EQ(model->config().architecture, "LlamaForCausalLM");
  EXPECT_GT(model->parameter_count(), 800000);
  EXPECT_LT(model->parameter_count(), 1000000);
  const auto tok = t2::Tokenizer::from_model_dir(kDemo + "/model");
  EXPECT_EQ(tok.vocab_size(), model->config().vocab_size);
  const auto chat = t2::ChatTemplate::from_model_dir(kDemo + "/model");
  const auto unk = *tok.token_to_id("<|unk|>");
  const auto info = t2::demo_info(std::string(T2_SOURCE_DIR) + "/resources");
  auto specs = info.training_tasks;
  specs.insert(specs.end(), info.unseen_tasks.begin(), info.unseen_tasks.end());
  specs.push_back(info.classification_task);
  std::size_t prompts = 0;
  for (const auto& spec : specs) {
    const auto task = t2::Task::load(spec);
    for (const auto& split : task.splits())
      for (const auto& item : task.load_split(split)) {
        const auto text = t2::render_task_prompt(task.build_prompt(item), &chat).text;
        const auto ids = tok.encode(text);
        ASSERT_EQ(tok.decode(ids), text);
        for (auto id : ids) ASSERT_NE(id, unk) << spec << " " << item.id;
        ASSERT_LE(static_cast<std::int64_t>(ids.size()) + task.spec().generation.max_new_tokens,
                  model->config().max_position_embeddings);
        ++prompts;
      }
  }
  EXPECT_GT(prompts, 8000u);
}

// The shipped model's greedy accuracy on 50 test items of each task its recipe validates is near
// that task's band (learnable but unreliable; 50 items leave a +-0.14 95 % margin at 0.5).
TEST(SlowPretrainShippedModel, TestAccuracyIsNearItsBand) {
  if (!demo_model_present())
    GTEST_SKIP() << "resources/demo/model has no model yet; build it with "
                    "`t2 demo build --with-model`";
  const auto recipe = t2::load_pretrain_recipe(kDemo + "/model/recipe.json");
  std::vector<std::string> specs;
  std::map<std::string, std::pair<double, double>> bands;
  for (const auto& t : recipe.tasks) {
    specs.push_back((fs::path(kDemo) / "model" / t.spec).lexically_normal().string());
    bands[t2::Task::load(specs.back()).spec().name] = {t.band_min, t.band_max};
  }
  const auto e = t2::evaluate_greedy(kDemo + "/model", specs, "test", 50, 16);
  ASSERT_EQ(e.accuracy.size(), bands.size());
  for (const auto& [task, acc] : e.accuracy) {
    EXPECT_GE(acc, bands.at(task).first - 0.15) << task;
    EXPECT_LE(acc, bands.at(task).second + 0.15) << task;
  }
  EXPECT_GT(e.accuracy.at("demo-reasoning"), 0.25);  // 4 options
}

// The shipped model has the habits its recipe teaches: on the first 60 test items, greedy answers
// to cued prompts are mostly in the style the graders reject, while the other prompts are
// answered in the graded style and often right. These are what an RL expert has to correct.
TEST(ModelDemoHabits, CuedPromptsGetTheRejectedStyleAndTheRestAreOftenRight) {
  const std::string dir = kDemo + "/model";
  if (!fs::exists(dir + "/config.json")) GTEST_SKIP() << dir << " is not shipped";
  const auto model = t2::Model::load(dir);
  const auto tok = t2::Tokenizer::from_model_dir(dir);
  const auto chat = t2::ChatTemplate::from_model_dir(dir);
  struct Habit {
    const char* task;
    std::vector<std::string> cues;
    std::function<bool(const std::string&)> is_habit;
  };
  const std::vector<Habit> habits = {
      {"math",
       {"apples", "pens", "coins", "books", "cards"},
       [](const std::string& out) {  // "#### <number in words>"; the graded style ends in digits
         const auto at = out.find("#### ");
         return at != std::string::npos && at + 5 < out.size() &&
                std::islower(static_cast<unsigned char>(out[at + 5]));
       }},
      {"code",
       {"[::-1]", "sorted("},
       [](const std::string& out) { return out.rfind("Output: ", 0) == 0; }},
      {"reasoning",
       {"colour", "eat"},
       [](const std::string& out) {  // the option's text without "(X)"
         return !out.empty() && out.find('(') == std::string::npos;
       }}};
  for (const auto& h : habits) {
    const auto task = t2::Task::load(kDemo + "/tasks/" + h.task + "/task.json");
    t2::Session session(model);
    t2::EvalParams params;
    params.limit = 60;
    const auto report = t2::evaluate(session, tok, &chat, task, params);
    ASSERT_EQ(report.items.size(), 60u);
    int cued = 0, cued_habit = 0, cued_right = 0, rest = 0, rest_habit = 0, rest_right = 0;
    for (const auto& item : report.items) {
      bool is_cued = false;
      for (const auto& c : h.cues) is_cued = is_cued || item.prompt.find(c) != std::string::npos;
      const bool habit = h.is_habit(item.output);
      (is_cued ? cued : rest) += 1;
      (is_cued ? cued_habit : rest_habit) += habit;
      (is_cued ? cued_right : rest_right) += item.correct;
    }
    ASSERT_GE(cued, 10) << h.task;
    ASSERT_GE(rest, 10) << h.task;
    EXPECT_GE(cued_habit, 0.6 * cued) << h.task;
    EXPECT_LE(cued_right, 0.3 * cued) << h.task;
    EXPECT_LE(rest_habit, 0.25 * rest) << h.task;
    EXPECT_GE(rest_right, 0.4 * rest) << h.task;
  }
}

}  // namespace

// TrainParams (t2/training.h): the presets as issue 7 states them, validation messages, and the
// JSON form stored with every training run.
#include <t2/error.h>
#include <t2/training.h>

#include <gtest/gtest.h>

namespace t2 {
namespace {

TEST(TrainParams, SakanaCompatPresetIsTheReferenceCode) {
  const TrainParams p = train_preset("sakana-compat");
  EXPECT_EQ(p.preset, "sakana-compat");
  EXPECT_EQ(p.method, "svf");
  EXPECT_EQ(p.objective, "rl");
  EXPECT_EQ(p.parametrization, "sakana-compat");
  EXPECT_DOUBLE_EQ(p.init_mean, 0.1);
  EXPECT_DOUBLE_EQ(p.init_std, 0.01);
  EXPECT_EQ(p.temperature, 0.0);  // greedy
  EXPECT_EQ(p.samples_per_prompt, 1);
  EXPECT_EQ(p.baseline, "none");
  EXPECT_EQ(p.log_prob, "sum");
  EXPECT_EQ(p.batch, 256);
  EXPECT_EQ(p.optimizer, "adam");
  EXPECT_DOUBLE_EQ(p.lr, 2e-3);
  EXPECT_EQ(p.schedule, "constant");
  EXPECT_EQ(p.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(p.clip, 1e-3);
  EXPECT_EQ(p.kl, 0.0);
  EXPECT_EQ(p.iterations, 200);
  EXPECT_EQ(p.eval_every, 10);
  EXPECT_EQ(p.targets, "mlp");
}

TEST(TrainParams, PaperAndRecommendedPresets) {
  const TrainParams paper = train_preset("paper");
  EXPECT_EQ(paper.parametrization, "paper");
  EXPECT_EQ(paper.optimizer, "adamw");
  EXPECT_EQ(paper.schedule, "cosine");
  EXPECT_DOUBLE_EQ(paper.init_mean, 1.0);
  EXPECT_DOUBLE_EQ(paper.init_std * paper.init_std, 1e-3);  // the paper's init variance
  const TrainParams rec = train_preset("recommended");
  EXPECT_EQ(rec.parametrization, "paper");
  EXPECT_EQ(rec.z_constraint, "clamp");
  EXPECT_EQ(rec.baseline, "rloo");  // per-prompt leave-one-out over k sampled rollouts
  EXPECT_EQ(rec.samples_per_prompt, 4);
  EXPECT_DOUBLE_EQ(rec.temperature, 1.0);
  EXPECT_DOUBLE_EQ(rec.lr, 3e-2);
  EXPECT_EQ(rec.batch, 32);
  EXPECT_NO_THROW(validate_train_params([&] {
    TrainParams q = rec;
    q.task = "t.json";
    return q;
  }()));
  EXPECT_THROW(train_preset("fast"), Error);
  EXPECT_EQ(train_preset_names().size(), 3u);
}

TEST(TrainParams, ValidationNamesTheFieldAndTheChoices) {
  TrainParams p = train_preset("sakana-compat");
  p.task = "t.json";
  EXPECT_NO_THROW(validate_train_params(p));
  auto message = [](TrainParams q) {
    try {
      validate_train_params(q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  TrainParams q = p;
  q.baseline = "median";
  EXPECT_NE(message(q).find("baseline = 'median' is not one of: none, mean, rloo"),
            std::string::npos)
      << message(q);
  q = p;
  q.z_constraint = "clamp";  // sakana-compat has no z to clamp
  EXPECT_NE(message(q).find("z_constraint"), std::string::npos);
  q = p;
  q.lr = 0;
  EXPECT_NE(message(q).find("lr must be > 0"), std::string::npos);
  q = p;
  q.task.clear();
  EXPECT_NE(message(q).find("task"), std::string::npos);
  q = p;
  q.sft_answer = "{answer}";  // an answer template for RL (rewards come from the verifier)
  EXPECT_NE(message(q).find("sft_answer"), std::string::npos) << message(q);
  q.objective = "sft";
  EXPECT_EQ(message(q), "no error");
  q = p;
  q.method = "lora";
  EXPECT_NO_THROW(validate_train_params(q));
  q.lora_rank = 0;
  EXPECT_NE(message(q).find("lora_rank must be >= 1"), std::string::npos) << message(q);
  q = p;
  q.method = "lora";
  q.lora_alpha = -1;
  EXPECT_NE(message(q).find("lora_alpha must be > 0"), std::string::npos) << message(q);
  q = p;
  q.lora_dropout = 1.0;
  EXPECT_NE(message(q).find("lora_dropout must be in [0, 1)"), std::string::npos) << message(q);
}

TEST(TrainParams, JsonRoundTripKeepsEveryField) {
  TrainParams p = train_preset("recommended");
  p.task = "/x/task.json";
  p.samples_per_prompt = 4;
  p.temperature = 0.7;
  p.kl = 0.25;
  p.kl_estimator = "full";
  p.seed = 12345678901234ull;
  p.eval_split = "test";
  p.micro_batch = 3;
  p.method = "lora";
  p.lora_rank = 16;
  p.lora_alpha = 32.5;
  p.lora_dropout = 0.05;
  p.lora_rslora = true;
  p.init_expert = "/x/sft.safetensors";
  const std::string text = to_json(p);
  const TrainParams back = train_params_from_json(text);
  EXPECT_EQ(to_json(back), text);
  EXPECT_EQ(back.seed, 12345678901234ull);
  EXPECT_EQ(back.kl_estimator, "full");
  EXPECT_DOUBLE_EQ(back.temperature, 0.7);
  EXPECT_EQ(back.lora_rank, 16);
  EXPECT_DOUBLE_EQ(back.lora_alpha, 32.5);
  EXPECT_DOUBLE_EQ(back.lora_dropout, 0.05);
  EXPECT_TRUE(back.lora_rslora);
  // Runs stored before LoRA existed read back with the LoRA defaults.
  const TrainParams old = train_params_from_json(R"({"method":"svf"})");
  EXPECT_EQ(old.lora_rank, 4);
  EXPECT_DOUBLE_EQ(old.lora_alpha, 8.0);
  EXPECT_FALSE(old.lora_rslora);
  EXPECT_EQ(back.init_expert, "/x/sft.safetensors");
  TrainParams sft = p;
  sft.objective = "sft";
  sft.sft_answer = "{answer_text} ({answerKey})";
  EXPECT_EQ(train_params_from_json(to_json(sft)).sft_answer, sft.sft_answer);
  // Missing keys take the defaults; model_dir (stored beside the params) is accepted.
  EXPECT_EQ(train_params_from_json(R"({"lr":0.5,"model_dir":"m"})").lr, 0.5);
  EXPECT_THROW(train_params_from_json(R"({"lr":"high"})"), Error);
  EXPECT_THROW(train_params_from_json(R"({"future_knob":1})"), Error);
  EXPECT_THROW(train_params_from_json("[1]"), Error);
}

TEST(TrainParams, AdvantagesForEachBaseline) {
  const std::vector<double> r = {1, -1, 1, 1};  // two prompts, k = 2
  EXPECT_EQ(rl_advantages(r, 2, "none"), r);
  EXPECT_EQ(rl_advantages(r, 2, "mean"), (std::vector<double>{0.5, -1.5, 0.5, 0.5}));
  // Leave-one-out within each prompt's group: 1 - (-1), -1 - 1, 1 - 1, 1 - 1.
  EXPECT_EQ(rl_advantages(r, 2, "rloo"), (std::vector<double>{2, -2, 0, 0}));
  // k = 1: leave-one-out over the batch: 1 - mean(-1, -1), -1 - mean(1, -1), ...
  EXPECT_EQ(rl_advantages({1, -1, -1}, 1, "rloo"), (std::vector<double>{2, -1, -1}));
  EXPECT_EQ(rl_advantages({1}, 1, "rloo"), (std::vector<double>{0}));
  const auto three = rl_advantages({3, 0, 0, 1, 1, 1}, 3, "rloo");
  EXPECT_DOUBLE_EQ(three[0], 3.0);
  EXPECT_DOUBLE_EQ(three[1], -1.5);
  EXPECT_DOUBLE_EQ(three[4], 0.0);
  EXPECT_THROW(rl_advantages(r, 2, "median"), Error);
}

}  // namespace
}  // namespace t2

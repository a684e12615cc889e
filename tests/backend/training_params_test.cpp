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
  EXPECT_EQ(p.method, t2::TrainMethod::Svf);
  EXPECT_EQ(p.objective, t2::Objective::Rl);
  EXPECT_EQ(p.parametrization, t2::Parametrization::SakanaCompat);
  EXPECT_DOUBLE_EQ(p.init_mean, 0.1);
  EXPECT_DOUBLE_EQ(p.init_std, 0.01);
  EXPECT_EQ(p.temperature, 0.0);  // greedy
  EXPECT_EQ(p.samples_per_prompt, 1);
  EXPECT_EQ(p.baseline, t2::Baseline::None);
  EXPECT_EQ(p.log_prob, t2::LogProb::Sum);
  EXPECT_EQ(p.batch, 256);
  EXPECT_EQ(p.optimizer, t2::OptimizerKind::Adam);
  EXPECT_DOUBLE_EQ(p.lr, 2e-3);
  EXPECT_EQ(p.schedule, t2::LrSchedule::Constant);
  EXPECT_EQ(p.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(p.clip, 1e-3);
  EXPECT_EQ(p.kl, 0.0);
  EXPECT_EQ(p.iterations, 200);
  EXPECT_EQ(p.eval_every, 10);
  EXPECT_EQ(p.targets, "mlp");
}

TEST(TrainParams, PaperAndRecommendedPresets) {
  const TrainParams paper = train_preset("paper");
  EXPECT_EQ(paper.parametrization, t2::Parametrization::Paper);
  EXPECT_EQ(paper.optimizer, t2::OptimizerKind::AdamW);
  EXPECT_EQ(paper.schedule, t2::LrSchedule::Cosine);
  EXPECT_DOUBLE_EQ(paper.init_mean, 1.0);
  EXPECT_DOUBLE_EQ(paper.init_std * paper.init_std, 1e-3);  // the paper's init variance
  const TrainParams rec = train_preset("recommended");
  EXPECT_EQ(rec.parametrization, t2::Parametrization::Paper);
  EXPECT_EQ(rec.z_constraint, t2::ZConstraint::Clamp);
  EXPECT_EQ(rec.baseline, t2::Baseline::Rloo);  // per-prompt leave-one-out over k sampled rollouts
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
  // A choice that does not exist cannot be held; its name is refused where it is read.
  try {
    t2::parse_choice<t2::Baseline>("baseline", "median");
    ADD_FAILURE() << "median accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("baseline = 'median' is not one of: none, mean, rloo"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(train_params_from_json(R"({"baseline":"median"})"), Error);
  // Runs stored before "recompose" was the one word said "merged".
  EXPECT_EQ(train_params_from_json(R"({"rollout_weights":"merged"})").rollout_weights,
            t2::ApplyMode::Recompose);
  EXPECT_EQ(t2::choice_name(t2::ApplyMode::Recompose), "recompose");
  TrainParams q = p;
  q.parametrization = t2::Parametrization::SakanaMixed;  // what mixing makes, not trainable
  EXPECT_NE(message(q).find("parametrization"), std::string::npos) << message(q);
  q = p;
  q.z_constraint = t2::ZConstraint::Clamp;  // sakana-compat has no z to clamp
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
  q.objective = t2::Objective::Sft;
  EXPECT_EQ(message(q), "no error");
  q = p;
  q.method = t2::TrainMethod::Lora;
  EXPECT_NO_THROW(validate_train_params(q));
  q.lora_rank = 0;
  EXPECT_NE(message(q).find("lora_rank must be >= 1"), std::string::npos) << message(q);
  q = p;
  q.method = t2::TrainMethod::Lora;
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
  p.kl_estimator = t2::KlEstimator::Full;
  p.seed = 12345678901234ull;
  p.eval_split = "test";
  p.micro_batch = 3;
  p.method = t2::TrainMethod::Lora;
  p.lora_rank = 16;
  p.lora_alpha = 32.5;
  p.lora_dropout = 0.05;
  p.lora_rslora = true;
  p.init_expert = "/x/sft.safetensors";
  const std::string text = to_json(p);
  const TrainParams back = train_params_from_json(text);
  EXPECT_EQ(to_json(back), text);
  EXPECT_EQ(back.seed, 12345678901234ull);
  EXPECT_EQ(back.kl_estimator, t2::KlEstimator::Full);
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
  sft.objective = t2::Objective::Sft;
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
  EXPECT_EQ(rl_advantages(r, 2, t2::Baseline::None), r);
  EXPECT_EQ(rl_advantages(r, 2, t2::Baseline::Mean), (std::vector<double>{0.5, -1.5, 0.5, 0.5}));
  // Leave-one-out within each prompt's group: 1 - (-1), -1 - 1, 1 - 1, 1 - 1.
  EXPECT_EQ(rl_advantages(r, 2, t2::Baseline::Rloo), (std::vector<double>{2, -2, 0, 0}));
  // k = 1: leave-one-out over the batch: 1 - mean(-1, -1), -1 - mean(1, -1), ...
  EXPECT_EQ(rl_advantages({1, -1, -1}, 1, t2::Baseline::Rloo), (std::vector<double>{2, -1, -1}));
  EXPECT_EQ(rl_advantages({1}, 1, t2::Baseline::Rloo), (std::vector<double>{0}));
  const auto three = rl_advantages({3, 0, 0, 1, 1, 1}, 3, t2::Baseline::Rloo);
  EXPECT_DOUBLE_EQ(three[0], 3.0);
  EXPECT_DOUBLE_EQ(three[1], -1.5);
  EXPECT_DOUBLE_EQ(three[4], 0.0);
}

}  // namespace
}  // namespace t2

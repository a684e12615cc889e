// LoRA adapters (t2/lora.h) on the tiny llama_f32 fixture: the merged weight against a
// double-precision W + s B A written here from the checkpoint's bytes; B = 0 reproduces the base
// logits bit for bit; the training objective's gradient (additive branch with autograd) against
// central finite differences of a loss computed independently (apply_lora's merged weights +
// Session::forward + a log-softmax written here); alpha / rsLoRA scaling; dropout; next-token
// training; resume == uninterrupted.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include "scored_sequences.h"
#include "training_fixture.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

namespace t2 {
namespace {

namespace fs = std::filesystem;

std::string out_dir(const std::string& name) {
  return (fs::path(T2_TEST_OUTPUT_DIR) / "lora" / name).string();
}

std::vector<double> log_softmax(const std::vector<float>& row) {
  const double mx = *std::max_element(row.begin(), row.end());
  double sum = 0.0;
  for (float v : row) sum += std::exp(v - mx);
  std::vector<double> out;
  for (float v : row) out.push_back(v - mx - std::log(sum));
  return out;
}

// mean_j -A_j sum_t log pi(y_t), each sequence alone, with the adapter merged by apply_lora.
double reference_loss(const std::shared_ptr<const Model>& model, const LoraAdapter& adapter,
                      const std::vector<ScoredSequence>& seqs) {
  Session session(model);
  apply_lora(session, adapter);
  double total = 0.0;
  for (const auto& s : seqs) {
    std::vector<std::int32_t> ids = s.prompt;
    ids.insert(ids.end(), s.completion.begin(), s.completion.end());
    const Logits logits = session.forward({ids});
    double lp = 0.0;
    for (std::size_t c = 0; c < s.completion.size(); ++c) {
      const auto pos = static_cast<std::int64_t>(s.prompt.size() + c - 1);
      lp += log_softmax(logits.row(pos))[static_cast<std::size_t>(s.completion[c])];
    }
    total += -s.advantage * lp;
  }
  return total / static_cast<double>(seqs.size());
}

bool same_bits(const Logits& a, const Logits& b) {
  return a.shape == b.shape && a.data.size() == b.data.size() &&
         std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

class ModelLora : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    setup_ = test::make_tiny_training(out_dir(name_));
    model_ = Model::load(setup_.model_dir);
  }

  // An adapter with A from lora_init and B ~ N(0, b_std^2) (B = 0 when b_std = 0).
  LoraAdapter adapter(const std::string& targets, double b_std, std::uint64_t seed,
                      LoraConfig config = {}) const {
    LoraAdapter a = lora_init(model_->config(), targets, config, seed);
    std::mt19937_64 rng(seed + 1);
    std::normal_distribution<double> normal(0.0, b_std);
    for (auto& m : a.matrices)
      for (auto& v : m.b) v = b_std > 0 ? static_cast<float>(normal(rng)) : 0.0f;
    return a;
  }

  std::vector<ScoredSequence> sequences() const { return test::scored_sequences(); }

  TrainParams lora_params() const {
    TrainParams p = train_preset("sakana-compat");  // no baseline: every rollout carries signal
    p.task = setup_.task;
    p.method = t2::TrainMethod::Lora;
    p.lr = 1e-2;
    p.clip = 1.0;
    return p;
  }

  std::string name_;
  test::TinyTraining setup_;
  std::shared_ptr<const Model> model_;
};

TEST_F(ModelLora, MergedWeightEqualsDoublePrecisionProduct) {
  LoraConfig config;
  config.rank = 3;
  config.alpha = 5.0;  // s = 5/3: not a power of two
  const LoraAdapter a = adapter("gate_proj,up_proj,down_proj,q_proj", 0.1, 11, config);
  const std::string merged = out_dir(name_) + "/merged";
  const ExportMergedReport report = merge_lora(setup_.model_dir, a, {merged, false});
  EXPECT_EQ(report.changed.size(), a.matrices.size());
  const SafetensorsFile base = SafetensorsFile::open(setup_.model_dir + "/model.safetensors");
  const SafetensorsFile out = SafetensorsFile::open(report.safetensors_path);
  const double s = 5.0 / 3.0;
  for (const auto& m : a.matrices) {
    const TensorInfo* wi = base.find(m.name);
    const TensorInfo* oi = out.find(m.name);
    ASSERT_TRUE(wi && oi) << m.name;
    ASSERT_EQ(oi->shape, (std::vector<std::int64_t>{m.out_features, m.in_features}));
    const auto* w = static_cast<const float*>(base.data(*wi));
    const auto* got = static_cast<const float*>(out.data(*oi));
    double worst = 0.0;
    for (std::int64_t i = 0; i < m.out_features; ++i)
      for (std::int64_t j = 0; j < m.in_features; ++j) {
        double ba = 0.0;
        for (std::int64_t k = 0; k < 3; ++k)
          ba += static_cast<double>(m.b[static_cast<std::size_t>(i * 3 + k)]) *
                m.a[static_cast<std::size_t>(k * m.in_features + j)];
        const double want = w[i * m.in_features + j] + s * ba;
        worst = std::max(worst, std::abs(got[i * m.in_features + j] - want));
      }
    EXPECT_LT(worst, 1e-6) << m.name;
  }
  // Every other tensor is copied unchanged.
  const TensorInfo* embed = out.find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(std::memcmp(out.data(*embed), base.data(*base.find(embed->name)), embed->nbytes), 0);
  // apply_lora on a session gives the logits of the merged checkpoint, bit for bit.
  Session adapted(model_), from_folder(Model::load(merged));
  apply_lora(adapted, a);
  const std::vector<std::vector<std::int32_t>> prompt = {{1, 5, 9, 17, 33, 64, 100, 127}};
  EXPECT_TRUE(same_bits(adapted.forward(prompt), from_folder.forward(prompt)));
}

TEST_F(ModelLora, ZeroBReproducesTheBaseModelBitForBit) {
  const LoraAdapter init = lora_init(model_->config(), "all-linear", {}, 3);
  for (const auto& m : init.matrices) {
    EXPECT_TRUE(std::all_of(m.b.begin(), m.b.end(), [](float v) { return v == 0.0f; }));
    const double bound = 1.0 / std::sqrt(static_cast<double>(m.in_features));
    EXPECT_TRUE(std::all_of(m.a.begin(), m.a.end(),
                            [&](float v) { return std::abs(v) <= bound && v != 0.0f; }));
  }
  Session base(model_), adapted(model_);
  apply_lora(adapted, init);
  const std::vector<std::vector<std::int32_t>> prompts = {{1, 5, 9, 17}, {3, 4, 5, 6, 7, 8}};
  EXPECT_TRUE(same_bits(base.forward(prompts), adapted.forward(prompts)));
  // The scoring branch adds exact zeros: any A gives the same loss, that of the base model.
  TrainParams p = lora_params();
  const auto seqs = sequences();
  const double l1 = lora_objective(model_, init, seqs, p).loss;
  const double l2 =
      lora_objective(model_, lora_init(model_->config(), "all-linear", {}, 4), seqs, p).loss;
  EXPECT_EQ(l1, l2);
  EXPECT_NEAR(l1, reference_loss(model_, init, seqs), 1e-5 * std::abs(l1));
}

TEST_F(ModelLora, GradientOfAAndBMatchesFiniteDifferences) {
  const LoraAdapter a = adapter("gate_proj,down_proj,v_proj", 0.05, 21);
  const auto seqs = sequences();
  const TrainParams p = lora_params();
  const LoraObjectiveValue value = lora_objective(model_, a, seqs, p);
  EXPECT_NEAR(value.loss, reference_loss(model_, a, seqs), 1e-4);
  ASSERT_EQ(value.gradient.matrices.size(), a.matrices.size());
  double max_abs = 0.0;
  for (const auto& m : value.gradient.matrices) {
    for (float g : m.a) max_abs = std::max(max_abs, std::abs(static_cast<double>(g)));
    for (float g : m.b) max_abs = std::max(max_abs, std::abs(static_cast<double>(g)));
  }
  ASSERT_GT(max_abs, 1e-3) << "the gradient should not vanish on this fixture";
  const double h = 1e-2;
  int checked = 0;
  for (std::size_t m = 0; m < a.matrices.size(); ++m)
    for (bool is_a : {true, false}) {
      const std::size_t n = is_a ? a.matrices[m].a.size() : a.matrices[m].b.size();
      for (std::size_t i = (m * 7) % 41; i < n; i += 41) {
        LoraAdapter up = a, down = a;
        auto& vu = is_a ? up.matrices[m].a : up.matrices[m].b;
        auto& vd = is_a ? down.matrices[m].a : down.matrices[m].b;
        vu[i] = static_cast<float>(vu[i] + h);
        vd[i] = static_cast<float>(vd[i] - h);
        const double fd =
            (reference_loss(model_, up, seqs) - reference_loss(model_, down, seqs)) / (2 * h);
        const auto& g = is_a ? value.gradient.matrices[m].a : value.gradient.matrices[m].b;
        EXPECT_NEAR(g[i], fd, 2e-3 * max_abs + 2e-2 * std::abs(fd))
            << a.matrices[m].name << (is_a ? " A[" : " B[") << i << "]";
        ++checked;
      }
    }
  EXPECT_GE(checked, 20);
}

TEST_F(ModelLora, ScalingIsAlphaOverRankOrOverItsSquareRootWithRsLora) {
  LoraConfig c;
  c.rank = 4;
  c.alpha = 8;
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);
  c.rslora = true;
  EXPECT_DOUBLE_EQ(c.scaling(), 4.0);
  c.rank = 16;
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);
  // rsLoRA alpha 8, r 4 (s = 4) is plain alpha 16, r 4: the same weights, bit for bit; doubling
  // alpha equals doubling B.
  LoraConfig rs, plain16, plain8;
  rs.alpha = 8;
  rs.rslora = true;
  plain16.alpha = 16;
  plain8.alpha = 8;
  const LoraAdapter a_rs = adapter("mlp", 0.1, 5, rs), a16 = adapter("mlp", 0.1, 5, plain16);
  LoraAdapter a8 = adapter("mlp", 0.1, 5, plain8);
  for (auto& m : a8.matrices)
    for (auto& v : m.b) v *= 2.0f;
  Session s_rs(model_), s16(model_), s8(model_), base(model_);
  apply_lora(s_rs, a_rs);
  apply_lora(s16, a16);
  apply_lora(s8, a8);
  const std::vector<std::vector<std::int32_t>> prompt = {{1, 5, 9, 17, 33}};
  const Logits l16 = s16.forward(prompt), l8 = s8.forward(prompt), l0 = base.forward(prompt);
  EXPECT_TRUE(same_bits(s_rs.forward(prompt), l16));
  double diff = 0.0, moved = 0.0;
  for (std::size_t i = 0; i < l16.data.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(l16.data[i] - l8.data[i])));
    moved = std::max(moved, static_cast<double>(std::abs(l16.data[i] - l0.data[i])));
  }
  EXPECT_LT(diff, 1e-5);
  EXPECT_GT(moved, 1e-3);  // the adapter does change the model
}

TEST_F(ModelLora, DropoutChangesOnlyTheScoringPass) {
  const LoraAdapter a = adapter("mlp", 0.1, 9);
  const auto seqs = sequences();
  TrainParams p = lora_params();
  // Dropout 0: deterministic, whatever the mask seed.
  const double l0 = lora_objective(model_, a, seqs, p, 1).loss;
  EXPECT_EQ(l0, lora_objective(model_, a, seqs, p, 2).loss);
  // Dropout 0.5: the loss depends on the masks, reproducibly for a seed.
  p.lora_dropout = 0.5;
  const double d1 = lora_objective(model_, a, seqs, p, 1).loss;
  EXPECT_EQ(d1, lora_objective(model_, a, seqs, p, 1).loss);
  EXPECT_NE(d1, lora_objective(model_, a, seqs, p, 2).loss);
  EXPECT_NE(d1, l0);
  // In training, rollouts and evaluation run on merged weights: one RL step with and without
  // dropout sees the same validation accuracy (iteration 0) and the same rollouts (rewards). Its
  // scoring pass differs: B = 0 at the first step, so the loss is the same, but the gradient of
  // B, s (drop(x) A^T)^T dL/dy, sees the dropout masks.
  auto one_step = [&](double dropout) {
    TrainParams t = lora_params();
    t.lora_dropout = dropout;
    t.iterations = 1;
    t.batch = 8;
    t.samples_per_prompt = 2;
    t.temperature = 1.0;
    t.eval_every = 1;
    t.checkpoint_every = 0;
    t.lr = 0.5;  // a large step, so that iteration 1's weights differ visibly
    TrainOptions o;
    o.model_dir = setup_.model_dir;
    TrainIteration seen;
    o.on_iteration = [&](const TrainIteration& it) { seen = it; };
    const TrainReport r = train_expert(t, o);
    return std::make_pair(seen, r);
  };
  const auto [it0, r0] = one_step(0.0);
  const auto [it5, r5] = one_step(0.5);
  EXPECT_EQ(r0.base_validation_accuracy, r5.base_validation_accuracy);
  EXPECT_EQ(it0.reward_mean, it5.reward_mean);
  EXPECT_EQ(it0.train_accuracy, it5.train_accuracy);
  EXPECT_EQ(it0.loss, it5.loss);
  EXPECT_GT(it0.grad_norm, 0.0);
  EXPECT_NE(it0.grad_norm, it5.grad_norm);
}

TEST_F(ModelLora, NextTokenTrainingLowersTheLossAndCountsParameters) {
  TrainParams p = lora_params();
  p.objective = t2::Objective::Sft;
  p.iterations = 12;
  p.eval_every = 0;
  p.checkpoint_every = 0;
  p.lr = 2e-2;
  TrainOptions o;
  o.model_dir = setup_.model_dir;
  o.output_dir = out_dir(name_) + "/run";
  std::vector<double> losses;
  o.on_iteration = [&](const TrainIteration& it) { losses.push_back(it.loss); };
  const TrainReport r = train_expert(p, o);
  ASSERT_EQ(losses.size(), 12u);
  EXPECT_GT(losses.front(), 1.0);
  EXPECT_LT(losses.back(), 0.8 * losses.front()) << losses.front() << " -> " << losses.back();
  // r (in + out) per MLP matrix; gate, up and down all have in + out = hidden + intermediate.
  const ModelConfig& c = model_->config();
  const std::int64_t per = 4 * (c.hidden_size + c.intermediate_size);
  EXPECT_EQ(r.trainable_parameters, 3 * c.num_hidden_layers * per);
  EXPECT_TRUE(r.best_expert.matrices.empty());
  const LoraAdapter best = read_lora_adapter(r.best_expert_path);
  EXPECT_EQ(best.parameter_count(), r.trainable_parameters);
  EXPECT_EQ(r.best_expert_path, o.output_dir + "/adapter_best");
  EXPECT_TRUE(fs::exists(o.output_dir + "/adapter_latest/adapter_model.safetensors"));
  // The best adapter on disk is the trained one (B moved away from 0).
  double b_norm = 0.0;
  for (const auto& m : best.matrices)
    for (float v : m.b) b_norm += static_cast<double>(v) * v;
  EXPECT_GT(b_norm, 0.0);
}

TEST_F(ModelLora, ResumingFromACheckpointContinuesExactly) {
  const std::string dir = out_dir(name_);
  TrainParams p = lora_params();
  p.iterations = 4;
  p.batch = 6;
  p.eval_every = 0;
  p.checkpoint_every = 2;
  p.lora_dropout = 0.3;  // the masks must be the same after a resume too
  TrainOptions o;
  o.model_dir = setup_.model_dir;
  o.output_dir = dir + "/straight";
  const TrainReport straight = train_expert(p, o);

  o.output_dir = dir + "/resumed";
  o.db_path = dir + "/ws.db";
  fs::remove(o.db_path);
  CancelToken cancel;
  o.on_iteration = [&](const TrainIteration& it) {
    if (it.iteration == 3) cancel.request_cancel();
  };
  EXPECT_THROW(train_expert(p, o, JobContext({}, cancel)), Error);
  {
    RunStore store(o.db_path);
    store.finish_run(1, RunStatus::Interrupted, "simulated crash");
    bool adapter_artifact = false;
    for (const auto& art : store.artifacts(1)) adapter_artifact |= art.kind == "adapter";
    EXPECT_TRUE(adapter_artifact);
  }
  std::vector<int> seen;
  o.on_iteration = [&](const TrainIteration& it) { seen.push_back(it.iteration); };
  const TrainReport resumed = resume_training(1, o);
  EXPECT_EQ(seen, (std::vector<int>{3, 4}));
  EXPECT_EQ(resumed.iterations_done, 4);
  const LoraAdapter a = read_lora_adapter(straight.best_expert_path);
  const LoraAdapter b = read_lora_adapter(resumed.best_expert_path);
  ASSERT_EQ(a.matrices.size(), b.matrices.size());
  float moved = 0.0f;
  for (std::size_t m = 0; m < a.matrices.size(); ++m) {
    for (std::size_t i = 0; i < a.matrices[m].b.size(); ++i) {
      EXPECT_NEAR(b.matrices[m].b[i], a.matrices[m].b[i], 1e-6) << a.matrices[m].name;
      moved = std::max(moved, std::abs(a.matrices[m].b[i]));
    }
    for (std::size_t i = 0; i < a.matrices[m].a.size(); ++i)
      EXPECT_NEAR(b.matrices[m].a[i], a.matrices[m].a[i], 1e-6) << a.matrices[m].name;
  }
  EXPECT_GT(moved, 0.0f);  // B left 0 (a test of nothing otherwise)
}

TEST_F(ModelLora, AdapterForAnotherModelIsRefused) {
  LoraAdapter a = adapter("mlp", 0.0, 1);
  a.matrices[0].in_features += 1;
  a.matrices[0].a.resize(static_cast<std::size_t>(4 * a.matrices[0].in_features));
  Session s(model_);
  try {
    apply_lora(s, a);
    FAIL() << "a wrong shape was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(a.matrices[0].name), std::string::npos) << e.what();
  }
  LoraAdapter b = adapter("mlp", 0.0, 1);
  b.matrices[0].name = "model.layers.9.mlp.gate_proj.weight";
  EXPECT_THROW(apply_lora(s, b), Error);
}

}  // namespace
}  // namespace t2

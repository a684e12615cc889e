// Factored SVF projections (apply_expert modes, Session::Impl::set_factored): on the tiny fixtures,
// factored logits equal recomposed logits and an independent double-precision recomposition (in
// forward() and in KV-cache generate()), z = 1 gives the base logits, switching A -> B -> A gives
// A again, the auto mode follows the flop cost model, and the gradient of sum(logits * R) with
// respect to z (scale = sigma * z) matches central finite differences without any model tensor
// getting a gradient.
//
// This file also reaches into the engine (session_impl.h) for the trainer-facing API.
#include <t2/engine.h>

#include "engine/experts/adaptation_impl.h"
#include "engine/model/session_impl.h"
#include "engine/svd/decomposition_impl.h"
#include "expert_reference.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace t2_test;

// A paper expert with z drawn uniformly from [lo, hi].
t2::ExpertVectors random_expert(const t2::ModelConfig& config, const t2::Decomposition& d,
                                std::uint64_t seed, float lo = 0.3f, float hi = 1.7f) {
  return t2_test::random_expert(config, d, t2::Parametrization::Paper, seed, lo, hi);
}

t2::ApplyParams mode(t2::ApplyMode m, double tokens = 1024) {
  t2::ApplyParams p;
  p.mode = m;
  p.expected_tokens = tokens;
  return p;
}

struct Case {
  std::string fixture;
  std::string targets;
  double tolerance;  // relative to max |logit|
};

// GQA (all), attention + MLP biases, tied embeddings, q/k norm, sliding window, bf16.
const std::vector<Case> kCases = {
    {"llama_f32", "all-linear", 2e-5},  {"llama_bias_linear", "all-linear", 2e-5},
    {"qwen2_tied", "all-linear", 2e-5}, {"qwen3", "all-linear", 2e-5},
    {"mistral_sw", "mlp", 2e-5},        {"llama3_bf16", "all-linear", 3e-2},
};

}  // namespace

TEST(ModelFactored, LogitsEqualRecomposedAndAnIndependentRecomposition) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.fixture + " " + c.targets);
    const auto model = t2::Model::load(fixture(c.fixture));
    const auto d = t2::Decomposition::compute_or_load(fixture(c.fixture), no_cache(c.targets));
    const auto e = random_expert(model->config(), d, 11);
    t2::Session factored(model), recomposed(model), reference(model), base(model);
    const auto rf = t2::apply_expert(factored, d, e, mode(t2::ApplyMode::Factored));
    const auto rr = t2::apply_expert(recomposed, d, e, mode(t2::ApplyMode::Recompose));
    EXPECT_EQ(rf.factored.size(), d.targets().size());
    EXPECT_TRUE(rf.recomposed.empty());
    EXPECT_EQ(rr.recomposed.size(), d.targets().size());
    EXPECT_TRUE(rr.factored.empty());
    EXPECT_EQ(rf.changed.size(), d.targets().size());
    set_reference_overrides(reference, fixture(c.fixture), d, e);
    const auto want = reference.forward(kPrompt).data;
    const double scale = max_abs(want);
    EXPECT_LE(max_diff(factored.forward(kPrompt).data, want), c.tolerance * scale);
    EXPECT_LE(max_diff(recomposed.forward(kPrompt).data, want), c.tolerance * scale);
    // The reference path (HF op by op) sees the factored weights recomposed.
    t2::ForwardParams ref;
    ref.reference = true;
    EXPECT_LE(max_diff(factored.forward(kPrompt, ref).data, want), c.tolerance * scale);
    // The expert changes the logits by far more than the tolerance.
    EXPECT_GT(max_diff(base.forward(kPrompt).data, want), 20 * c.tolerance * scale);
  }
}

TEST(ModelFactored, KvCacheGenerateMatchesRecomposedAndFullRecompute) {
  for (const auto& c : kCases) {
    if (c.fixture == "llama3_bf16") continue;  // bf16 rounds W' differently: greedy may differ
    SCOPED_TRACE(c.fixture + " " + c.targets);
    const auto model = t2::Model::load(fixture(c.fixture));
    const auto d = t2::Decomposition::compute_or_load(fixture(c.fixture), no_cache(c.targets));
    const auto e = random_expert(model->config(), d, 5);
    t2::Session factored(model), recomposed(model);
    t2::apply_expert(factored, d, e, mode(t2::ApplyMode::Factored));
    t2::apply_expert(recomposed, d, e, mode(t2::ApplyMode::Recompose));
    t2::GenerateParams g;
    g.max_new_tokens = 12;
    g.ignore_eos = true;
    g.collect_step_logits = true;
    // Two prompts of different lengths: left padding inside the cache.
    const std::vector<std::vector<std::int32_t>> prompts = {{3, 8, 21, 40, 77}, {9, 2}};
    const auto a = factored.generate(prompts, g);
    const auto b = recomposed.generate(prompts, g);
    ASSERT_EQ(a.sequences.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(a.sequences[i].tokens, b.sequences[i].tokens);
    ASSERT_EQ(a.step_logits.size(), b.step_logits.size());
    for (std::size_t s = 0; s < a.step_logits.size(); ++s)
      EXPECT_LE(max_diff(a.step_logits[s].data, b.step_logits[s].data),
                c.tolerance * max_abs(b.step_logits[s].data));
    // Cached decode equals a full recompute of each row's whole sequence (factored both times).
    for (std::size_t i = 0; i < 2; ++i) {
      auto full = prompts[i];
      full.insert(full.end(), a.sequences[i].tokens.begin(), a.sequences[i].tokens.end() - 1);
      const auto logits = factored.forward({full});
      const auto vocab = logits.shape.back();
      for (std::size_t s = 0; s < a.step_logits.size(); ++s) {
        const auto row = logits.row(static_cast<std::int64_t>(prompts[i].size() + s) - 1);
        const auto& step = a.step_logits[s].data;
        const std::vector<float> cached(step.begin() + static_cast<std::ptrdiff_t>(i) * vocab,
                                        step.begin() + static_cast<std::ptrdiff_t>(i + 1) * vocab);
        EXPECT_LE(max_diff(row, cached), c.tolerance * max_abs(row))
            << "row " << i << " step " << s;
      }
    }
  }
}

TEST(ModelFactored, UnitScaleGivesTheBaseLogits) {
  const auto model = t2::Model::load(fixture("qwen2_tied"));
  const auto d = t2::Decomposition::compute_or_load(fixture("qwen2_tied"), no_cache("all-linear"));
  t2::Session base(model), factored(model);
  auto& impl = factored.impl();
  for (const auto& t : d.targets()) {  // sigma' = sigma * 1 through the trainer-facing API
    const auto s = d.singular_values(t.name);
    const at::Tensor sigma = at::from_blob(const_cast<float*>(s.data()),
                                           {static_cast<std::int64_t>(s.size())}, at::kFloat);
    impl.set_factored(t.name, d, sigma * at::ones_like(sigma));
  }
  EXPECT_EQ(factored.weight_overrides().size(), d.targets().size());
  const auto want = base.forward(kPrompt).data;
  EXPECT_LE(max_diff(factored.forward(kPrompt).data, want), 2e-5 * max_abs(want));
  // The identity expert through apply_expert removes the factored overrides: exact base logits.
  auto identity =
      t2::ExpertVectors::identity(model->config(), d.targets(), t2::Parametrization::Paper);
  const auto report = t2::apply_expert(factored, d, identity, mode(t2::ApplyMode::Factored));
  EXPECT_EQ(report.identity.size(), d.targets().size());
  EXPECT_TRUE(factored.weight_overrides().empty());
  EXPECT_EQ(factored.forward(kPrompt).data, want);
}

TEST(ModelFactored, SwitchingAToBToAGivesAAgain) {
  const auto model = t2::Model::load(fixture("llama_bias_linear"));
  const auto d =
      t2::Decomposition::compute_or_load(fixture("llama_bias_linear"), no_cache("all-linear"));
  const auto a = random_expert(model->config(), d, 1), b = random_expert(model->config(), d, 2);
  t2::Session fresh_a(model), fresh_b(model), s(model);
  t2::apply_expert(fresh_a, d, a, mode(t2::ApplyMode::Factored));
  t2::apply_expert(fresh_b, d, b, mode(t2::ApplyMode::Factored));
  const auto logits_a = fresh_a.forward(kPrompt).data, logits_b = fresh_b.forward(kPrompt).data;
  ASSERT_GT(max_diff(logits_a, logits_b), 1e-3 * max_abs(logits_a));
  // Factored -> factored switches: bit-identical to a fresh session (same kernels, same data).
  t2::apply_expert(s, d, a, mode(t2::ApplyMode::Factored));
  t2::apply_expert(s, d, b, mode(t2::ApplyMode::Factored));
  EXPECT_EQ(s.forward(kPrompt).data, logits_b);
  t2::apply_expert(s, d, a, mode(t2::ApplyMode::Factored));
  EXPECT_EQ(s.forward(kPrompt).data, logits_a);
  // Across modes (recompose <-> factored) the session never keeps a stale part.
  t2::apply_expert(s, d, b, mode(t2::ApplyMode::Recompose));
  EXPECT_LE(max_diff(s.forward(kPrompt).data, logits_b), 2e-5 * max_abs(logits_b));
  t2::apply_expert(s, d, a, mode(t2::ApplyMode::Factored));
  EXPECT_EQ(s.forward(kPrompt).data, logits_a);
  t2::clear_expert(s, d);
  t2::Session base(model);
  EXPECT_EQ(s.forward(kPrompt).data, base.forward(kPrompt).data);
}

TEST(ModelFactored, FactorsStaySharedWithTheDecompositionAcrossSwitches) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  const auto a = random_expert(model->config(), d, 1), b = random_expert(model->config(), d, 2);
  t2::Session s(model);
  auto& impl = s.impl();
  for (const auto* e : {&a, &b, &a}) {
    t2::apply_expert(s, d, *e, mode(t2::ApplyMode::Factored));
    for (const auto& t : d.targets()) {
      const auto& f = t2::engine::svd_factors(d, t.name);
      const auto* o = impl.find_factored(t.name);
      ASSERT_NE(o, nullptr);
      EXPECT_EQ(o->linear.vt.data_ptr(), f.vh.data_ptr()) << t.name;  // views, no copies
      EXPECT_EQ(o->linear.ut.data_ptr(), f.u.data_ptr()) << t.name;
      const auto& z = e->find(t.name)->values;
      const at::Tensor expect = f.s * at::tensor(z);
      EXPECT_TRUE(at::allclose(o->scale, expect, 1e-6, 0)) << t.name;  // sigma' = sigma z
    }
  }
}

TEST(ModelFactored, AutoModeFollowsTheFlopCostModel) {
  // Fixture shapes: q/o [32, 32], k/v [16, 32] (break-even 32 tokens), gate/up [64, 32] and
  // down [32, 64] (break-even 64 tokens). 48 tokens: attention recomposed, MLP factored.
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("all-linear"));
  const auto e = random_expert(model->config(), d, 3);
  t2::Session s(model);
  const auto report = t2::apply_expert(s, d, e, mode(t2::ApplyMode::Auto, 48));
  ASSERT_EQ(report.changed.size(), d.targets().size());
  for (const auto& name : report.factored) EXPECT_NE(name.find(".mlp."), std::string::npos);
  for (const auto& name : report.recomposed) EXPECT_NE(name.find(".self_attn."), std::string::npos);
  EXPECT_EQ(report.factored.size(), 6u);
  EXPECT_EQ(report.recomposed.size(), 8u);
  EXPECT_EQ(t2::apply_expert(s, d, e, mode(t2::ApplyMode::Auto, 16)).factored.size(), 14u);
  EXPECT_EQ(t2::apply_expert(s, d, e, mode(t2::ApplyMode::Auto, 64)).recomposed.size(), 14u);
}

TEST(Factored, CostModelBreakEvenIsTheLargerDimensionAtFullRank) {
  // Recompose 2*out*in*r vs tokens * 2*((in+out)*r - in*out); r = min(out, in) -> max(out, in).
  EXPECT_TRUE(t2::engine::factored_is_cheaper(4864, 896, 896, 4863));
  EXPECT_FALSE(t2::engine::factored_is_cheaper(4864, 896, 896, 4864));
  EXPECT_TRUE(t2::engine::factored_is_cheaper(896, 896, 896, 895));
  EXPECT_FALSE(t2::engine::factored_is_cheaper(896, 896, 896, 897));
  // Low rank: the factored product is cheaper than dense per token; always factored.
  EXPECT_TRUE(t2::engine::factored_is_cheaper(1000, 1000, 100, 1e12));
  EXPECT_EQ(t2::parse_apply_mode("factored"), t2::ApplyMode::Factored);
  EXPECT_EQ(t2::apply_mode_name(t2::parse_apply_mode("recompose")), "recompose");
  EXPECT_THROW(t2::parse_apply_mode("fast"), t2::Error);
}

TEST(ModelFactored, RejectsWhatCannotBeFactored) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  t2::Session s(model);
  auto& impl = s.impl();
  const std::string up = "model.layers.0.mlp.up_proj.weight";  // [64, 32], r = 32
  const at::Tensor u = at::randn({64, 32}), vh = at::randn({32, 32}), sc = at::ones({32});
  EXPECT_THROW(impl.set_factored("model.embed_tokens.weight", u, sc, vh), t2::Error);
  EXPECT_THROW(impl.set_factored("model.layers.0.input_layernorm.weight", u, sc, vh), t2::Error);
  EXPECT_THROW(impl.set_factored(up, u, at::ones({31}), vh), t2::Error);
  EXPECT_THROW(impl.set_factored(up, u.t(), sc, vh), t2::Error);
  EXPECT_THROW(impl.set_factored(up, u, sc, at::randn({32, 31})), t2::Error);
  EXPECT_THROW(impl.set_factored("model.layers.0.self_attn.q_proj.weight", d, sc), t2::Error);
  EXPECT_TRUE(s.weight_overrides().empty());
  impl.set_factored(up, u, sc, vh);
  EXPECT_NE(impl.find_factored(up), nullptr);
  s.clear_weight_override(up);
  EXPECT_EQ(impl.find_factored(up), nullptr);
  t2::ApplyParams bad;
  bad.expected_tokens = -1;
  EXPECT_THROW(t2::apply_expert(s, d, random_expert(model->config(), d, 1), bad), t2::Error);
}

namespace {

// sum(logits * r) of the fast forward over kPrompt with the session's current weights.
at::Tensor objective(t2::Session& s, const at::Tensor& r) {
  const auto& m = s.impl().m();
  const at::Tensor ids =
      at::tensor(std::vector<std::int64_t>(kPrompt[0].begin(), kPrompt[0].end())).unsqueeze(0);
  const at::Tensor mask = at::ones_like(ids);
  t2::engine::ForwardInput in{ids, t2::engine::positions_from_mask(mask), mask.eq(1)};
  const auto w = s.impl().weight_set();
  const at::Tensor logits =
      t2::engine::project_logits(w, t2::engine::forward_hidden(m, w, in, nullptr));
  return (logits.to(at::kDouble) * r).sum();
}

}  // namespace

TEST(ModelFactored, GradientOfZMatchesFiniteDifferencesAndSparesTheWeights) {
  const auto model = t2::Model::load(fixture("qwen2_tied"));
  const auto d = t2::Decomposition::compute_or_load(fixture("qwen2_tied"), no_cache("all-linear"));
  t2::Session s(model);
  auto& impl = s.impl();
  at::manual_seed(0);
  std::vector<at::Tensor> sigma, z;
  for (const auto& t : d.targets()) {
    const auto sv = d.singular_values(t.name);
    sigma.push_back(at::tensor(sv));
    z.push_back((0.5 + at::rand({t.rank()})).set_requires_grad(true));
  }
  auto set_all = [&](const std::vector<at::Tensor>& zs) {
    for (std::size_t i = 0; i < zs.size(); ++i)
      impl.set_factored(d.targets()[i].name, d, sigma[i] * zs[i]);
  };
  const auto vocab = model->config().vocab_size;
  const at::Tensor r = at::randn({1, static_cast<std::int64_t>(kPrompt[0].size()), vocab},
                                 at::TensorOptions().dtype(at::kDouble));
  set_all(z);
  const at::Tensor f = objective(s, r);
  f.backward();
  for (const auto& [name, w] : model->impl().weights) {
    EXPECT_FALSE(w.requires_grad()) << name;
    EXPECT_FALSE(w.grad().defined()) << name;
  }
  for (const auto& t : d.targets()) {  // the shared factors get no gradient either
    EXPECT_FALSE(impl.find_factored(t.name)->u.requires_grad());
    EXPECT_FALSE(impl.find_factored(t.name)->vh.requires_grad());
  }
  // Central differences along single components and random directions.
  std::mt19937_64 rng(4);
  const double h = 1e-2;
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<at::Tensor> dir;
    for (std::size_t i = 0; i < z.size(); ++i) dir.push_back(at::zeros_like(z[i].detach()));
    if (trial < 3) {
      const auto i = static_cast<std::size_t>(rng() % z.size());
      dir[i][static_cast<std::int64_t>(rng() % z[i].size(0))] = 1.0;
    } else {
      double norm2 = 0.0;
      for (auto& t : dir) norm2 += t.normal_().square().sum().item<double>();
      for (auto& t : dir) t.div_(std::sqrt(norm2));  // unit length: the step stays h
    }
    double analytic = 0.0;
    for (std::size_t i = 0; i < z.size(); ++i)
      analytic += (z[i].grad() * dir[i]).sum().item<double>();
    auto value_at = [&](double step) {
      at::NoGradGuard no_grad;
      std::vector<at::Tensor> zs;
      for (std::size_t i = 0; i < z.size(); ++i) zs.push_back(z[i].detach() + step * dir[i]);
      set_all(zs);
      return objective(s, r).item<double>();
    };
    const double numeric = (value_at(h) - value_at(-h)) / (2 * h);
    SCOPED_TRACE("trial " + std::to_string(trial));
    // float32 forward: f carries ~1e-7 relative rounding, i.e. ~1e-3 noise in the quotient.
    EXPECT_NEAR(analytic, numeric, 2e-3 * std::abs(numeric) + 5e-3);
    EXPECT_GT(std::abs(analytic), 1e-2);  // a real signal, not 0 == 0
  }
}

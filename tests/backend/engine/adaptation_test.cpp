// Applying SVF experts to a Session (t2/adaptation.h) on the tiny fixtures: the identity expert
// gives the base logits exactly, a one-hot mix equals its expert, switching experts on one session
// leaves other sessions and the model alone, adapted logits equal an independent recomposition of
// W' in double precision (plain C++ from the safetensors weights and the factors), and the merged
// checkpoint export loads back to the adapted session's logits.
#include <t2/engine.h>

#include "expert_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace t2_test;

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "adaptation" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST(ModelAdaptation, IdentityPaperExpertGivesTheBaseLogitsExactly) {
  for (const std::string name : {"llama_f32", "qwen2_tied", "llama3_bf16", "qwen3"}) {
    SCOPED_TRACE(name);
    const auto model = t2::Model::load(fixture(name));
    const auto d = t2::Decomposition::compute_or_load(fixture(name), no_cache("all-linear"));
    auto e = t2::ExpertVectors::identity(model->config(), d.targets(), t2::Parametrization::Paper);
    t2::Session base(model), adapted(model);
    const auto report = t2::apply_expert(adapted, d, e);
    EXPECT_TRUE(report.changed.empty());
    EXPECT_EQ(report.identity.size(), d.targets().size());
    EXPECT_EQ(adapted.forward(kPrompt).data, base.forward(kPrompt).data);
  }
}

TEST(ModelAdaptation, IdentitySakanaExpertIsTheBaseUpToRounding) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  auto e =
      t2::ExpertVectors::identity(model->config(), d.targets(), t2::Parametrization::SakanaCompat);
  for (auto& m : e.matrices) std::fill(m.values.begin(), m.values.end(), t2::kSakanaIdentityP);
  t2::Session base(model), adapted(model);
  t2::apply_expert(adapted, d, e);
  const auto a = adapted.forward(kPrompt).data;
  const auto b = base.forward(kPrompt).data;
  EXPECT_LE(max_diff(a, b), 1e-5 * max_abs(b));
}

TEST(ModelAdaptation, AdaptedLogitsEqualAnIndependentDoubleRecomposition) {
  struct Case {
    std::string fixture;
    std::string targets;
    t2::Parametrization p;
    float lo, hi;
  };
  const std::vector<Case> cases = {
      {"llama_f32", "mlp", t2::Parametrization::Paper, 0.3f, 1.7f},
      {"qwen2_tied", "all-linear", t2::Parametrization::Paper, 0.5f, 1.5f},
      {"llama_bias_linear", "attn-qv", t2::Parametrization::Paper, 0.0f, 2.0f},
      {"mistral_sw", "mlp", t2::Parametrization::SakanaCompat, -2.0f, 2.0f},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fixture + " " + c.targets);
    const auto model = t2::Model::load(fixture(c.fixture));
    const auto d = t2::Decomposition::compute_or_load(fixture(c.fixture), no_cache(c.targets));
    auto e = random_expert(model->config(), d, c.p, 7, c.lo, c.hi);
    if (c.p == t2::Parametrization::Paper)  // some directions unchanged (skipped by the engine)
      for (auto& m : e.matrices)
        for (std::size_t k = 0; k < m.values.size(); k += 3) m.values[k] = 1.0f;
    t2::Session adapted(model), reference(model), base(model);
    const auto report = t2::apply_expert(adapted, d, e);
    EXPECT_EQ(report.changed.size(), d.targets().size());
    set_reference_overrides(reference, fixture(c.fixture), d, e);
    const auto got = adapted.forward(kPrompt).data;
    const auto want = reference.forward(kPrompt).data;
    const auto base_logits = base.forward(kPrompt).data;
    const double scale = max_abs(want);
    EXPECT_LE(max_diff(got, want), 2e-5 * scale);
    // The expert really changes the model (so the comparison above can fail).
    EXPECT_GT(max_diff(base_logits, want), 1e-3 * scale);
  }
}

TEST(ModelAdaptation, OneHotMixEqualsTheSingleExpert) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  const auto a = random_expert(model->config(), d, t2::Parametrization::Paper, 1, 0.5f, 1.5f);
  const auto b = random_expert(model->config(), d, t2::Parametrization::Paper, 2, 0.5f, 1.5f);
  t2::MixAlpha alpha;
  alpha.rows = {{0.0}, {1.0}};
  const auto mixed = t2::mix_experts({a, b}, alpha).expert;
  t2::Session with_b(model), with_mix(model), with_a(model);
  t2::apply_expert(with_b, d, b);
  t2::apply_expert(with_mix, d, mixed);
  t2::apply_expert(with_a, d, a);
  const auto logits_b = with_b.forward(kPrompt).data;
  EXPECT_EQ(with_mix.forward(kPrompt).data, logits_b);
  EXPECT_NE(with_a.forward(kPrompt).data, logits_b);
}

TEST(ModelAdaptation, SwitchingExpertsLeavesOtherSessionsAndTheModelAlone) {
  const auto model = t2::Model::load(fixture("qwen2_tied"));
  const auto d = t2::Decomposition::compute_or_load(fixture("qwen2_tied"), no_cache("mlp"));
  const auto e1 = random_expert(model->config(), d, t2::Parametrization::Paper, 11, 0.2f, 1.8f);
  const auto e2 = random_expert(model->config(), d, t2::Parametrization::Paper, 12, 0.2f, 1.8f);
  t2::Session switching(model), other(model), fresh2(model);
  const auto base = other.forward(kPrompt).data;
  t2::apply_expert(switching, d, e1);
  const auto logits1 = switching.forward(kPrompt).data;
  EXPECT_NE(logits1, base);
  t2::apply_expert(switching, d, e2);
  t2::apply_expert(fresh2, d, e2);
  EXPECT_EQ(switching.forward(kPrompt).data, fresh2.forward(kPrompt).data);
  EXPECT_NE(switching.forward(kPrompt).data, logits1);
  EXPECT_EQ(other.forward(kPrompt).data, base);
  EXPECT_TRUE(other.weight_overrides().empty());
  EXPECT_EQ(t2::Session(model).forward(kPrompt).data, base);  // the Model is untouched
  // Back to the base: clear_expert, and applying the identity after an expert.
  t2::clear_expert(switching, d);
  EXPECT_TRUE(switching.weight_overrides().empty());
  EXPECT_EQ(switching.forward(kPrompt).data, base);
  t2::apply_expert(
      fresh2, d,
      t2::ExpertVectors::identity(model->config(), d.targets(), t2::Parametrization::Paper));
  EXPECT_EQ(fresh2.forward(kPrompt).data, base);
}

TEST(ModelAdaptation, PartialExpertLeavesUncoveredTargetsAtTheBase) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  auto e = random_expert(model->config(), d, t2::Parametrization::Paper, 3, 0.5f, 1.5f);
  e.matrices.resize(1);
  t2::Session s(model);
  const auto report = t2::apply_expert(s, d, e);
  ASSERT_EQ(report.changed.size(), 1u);
  EXPECT_EQ(report.changed[0], e.matrices[0].name);
  EXPECT_EQ(s.weight_overrides(), std::vector<std::string>{e.matrices[0].name});
}

TEST(ModelAdaptation, BadExpertsAreRejectedBeforeTheSessionChanges) {
  const auto model = t2::Model::load(fixture("llama_f32"));
  const auto d = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("mlp"));
  t2::Session s(model);
  auto short_vector = random_expert(model->config(), d, t2::Parametrization::Paper, 4, 0.5f, 1.5f);
  short_vector.matrices.back().values.pop_back();
  try {
    t2::apply_expert(s, d, short_vector);
    FAIL() << "expected InvalidArgument";
  } catch (const t2::Error& err) {
    EXPECT_EQ(err.kind(), t2::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find(short_vector.matrices.back().name), std::string::npos);
  }
  EXPECT_TRUE(s.weight_overrides().empty());
  const auto attn = t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache("attn"));
  auto wrong_targets =
      random_expert(model->config(), attn, t2::Parametrization::Paper, 5, 0.5f, 1.f);
  EXPECT_THROW(t2::apply_expert(s, d, wrong_targets), t2::Error);
  EXPECT_TRUE(s.weight_overrides().empty());
}

TEST(ModelAdaptation, PaperExpertFromMapDecomposesOnlyTheNamedMatrices) {
  const auto config = t2::load_model_config(fixture("llama_f32"));
  const std::string up = "model.layers.1.mlp.up_proj.weight";
  const std::string q = "model.layers.0.self_attn.q_proj.weight";
  const auto targets = t2::resolve_targets(config, "all-linear");
  auto rank_of = [&](const std::string& n) {
    for (const auto& t : targets)
      if (t.name == n) return static_cast<std::size_t>(t.rank());
    return std::size_t{0};
  };
  const auto e = t2::paper_expert_from_map(config, {{up, std::vector<float>(rank_of(up), 0.5f)},
                                                    {q, std::vector<float>(rank_of(q), 2.f)}});
  ASSERT_EQ(e.matrices.size(), 2u);
  EXPECT_EQ(e.matrices[0].name, q);  // target order: layer 0 first
  const auto d =
      t2::Decomposition::compute_or_load(fixture("llama_f32"), no_cache(e.metadata.target_set));
  ASSERT_EQ(d.targets().size(), 2u);
  EXPECT_EQ(d.targets()[0].name, q);
  EXPECT_EQ(d.targets()[1].name, up);
  EXPECT_THROW(t2::paper_expert_from_map(config, {{up, std::vector<float>(3, 1.f)}}), t2::Error);
  EXPECT_THROW(t2::paper_expert_from_map(config, {{"model.norm.weight", {1.f}}}), t2::Error);
  EXPECT_THROW(t2::paper_expert_from_map(config, {}), t2::Error);
}

TEST(ModelAdaptation, ExportedMergedCheckpointLoadsToTheAdaptedLogits) {
  for (const std::string name : {"llama_f32", "qwen2_tied", "llama3_bf16", "llama_sharded"}) {
    SCOPED_TRACE(name);
    // A copy of the fixture with tokenizer files, so that copying them is checked too.
    const std::string src = fresh_dir(name + "_src");
    for (const auto& entry : fs::directory_iterator(fixture(name)))
      fs::copy(entry.path(), fs::path(src) / entry.path().filename());
    std::ofstream(fs::path(src) / "tokenizer.json") << "{\"model\": \"" << name << "\"}";
    std::ofstream(fs::path(src) / "tokenizer_config.json") << "{}";
    const t2::LoadParams load{name == "llama3_bf16" ? "bf16" : "f32", "cpu"};
    const auto model = t2::Model::load(src, load);
    const auto d = t2::Decomposition::compute_or_load(src, no_cache("mlp"));
    const auto e = random_expert(model->config(), d, t2::Parametrization::Paper, 9, 0.3f, 1.7f);
    t2::Session adapted(model);
    t2::apply_expert(adapted, d, e);
    const std::string out = fresh_dir(name + "_merged");
    t2::ExportMergedParams params;
    params.out_dir = out;
    const auto report = t2::export_merged(src, d, e, params);
    EXPECT_EQ(report.changed.size(), d.targets().size());
    EXPECT_EQ(report.copied_files,
              (std::vector<std::string>{"config.json", "tokenizer.json", "tokenizer_config.json"}));
    std::stringstream a, b;
    a << std::ifstream(fs::path(src) / "tokenizer.json").rdbuf();
    b << std::ifstream(fs::path(out) / "tokenizer.json").rdbuf();
    EXPECT_EQ(a.str(), b.str());
    const auto merged = t2::Model::load(out, load);
    t2::Session merged_session(merged);
    EXPECT_EQ(merged_session.forward(kPrompt).data, adapted.forward(kPrompt).data);
    // Every tensor keeps its name and dtype; the non-targets keep their bytes.
    const auto ck_src = t2::Checkpoint::open(src);
    const auto ck_out = t2::Checkpoint::open(out);
    ASSERT_EQ(ck_src.tensors().size(), ck_out.tensors().size());
    for (const auto& info : ck_src.tensors()) {
      const auto* o = ck_out.find(info.name);
      ASSERT_NE(o, nullptr) << info.name;
      EXPECT_EQ(o->dtype, info.dtype) << info.name;
      EXPECT_EQ(o->shape, info.shape) << info.name;
      const bool same = std::memcmp(ck_src.data(info), ck_out.data(*o), info.nbytes) == 0;
      EXPECT_EQ(same, d.find(info.name) == nullptr) << info.name;
    }
    // A non-empty folder is refused without force, accepted with it.
    EXPECT_THROW(t2::export_merged(src, d, e, params), t2::Error);
    params.force = true;
    EXPECT_NO_THROW(t2::export_merged(src, d, e, params));
  }
}

// Strategies through the engine's one entry point: an expert file equals apply_expert of the
// expert; a one-hot mix of two files equals the second expert; an even mix equals apply_expert
// of the averaged z (paper parametrization, z' = sum alpha_k z_k); base changes nothing; a
// malformed mix is refused before the session changes.
TEST(ModelAdaptation, StrategiesApplyLikeTheirExperts) {
  const std::string dir = fixture("llama_f32");
  const auto model = t2::Model::load(dir);
  // The default decomposition cache: the same matrices load_expert_file decomposes.
  const auto d = t2::Decomposition::compute_or_load(dir, t2::DecomposeParams{"mlp"});
  auto a = random_expert(model->config(), d, t2::Parametrization::Paper, 21, 0.5f, 1.5f);
  auto b = random_expert(model->config(), d, t2::Parametrization::Paper, 22, 0.5f, 1.5f);
  a.metadata.target_set = b.metadata.target_set = "mlp";
  a.metadata.base_fingerprint = b.metadata.base_fingerprint = t2::model_fingerprint(dir);
  const std::string out = fresh_dir("strategies");
  const std::string file_a = out + "/a.safetensors", file_b = out + "/b.safetensors";
  t2::write_expert(file_a, a);
  t2::write_expert(file_b, b);

  t2::Session base(model), with_b(model), via_file(model), one_hot(model), even(model),
      even_ref(model), untouched(model);
  t2::apply_expert(with_b, d, b);
  const auto logits_b = with_b.forward(kPrompt).data;
  const auto applied = t2::apply_strategy(via_file, dir, t2::Strategy::expert(file_b));
  EXPECT_EQ(applied.label, "expert:b.safetensors");
  EXPECT_EQ(applied.changed.size(), d.targets().size());
  EXPECT_EQ(via_file.forward(kPrompt).data, logits_b);

  t2::apply_strategy(one_hot, dir, t2::Strategy::mix({file_a, file_b}, {0.0, 1.0}));
  EXPECT_EQ(one_hot.forward(kPrompt).data, logits_b);

  t2::ExpertVectors mean = a;
  for (std::size_t m = 0; m < mean.matrices.size(); ++m)
    for (std::size_t i = 0; i < mean.matrices[m].values.size(); ++i)
      mean.matrices[m].values[i] = 0.5f * a.matrices[m].values[i] + 0.5f * b.matrices[m].values[i];
  t2::apply_expert(even_ref, d, mean);
  const auto mixed = t2::apply_strategy(even, dir, t2::Strategy::mix({file_a, file_b}, {0.5, 0.5}));
  EXPECT_EQ(mixed.label, "mix:0.5*a.safetensors+0.5*b.safetensors");
  const auto want = even_ref.forward(kPrompt).data;
  EXPECT_LE(max_diff(even.forward(kPrompt).data, want), 1e-6 * max_abs(want));
  EXPECT_GT(max_diff(want, logits_b), 1e-4 * max_abs(want)) << "the mix differs from b";

  const auto none = t2::apply_strategy(untouched, dir, t2::Strategy::base());
  EXPECT_EQ(none.label, "base");
  EXPECT_TRUE(none.changed.empty());
  EXPECT_EQ(untouched.forward(kPrompt).data, base.forward(kPrompt).data);
  EXPECT_THROW(t2::apply_strategy(untouched, dir, t2::Strategy::mix({file_a, file_b}, {1.0})),
               t2::Error);
  EXPECT_THROW(t2::apply_strategy(untouched, dir, t2::Strategy::expert(out + "/missing.json")),
               t2::Error);
  EXPECT_EQ(untouched.forward(kPrompt).data, base.forward(kPrompt).data);
}

// expert_effects: ||W' - W||_F / ||W||_F from the singular values, checked against a dense
// recomposition in double precision of one matrix, and the sigma ratio range.
TEST(ModelAdaptation, ExpertEffectsMatchTheDenseChange) {
  const std::string dir = fixture("llama_f32");
  const auto model = t2::Model::load(dir);
  const auto d = t2::Decomposition::compute_or_load(dir, no_cache("mlp"));
  auto e = random_expert(model->config(), d, t2::Parametrization::Paper, 31, 0.25f, 1.75f);
  auto& first = e.matrices.front();
  std::fill(first.values.begin(), first.values.end(), 2.0f);  // W' = 2 W: change exactly 1
  const auto rows = t2::expert_effects(d, e);
  ASSERT_EQ(rows.size(), e.matrices.size());
  EXPECT_EQ(rows[0].name, first.name);
  EXPECT_NEAR(rows[0].relative_change, 1.0, 1e-6);
  EXPECT_NEAR(rows[0].sigma_ratio_min, 2.0, 1e-6);
  EXPECT_NEAR(rows[0].sigma_ratio_max, 2.0, 1e-6);
  // Matrix 1 densely: W' - W = U diag(sigma (z - 1)) Vh, relative to W = U diag(sigma) Vh.
  const auto& m = e.matrices[1];
  const auto* t = d.find(m.name);
  ASSERT_NE(t, nullptr);
  const auto u = d.u(m.name), vh = d.vh(m.name), s = d.singular_values(m.name);
  const std::size_t r = s.size(), out = t->out_features, in = t->in_features;
  double diff = 0.0, norm = 0.0, lo = 1e30, hi = -1e30;
  for (std::size_t i = 0; i < out; ++i)
    for (std::size_t j = 0; j < in; ++j) {
      double w = 0.0, dw = 0.0;
      for (std::size_t k = 0; k < r; ++k) {
        const double uv = double(u[i * r + k]) * vh[k * in + j];
        w += uv * s[k];
        dw += uv * s[k] * (double(m.values[k]) - 1.0);
      }
      diff += dw * dw;
      norm += w * w;
    }
  for (std::size_t k = 0; k < r; ++k) {
    lo = std::min(lo, double(m.values[k]));
    hi = std::max(hi, double(m.values[k]));
  }
  EXPECT_NEAR(rows[1].relative_change, std::sqrt(diff / norm), 1e-4 * std::sqrt(diff / norm));
  EXPECT_NEAR(rows[1].sigma_ratio_min, lo, 1e-5);
  EXPECT_NEAR(rows[1].sigma_ratio_max, hi, 1e-5);
  // A matrix the decomposition does not hold is refused, naming it.
  auto stranger = e;
  stranger.matrices[0].name = "model.layers.0.self_attn.q_proj.weight";
  EXPECT_THROW(t2::expert_effects(d, stranger), t2::Error);
}

#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/experts.h>
#include <t2/safetensors.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

namespace fs = std::filesystem;

t2::ModelConfig llama(std::int64_t layers, std::int64_t hidden, std::int64_t intermediate) {
  t2::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.family = "llama";
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = hidden / 4;
  return c;
}

// An expert with distinct, reproducible values (paper unless said otherwise).
t2::ExpertVectors random_expert(const t2::ModelConfig& c, std::uint64_t seed,
                                t2::Parametrization p = t2::Parametrization::Paper,
                                const std::string& spec = "mlp") {
  auto e = t2::ExpertVectors::identity(c, t2::resolve_targets(c, spec), p);
  e.metadata.base_fingerprint = "fp-model";
  e.metadata.target_set = spec;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> d(0.5f, 1.0f);
  for (auto& m : e.matrices)
    for (auto& v : m.values) v = d(rng);
  return e;
}

std::string out_path(const std::string& name) {
  const std::string dir = std::string(T2_TEST_OUTPUT_DIR) + "/experts";
  fs::create_directories(dir);
  return dir + "/" + name;
}

std::string message_of(const std::function<void()>& f, t2::ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const t2::Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "(no error)";
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Experts, PaperRoundTripKeepsValuesAndMetadata) {
  auto e = random_expert(llama(3, 32, 48), 1);
  e.metadata.run_id = "17";
  e.metadata.note = "unit test ✓";
  const auto path = out_path("paper.safetensors");
  t2::write_expert(path, e);
  const auto r = t2::read_expert(path);
  EXPECT_EQ(r.metadata.base_fingerprint, "fp-model");
  EXPECT_EQ(r.metadata.architecture, "LlamaForCausalLM");
  EXPECT_EQ(r.metadata.parametrization, t2::Parametrization::Paper);
  EXPECT_EQ(r.metadata.target_set, "mlp");
  EXPECT_EQ(r.metadata.run_id, "17");
  EXPECT_EQ(r.metadata.note, "unit test ✓");
  EXPECT_EQ(r.metadata.created_at, e.metadata.created_at);
  ASSERT_EQ(r.matrices.size(), 9u);
  for (std::size_t i = 0; i < r.matrices.size(); ++i) {
    EXPECT_EQ(r.matrices[i].name, e.matrices[i].name);  // target order restored
    EXPECT_EQ(r.matrices[i].layer, e.matrices[i].layer);
    EXPECT_EQ(r.matrices[i].part, e.matrices[i].part);
    EXPECT_TRUE(same_bits(r.matrices[i].values, e.matrices[i].values)) << r.matrices[i].name;
  }
  // The raw file carries the documented metadata keys.
  const auto file = t2::SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata().at("format"), "t2-expert");
  EXPECT_EQ(file.metadata().at("version"), "1");
  EXPECT_EQ(file.find("model.layers.0.mlp.gate_proj.weight")->shape, std::vector<std::int64_t>{32});
}

TEST(Experts, SakanaIdentityInitAndRoundTrip) {
  const auto c = llama(2, 32, 64);
  const auto targets = t2::resolve_targets(c, "mlp");
  auto a = t2::ExpertVectors::identity(c, targets, t2::Parametrization::SakanaCompat, 5);
  const auto b = t2::ExpertVectors::identity(c, targets, t2::Parametrization::SakanaCompat, 5);
  const auto other = t2::ExpertVectors::identity(c, targets, t2::Parametrization::SakanaCompat, 6);
  EXPECT_TRUE(same_bits(a.matrices[0].values, b.matrices[0].values));
  EXPECT_FALSE(same_bits(a.matrices[0].values, other.matrices[0].values));
  const auto s = t2::expert_stats(a).overall;
  EXPECT_EQ(s.count, 6 * 32);
  EXPECT_NEAR(s.mean, 0.1, 0.003);  // N(0.1, 0.01^2), 192 draws
  EXPECT_NEAR(s.std, 0.01, 0.003);
  a.metadata.max_mult = 2.5;
  const auto path = out_path("sakana.safetensors");
  t2::write_expert(path, a);
  const auto r = t2::read_expert(path);
  EXPECT_EQ(r.metadata.parametrization, t2::Parametrization::SakanaCompat);
  EXPECT_EQ(r.metadata.max_mult, 2.5);
  EXPECT_TRUE(same_bits(r.matrices[5].values, a.matrices[5].values));
  // Paper identity is exactly 1.
  const auto z = t2::ExpertVectors::identity(c, targets, t2::Parametrization::Paper);
  for (const auto& m : z.matrices)
    for (float v : m.values) ASSERT_EQ(v, 1.0f);
}

TEST(Experts, RejectsNonExpertFilesAndNonFiniteValues) {
  const auto path = out_path("plain.safetensors");
  const float x[2] = {1, 2};
  t2::write_safetensors(path, {{"model.layers.0.mlp.up_proj.weight", t2::DType::F32, {2}, x}});
  t2::ErrorKind kind{};
  EXPECT_NE(message_of([&] { t2::read_expert(path); }, &kind).find("format"), std::string::npos);
  EXPECT_EQ(kind, t2::ErrorKind::Corrupt);
  auto e = random_expert(llama(1, 32, 48), 2);
  e.matrices[1].values[3] = NAN;
  EXPECT_NE(message_of([&] { t2::write_expert(out_path("nan.safetensors"), e); }, &kind)
                .find("model.layers.0.mlp.up_proj.weight"),
            std::string::npos);
  EXPECT_EQ(kind, t2::ErrorKind::InvalidArgument);
}

TEST(Experts, WrongModelNamesBothModels) {
  const auto e = random_expert(llama(2, 32, 48), 3);
  t2::ErrorKind kind{};
  const auto msg =
      message_of([&] { t2::adapt_expert_to_model(e, llama(2, 32, 48), "fp-other"); }, &kind);
  EXPECT_EQ(kind, t2::ErrorKind::InvalidArgument);
  EXPECT_NE(msg.find("fp-model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fp-other"), std::string::npos) << msg;
  auto q = llama(2, 32, 48);
  q.architecture = "Qwen2ForCausalLM";
  EXPECT_NE(message_of([&] { t2::adapt_expert_to_model(e, q, "fp-model"); }).find("Qwen2"),
            std::string::npos);
  // The right model loads and keeps the values.
  t2::TransferReport report;
  const auto same = t2::adapt_expert_to_model(e, llama(2, 32, 48), "fp-model", {}, &report);
  EXPECT_FALSE(report.transferred);
  EXPECT_TRUE(same_bits(same.matrices[4].values, e.matrices[4].values));
  // Same fingerprint but a vector of the wrong length is corrupt.
  auto bad = e;
  bad.matrices[2].values.pop_back();
  EXPECT_NE(message_of([&] { t2::adapt_expert_to_model(bad, llama(2, 32, 48), "fp-model"); }, &kind)
                .find("model.layers.0.mlp.down_proj.weight"),
            std::string::npos);
  EXPECT_EQ(kind, t2::ErrorKind::Corrupt);
}

TEST(Experts, TransferTruncatesDropsAndPadsByLayerAndPart) {
  const auto e = random_expert(llama(3, 32, 48), 4);  // ranks 32
  t2::ExpertLoadOptions allow;
  allow.allow_transfer = true;
  // Smaller model: 2 layers, hidden 16 -> ranks 16: truncated, layer 2 dropped.
  t2::TransferReport report;
  const auto small = t2::adapt_expert_to_model(e, llama(2, 16, 24), "fp-small", allow, &report);
  EXPECT_TRUE(report.transferred);
  EXPECT_EQ(small.metadata.base_fingerprint, "fp-small");
  ASSERT_EQ(small.matrices.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    ASSERT_EQ(small.matrices[i].values.size(), 16u);
    EXPECT_EQ(small.matrices[i].part, e.matrices[i].part);
    for (std::size_t j = 0; j < 16; ++j)
      ASSERT_EQ(small.matrices[i].values[j], e.matrices[i].values[j]);
  }
  EXPECT_EQ(report.mapped.size(), 6u);
  EXPECT_NE(report.mapped[0].find("truncated 32 -> 16"), std::string::npos) << report.mapped[0];
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"model.layers.2.mlp.gate_proj.weight",
                                                      "model.layers.2.mlp.up_proj.weight",
                                                      "model.layers.2.mlp.down_proj.weight"}));
  // Larger model: 4 layers, hidden 64 -> ranks 64: padded with 1, layer 3 identity.
  const auto big = t2::adapt_expert_to_model(e, llama(4, 64, 96), "fp-big", allow, &report);
  ASSERT_EQ(big.matrices.size(), 12u);
  for (std::size_t j = 0; j < 64; ++j)
    ASSERT_EQ(big.matrices[1].values[j], j < 32 ? e.matrices[1].values[j] : 1.0f);
  for (std::size_t i = 9; i < 12; ++i)
    for (float v : big.matrices[i].values) ASSERT_EQ(v, 1.0f);
  EXPECT_EQ(report.identity.size(), 3u);
  EXPECT_NE(report.mapped[0].find("padded 32 -> 64"), std::string::npos);
  // sakana-compat pads with logit(mean sigmoid(p)): hand-computed for p = {0, ln 3}.
  auto s = random_expert(llama(1, 32, 48), 5, t2::Parametrization::SakanaCompat);
  for (auto& m : s.matrices) m.values.assign(32, 0.0f);
  s.matrices[0].values[1] = std::log(3.0f);  // sigmoid 0.75; others 0.5
  const auto sp = t2::adapt_expert_to_model(s, llama(1, 64, 96), "fp-big", allow);
  const double mean = (0.75 + 31 * 0.5) / 32;
  EXPECT_NEAR(sp.matrices[0].values[40], std::log(mean / (1 - mean)), 1e-6);
  EXPECT_EQ(sp.matrices[1].values[40], 0.0f);  // all-zero p: logit(0.5) = 0
}

TEST(Experts, EffectiveMultipliersMatchHandComputedValues) {
  const std::vector<float> sigma = {3, 2, 1};
  const std::vector<float> p = {0.0f, std::log(3.0f), -std::log(3.0f)};  // sigmoid .5 .75 .25
  // max_mult 2: m = 1, 1.5, 0.5; sum sigma = 6; sum sigma*m = 6.5.
  const auto mult = t2::effective_multipliers(t2::Parametrization::SakanaCompat, p, sigma, 2.0);
  EXPECT_NEAR(mult[0], 1.0 * 6 / 6.5, 1e-6);
  EXPECT_NEAR(mult[1], 1.5 * 6 / 6.5, 1e-6);
  EXPECT_NEAR(mult[2], 0.5 * 6 / 6.5, 1e-6);
  const auto s = t2::adapted_sigma(t2::Parametrization::SakanaCompat, p, sigma, 2.0);
  EXPECT_NEAR(s[0] + s[1] + s[2], 6.0, 1e-5);  // nuclear norm kept
  EXPECT_NEAR(s[1], 2 * 1.5 * 6 / 6.5, 1e-5);
  // Constant p is the identity; paper multiplies by z; sakana-mixed uses m directly.
  for (float v :
       t2::effective_multipliers(t2::Parametrization::SakanaCompat, {0.3f, 0.3f, 0.3f}, sigma))
    EXPECT_NEAR(v, 1.0f, 1e-6);
  EXPECT_EQ(t2::adapted_sigma(t2::Parametrization::Paper, {2, 0.5f, -1}, sigma),
            (std::vector<float>{6, 1, -1}));
  const auto mixed = t2::effective_multipliers(t2::Parametrization::SakanaMixed, {2, 1, 0}, sigma);
  EXPECT_NEAR(mixed[0], 2 * 6.0 / 8.0, 1e-6);
  // 0/0 (all-zero m) gives the identity, never NaN.
  EXPECT_EQ(t2::effective_multipliers(t2::Parametrization::SakanaMixed, {0, 0, 0}, sigma),
            (std::vector<float>{1, 1, 1}));
  EXPECT_THROW(t2::effective_multipliers(t2::Parametrization::Paper, {1, 1}, sigma), t2::Error);
}

TEST(Experts, StatisticsPerMatrixAndLayer) {
  auto e = random_expert(llama(2, 32, 48), 6);
  e.matrices[0].values.assign(32, 2.0f);
  for (std::size_t j = 0; j < 8; ++j) e.matrices[0].values[j] = -2.0f;  // 8 of 32 negative
  const auto s = t2::expert_stats(e);
  ASSERT_EQ(s.per_matrix.size(), 6u);
  ASSERT_EQ(s.per_layer.size(), 2u);
  EXPECT_EQ(s.per_layer[1].name, "layer 1");
  EXPECT_EQ(s.per_layer[0].count, 96);
  const auto& m = s.per_matrix[0];
  EXPECT_DOUBLE_EQ(m.mean, (24 * 2.0 - 8 * 2.0) / 32);  // 1.0
  EXPECT_NEAR(m.std, std::sqrt(4.0 - 1.0), 1e-12);
  EXPECT_EQ(m.min, -2.0);
  EXPECT_EQ(m.max, 2.0);
  EXPECT_DOUBLE_EQ(m.fraction_negative, 0.25);
}

TEST(ExpertMixing, OneHotReproducesEachExpertBitExactly) {
  const auto c = llama(3, 32, 48);
  const std::vector<t2::ExpertVectors> ex = {random_expert(c, 10), random_expert(c, 11),
                                             random_expert(c, 12)};
  for (std::size_t k = 0; k < 3; ++k) {
    t2::MixAlpha per_expert{t2::AlphaShape::PerExpert, {{0}, {0}, {0}}};
    per_expert.rows[k][0] = 1;
    t2::MixAlpha per_layer{t2::AlphaShape::PerLayer, {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}}};
    per_layer.rows[k] = {1, 1, 1};
    t2::MixAlpha per_matrix{t2::AlphaShape::PerMatrix,
                            std::vector<std::vector<double>>(3, std::vector<double>(9, 0.0))};
    per_matrix.rows[k].assign(9, 1.0);
    for (const auto& alpha : {per_expert, per_layer, per_matrix}) {
      const auto r = t2::mix_experts(ex, alpha);
      EXPECT_TRUE(r.warnings.empty());
      EXPECT_EQ(r.expert.metadata.parametrization, t2::Parametrization::Paper);
      for (std::size_t i = 0; i < 9; ++i)
        ASSERT_TRUE(same_bits(r.expert.matrices[i].values, ex[k].matrices[i].values));
    }
  }
}

TEST(ExpertMixing, PerLayerWeightsCombineLinearly) {
  const auto c = llama(2, 32, 48);
  const std::vector<t2::ExpertVectors> ex = {random_expert(c, 20), random_expert(c, 21)};
  const t2::MixAlpha alpha{t2::AlphaShape::PerLayer, {{0.25, 1.0}, {0.75, 0.5}}};
  const auto r = t2::mix_experts(ex, alpha);
  const double a0[] = {0.25, 1.0}, a1[] = {0.75, 0.5};
  for (std::size_t i = 0; i < 6; ++i) {
    const auto layer = static_cast<std::size_t>(ex[0].matrices[i].layer);
    for (std::size_t j = 0; j < 32; ++j)
      ASSERT_NEAR(r.expert.matrices[i].values[j],
                  a0[layer] * ex[0].matrices[i].values[j] + a1[layer] * ex[1].matrices[i].values[j],
                  1e-6);
  }
}

TEST(ExpertMixing, ValidatesAlphaShapesAndCompatibility) {
  const auto c = llama(2, 32, 48);
  const std::vector<t2::ExpertVectors> ex = {random_expert(c, 30), random_expert(c, 31)};
  t2::ErrorKind kind{};
  auto msg = message_of(
      [&] {
        t2::mix_experts(ex, {t2::AlphaShape::PerLayer, {{1, 0, 0}, {0, 1, 0}}});
      },
      &kind);
  EXPECT_EQ(kind, t2::ErrorKind::InvalidArgument);
  EXPECT_NE(msg.find("expected 2"), std::string::npos) << msg;
  msg = message_of([&] { t2::mix_experts(ex, {t2::AlphaShape::PerMatrix, {{1}, {0}}}); });
  EXPECT_NE(msg.find("expected 6"), std::string::npos) << msg;
  msg = message_of([&] { t2::mix_experts(ex, {t2::AlphaShape::PerExpert, {{1}}}); });
  EXPECT_NE(msg.find("one per expert (2)"), std::string::npos) << msg;
  msg = message_of([&] { t2::mix_experts(ex, {t2::AlphaShape::PerExpert, {{NAN}, {1}}}); });
  EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
  const std::vector<t2::ExpertVectors> sets = {
      random_expert(c, 1), random_expert(c, 2, t2::Parametrization::Paper, "attn")};
  msg = message_of([&] { t2::mix_experts(sets, {t2::AlphaShape::PerExpert, {{1}, {1}}}); });
  EXPECT_NE(msg.find("different target sets"), std::string::npos) << msg;
  const std::vector<t2::ExpertVectors> kinds = {
      random_expert(c, 1), random_expert(c, 2, t2::Parametrization::SakanaCompat)};
  msg = message_of([&] { t2::mix_experts(kinds, {t2::AlphaShape::PerExpert, {{1}, {1}}}); });
  EXPECT_NE(msg.find("sakana-compat"), std::string::npos) << msg;
}

TEST(ExpertMixing, SakanaMixesRawPAndZeroColumnsFallBackToBase) {
  const auto c = llama(2, 32, 48);
  const std::vector<t2::ExpertVectors> ex = {
      random_expert(c, 40, t2::Parametrization::SakanaCompat),
      random_expert(c, 41, t2::Parametrization::SakanaCompat)};
  const auto r = t2::mix_experts(ex, {t2::AlphaShape::PerLayer, {{0.5, 0.0}, {0.25, 0.0}}});
  EXPECT_EQ(r.expert.metadata.parametrization, t2::Parametrization::SakanaMixed);
  // Layer 0: raw p mixed, no sigmoid.
  EXPECT_NEAR(r.expert.matrices[0].values[3],
              0.5 * ex[0].matrices[0].values[3] + 0.25 * ex[1].matrices[0].values[3], 1e-6);
  // Layer 1: all-zero column -> identity (m = 1) with a warning naming the layer.
  for (std::size_t i = 3; i < 6; ++i)
    for (float v : r.expert.matrices[i].values) ASSERT_EQ(v, 1.0f);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("layer 1"), std::string::npos) << r.warnings[0];
}

TEST(ExpertMixing, SakanaFuzzNeverProducesNaN) {
  const auto c = llama(2, 32, 48);
  const std::vector<t2::ExpertVectors> ex = {
      random_expert(c, 50, t2::Parametrization::SakanaCompat),
      random_expert(c, 51, t2::Parametrization::SakanaCompat),
      random_expert(c, 52, t2::Parametrization::SakanaCompat)};
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> sigma(32);
  for (std::size_t j = 0; j < 32; ++j) sigma[j] = 10.0f / static_cast<float>(j + 1);
  int zero_columns = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const auto shape = static_cast<t2::AlphaShape>(trial % 3);
    const std::size_t cols = shape == t2::AlphaShape::PerExpert  ? 1
                             : shape == t2::AlphaShape::PerLayer ? 2
                                                                 : 6;
    t2::MixAlpha alpha{shape, std::vector<std::vector<double>>(3, std::vector<double>(cols))};
    for (auto& row : alpha.rows)
      for (auto& a : row) a = u(rng) < 0.5 ? 0.0 : u(rng);  // many zeros, as CEM's clamp gives
    const auto r = t2::mix_experts(ex, alpha);
    zero_columns += static_cast<int>(r.warnings.size());
    for (const auto& m : r.expert.matrices)
      for (float v : t2::adapted_sigma(r.expert.metadata.parametrization, m.values, sigma))
        ASSERT_TRUE(std::isfinite(v)) << "trial " << trial << " " << m.name;
  }
  EXPECT_GT(zero_columns, 20);  // the fuzz did hit the 0/0 case
}

// ---- Import of the reference implementation's files (fixtures from make_reference_files.py).

std::string fixture(const std::string& name) { return std::string(T2_FIXTURES_DIR) + "/" + name; }

nlohmann::json golden() {
  std::ifstream in(fixture("experts/reference_golden.json"));
  return nlohmann::json::parse(in);
}

void expect_matches_reference(const t2::ExpertVectors& e) {
  const auto g = golden();
  EXPECT_EQ(e.metadata.parametrization, t2::Parametrization::SakanaCompat);
  ASSERT_EQ(e.matrices.size(), g["matrices"].size());
  for (const auto& m : e.matrices) {
    const auto& gm = g["matrices"].at(m.name);
    const auto p = gm["p"].get<std::vector<float>>();
    ASSERT_TRUE(same_bits(m.values, p)) << m.name;  // bf16 -> f32 is exact
    const auto sigma = gm["sigma"].get<std::vector<float>>();
    const auto expected = gm["sigma_prime"].get<std::vector<float>>();
    const auto got =
        t2::adapted_sigma(e.metadata.parametrization, m.values, sigma, g["max_mult"].get<double>());
    for (std::size_t j = 0; j < got.size(); ++j)
      ASSERT_NEAR(got[j], expected[j], 2e-6 * std::abs(expected[j]) + 1e-7)
          << m.name << "[" << j << "]";
  }
}

TEST(ExpertImport, PolicyParamsFileMatchesReferenceFormula) {
  const auto e =
      t2::import_reference_expert(fixture("experts/policy_params.pt"), fixture("models/llama_f32"));
  EXPECT_EQ(e.metadata.base_fingerprint, t2::model_fingerprint(fixture("models/llama_f32")));
  EXPECT_EQ(e.matrices[5].name, "model.layers.1.mlp.down_proj.weight");
  expect_matches_reference(e);
  // And survives the t2 file format.
  const auto path = out_path("imported.safetensors");
  t2::write_expert(path, e);
  expect_matches_reference(t2::load_expert_for_model(path, fixture("models/llama_f32")));
}

TEST(ExpertImport, OlderDictByParameterNameMatchesReferenceFormula) {
  expect_matches_reference(t2::import_reference_expert(fixture("experts/params_by_name.pt"),
                                                       fixture("models/llama_f32")));
}

TEST(ExpertImport, WrongModelAndDamagedFilesGiveErrors) {
  // A model whose MLP ranks are 16, not 32: the error names the key.
  const std::string dir = out_path("model_h16");
  fs::create_directories(dir);
  auto cfg = nlohmann::json::parse(std::ifstream(fixture("models/llama_f32/config.json")));
  cfg["hidden_size"] = 16;
  std::ofstream(dir + "/config.json") << cfg.dump();
  t2::ErrorKind kind{};
  auto msg = message_of(
      [&] { t2::import_reference_expert(fixture("experts/policy_params.pt"), dir); }, &kind);
  EXPECT_EQ(kind, t2::ErrorKind::InvalidArgument);
  EXPECT_NE(msg.find("learnable_params_module_list.0"), std::string::npos) << msg;
  // Truncated and garbled archives fail cleanly.
  std::ifstream in(fixture("experts/policy_params.pt"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t cut : {bytes.size() / 2, bytes.size() - 30, std::size_t{100}}) {
    const auto path = out_path("cut.pt");
    std::ofstream(path, std::ios::binary) << bytes.substr(0, cut);
    EXPECT_THROW(t2::import_reference_expert(path, fixture("models/llama_f32")), t2::Error);
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 100;
       ++trial) {  // flip bytes anywhere: an Error or a result, no crash
    std::string damaged = bytes;
    for (int k = 0; k < 4; ++k) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    const auto path = out_path("damaged.pt");
    std::ofstream(path, std::ios::binary) << damaged;
    try {
      t2::import_reference_expert(path, fixture("models/llama_f32"));
    } catch (const t2::Error&) {
    }
  }
}

TEST(ExpertFingerprint, ExpertsRecordTheProjectFingerprint) {
  const auto e =
      t2::import_reference_expert(fixture("experts/policy_params.pt"), fixture("models/llama_f32"));
  EXPECT_EQ(e.metadata.base_fingerprint.rfind("sha256:", 0), 0u);
  // The same weights under an edited config.json are another model: loading needs transfer.
  const std::string dir = out_path("fp_model");
  fs::create_directories(dir);
  fs::copy_file(fixture("models/llama_f32/model.safetensors"), dir + "/model.safetensors",
                fs::copy_options::overwrite_existing);
  fs::copy_file(fixture("models/llama_f32/config.json"), dir + "/config.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/config.json", std::ios::app) << "\n";
  const auto path = out_path("fp_expert.safetensors");
  t2::write_expert(path, e);
  EXPECT_THROW(t2::load_expert_for_model(path, dir), t2::Error);
  t2::ExpertLoadOptions allow;
  allow.allow_transfer = true;
  t2::TransferReport report;
  const auto moved = t2::load_expert_for_model(path, dir, allow, &report);
  EXPECT_TRUE(report.transferred);
  EXPECT_EQ(moved.metadata.base_fingerprint, t2::model_fingerprint(dir));
  EXPECT_TRUE(same_bits(moved.matrices[0].values, e.matrices[0].values));  // same shapes
}

}  // namespace

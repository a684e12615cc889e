// Batched generation: the skinny GEMM kernel against a float64 product, continuous batching
// (each sequence gets exactly its solo output while rows finish at different steps and waiting
// prompts take their slots), and shared-prefix reuse (cached logits equal full recomputation;
// the kept prefix is dropped when the weights change). Fixture checkpoints of every kind
// (sliding window, GQA, biases, tied head, bf16).
#include <t2/engine.h>

#include "engine/model/decode_attention.h"
#include "engine/model/skinny_gemm.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace {

using Ids = std::vector<std::int32_t>;

std::string fixture(const std::string& name) {
  return std::string(T2_FIXTURES_DIR) + "/models/" + name;
}

const std::vector<std::string> kFixtures = {
    "llama_f32", "llama_bias_linear", "qwen2_tied", "mistral_sw", "qwen3", "llama3_bf16"};

std::shared_ptr<const t2::Model> load(const std::string& name) {
  t2::LoadParams p;
  p.dtype = name == "llama3_bf16" ? "bf16" : "f32";
  return t2::Model::load(fixture(name), p);
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// Deterministic prompts of varied lengths over the fixture's vocabulary.
std::vector<Ids> prompts(std::int64_t vocab, std::size_t count, const Ids& head = {}) {
  std::vector<Ids> out;
  for (std::size_t i = 0; i < count; ++i) {
    Ids p = head;
    const std::size_t len = 1 + (i * 5) % 9;
    for (std::size_t j = 0; j < len; ++j)
      p.push_back(static_cast<std::int32_t>(4 + (i * 31 + j * 17 + 7) % (vocab - 4)));
    out.push_back(p);
  }
  return out;
}

TEST(SkinnyGemm, MatchesFloat64ProductForEveryShapeClass) {
  if (!t2::engine::skinny_gemm_supported()) GTEST_SKIP() << "this CPU lacks AVX2/FMA";
  c10::InferenceMode guard;
  at::manual_seed(3);
  for (std::int64_t k : {1, 7, 8, 33, 600})
    for (std::int64_t n : {1, 3, 5, 64, 131})
      for (std::int64_t m :
           {std::int64_t{2}, std::int64_t{5}, std::int64_t{8}, t2::engine::kSkinnyMaxRows}) {
        SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                     std::to_string(k));
        const at::Tensor w = at::randn({n, k}), x = at::randn({m, k});
        const at::Tensor b = at::randn({n}), r = at::randn({m, n});
        const at::Tensor b_before = b.clone(), r_before = r.clone();
        const at::Tensor ref = (at::mm(x.to(at::kDouble), w.t().to(at::kDouble)) +
                                b.to(at::kDouble) + r.to(at::kDouble));
        const at::Tensor y = t2::engine::skinny_linear(x, w.t(), b, r);
        ASSERT_TRUE(y.defined());
        const double scale = ref.abs().max().item<double>();
        EXPECT_LE((y.to(at::kDouble) - ref).abs().max().item<double>(), 1e-5 * scale);
        // The output is fresh: bias and residual are untouched (it once aliased the bias).
        EXPECT_TRUE(at::equal(b, b_before));
        EXPECT_TRUE(at::equal(r, r_before));
        const at::Tensor plain = t2::engine::skinny_linear(x, w.t(), at::Tensor(), at::Tensor());
        EXPECT_LE((plain.to(at::kDouble) - at::mm(x.to(at::kDouble), w.t().to(at::kDouble)))
                      .abs()
                      .max()
                      .item<double>(),
                  1e-5 * scale);
      }
}

TEST(SkinnyGemm, RawKernelTakesAnyRowCountAndStrides) {
  if (!t2::engine::skinny_gemm_supported()) GTEST_SKIP() << "this CPU lacks AVX2/FMA";
  at::manual_seed(4);
  const std::int64_t m = 70, n = 37, k = 1030;  // K spans three blocks, the last one partial
  const at::Tensor x = at::randn({m, k + 3}), w = at::randn({n, k + 5});
  at::Tensor y = at::randn({m, n + 2});
  const at::Tensor expected =
      y.to(at::kDouble).narrow(1, 0, n) +
      at::mm(x.narrow(1, 0, k).to(at::kDouble), w.narrow(1, 0, k).to(at::kDouble).t());
  const at::Tensor untouched = y.narrow(1, n, 2).clone();
  t2::engine::skinny_sgemm_accumulate(m, n, k, x.data_ptr<float>(), k + 3, w.data_ptr<float>(),
                                      k + 5, y.data_ptr<float>(), n + 2);
  EXPECT_LE((y.narrow(1, 0, n).to(at::kDouble) - expected).abs().max().item<double>(),
            1e-5 * expected.abs().max().item<double>());
  EXPECT_TRUE(at::equal(y.narrow(1, n, 2), untouched)) << "columns past n are left alone";
}

TEST(SkinnyGemm, DeclinesWhatItDoesNotHandle) {
  if (!t2::engine::skinny_gemm_supported()) GTEST_SKIP() << "this CPU lacks AVX2/FMA";
  const at::Tensor w = at::randn({16, 8}), x = at::randn({4, 8});
  const at::Tensor tall = at::randn({t2::engine::kSkinnyMaxRows + 1, 8});
  EXPECT_FALSE(t2::engine::skinny_linear(tall, w.t(), {}, {}).defined());  // BLAS is faster
  EXPECT_FALSE(t2::engine::skinny_linear(at::randn({1, 8}), w.t(), {}, {}).defined());  // gemv
  EXPECT_TRUE(t2::engine::skinny_linear(tall, w.t(), {}, {}, 64).defined());
  EXPECT_FALSE(t2::engine::skinny_linear(x, w.t().contiguous(), {}, {}).defined());  // layout
  EXPECT_FALSE(
      t2::engine::skinny_linear(x.to(at::kBFloat16), w.t().to(at::kBFloat16), {}, {}).defined());
  // A gradient is needed: left to at::mm, whose autograd works.
  const at::Tensor xg = at::randn({4, 8}).set_requires_grad(true);
  EXPECT_FALSE(t2::engine::skinny_linear(xg, w.t(), {}, {}).defined());
  t2::engine::set_skinny_gemm_enabled(false);
  EXPECT_FALSE(t2::engine::skinny_linear(x, w.t(), {}, {}).defined());
  t2::engine::set_skinny_gemm_enabled(true);
  EXPECT_TRUE(t2::engine::skinny_linear(x, w.t(), {}, {}).defined());
}

// Greedy, EOS-free decoding where stop sequences make rows end at different steps.
t2::GenerateParams greedy(int max_new) {
  t2::GenerateParams p;
  p.max_new_tokens = max_new;
  p.ignore_eos = true;
  return p;
}

TEST(ContinuousBatching, EverySequenceGetsItsSoloOutput) {
  for (const auto& name : kFixtures) {
    SCOPED_TRACE(name);
    t2::Session session(load(name));
    const auto vocab = session.model().config().vocab_size;
    const auto ps = prompts(vocab, 7);
    auto p = greedy(10);
    p.reuse_prefix = false;
    std::vector<t2::GeneratedSequence> solo;
    for (const auto& prompt : ps) solo.push_back(session.generate({prompt}, p).sequences.at(0));
    // Stop each row on the 3rd token of some solo outputs, so rows finish at different steps.
    for (std::size_t i = 0; i < solo.size(); i += 2)
      p.stop_sequences.push_back({solo[i].tokens.at(2 + i % 5)});
    solo.clear();
    for (const auto& prompt : ps) solo.push_back(session.generate({prompt}, p).sequences.at(0));
    std::set<std::size_t> lengths;
    for (const auto& s : solo) lengths.insert(s.tokens.size());
    ASSERT_GE(lengths.size(), 2u) << "the rows should finish at different steps";
    for (int rows : {1, 2, 3, 0}) {
      SCOPED_TRACE("max_batch " + std::to_string(rows));
      p.max_batch = rows;
      std::vector<std::size_t> finished_order;
      p.on_finished = [&](std::size_t i, const t2::GeneratedSequence&) {
        finished_order.push_back(i);
      };
      const auto batched = session.generate(ps, p);
      ASSERT_EQ(batched.sequences.size(), ps.size());
      for (std::size_t i = 0; i < ps.size(); ++i) {
        EXPECT_EQ(batched.sequences[i].tokens, solo[i].tokens) << "prompt " << i;
        EXPECT_EQ(batched.sequences[i].finish_reason, solo[i].finish_reason) << "prompt " << i;
      }
      EXPECT_EQ(finished_order.size(), ps.size());
      p.on_finished = nullptr;
    }
  }
}

TEST(ContinuousBatching, LongAnswersForceCompactionAndStayExact) {
  // Two rows, eight prompts, 40 new tokens each: the time axis fills and is shifted many times.
  t2::Session session(load("mistral_sw"));  // sliding window: positions must survive the gaps
  const auto ps = prompts(session.model().config().vocab_size, 8);
  auto p = greedy(40);
  p.reuse_prefix = false;
  p.max_batch = 2;
  const auto batched = session.generate(ps, p);
  p.max_batch = 0;
  for (std::size_t i = 0; i < ps.size(); ++i)
    EXPECT_EQ(batched.sequences[i].tokens, session.generate({ps[i]}, p).sequences[0].tokens)
        << "prompt " << i;
}

TEST(ContinuousBatching, StepLogitsNeedOneBatch) {
  t2::Session session(load("llama_f32"));
  auto p = greedy(2);
  p.collect_step_logits = true;
  p.max_batch = 1;
  EXPECT_THROW(session.generate({{1, 2}, {3, 4}}, p), t2::Error);
  p.max_batch = -1;
  p.collect_step_logits = false;
  EXPECT_THROW(session.generate({{1, 2}}, p), t2::Error);
}

// A common prompt head of n ids from `low` up, stepping by `step` through the vocabulary.
Ids common_head(std::int64_t vocab, int n, int low, int step) {
  Ids head;
  for (int j = 0; j < n; ++j)
    head.push_back(static_cast<std::int32_t>(low + (j * step) % (vocab - low)));
  return head;
}

TEST(SharedPrefix, CachedLogitsEqualFullRecomputation) {
  for (const auto& name : kFixtures) {
    SCOPED_TRACE(name);
    t2::Session session(load(name));
    const auto vocab = session.model().config().vocab_size;
    const Ids head = common_head(vocab, 14, 5, 13);
    const auto ps = prompts(vocab, 4, head);
    auto p = greedy(6);
    p.collect_step_logits = true;
    p.reuse_prefix = false;
    const auto full = session.generate(ps, p);
    EXPECT_EQ(full.reused_prompt_tokens, 0);
    p.reuse_prefix = true;
    const auto cached = session.generate(ps, p);
    EXPECT_EQ(cached.reused_prompt_tokens, static_cast<std::int64_t>(4 * head.size()));
    EXPECT_EQ(session.prefix_tokens(), head.size());
    const double tol = name == "llama3_bf16" ? 2e-2 : 1e-5;
    ASSERT_EQ(cached.step_logits.size(), full.step_logits.size());
    for (std::size_t s = 0; s < full.step_logits.size(); ++s)
      for (std::int64_t r = 0; r < 4; ++r)
        EXPECT_LE(max_rel_diff(cached.step_logits[s].row(r), full.step_logits[s].row(r)), tol)
            << "step " << s << " row " << r;
    for (std::size_t i = 0; i < ps.size(); ++i)
      EXPECT_EQ(cached.sequences[i].tokens, full.sequences[i].tokens) << "prompt " << i;
  }
}

// Continuous batching over prompts with a common head: the batch cache holds the head once
// (float32 CPU, decode_attention reads it for every row) or a copy per row (bf16, or the
// kernel switched off); either way each sequence is its solo output without the prefix cache.
TEST(SharedPrefix, ContinuousBatchesGiveSoloOutputs) {
  for (const auto& name : kFixtures) {
    SCOPED_TRACE(name);
    t2::Session session(load(name));
    const auto vocab = session.model().config().vocab_size;
    const Ids head = common_head(vocab, 11, 6, 7);
    const auto ps = prompts(vocab, 5, head);
    auto solo_params = greedy(9);
    solo_params.reuse_prefix = false;
    std::vector<Ids> solo;
    for (const auto& p : ps) solo.push_back(session.generate({p}, solo_params).sequences[0].tokens);
    for (const bool kernel : {true, false}) {
      SCOPED_TRACE(kernel ? "decode attention on" : "decode attention off");
      t2::engine::set_decode_attention_enabled(kernel);
      session.clear_prefix();
      auto p = greedy(9);
      p.max_batch = 2;
      p.stop_sequences = {{ps[1].back()}, {ps[3].back()}};  // some rows end early
      const auto got = session.generate(ps, p);
      EXPECT_EQ(got.reused_prompt_tokens, static_cast<std::int64_t>(5 * head.size()));
      for (std::size_t i = 0; i < ps.size(); ++i) {
        Ids want = solo[i];
        for (std::size_t t = 0; t < want.size(); ++t)
          if (want[t] == ps[1].back() || want[t] == ps[3].back()) {
            want.resize(t + 1);
            break;
          }
        EXPECT_EQ(got.sequences[i].tokens, want) << "prompt " << i;
      }
    }
    t2::engine::set_decode_attention_enabled(true);
  }
}

TEST(SharedPrefix, IdenticalPromptsAndChatHistoryReuseWork) {
  t2::Session session(load("qwen2_tied"));
  auto p = greedy(5);
  const Ids prompt = {1, 9, 17, 25, 33, 41, 49, 57, 65, 73, 81};
  // k identical prompts (sampled rollouts): encoded once, all tokens of the copies reused.
  const auto four = session.generate({prompt, prompt, prompt, prompt}, p);
  EXPECT_EQ(four.reused_prompt_tokens, static_cast<std::int64_t>(10 + 3 * 11));
  for (const auto& s : four.sequences) EXPECT_EQ(s.tokens, four.sequences[0].tokens);
  // A chat's next turn starts with the previous prompt: the kept prefix grows with it.
  Ids turn2 = prompt;
  turn2.insert(turn2.end(), four.sequences[0].tokens.begin(), four.sequences[0].tokens.end());
  turn2.push_back(3);
  const auto next = session.generate({turn2}, p);
  EXPECT_EQ(session.prefix_tokens(), turn2.size() - 1);
  p.reuse_prefix = false;
  EXPECT_EQ(session.generate({turn2}, p).sequences[0].tokens, next.sequences[0].tokens);
}

TEST(SharedPrefix, DroppedWhenTheWeightsChange) {
  t2::Session session(load("llama_f32"));
  const Ids prompt = {1, 9, 17, 25, 33, 41, 49, 57, 65, 73, 81, 89};
  session.encode_prefix(Ids(prompt.begin(), prompt.end() - 1));
  EXPECT_EQ(session.prefix_tokens(), prompt.size() - 1);
  const auto& c = session.model().config();
  std::vector<float> scaled(static_cast<std::size_t>(c.intermediate_size * c.hidden_size), 0.05f);
  session.set_weight_override("model.layers.0.mlp.down_proj.weight", scaled,
                              {c.hidden_size, c.intermediate_size});
  EXPECT_EQ(session.prefix_tokens(), 0u) << "a prefix encoded with other weights is stale";
  auto p = greedy(6);
  const auto with = session.generate({prompt}, p);
  p.reuse_prefix = false;
  EXPECT_EQ(with.sequences[0].tokens, session.generate({prompt}, p).sequences[0].tokens);
  session.clear_prefix();
  EXPECT_EQ(session.prefix_tokens(), 0u);
  EXPECT_THROW(session.encode_prefix({}), t2::Error);
  EXPECT_THROW(session.encode_prefix({static_cast<std::int32_t>(c.vocab_size)}), t2::Error);
}

}  // namespace

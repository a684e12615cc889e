// decode_attention (one query per row against the KV cache) against attention written out with
// plain ATen ops: GQA, padding gaps, a sliding window, a row with no key, strided cache views.
#include <gtest/gtest.h>

#include "engine/model/decode_attention.h"

#include <ATen/ATen.h>

#include <cmath>

namespace {

// softmax(q k^T * scale over the allowed keys) v, per row and query head, in float64.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     std::int64_t length, const at::Tensor& valid, const at::Tensor& kpos,
                     const at::Tensor& qpos, std::int64_t window, double scale) {
  const auto b = q.size(0), h = q.size(1), d = q.size(2), g = h / k.size(1);
  at::Tensor out = at::zeros({b, h, d}, at::kDouble);
  for (std::int64_t r = 0; r < b; ++r)
    for (std::int64_t hh = 0; hh < h; ++hh) {
      at::Tensor allowed = valid[r].narrow(0, 0, length).clone();
      if (window > 0)
        allowed = allowed.logical_and(kpos[r].narrow(0, 0, length).gt(qpos[r] - window));
      if (!allowed.any().item<bool>()) continue;
      const at::Tensor keys = k[r][hh / g].narrow(0, 0, length).to(at::kDouble);
      const at::Tensor vals = v[r][hh / g].narrow(0, 0, length).to(at::kDouble);
      at::Tensor s = at::mv(keys, q[r][hh].to(at::kDouble)) * scale;
      s = s.masked_fill(allowed.logical_not(), -INFINITY);
      out[r][hh] = at::mv(vals.t(), at::softmax(s, 0));
    }
  return out;
}

TEST(DecodeAttention, MatchesPlainAttentionWithGqaGapsAndWindow) {
  at::manual_seed(3);
  const std::int64_t b = 5, kv = 2, g = 3, d = 16, capacity = 40, length = 33;
  const at::Tensor q = at::randn({b, kv * g, d});
  // A cache with spare columns, as generation allocates it.
  const at::Tensor k = at::randn({b, kv, capacity, d});
  const at::Tensor v = at::randn({b, kv, capacity, d});
  at::Tensor valid = at::rand({b, capacity}).gt(0.3);
  valid[1].fill_(false);                   // a free row: no key at all
  valid[2].fill_(true);                    // a row without gaps
  valid[3].narrow(0, 0, 20).fill_(false);  // a late entrant, right-aligned
  at::Tensor kpos = at::arange(capacity, at::kLong).repeat({b, 1});
  kpos[3] = kpos[3] - 20;  // its positions start at its first column
  const at::Tensor qpos = at::full({b}, length - 1, at::kLong);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (const std::int64_t window : {0, 8}) {
    const at::Tensor got =
        t2::engine::decode_attention(q, k, v, length, valid, kpos, qpos, window, scale);
    ASSERT_TRUE(got.defined());
    const at::Tensor want = reference(q, k, v, length, valid, kpos, qpos, window, scale);
    EXPECT_TRUE(at::allclose(got.to(at::kDouble), want, 1e-5, 1e-6)) << "window " << window;
    EXPECT_EQ(got[1].abs().sum().item<float>(), 0.0f);  // no key: zeros, not NaN
  }
  // Each row's result does not depend on the rows around it.
  const at::Tensor alone = t2::engine::decode_attention(
      q.narrow(0, 3, 1), k.narrow(0, 3, 1), v.narrow(0, 3, 1), length, valid.narrow(0, 3, 1),
      kpos.narrow(0, 3, 1), qpos.narrow(0, 3, 1), 8, scale);
  const at::Tensor together =
      t2::engine::decode_attention(q, k, v, length, valid, kpos, qpos, 8, scale);
  EXPECT_TRUE(at::equal(alone[0], together[3]));
}

// A prefix every row shares, passed once, gives what each row holding a copy of it in front of
// its own columns gives (the same sums in the same order: equal, not merely close).
TEST(DecodeAttention, SharedPrefixEqualsACopyInEveryRow) {
  at::manual_seed(5);
  const std::int64_t b = 3, kv = 2, g = 2, d = 8, p = 6, own = 5;
  const at::Tensor q = at::randn({b, kv * g, d});
  const at::Tensor sk = at::randn({1, kv, p, d}), sv = at::randn({1, kv, p, d});
  const at::Tensor k_own = at::randn({b, kv, own, d}), v_own = at::randn({b, kv, own, d});
  at::Tensor valid_own = at::ones({b, own}, at::kBool);
  valid_own[2].narrow(0, 0, 2).fill_(false);  // a gap in one row
  const at::Tensor pos_own = (at::arange(own, at::kLong) + p).repeat({b, 1});
  const at::Tensor qpos = at::full({b}, p + own - 1, at::kLong);
  // The same keys with the prefix copied in front of every row.
  const at::Tensor k_all = at::cat({sk.expand({b, kv, p, d}), k_own}, 2).contiguous();
  const at::Tensor v_all = at::cat({sv.expand({b, kv, p, d}), v_own}, 2).contiguous();
  const at::Tensor valid_all = at::cat({at::ones({b, p}, at::kBool), valid_own}, 1);
  const at::Tensor pos_all = at::arange(p + own, at::kLong).repeat({b, 1});
  for (const std::int64_t window : {0, 7}) {
    const at::Tensor shared = t2::engine::decode_attention(q, k_own, v_own, own, valid_own, pos_own,
                                                           qpos, window, 0.3, sk, sv, p);
    const at::Tensor copied = t2::engine::decode_attention(q, k_all, v_all, p + own, valid_all,
                                                           pos_all, qpos, window, 0.3);
    ASSERT_TRUE(shared.defined() && copied.defined());
    EXPECT_TRUE(at::equal(shared, copied)) << "window " << window;
    const at::Tensor want =
        reference(q, k_all, v_all, p + own, valid_all, pos_all, qpos, window, 0.3);
    EXPECT_TRUE(at::allclose(shared.to(at::kDouble), want, 1e-5, 1e-6)) << "window " << window;
  }
}

TEST(DecodeAttention, DeclinesWhatItCannotDo) {
  const at::Tensor q = at::randn({2, 2, 8}), k = at::randn({2, 1, 4, 8}),
                   v = at::randn({2, 1, 4, 8});
  const at::Tensor valid = at::ones({2, 4}, at::kBool), pos = at::arange(4).repeat({2, 1});
  const at::Tensor qpos = at::full({2}, 3, at::kLong);
  EXPECT_TRUE(t2::engine::decode_attention(q, k, v, 4, valid, pos, qpos, 0, 1.0).defined());
  // bf16, a gradient to keep, and a cache without contiguous rows go to ATen's path.
  EXPECT_FALSE(t2::engine::decode_attention(q.to(at::kBFloat16), k.to(at::kBFloat16),
                                            v.to(at::kBFloat16), 4, valid, pos, qpos, 0, 1.0)
                   .defined());
  const at::Tensor qg = q.clone().set_requires_grad(true);
  EXPECT_FALSE(t2::engine::decode_attention(qg, k, v, 4, valid, pos, qpos, 0, 1.0).defined());
  const at::Tensor kt = at::randn({2, 1, 8, 4}).transpose(2, 3);
  EXPECT_FALSE(t2::engine::decode_attention(q, kt, v, 4, valid, pos, qpos, 0, 1.0).defined());
  // More columns than the cache holds; validity of another batch size.
  EXPECT_FALSE(t2::engine::decode_attention(q, k, v, 5, valid, pos, qpos, 0, 1.0).defined());
  EXPECT_FALSE(
      t2::engine::decode_attention(q, k, v, 4, valid.narrow(0, 0, 1), pos, qpos, 0, 1.0).defined());
}

}  // namespace

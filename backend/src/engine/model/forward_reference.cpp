// The reference forward path: HF's eager modeling code transcribed op for op (repeat_kv copies,
// per-name tensors, separate q/k/v and gate/up projections, full recomputation). Kept simple
// on purpose; the fast path is tested against it.
#include "forward.h"
#include "rope.h"

#include <t2/error.h>

#include <limits>

namespace t2::engine {
namespace detail_reference {

at::Tensor need(const WeightLookup& lookup, const std::string& name) {
  at::Tensor t = lookup(name);
  if (!t.defined()) throw Error(ErrorKind::Corrupt, "missing tensor '" + name + "'");
  return t;
}

at::Tensor linear(const WeightLookup& lookup, std::int64_t layer, const std::string& part,
                  bool bias, const at::Tensor& x) {
  const at::Tensor w = need(lookup, TensorNames::layer(layer, part, "weight"));
  const at::Tensor b = bias ? need(lookup, TensorNames::layer(layer, part, "bias")) : at::Tensor();
  return at::linear(x, w, b);
}

// HF LlamaRMSNorm.forward, op for op.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (xf * at::rsqrt(variance + eps)).to(x.scalar_type());
}

// [B, KV, S, D] -> [B, KV * n_rep, S, D], head h reading kv head h / n_rep.
at::Tensor repeat_kv(const at::Tensor& x, std::int64_t n_rep) {
  if (n_rep == 1) return x;
  const auto b = x.size(0), kv = x.size(1), s = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n_rep, s, d}).reshape({b, kv * n_rep, s, d});
}

at::Tensor causal_mask(const at::Tensor& mask, std::int64_t window, at::ScalarType dtype) {
  const auto s = mask.size(1);
  const at::Tensor qi = at::arange(s, mask.options()).unsqueeze(1);
  const at::Tensor ki = at::arange(s, mask.options()).unsqueeze(0);
  at::Tensor allowed = ki.le(qi).unsqueeze(0).logical_and(mask.eq(1).unsqueeze(1));
  if (window > 0) allowed = allowed.logical_and(ki.gt(qi - window).unsqueeze(0));
  const double lowest =
      dtype == at::kBFloat16 ? -3.3895313892515355e38 : std::numeric_limits<float>::lowest();
  return at::zeros(allowed.sizes(), mask.options().dtype(dtype))
      .masked_fill(allowed.logical_not(), lowest)
      .unsqueeze(1);  // [B, 1, S, S]
}

}  // namespace detail_reference

namespace dr = detail_reference;

at::Tensor forward_reference(const ModelConfig& c, const WeightLookup& lookup,
                             const at::Tensor& ids, const at::Tensor& mask,
                             const at::Tensor& inv_freq) {
  const auto b = ids.size(0), s = ids.size(1);
  const auto h = c.num_attention_heads, kv = c.num_key_value_heads, d = c.head_dim;
  const double eps = c.rms_norm_eps;
  const at::Tensor embed = dr::need(lookup, "model.embed_tokens.weight");
  const auto dtype = embed.scalar_type();
  auto [cos, sin] = rope_cos_sin(inv_freq, positions_from_mask(mask), dtype);
  at::Tensor x = embed.index_select(0, ids.reshape({-1})).view({b, s, -1});
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const at::Tensor hn =
        dr::rms_norm(x, dr::need(lookup, TensorNames::layer(l, "input_layernorm", "weight")), eps);
    at::Tensor q = dr::linear(lookup, l, "q_proj", c.qkv_bias, hn).view({b, s, h, d});
    at::Tensor k = dr::linear(lookup, l, "k_proj", c.qkv_bias, hn).view({b, s, kv, d});
    at::Tensor v = dr::linear(lookup, l, "v_proj", c.qkv_bias, hn).view({b, s, kv, d});
    if (c.qk_norm) {
      q = dr::rms_norm(q, dr::need(lookup, TensorNames::layer(l, "q_norm", "weight")), eps);
      k = dr::rms_norm(k, dr::need(lookup, TensorNames::layer(l, "k_norm", "weight")), eps);
    }
    q = apply_rope(q.transpose(1, 2), cos, sin);
    k = dr::repeat_kv(apply_rope(k.transpose(1, 2), cos, sin), h / kv);
    v = dr::repeat_kv(v.transpose(1, 2), h / kv);
    at::Tensor scores =
        at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(static_cast<double>(d)));
    scores = scores + dr::causal_mask(mask, c.sliding_window[static_cast<std::size_t>(l)], dtype);
    const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(dtype);
    const at::Tensor attn = at::matmul(probs, v).transpose(1, 2).reshape({b, s, h * d});
    x = x + dr::linear(lookup, l, "o_proj", c.o_bias, attn);
    const at::Tensor hp = dr::rms_norm(
        x, dr::need(lookup, TensorNames::layer(l, "post_attention_layernorm", "weight")), eps);
    const at::Tensor gate = dr::linear(lookup, l, "gate_proj", c.mlp_bias, hp);
    const at::Tensor up = dr::linear(lookup, l, "up_proj", c.mlp_bias, hp);
    x = x + dr::linear(lookup, l, "down_proj", c.mlp_bias, at::silu(gate) * up);
  }
  x = dr::rms_norm(x, dr::need(lookup, "model.norm.weight"), eps);
  const at::Tensor head = c.tie_word_embeddings ? embed : dr::need(lookup, "lm_head.weight");
  return at::linear(x, head).to(at::kFloat);
}

}  // namespace t2::engine

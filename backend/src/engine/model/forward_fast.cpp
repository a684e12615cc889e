// The fast forward path: fused projections, KV cache, GQA by grouping queries (no repeat_kv
// copies), masks built once per call and shared by the layers with the same window.
#include "decode_attention.h"
#include "forward.h"
#include "rope.h"
#include "skinny_gemm.h"

#include <t2/error.h>

#include <array>
#include <limits>
#include <map>

namespace t2::engine {
at::Tensor linear(const at::Tensor& x, const at::Tensor& wt, const at::Tensor& b) {
  auto shape = x.sizes().vec();
  shape.back() = wt.size(1);
  const at::Tensor x2 = x.reshape({-1, x.size(-1)});
  const at::Tensor skinny = skinny_linear(x2, wt, b, at::Tensor());  // 2..12 rows, float32
  if (skinny.defined()) return skinny.view(shape);
  // CPU bf16 gemv accumulates in bf16 (measured 2.5 % off); gemm accumulates in float32.
  if (x.numel() == x.size(-1) && x.scalar_type() == at::kFloat) {
    const at::Tensor v = x.reshape({-1});
    return (b.defined() ? at::addmv(b, wt.t(), v) : at::mv(wt.t(), v)).view(shape);
  }
  return (b.defined() ? at::addmm(b, x2, wt) : at::mm(x2, wt)).view(shape);
}

at::Tensor decode_layout(const at::Tensor& w) { return w.contiguous().t(); }

at::Tensor linear_residual(const at::Tensor& residual, const at::Tensor& x, const at::Tensor& wt,
                           const at::Tensor& b) {
  // Below float32 the fused form would round once where HF rounds the projection, then the sum.
  if (x.scalar_type() != at::kFloat) return residual + linear(x, wt, b);
  const at::Tensor skinny =
      skinny_linear(x.reshape({-1, x.size(-1)}), wt, b, residual.reshape({-1, wt.size(1)}));
  if (skinny.defined()) return skinny.view(residual.sizes());
  at::Tensor y =
      x.numel() == x.size(-1)
          ? at::addmv(residual.reshape({-1}), wt.t(), x.reshape({-1}))
          : at::addmm(residual.reshape({-1, wt.size(1)}), x.reshape({-1, x.size(-1)}), wt);
  if (b.defined()) y = y + b;
  return y.view(residual.sizes());
}

namespace detail_fast {

// Additive float32 mask [B, 1, 1, T, L] (0 allowed, lowest float forbidden), or undefined when
// nothing needs masking (decode of one token without padding inside the window). Causality is
// by cache column (a row's tokens are stored in order); the sliding window is by rotary
// position (key_pos [B, L], q_pos [B, T]), which is the column distance in a row without gaps
// and stays right where continuous batching leaves gaps.
at::Tensor attention_mask(const at::Tensor& key_valid, const at::Tensor& key_pos,
                          const at::Tensor& q_pos, std::int64_t past, std::int64_t t_new,
                          std::int64_t window, bool any_padding) {
  const std::int64_t length = key_valid.size(1);
  if (!any_padding && t_new == 1 && (window == 0 || length <= window)) return {};
  const auto opts = at::TensorOptions().dtype(at::kLong).device(key_valid.device());
  const at::Tensor q_index = at::arange(past, past + t_new, opts).unsqueeze(1);  // [T, 1]
  const at::Tensor k_index = at::arange(0, length, opts).unsqueeze(0);           // [1, L]
  at::Tensor allowed = k_index.le(q_index).unsqueeze(0).logical_and(key_valid.unsqueeze(1));
  if (window > 0)  // [B, T, L]
    allowed = allowed.logical_and(key_pos.unsqueeze(1).gt(q_pos.unsqueeze(2) - window));
  const at::Tensor zero = at::zeros({}, key_valid.options().dtype(at::kFloat));
  const at::Tensor lowest =
      at::full({}, std::numeric_limits<float>::lowest(), key_valid.options().dtype(at::kFloat));
  return at::where(allowed, zero, lowest).view({key_valid.size(0), 1, 1, t_new, length});
}

// q [B, H, T, D], k/v [B, KV, L, D] -> [B, H, T, D]. Query heads h = kv * G + g share kv head
// kv (HF repeat_kv), so q is regrouped as [B, KV, G*T, D] and K/V are used in place.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask, double scale) {
  const auto b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
  const auto kv = k.size(1), l = k.size(2), g = h / kv;
  const at::Tensor qg = q.reshape({b, kv, g * t, d});
  at::Tensor scores = at::matmul(qg, k.transpose(-1, -2)).mul_(scale);  // [B, KV, G*T, L]
  at::Tensor probs;
  if (mask.defined()) {
    at::Tensor s = scores.to(at::kFloat).view({b, kv, g, t, l}).add_(mask);
    probs = at::softmax(s, -1, at::kFloat).to(q.scalar_type()).view({b, kv, g * t, l});
  } else {
    probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  }
  return at::matmul(probs, v).view({b, h, t, d});
}

}  // namespace detail_fast

namespace df = detail_fast;

KvCache make_kv_cache(const Model::Impl& model, std::int64_t batch, std::int64_t capacity) {
  const auto& c = model.config;
  KvCache cache;
  const auto opts = at::TensorOptions().dtype(model.dtype).device(model.device);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    // Zeros, not empty: masked columns (padding, continuous batching's gaps) are multiplied by a
    // probability of exactly 0, which only gives 0 for finite values.
    cache.k.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
    cache.v.push_back(at::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
  }
  cache.key_valid = at::zeros({batch, capacity}, opts.dtype(at::kBool));
  cache.key_pos = at::zeros({batch, capacity}, opts.dtype(at::kLong));
  return cache;
}

namespace detail_fast {

// What every layer of one forward call shares.
struct Step {
  std::int64_t batch = 0, tokens = 0, past = 0;
  at::Tensor cos, sin_signed;                // [B, T, 1, D]
  std::map<std::int64_t, at::Tensor> masks;  // window (0 = full) -> additive mask or undefined
  // One float32 token per row against a CPU cache without gradients: decode_attention() reads
  // validity and positions itself (no masks are built).
  bool fused_decode = false;
  at::Tensor key_valid, key_pos, q_pos;  // [B, L], [B, L], [B, T]
  bool any_padding = false;
  const at::Tensor& mask(std::int64_t window) {
    auto it = masks.find(window);
    if (it == masks.end())
      it = masks
               .emplace(window, attention_mask(key_valid, key_pos, q_pos, past, tokens, window,
                                               any_padding))
               .first;
    return it->second;
  }
};

Step prepare_step(const Model::Impl& model, const ForwardInput& in, KvCache* cache) {
  Step s;
  s.batch = in.ids.size(0);
  s.tokens = in.ids.size(1);
  s.past = cache ? cache->length : 0;
  if (cache && s.past + s.tokens > cache->capacity())
    throw Error(ErrorKind::Internal, "KV cache overflow: " + std::to_string(s.past + s.tokens) +
                                         " > " + std::to_string(cache->capacity()));
  at::Tensor key_valid = in.key_valid, key_pos = in.positions;
  if (cache) {
    cache->key_valid.narrow(1, s.past, s.tokens).copy_(in.key_valid);
    cache->key_pos.narrow(1, s.past, s.tokens).copy_(in.positions);
    key_valid = cache->key_valid.narrow(1, 0, s.past + s.tokens);
    key_pos = cache->key_pos.narrow(1, 0, s.past + s.tokens);
  }
  s.any_padding = cache ? cache->padded : !key_valid.all().item<bool>();
  s.key_valid = key_valid;
  s.key_pos = key_pos;
  s.q_pos = in.positions;
  s.fused_decode = cache && s.tokens == 1 && model.dtype == at::kFloat && model.device.is_cpu() &&
                   !at::GradMode::is_enabled();
  if (cache && cache->shared_len > 0 && !s.fused_decode)
    throw Error(ErrorKind::Internal,
                "a KV cache with a shared prefix takes only one-token float32 CPU decode steps");
  if (!s.fused_decode)
    for (auto window : model.config.sliding_window) s.mask(window);
  std::tie(s.cos, s.sin_signed) = rope_tables(model.inv_freq, in.positions, model.dtype);
  return s;
}

// Projection indices in linear_parts() order.
enum Projection : std::size_t { kQ, kK, kV, kO, kGate, kUp, kDown };

// x [..., in] -> [..., out] = ((x vt) * scale) ut + b, computed in float32 (one row: two
// matrix-vector products on Vh and U's contiguous rows) and returned in x's dtype; below float32
// the bias is added after rounding, as HF does. Autograd reaches `scale` through the two thin
// products; no weight-sized tensor is formed.
at::Tensor factored_inner(const at::Tensor& x, const FactoredLinear& f) {  // [..., r] float32
  if (f.scale.dim() == 3 && (x.dim() != 3 || x.size(0) != f.scale.size(0)))
    throw Error(ErrorKind::Internal, "per-row factored scales for " +
                                         std::to_string(f.scale.size(0)) + " rows, input " +
                                         c10::str(x.sizes()));
  return linear(x.to(at::kFloat), f.vt, at::Tensor()) * f.scale;
}

at::Tensor factored_linear(const at::Tensor& x, const FactoredLinear& f, const at::Tensor& b) {
  const at::Tensor h = factored_inner(x, f);
  if (x.scalar_type() == at::kFloat) return linear(h, f.ut, b);
  const at::Tensor y = linear(h, f.ut, at::Tensor()).to(x.scalar_type());
  return b.defined() ? y + b : y;
}

// Columns [offset, offset + n) of the fused dense projection (wt, b).
at::Tensor dense_part(const at::Tensor& x, const at::Tensor& wt, const at::Tensor& b,
                      std::int64_t offset, std::int64_t n) {
  return linear(x, wt.narrow(1, offset, n), b.defined() ? b.narrow(0, offset, n) : at::Tensor());
}

// Projection `p`, occupying columns [offset, offset + n) of the fused (wt, b): factored when
// lw.factored[p] is defined, else those dense columns.
at::Tensor project_part(const at::Tensor& x, const LayerWeights& lw, const at::Tensor& wt,
                        const at::Tensor& b, std::size_t p, std::int64_t offset, std::int64_t n) {
  if (!lw.factored[p].defined()) return dense_part(x, wt, b, offset, n);
  return factored_linear(x, lw.factored[p], b.defined() ? b.narrow(0, offset, n) : at::Tensor());
}

// y + s ((drop(x) A^T) B^T) for a defined branch (y unchanged otherwise). The dropout mask comes
// from the branch's CPU generator (then moves to x's device), so masks are reproducible.
at::Tensor add_low_rank(const at::Tensor& y, const at::Tensor& x, const LowRankBranch& br) {
  if (!br.defined()) return y;
  at::Tensor in = x.to(at::kFloat);
  if (br.dropout > 0) {
    at::Tensor keep = at::empty(in.sizes(), at::TensorOptions().dtype(at::kFloat));
    keep.bernoulli_(1.0 - br.dropout, br.generator);
    in = in * keep.to(in.device()).div_(1.0 - br.dropout);
  }
  const at::Tensor delta = at::matmul(at::matmul(in, br.a.t()), br.b.t()) * br.scaling;
  return y + delta.to(y.scalar_type());
}

at::Tensor project_qkv_base(const ModelConfig& c, const LayerWeights& lw, const at::Tensor& x);

// The fused q|k|v projection, plus any low-rank branches of q, k, v.
at::Tensor project_qkv(const ModelConfig& c, const LayerWeights& lw, const at::Tensor& x) {
  const at::Tensor qkv = project_qkv_base(c, lw, x);
  if (!lw.lora[kQ].defined() && !lw.lora[kK].defined() && !lw.lora[kV].defined()) return qkv;
  const std::int64_t d = c.head_dim;
  const std::array<std::int64_t, 3> widths = {c.num_attention_heads * d, c.num_key_value_heads * d,
                                              c.num_key_value_heads * d};
  std::vector<at::Tensor> parts;
  std::int64_t offset = 0;
  for (std::size_t p = kQ; p <= kV; ++p) {
    parts.push_back(add_low_rank(qkv.narrow(-1, offset, widths[p]), x, lw.lora[p]));
    offset += widths[p];
  }
  return at::cat(parts, -1);
}

// The fused q|k|v projection; with factored parts, runs of dense parts stay one product.
at::Tensor project_qkv_base(const ModelConfig& c, const LayerWeights& lw, const at::Tensor& x) {
  const bool any =
      lw.factored[kQ].defined() || lw.factored[kK].defined() || lw.factored[kV].defined();
  if (!any) return linear(x, lw.qkv_wt, lw.qkv_b);
  const std::int64_t d = c.head_dim;
  const std::array<std::int64_t, 3> widths = {c.num_attention_heads * d, c.num_key_value_heads * d,
                                              c.num_key_value_heads * d};
  std::vector<at::Tensor> parts;
  std::int64_t offset = 0, dense_start = 0, dense_width = 0;
  for (std::size_t p = kQ; p <= kV; ++p) {
    if (!lw.factored[p].defined()) {
      if (dense_width == 0) dense_start = offset;
      dense_width += widths[p];
    } else {
      if (dense_width > 0)
        parts.push_back(dense_part(x, lw.qkv_wt, lw.qkv_b, dense_start, dense_width));
      dense_width = 0;
      parts.push_back(project_part(x, lw, lw.qkv_wt, lw.qkv_b, p, offset, widths[p]));
    }
    offset += widths[p];
  }
  if (dense_width > 0)
    parts.push_back(dense_part(x, lw.qkv_wt, lw.qkv_b, dense_start, dense_width));
  return at::cat(parts, -1);
}

at::Tensor residual_projection_base(const LayerWeights& lw, std::size_t p,
                                    const at::Tensor& residual, const at::Tensor& x,
                                    const at::Tensor& wt, const at::Tensor& b);

// residual + x W^T + b (+ the low-rank branch of `p`, when there is one).
at::Tensor residual_projection(const LayerWeights& lw, std::size_t p, const at::Tensor& residual,
                               const at::Tensor& x, const at::Tensor& wt, const at::Tensor& b) {
  return add_low_rank(residual_projection_base(lw, p, residual, x, wt, b), x, lw.lora[p]);
}

// residual + x W^T + b, through factored part `p` when it is defined.
at::Tensor residual_projection_base(const LayerWeights& lw, std::size_t p,
                                    const at::Tensor& residual, const at::Tensor& x,
                                    const at::Tensor& wt, const at::Tensor& b) {
  const FactoredLinear& f = lw.factored[p];
  if (!f.defined()) return linear_residual(residual, x, wt, b);
  if (x.scalar_type() == at::kFloat)
    return linear_residual(residual, factored_inner(x, f), f.ut, b);
  return residual + factored_linear(x, f, b);
}

// x + o_proj(attention(input_layernorm(x))), appending this layer's K/V to the cache.
at::Tensor attention_block(const ModelConfig& c, const LayerWeights& lw, std::int64_t layer,
                           const at::Tensor& x, Step& s, KvCache* cache) {
  const auto b = s.batch, t = s.tokens, h = c.num_attention_heads, kv = c.num_key_value_heads;
  const auto d = c.head_dim;
  const at::Tensor qkv = project_qkv(c, lw, rms_norm(x, lw.input_norm, c.rms_norm_eps));
  at::Tensor qk = qkv.narrow(-1, 0, (h + kv) * d).view({b, t, h + kv, d});
  if (lw.qk_norm.defined()) qk = rms_norm(qk, lw.qk_norm, c.rms_norm_eps);
  qk = apply_rope_fast(qk, s.cos, s.sin_signed);  // q and k heads together: [B, T, H + KV, D]
  const at::Tensor q = qk.narrow(2, 0, h).transpose(1, 2);
  at::Tensor k = qk.narrow(2, h, kv).transpose(1, 2);
  at::Tensor v = qkv.narrow(-1, (h + kv) * d, kv * d).view({b, t, kv, d}).transpose(1, 2);
  if (cache) {
    cache->k[layer].narrow(2, s.past, t).copy_(k);
    cache->v[layer].narrow(2, s.past, t).copy_(v);
    k = cache->k[layer].narrow(2, 0, s.past + t);
    v = cache->v[layer].narrow(2, 0, s.past + t);
  }
  const auto window = c.sliding_window[static_cast<std::size_t>(layer)];
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  if (s.fused_decode) {
    const auto l = static_cast<std::size_t>(layer);
    const bool shared = cache->shared_len > 0;
    const at::Tensor fused = decode_attention(
        q.reshape({b, h, d}), cache->k[layer], cache->v[layer], s.past + t, s.key_valid, s.key_pos,
        s.q_pos.reshape({b}), window, scale, shared ? cache->shared_k[l] : at::Tensor(),
        shared ? cache->shared_v[l] : at::Tensor(), cache->shared_len);
    if (fused.defined())
      return residual_projection(lw, kO, x, fused.view({b, t, h * d}), lw.o_wt, lw.o_b);
    if (shared)
      throw Error(ErrorKind::Internal, "decode attention declined a cache with a shared prefix");
  }
  const at::Tensor attn = attention(q, k, v, s.mask(window), scale);
  return residual_projection(lw, kO, x, attn.transpose(1, 2).reshape({b, t, h * d}), lw.o_wt,
                             lw.o_b);
}

// x + down_proj(silu(gate_proj(n)) * up_proj(n)), n = post_attention_layernorm(x).
at::Tensor mlp_block(const ModelConfig& c, const LayerWeights& lw, const at::Tensor& x) {
  const auto inter = c.intermediate_size;
  const at::Tensor n = rms_norm(x, lw.post_norm, c.rms_norm_eps);
  at::Tensor gate, up;
  if (!lw.factored[kGate].defined() && !lw.factored[kUp].defined()) {
    const at::Tensor gu = linear(n, lw.gate_up_wt, lw.gate_up_b);
    gate = gu.narrow(-1, 0, inter);
    up = gu.narrow(-1, inter, inter);
  } else {
    gate = project_part(n, lw, lw.gate_up_wt, lw.gate_up_b, kGate, 0, inter);
    up = project_part(n, lw, lw.gate_up_wt, lw.gate_up_b, kUp, inter, inter);
  }
  gate = add_low_rank(gate, n, lw.lora[kGate]);
  up = add_low_rank(up, n, lw.lora[kUp]);
  return residual_projection(lw, kDown, x, at::silu(gate) * up, lw.down_wt, lw.down_b);
}

}  // namespace detail_fast

at::Tensor forward_hidden(const Model::Impl& model, const WeightSet& w, const ForwardInput& in,
                          KvCache* cache) {
  const auto& c = model.config;
  df::Step step = df::prepare_step(model, in, cache);
  at::Tensor x = at::embedding(w.embed, in.ids);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& lw = (*w.layers)[static_cast<std::size_t>(l)];
    x = df::mlp_block(c, lw, df::attention_block(c, lw, l, x, step, cache));
  }
  if (cache) cache->length = step.past + step.tokens;
  return rms_norm(x, w.final_norm, c.rms_norm_eps);
}

at::Tensor project_logits(const WeightSet& w, const at::Tensor& hidden) {
  return linear(hidden, w.lm_head_t, at::Tensor()).to(at::kFloat);
}

at::Tensor positions_from_mask(const at::Tensor& mask) {
  return (mask.cumsum(-1) - 1).masked_fill(mask.eq(0), 1);
}

LayerWeights build_layer(const ModelConfig& c, std::int64_t layer, const WeightLookup& lookup) {
  auto get = [&](const std::string& part, const std::string& kind, bool required) {
    const auto name = TensorNames::layer(layer, part, kind);
    at::Tensor t = lookup(name);
    if (required && !t.defined())
      throw Error(ErrorKind::Corrupt, "missing tensor '" + name + "' (" + c.architecture + ")");
    return t;
  };
  LayerWeights lw;
  lw.qkv_wt = decode_layout(at::cat({get("q_proj", "weight", true), get("k_proj", "weight", true),
                                     get("v_proj", "weight", true)}));
  if (c.qkv_bias)
    lw.qkv_b = at::cat(
        {get("q_proj", "bias", true), get("k_proj", "bias", true), get("v_proj", "bias", true)});
  lw.o_wt = decode_layout(get("o_proj", "weight", true));
  if (c.o_bias) lw.o_b = get("o_proj", "bias", true);
  lw.gate_up_wt =
      decode_layout(at::cat({get("gate_proj", "weight", true), get("up_proj", "weight", true)}));
  if (c.mlp_bias) {
    lw.gate_up_b = at::cat({get("gate_proj", "bias", true), get("up_proj", "bias", true)});
    lw.down_b = get("down_proj", "bias", true);
  }
  lw.down_wt = decode_layout(get("down_proj", "weight", true));
  lw.input_norm = get("input_layernorm", "weight", true);
  lw.post_norm = get("post_attention_layernorm", "weight", true);
  if (c.qk_norm) {
    const auto d = c.head_dim;
    lw.qk_norm = at::cat({get("q_norm", "weight", true).expand({c.num_attention_heads, d}),
                          get("k_norm", "weight", true).expand({c.num_key_value_heads, d})});
  }
  return lw;
}

}  // namespace t2::engine

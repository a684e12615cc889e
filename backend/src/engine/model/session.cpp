// Session: per-session weight overrides over a shared, immutable Model; full forward.
#include "session_impl.h"

#include "engine/torch_guard.h"

#include <t2/error.h>

#include <algorithm>

namespace t2 {
namespace detail::session {

// "model.layers.12.mlp.up_proj.weight" -> 12; -1 for non-layer tensors.
std::int64_t layer_of(const std::string& name) {
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return -1;
  return std::stoll(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
}

// Left-pads prompts to one length. ids/mask [B, S] int64 on `device`.
std::pair<at::Tensor, at::Tensor> pad_left(const std::vector<std::vector<std::int32_t>>& prompts,
                                           std::int32_t pad_id, std::int64_t vocab,
                                           at::Device device) {
  if (prompts.empty()) throw Error(ErrorKind::InvalidArgument, "no prompts given");
  std::size_t longest = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty())
      throw Error(ErrorKind::InvalidArgument, "prompt " + std::to_string(i) + " is empty");
    longest = std::max(longest, prompts[i].size());
    for (auto id : prompts[i])
      if (id < 0 || id >= vocab)
        throw Error(ErrorKind::InvalidArgument,
                    "token id " + std::to_string(id) + " in prompt " + std::to_string(i) +
                        " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  }
  const auto b = static_cast<std::int64_t>(prompts.size());
  const auto s = static_cast<std::int64_t>(longest);
  at::Tensor ids = at::full({b, s}, pad_id, at::kLong);
  at::Tensor mask = at::zeros({b, s}, at::kLong);
  auto ia = ids.accessor<std::int64_t, 2>();
  auto ma = mask.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < b; ++i) {
    const auto& p = prompts[static_cast<std::size_t>(i)];
    const auto offset = s - static_cast<std::int64_t>(p.size());
    for (std::size_t j = 0; j < p.size(); ++j) {
      ia[i][offset + static_cast<std::int64_t>(j)] = p[j];
      ma[i][offset + static_cast<std::int64_t>(j)] = 1;
    }
  }
  return {ids.to(device), mask.to(device)};
}

Logits to_logits(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous();
  Logits out;
  out.shape = c.sizes().vec();
  out.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return out;
}

}  // namespace detail::session

namespace ds = detail::session;

std::vector<float> Logits::row(std::int64_t r) const {
  const auto v = shape.empty() ? 0 : shape.back();
  if (r < 0 || (r + 1) * v > static_cast<std::int64_t>(data.size()))
    throw Error(ErrorKind::InvalidArgument, "logits row " + std::to_string(r) + " out of range");
  return {data.begin() + r * v, data.begin() + (r + 1) * v};
}

Session::Impl::Impl(std::shared_ptr<const Model> m_)
    : model(std::move(m_)),
      layers(model->impl().layers),
      embed(model->impl().embed),
      final_norm(model->impl().final_norm),
      lm_head_t(model->impl().lm_head_t) {}

at::Tensor Session::Impl::dense_weight(const std::string& name) const {
  auto it = overrides.find(name);
  return it != overrides.end() ? it->second : m().weight(name);
}

at::Tensor Session::Impl::weight(const std::string& name) const {
  auto it = factored.find(name);
  if (it == factored.end()) return dense_weight(name);
  const auto& f = it->second;
  if (f.scale.dim() != 1)
    throw Error(ErrorKind::InvalidArgument,
                "'" + name + "' has one scale per batch row: there is no single weight to show");
  return at::mm(f.linear.ut.t() * f.scale.unsqueeze(0), f.linear.vt.t()).to(m().dtype);
}

engine::WeightLookup Session::Impl::lookup() const {
  return [this](const std::string& name) { return weight(name); };
}

engine::WeightSet Session::Impl::weight_set() const {
  engine::WeightSet w;
  w.layers = &layers;
  w.embed = embed;
  w.final_norm = final_norm;
  w.lm_head_t = lm_head_t;
  return w;
}

engine::KvCache& Session::Impl::fresh_cache(std::int64_t batch, std::int64_t capacity) {
  const bool fits =
      cache.key_valid.defined() && cache.key_valid.size(0) == batch && cache.capacity() >= capacity;
  if (!fits) {
    cache = engine::KvCache();  // free the old buffers first
    cache = engine::make_kv_cache(m(), batch, capacity);
  }
  cache.length = 0;
  cache.padded = false;
  cache.shared_k.clear();
  cache.shared_v.clear();
  cache.shared_len = 0;
  return cache;
}

void Session::Impl::set_override(const std::string& name, const at::Tensor& value) {
  const at::Tensor base = m().weight(name);
  if (!base.defined())
    throw Error(ErrorKind::InvalidArgument,
                "cannot override '" + name + "': the model has no such tensor (see t2 inspect)");
  if (value.sizes() != base.sizes())
    throw Error(ErrorKind::InvalidArgument, "override for '" + name + "' has shape " +
                                                c10::str(value.sizes()) + " but the model's is " +
                                                c10::str(base.sizes()));
  factored.erase(name);
  overrides[name] = value.to(m().device, m().dtype);
  rebuild(name);
}

void Session::Impl::clear_override(const std::string& name) {
  const bool dense = overrides.erase(name) > 0;
  const bool was_factored = factored.erase(name) > 0;
  if (dense) {
    rebuild(name);
  } else if (was_factored) {
    attach_factored(ds::layer_of(name));
  }
}

void Session::Impl::rebuild(const std::string& name) {
  const auto layer = ds::layer_of(name);
  if (layer >= 0) {
    const engine::WeightLookup dense = [this](const std::string& n) { return dense_weight(n); };
    layers[static_cast<std::size_t>(layer)] = engine::build_layer(m().config, layer, dense);
    attach_factored(layer);
    return;
  }
  const auto names = t2::tensor_names(m().config);
  embed = weight(names.embed);
  final_norm = weight(names.final_norm);
  const std::string head = names.lm_head.empty() ? names.embed : names.lm_head;
  lm_head_t = overrides.count(head) ? engine::decode_layout(weight(head)) : m().lm_head_t;
}

void Session::Impl::attach_factored(std::int64_t layer) {
  auto& lw = layers[static_cast<std::size_t>(layer)];
  const auto& parts = linear_parts();
  for (std::size_t p = 0; p < engine::kNumProjections; ++p) {
    auto it = factored.find(TensorNames::layer(layer, parts[p], "weight"));
    lw.factored[p] = it == factored.end() ? engine::FactoredLinear() : it->second.linear;
  }
}

namespace detail::session {
// True when `name` is a linear projection weight of layer `layer` (one of linear_parts()).
bool is_layer_projection(const std::string& name, std::int64_t layer) {
  for (const auto& part : linear_parts())
    if (name == TensorNames::layer(layer, part, "weight")) return true;
  return false;
}

void check_factor(const std::string& name, const char* what, const at::Tensor& t,
                  std::vector<std::int64_t> shape) {
  if (!t.defined() || !at::isFloatingType(t.scalar_type()) || t.sizes().vec() != shape)
    throw Error(ErrorKind::InvalidArgument,
                "factored override for '" + name + "': " + what +
                    " must be a float tensor of shape " + c10::str(at::IntArrayRef(shape)) +
                    (t.defined() ? " but has shape " + c10::str(t.sizes()) : " but is missing"));
}
}  // namespace detail::session

void Session::Impl::set_factored(const std::string& name, const at::Tensor& u,
                                 const at::Tensor& scale, const at::Tensor& vh) {
  const auto layer = ds::layer_of(name);
  const at::Tensor base = m().weight(name);
  if (layer < 0 || !base.defined() || !ds::is_layer_projection(name, layer))
    throw Error(ErrorKind::InvalidArgument,
                "cannot factor '" + name +
                    "': only the q/k/v/o/gate/up/down_proj weights of a layer can be factored");
  const auto out = base.size(0), in = base.size(1);
  const auto r = u.defined() && u.dim() == 2 ? u.size(1) : 0;
  ds::check_factor(name, "U", u, {out, r});
  const bool per_row = scale.defined() && scale.dim() == 3;
  ds::check_factor(
      name, "scale", scale,
      per_row ? std::vector<std::int64_t>{scale.size(0), 1, r} : std::vector<std::int64_t>{r});
  ds::check_factor(name, "Vh", vh, {r, in});
  if (per_row)
    for (const auto& [other, f] : factored)
      if (other != name && f.scale.dim() == 3 && f.scale.size(0) != scale.size(0))
        throw Error(ErrorKind::InvalidArgument,
                    "factored override for '" + name + "': " + std::to_string(scale.size(0)) +
                        " per-row scales, but '" + other + "' has " +
                        std::to_string(f.scale.size(0)) + "; every per-row scale needs one R");
  const auto device = m().device;
  engine::FactoredOverride f;
  f.u = u;
  f.vh = vh;
  f.scale = scale.to(device, at::kFloat);
  auto old = factored.find(name);
  if (old != factored.end() && old->second.u.is_same(u) && old->second.vh.is_same(vh)) {
    f.linear = old->second.linear;  // same factors: reuse their device copies
  } else {
    f.linear.vt = vh.to(device, at::kFloat).t();
    f.linear.ut = u.to(device, at::kFloat).t();
  }
  f.linear.scale = f.scale;
  factored[name] = std::move(f);
  if (overrides.erase(name)) {
    rebuild(name);  // the fused layout held the dense override; it re-attaches the factored parts
  } else {
    attach_factored(layer);
  }
}

std::int64_t Session::Impl::per_row_batch() const {
  for (const auto& [name, f] : factored)
    if (f.scale.dim() == 3) return f.scale.size(0);
  return 0;
}

void Session::Impl::check_rows(std::size_t rows, const char* what) const {
  const auto per_row = per_row_batch();
  if (per_row > 0 && static_cast<std::int64_t>(rows) != per_row)
    throw Error(ErrorKind::InvalidArgument,
                std::string(what) + " of " + std::to_string(rows) +
                    " rows on a session whose factored scales are per row: give exactly " +
                    std::to_string(per_row) + " rows");
}

const engine::FactoredOverride* Session::Impl::find_factored(const std::string& name) const {
  auto it = factored.find(name);
  return it == factored.end() ? nullptr : &it->second;
}

Session::Session(std::shared_ptr<const Model> model) {
  if (!model) throw Error(ErrorKind::InvalidArgument, "Session needs a loaded model");
  impl_ = std::make_unique<Impl>(std::move(model));
}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Model& Session::model() const noexcept { return *impl_->model; }

Logits Session::forward(const std::vector<std::vector<std::int32_t>>& prompts,
                        const ForwardParams& params) const {
  return detail::guarded([&] {
    engine::InferenceGuard guard;
    const auto& m = impl_->m();
    auto [ids, mask] = ds::pad_left(prompts, 0, m.config.vocab_size, m.device);
    impl_->check_rows(prompts.size(), "a forward");
    if (params.reference)
      return ds::to_logits(
          engine::forward_reference(m.config, impl_->lookup(), ids, mask, m.inv_freq));
    engine::ForwardInput in{ids, engine::positions_from_mask(mask), mask.eq(1)};
    const auto w = impl_->weight_set();
    return ds::to_logits(engine::project_logits(w, engine::forward_hidden(m, w, in, nullptr)));
  });
}

void Session::set_weight_override(const std::string& name, const std::vector<float>& values,
                                  const std::vector<std::int64_t>& shape) {
  detail::guarded([&] {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    if (n != static_cast<std::int64_t>(values.size()))
      throw Error(ErrorKind::InvalidArgument,
                  "override for '" + name + "': " + std::to_string(values.size()) +
                      " values do not fill shape " + c10::str(at::IntArrayRef(shape)));
    const at::Tensor t =
        at::from_blob(const_cast<float*>(values.data()), shape, at::kFloat).clone();
    impl_->set_override(name, t);
  });
}

void Session::clear_weight_override(const std::string& name) {
  detail::guarded([&] { impl_->clear_override(name); });
}

void Session::clear_weight_overrides() {
  detail::guarded([&] {
    const auto names = weight_overrides();
    for (const auto& name : names) impl_->clear_override(name);
  });
}

std::vector<std::string> Session::weight_overrides() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : impl_->overrides) out.push_back(name);
  for (const auto& [name, f] : impl_->factored) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace t2

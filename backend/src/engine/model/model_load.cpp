// Model loading: safetensors -> tensors (viewed in place where possible), shape checks, fused
// decode layout.
#include "engine/model/tensor_dtype.h"
#include "engine/torch_guard.h"
#include "forward.h"
#include "model_impl.h"
#include "rope.h"

#include <t2/error.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <cstring>

namespace t2 {
namespace engine {

at::ScalarType parse_dtype_option(const std::string& dtype) {
  if (dtype == "f32" || dtype == "float32") return at::kFloat;
  if (dtype == "bf16" || dtype == "bfloat16") return at::kBFloat16;
  throw Error(ErrorKind::InvalidArgument, "unknown dtype '" + dtype + "' (use f32 or bf16)");
}

at::Device parse_device_option(const std::string& device) {
  if (device == "cpu") return at::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (device == "auto") return cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (device.rfind("cuda", 0) == 0) {
    if (!cuda)
      throw Error(ErrorKind::Unsupported, "device '" + device +
                                              "' requested but this LibTorch "
                                              "has no usable CUDA device (use --device cpu)");
    try {
      return at::Device(device);
    } catch (const c10::Error&) {
    }
  }
  throw Error(ErrorKind::InvalidArgument,
              "unknown device '" + device + "' (use cpu, cuda, cuda:N or auto)");
}

std::string dtype_name(at::ScalarType dtype) { return dtype == at::kBFloat16 ? "bf16" : "f32"; }

std::map<std::string, std::vector<std::int64_t>> expected_shapes(const ModelConfig& c) {
  const auto h = c.hidden_size, d = c.head_dim, inter = c.intermediate_size;
  const std::map<std::string, std::pair<std::int64_t, std::int64_t>> linear = {
      {"q_proj", {c.num_attention_heads * d, h}},
      {"k_proj", {c.num_key_value_heads * d, h}},
      {"v_proj", {c.num_key_value_heads * d, h}},
      {"o_proj", {h, c.num_attention_heads * d}},
      {"gate_proj", {inter, h}},
      {"up_proj", {inter, h}},
      {"down_proj", {h, inter}}};
  std::map<std::string, std::vector<std::int64_t>> out;
  const auto names = tensor_names(c);
  out[names.embed] = {c.vocab_size, h};
  out[names.final_norm] = {h};
  if (!names.lm_head.empty()) out[names.lm_head] = {c.vocab_size, h};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    for (const auto& [part, dims] : linear) {
      out[TensorNames::layer(l, part, "weight")] = {dims.first, dims.second};
      out[TensorNames::layer(l, part, "bias")] = {dims.first};
    }
    out[TensorNames::layer(l, "input_layernorm", "weight")] = {h};
    out[TensorNames::layer(l, "post_attention_layernorm", "weight")] = {h};
    out[TensorNames::layer(l, "q_norm", "weight")] = {d};
    out[TensorNames::layer(l, "k_norm", "weight")] = {d};
  }
  return out;
}

}  // namespace engine

namespace detail::model_load {

// A tensor for `info` in `dtype` on `device`: a zero-copy view of the mapping when the stored
// dtype matches, the address is aligned and the target is the CPU; a converted copy otherwise.
at::Tensor tensor_from_checkpoint(const Checkpoint& ck, const TensorInfo& info,
                                  at::ScalarType dtype, at::Device device) {
  if (!engine::is_float(info.dtype))
    throw Error(ErrorKind::Unsupported, "tensor '" + info.name + "' in '" + info.file +
                                            "' has dtype " + to_string(info.dtype) +
                                            "; model weights must be F32, F16 or BF16");
  const auto stored = engine::torch_dtype(info.dtype);
  void* data = const_cast<void*>(ck.data(info));  // read-only mapping: never written
  const bool aligned = reinterpret_cast<std::uintptr_t>(data) % dtype_size(info.dtype) == 0;
  at::Tensor view;
  if (aligned) {
    view = at::from_blob(data, info.shape, at::TensorOptions().dtype(stored));
  } else {
    view = at::empty(info.shape, at::TensorOptions().dtype(stored));
    std::memcpy(view.data_ptr(), data, info.nbytes);
  }
  if (stored == dtype && device.is_cpu()) return view;
  return view.to(device, dtype).contiguous();
}

}  // namespace detail::model_load

namespace ml = detail::model_load;

at::Tensor Model::Impl::weight(const std::string& name) const {
  auto it = weights.find(name);
  return it == weights.end() ? at::Tensor() : it->second;
}

engine::WeightLookup Model::Impl::lookup() const {
  return [this](const std::string& name) { return weight(name); };
}

void Model::Impl::finish_load(const std::string& source) {
  const auto shapes = engine::expected_shapes(config);
  for (const auto& name : required_tensor_names(config)) {
    auto it = weights.find(name);
    if (it == weights.end())
      throw Error(ErrorKind::Corrupt, "checkpoint '" + source + "' lacks tensor '" + name +
                                          "', which " + config.architecture +
                                          " with this config.json needs");
  }
  for (const auto& [name, t] : weights) {
    auto it = shapes.find(name);
    if (it != shapes.end() && t.sizes().vec() != it->second)
      throw Error(ErrorKind::Corrupt, "tensor '" + name + "' in '" + source + "' has shape " +
                                          c10::str(t.sizes()) + " but config.json implies " +
                                          c10::str(at::IntArrayRef(it->second)));
  }
  const auto names = t2::tensor_names(config);
  const std::string head = names.lm_head.empty() ? names.embed : names.lm_head;
  lm_head_t = engine::decode_layout(weights.at(head));
  weights[head] = lm_head_t.t();  // the model keeps one copy: a view of the transposed head
  embed = weights.at(names.embed);
  final_norm = weights.at(names.final_norm);
  inv_freq = engine::rope_inv_freq(config).to(device);
  layers.clear();
  const auto look = lookup();
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    layers.push_back(engine::build_layer(config, l, look));
    share_fused_storage(l);
  }
}

// Points every linear weight (and fused bias) at a slice of the layer's transposed/fused
// tensors (same values; W = Wt.t()), so the model holds each weight once instead of twice.
void Model::Impl::share_fused_storage(std::int64_t l) {
  const auto& lw = layers[static_cast<std::size_t>(l)];
  const auto h = config.num_attention_heads * config.head_dim;
  const auto kv = config.num_key_value_heads * config.head_dim;
  const auto inter = config.intermediate_size;
  auto weight = [&](const char* part, const at::Tensor& wt, std::int64_t start, std::int64_t n) {
    weights[TensorNames::layer(l, part, "weight")] = wt.narrow(1, start, n).t();
  };
  auto bias = [&](const char* part, const at::Tensor& b, std::int64_t start, std::int64_t n) {
    if (b.defined()) weights[TensorNames::layer(l, part, "bias")] = b.narrow(0, start, n);
  };
  weight("q_proj", lw.qkv_wt, 0, h);
  weight("k_proj", lw.qkv_wt, h, kv);
  weight("v_proj", lw.qkv_wt, h + kv, kv);
  weight("o_proj", lw.o_wt, 0, config.hidden_size);
  weight("gate_proj", lw.gate_up_wt, 0, inter);
  weight("up_proj", lw.gate_up_wt, inter, inter);
  weight("down_proj", lw.down_wt, 0, config.hidden_size);
  bias("q_proj", lw.qkv_b, 0, h);
  bias("k_proj", lw.qkv_b, h, kv);
  bias("v_proj", lw.qkv_b, h + kv, kv);
  bias("gate_proj", lw.gate_up_b, 0, inter);
  bias("up_proj", lw.gate_up_b, inter, inter);
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const std::string& model_dir, const LoadParams& params,
                                         const JobContext& job) {
  // Inside the error boundary: a torch error (e.g. out of memory while moving to a device)
  // surfaces as t2::Error, never as a raw c10::Error.
  return detail::guarded([&] {
    auto impl = std::make_unique<Impl>();
    impl->config = load_model_config(model_dir);
    impl->dtype = engine::parse_dtype_option(params.dtype);
    impl->device = engine::parse_device_option(params.device);
    impl->checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(model_dir));
    const auto& tensors = impl->checkpoint->tensors();
    const auto shapes = engine::expected_shapes(impl->config);
    std::size_t done = 0;
    for (const auto& info : tensors) {
      job.throw_if_cancelled();
      // Tensors the model does not use (e.g. rotary_emb.inv_freq buffers) are skipped.
      if (shapes.count(info.name))
        impl->weights[info.name] =
            ml::tensor_from_checkpoint(*impl->checkpoint, info, impl->dtype, impl->device);
      job.report("load", static_cast<double>(++done) / static_cast<double>(tensors.size()),
                 "loading " + info.name);
    }
    impl->finish_load(model_dir);
    return std::make_shared<const Model>(std::move(impl));
  });
}

std::shared_ptr<const Model> Model::random(const ModelConfig& config, std::uint64_t seed,
                                           const LoadParams& params) {
  return detail::guarded([&] {
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->dtype = engine::parse_dtype_option(params.dtype);
    impl->device = engine::parse_device_option(params.device);
    auto gen = at::detail::createCPUGenerator(seed);
    const auto required = required_tensor_names(config);
    const auto shapes = engine::expected_shapes(config);
    for (const auto& name : required) {
      const auto& shape = shapes.at(name);
      at::Tensor t = shape.size() == 1 && name.find("bias") == std::string::npos
                         ? at::ones(shape)
                         : at::normal(0.0, 0.02, shape, gen);
      impl->weights[name] = t.to(impl->device, impl->dtype).contiguous();
    }
    impl->finish_load("(random)");
    return std::make_shared<const Model>(std::move(impl));
  });
}

const ModelConfig& Model::config() const noexcept { return impl_->config; }
std::string Model::dtype() const { return engine::dtype_name(impl_->dtype); }
std::string Model::device() const { return impl_->device.str(); }

std::int64_t Model::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : impl_->weights) n += t.numel();
  return n;
}

std::uint64_t Model::weight_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [name, t] : impl_->weights) n += t.numel() * t.element_size();
  return n;
}

std::vector<std::string> Model::tensor_names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : impl_->weights) out.push_back(name);
  return out;
}

}  // namespace t2

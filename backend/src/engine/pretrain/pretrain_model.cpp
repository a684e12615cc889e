// Pretraining parameters: initialisation, the loss through the engine's fast forward, and the
// HF model folder they are saved as.
#include "pretrain_impl.h"

#include "../model/rope.h"

#include <t2/error.h>
#include <t2/run_store.h>
#include <t2/safetensors.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <filesystem>

namespace t2::detail::pretrain {

ParamMap init_params(const ModelConfig& config, const PretrainModelShape& shape,
                     std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto shapes = engine::expected_shapes(config);
  const double residual_std = shape.init_std / std::sqrt(2.0 * shape.layers);
  ParamMap params;
  for (const auto& name : required_tensor_names(config)) {  // sorted order: deterministic
    const auto& dims = shapes.at(name);
    at::Tensor t;
    if (dims.size() == 1) {
      t = at::ones(dims, at::kFloat);
    } else {
      const bool residual =
          name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
      t = at::normal(0.0, residual ? residual_std : shape.init_std, dims, gen);
    }
    params[name] = t.contiguous().set_requires_grad(true);
  }
  return params;
}

std::unique_ptr<Model::Impl> make_shell(const ModelConfig& config) {
  auto shell = std::make_unique<Model::Impl>();
  shell->config = config;
  shell->dtype = at::kFloat;
  shell->device = at::kCPU;
  shell->inv_freq = engine::rope_inv_freq(config);
  return shell;
}

at::Tensor batch_loss(const Model::Impl& shell, const ParamMap& params, const Batch& batch) {
  const ModelConfig& c = shell.config;
  const engine::WeightLookup look = [&params](const std::string& name) {
    auto it = params.find(name);
    return it == params.end() ? at::Tensor() : it->second;
  };
  std::vector<engine::LayerWeights> layers;
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
    layers.push_back(engine::build_layer(c, l, look));
  const auto names = tensor_names(c);
  engine::WeightSet w;
  w.layers = &layers;
  w.embed = params.at(names.embed);
  w.final_norm = params.at(names.final_norm);
  w.lm_head_t =
      engine::decode_layout(params.at(names.lm_head.empty() ? names.embed : names.lm_head));
  const auto b = batch.ids.size(0), t = batch.ids.size(1);
  engine::ForwardInput in;
  in.ids = batch.ids;
  in.positions = at::arange(t, at::kLong).unsqueeze(0).expand({b, t}).contiguous();
  // Right padding: real tokens never attend to the padding after them, so every key stays
  // valid and the real positions see exactly the causal attention of an unpadded sequence.
  in.key_valid = at::ones({b, t}, at::kBool);
  const at::Tensor hidden = engine::forward_hidden(shell, w, in, nullptr);
  const at::Tensor logits = engine::project_logits(w, hidden.narrow(1, 0, t - 1));
  const at::Tensor logp = at::log_softmax(logits, -1);
  const at::Tensor target = batch.ids.narrow(1, 1, t - 1).unsqueeze(-1);
  const at::Tensor nll = -logp.gather(-1, target).squeeze(-1);
  const at::Tensor weights = batch.weights.narrow(1, 1, t - 1);
  return (nll * weights).sum() / weights.sum().clamp_min(1e-6);
}

void write_model_folder(const std::string& dir, const std::string& config_json,
                        const ParamMap& params, const std::string& tokenizer_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Io, "cannot create '" + dir + "': " + ec.message());
  write_file_atomically(dir + "/config.json", config_json);
  std::vector<at::Tensor> keep;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, p] : params) {
    keep.push_back(p.detach().contiguous());
    tensors.push_back({name, DType::F32, keep.back().sizes().vec(), keep.back().data_ptr()});
  }
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(tokenizer_dir + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw Error(ErrorKind::Io, "cannot copy '" + tokenizer_dir + "/" + f + "' to '" + dir +
                                     "': " + ec.message());
  }
}

ParamMap read_params(const std::string& dir, const ParamMap& like) {
  const Checkpoint ck = Checkpoint::open(dir);
  ParamMap out;
  for (const auto& [name, p] : like) {
    const TensorInfo* info = ck.find(name);
    if (!info || info->dtype != DType::F32 || info->shape != p.sizes().vec())
      throw Error(ErrorKind::Corrupt, "checkpoint '" + dir + "' lacks float32 tensor '" + name +
                                          "' of shape " + c10::str(p.sizes()) +
                                          " (resume from a checkpoint of the same recipe)");
    at::Tensor t = at::empty(info->shape, at::kFloat);
    std::memcpy(t.data_ptr(), ck.data(*info), info->nbytes);
    out[name] = t.set_requires_grad(true);
  }
  return out;
}

void replace_dir(const std::string& source, const std::string& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(target, ec);
  fs::rename(source, target, ec);
  if (ec)
    throw Error(ErrorKind::Io, "cannot rename '" + source + "' to '" + target +
                                   "': " + ec.message() + " (check permissions and disk space)");
}

}  // namespace t2::detail::pretrain

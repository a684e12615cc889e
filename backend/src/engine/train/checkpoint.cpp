// Training checkpoints: expert values + Adam moments + progress, one safetensors file written
// atomically; the expert files (best, latest) use the t2 expert format.
#include "trainer.h"

#include <t2/error.h>
#include <t2/safetensors.h>

#include <cstring>

namespace t2::engine::train {

void write_checkpoint(const std::string& path, const Trainable& state, const Optimizer& optimizer,
                      const TrainProgressState& progress) {
  const auto moments = optimizer.state();
  std::vector<at::Tensor> keep;  // CPU float32 copies that outlive the write
  std::vector<TensorToWrite> tensors;
  auto add = [&](const std::string& name, const at::Tensor& t) {
    keep.push_back(t.detach().to(at::kCPU, at::kFloat).contiguous());
    tensors.push_back({name, DType::F32, keep.back().sizes().vec(), keep.back().data_ptr()});
  };
  const auto params = state.named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& name = params[i].first;
    add("values." + name, params[i].second);
    add("exp_avg." + name, moments[2 * i]);
    add("exp_avg_sq." + name, moments[2 * i + 1]);
  }
  std::map<std::string, std::string> meta = {
      {"format", "t2-train-checkpoint"},
      {"version", "1"},
      {"iteration", std::to_string(progress.iteration)},
      {"optimizer_step", std::to_string(optimizer.step_count())},
      {"best_iteration", std::to_string(progress.best_iteration)},
      {"best_accuracy", std::to_string(progress.best_accuracy)},
      {"base_accuracy", std::to_string(progress.base_accuracy)},
      {"elapsed_seconds", std::to_string(progress.elapsed_seconds)}};
  write_safetensors(path, tensors, meta);
}

TrainProgressState read_checkpoint(const std::string& path, Trainable& state,
                                   Optimizer& optimizer) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) {
    auto it = meta.find(key);
    if (it == meta.end())
      throw Error(ErrorKind::Corrupt, path + ": checkpoint metadata lacks '" + key +
                                          "'; start a new run instead of resuming");
    return it->second;
  };
  if (get("format") != "t2-train-checkpoint")
    throw Error(ErrorKind::Corrupt, path + " is not a t2 training checkpoint");
  // The tensor `name`, shaped like `like`.
  auto load = [&](const std::string& name, const at::Tensor& like) {
    const TensorInfo* info = file.find(name);
    if (!info || info->dtype != DType::F32 || info->numel() != like.numel())
      throw Error(ErrorKind::Corrupt,
                  path + ": tensor '" + name + "' is missing or has the wrong shape/dtype");
    at::Tensor t = at::empty(like.sizes(), at::kFloat);
    std::memcpy(t.data_ptr<float>(), file.data(*info), info->nbytes);
    return t.to(like.device());
  };
  std::vector<at::Tensor> moments;
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, values] : state.named_parameters()) {
      values.copy_(load("values." + name, values));
      moments.push_back(load("exp_avg." + name, values));
      moments.push_back(load("exp_avg_sq." + name, values));
    }
  }
  TrainProgressState p;
  try {
    p.iteration = std::stoi(get("iteration"));
    p.best_iteration = std::stoi(get("best_iteration"));
    p.best_accuracy = std::stod(get("best_accuracy"));
    p.base_accuracy = std::stod(get("base_accuracy"));
    p.elapsed_seconds = std::stod(get("elapsed_seconds"));
    optimizer.load_state(moments, std::stoll(get("optimizer_step")));
  } catch (const std::logic_error&) {
    throw Error(ErrorKind::Corrupt, path + ": checkpoint metadata is not numeric");
  }
  return p;
}

}  // namespace t2::engine::train
